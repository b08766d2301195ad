"""How the app's engine thread keeps out of the interface's way (issue 8, item 14).

Two things made a key slow to answer during a run on a CPU with few cores; each has its
remedy here, and `benchmarks/key_latency.py` measures both (figures in RESULTS.md).

- The run's threads took the cores the interface needed. A run keeps every core busy (the
  engine thread and the OpenMP threads torch starts from it), and a key's work (for Ctrl+F,
  a restyle, a layout and a repaint: a few hundred ms of Python) had to share a core with
  them. `lower_engine_priority` runs the engine thread, and so the threads it starts, below
  the interface's priority.
- Python's full garbage collections held the interpreter for 0.4-0.5 s each, every few
  seconds while the interface worked, whichever thread set them off: they walked every
  object of torch and its imports (about 320,000). `set_aside_long_lived_objects` moves
  what is alive once those imports are done out of the collector's way (`gc.freeze`), so a
  full collection walks only what was made since.

NST_TUI_ENGINE_NICE (default 10, 0: off) and NST_TUI_GC_FREEZE (default 1, 0: off) set
them; the benchmark uses the settings to compare.

The app's own torch work (the device list, the estimate's speed measurement; runs have the
queue's threads) goes to one `EngineThread`, which never holds the app's exit: when the app
quits, whoever waits for its work stops waiting, and the process does not wait for it either.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any

ENGINE_NICE = 10  # how many steps of priority (nice) the engine thread runs below the interface

log = logging.getLogger("nst.app")

_set_aside: set[str] = set()  # the moments already done in this process
_modules_set_aside = 0  # len(sys.modules) at the last set-aside
# A run that imports this many modules more than were there at the last set-aside (Adam's
# first step imports torch._dynamo, about 890) sets them aside again.
NEW_MODULES_WORTH_IT = 100


def lower_engine_priority() -> None:
    """Run the calling thread (the app's engine thread) below the interface's priority.

    Called once as the engine thread starts, and on each worker thread of the app's job
    queue before its first job (nst_tui/app/run_driver.py), before torch is imported: the OpenMP threads
    torch starts from this thread inherit its priority, so the whole run yields to the
    interface when a key has work to do, and has every core otherwise. Linux only: there a
    thread has a priority of its own (elsewhere setpriority would lower the whole process).
    """
    if not sys.platform.startswith("linux"):
        return
    step = _setting("NST_TUI_ENGINE_NICE", ENGINE_NICE)
    if step <= 0:
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(current + step, 19))
    except OSError as error:
        log.warning("could not lower the engine thread's priority: %s", error)


def probe_devices() -> list[tuple[str, str]]:
    """The devices to offer (on the engine thread: it imports torch), then torch's objects
    set aside."""
    from nst_engine.cost.devices import available_devices

    devices = available_devices()
    set_aside_long_lived_objects("torch")
    return devices


def set_aside_long_lived_objects(moment: str) -> bool:
    """Collect the garbage, then keep every object alive now out of later collections.

    Called on the engine thread at two moments: "torch" (once, after the device probe has
    imported torch) and "run" (after each run's first step, when it has imported what it
    imports: torch._dynamo and about 890 modules for Adam and the other torch optimisers,
    whose first step imports it; L-BFGS's does not); a run sets aside again only if it
    imported NEW_MODULES_WORTH_IT modules since the last time. What is alive then lives as
    long as the app, but for the widgets of that moment that are replaced later: those stay
    in memory (a bounded, one-time cost). The collection before it takes a quarter of a
    second. Whether it was done now.
    """
    global _modules_set_aside
    if _setting("NST_TUI_GC_FREEZE", 1) <= 0:
        return False
    if moment == "run" and moment in _set_aside:
        if len(sys.modules) - _modules_set_aside < NEW_MODULES_WORTH_IT:
            return False
    elif moment in _set_aside:
        return False
    _set_aside.add(moment)
    gc.collect()
    gc.freeze()
    _modules_set_aside = len(sys.modules)
    log.debug("%d long-lived objects set aside (%s)", gc.get_freeze_count(), moment)
    return True


def _setting(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    try:
        return int(text) if text else default
    except ValueError:
        log.warning("%s=%r is not a whole number: using %d", name, text, default)
        return default


class Abandoned(asyncio.CancelledError):
    """The app quit before the engine thread's work for it ended: nobody needs the result.

    A cancellation: a Textual thread worker that waited for the work ends as cancelled, and
    `except Exception` around the wait does not take it for the work's failure.
    """


class EngineThread:
    """One daemon thread for the app's own torch work, below the interface's priority.

    `submit` as an executor's. `abandon` (the app quits) ends every wait for the work: what
    began goes on without anyone waiting for it (the estimate's measurement takes 20-60 s
    on a busy machine, and held the exit that long with the screen blank), the rest never
    starts. A daemon, so that the interpreter's exit does not wait for it either (a
    ThreadPoolExecutor's threads are joined at exit).
    """

    def __init__(self) -> None:
        self._work: queue.SimpleQueue[tuple[Future, Callable[..., Any], tuple] | None] = (
            queue.SimpleQueue()
        )
        self._waited: set[Future] = set()  # submitted and not yet settled
        self._lock = threading.Lock()
        self._abandoned = False
        self._thread: threading.Thread | None = None

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._abandoned:
                future.set_exception(Abandoned())
                return future
            self._waited.add(future)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="nst-engine", daemon=True)
                self._thread.start()
        self._work.put((future, function, args))
        return future

    @property
    def busy(self) -> bool:
        """Whether work is going or waiting (e.g. a measurement the app quit before)."""
        with self._lock:
            return self._running or bool(self._waited)

    _running = False

    def _serve(self) -> None:
        lower_engine_priority()  # before torch starts its threads from this one
        while (work := self._work.get()) is not None:
            self._do(*work)
            del work  # not kept while the thread waits for the next

    def _do(self, future: Future, function: Callable[..., Any], args: tuple) -> None:
        with self._lock:
            if future.done():  # abandoned before it began
                return
            future.set_running_or_notify_cancel()
            self._running = True
        try:
            result = function(*args)
        except BaseException as error:  # handed to whoever waits, as an executor does
            self._settle(future, error=error)
        else:
            self._settle(future, result=result)

    def _settle(self, future: Future, result: Any = None, error: BaseException | None = None):
        with self._lock:
            self._running = False
            self._waited.discard(future)
        with contextlib.suppress(InvalidStateError):  # abandoned meanwhile
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    def abandon(self) -> None:
        """The app quits: every wait for the work ends (Abandoned); nothing new starts, and
        the thread ends once the work it is doing does. It holds what the app's threads
        were started with (the app's captured stderr among them): a thread left waiting
        kept the whole app alive in a process that goes on (every app test's process)."""
        with self._lock:
            self._abandoned = True
            waited, self._waited = list(self._waited), set()
        self._work.put(None)
        for future in waited:
            with contextlib.suppress(InvalidStateError):
                future.set_exception(Abandoned())

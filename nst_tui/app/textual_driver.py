"""What the app does with Textual's terminal driver beyond its public API.

Three things Textual (8.x, its LinuxDriver) offers no way to do:

- Ask the terminal a question while the app runs (`input_paused`): Textual's input thread
  reads every byte the terminal sends and turns the replies to a question into keys typed
  into the focused field. The thread is stopped for the question and started again.
- Keep the interface from blocking on a terminal that has gone (`keep_output_from_blocking`):
  Textual writes through a thread with a queue of 30 writes. Once the terminal has gone (a
  closed xterm, a dropped SSH session), that thread dies on its first failed write; the
  queue is never emptied again, and the interface's 31st write after it blocks for good.
  Whether the interface had quit by then was a race: after SIGHUP the log said "the
  interface did not close" 2 times in 4 (the watchdog in quitting.py then ended the process).
- Stop reading a terminal that has gone (`stop_reading_a_gone_terminal`): Textual's input
  thread waits for the terminal to be readable and reads; a terminal that has gone is always
  readable and reads nothing, so where no SIGHUP came (the app is not the terminal's
  controlling process) the thread went round that loop at full speed, a whole core, until
  the process ended. The thread is stopped once the terminal is found gone.

Each function checks that the driver has what it uses, and does nothing where it has not
(another platform, the test driver, a later Textual).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

DRAIN_INTERVAL = 0.05  # seconds between two looks at the writer threads once draining
TERMINAL_CHECK_INTERVAL = 1.0  # seconds between two looks at whether the terminal is there
INPUT_STOP_TIMEOUT = 1.0  # seconds to wait for Textual's input thread to stop

log = logging.getLogger("nst.app")


def keep_output_from_blocking(app: Any) -> bool:
    """From now on, what a dead writer thread's queue holds is thrown away, so that the
    interface's writes never block on a terminal that has gone; whether it could be done.

    Only the queues of writer threads that have died are emptied: where the terminal is
    still there (a SIGTERM, a `kill -HUP` by hand), its writer goes on writing everything.
    A daemon thread does it for as long as the process lives (the driver makes a new writer
    when it resumes, which a hang-up's SIGCONT sets off), so it is started once, when the
    app is told to stop.
    """
    driver = getattr(app, "_driver", None)
    if driver is None or not hasattr(driver, "_writer_thread"):
        return False
    threading.Thread(
        target=_discard_dead_writers_output, args=(driver,), name="nst-output", daemon=True
    ).start()
    return True


def _discard_dead_writers_output(driver: Any) -> None:
    writers: list[Any] = []
    while True:
        writer = getattr(driver, "_writer_thread", None)
        if writer is not None and all(writer is not known for known in writers):
            writers.append(writer)
        for known in writers:
            pending = getattr(known, "_queue", None)
            if pending is None or known.is_alive():
                continue
            with contextlib.suppress(queue.Empty):
                while True:
                    pending.get_nowait()
        time.sleep(DRAIN_INTERVAL)


def stop_reading_a_gone_terminal(app: Any) -> bool:
    """Watch the terminal the app reads from (a daemon thread); once it has gone, stop
    Textual's input thread. Whether the app reads a terminal to watch."""
    driver = getattr(app, "_driver", None)
    stop = getattr(driver, "exit_event", None)
    fileno = getattr(driver, "fileno", None)
    if stop is None or not isinstance(fileno, int) or not os.isatty(fileno):
        return False
    threading.Thread(
        target=_stop_input_when_gone, args=(fileno, stop), name="nst-terminal", daemon=True
    ).start()
    return True


def _stop_input_when_gone(fileno: int, stop: threading.Event) -> None:
    while _terminal_is_there(fileno):
        time.sleep(TERMINAL_CHECK_INTERVAL)
    log.info("the terminal has gone: no more reading from it")
    stop.set()


def _terminal_is_there(fileno: int) -> bool:
    """Asking a terminal for its settings fails (EIO) once it has hung up."""
    import termios  # POSIX: only Textual's LinuxDriver has a `fileno` to watch

    try:
        termios.tcgetattr(fileno)
    except (termios.error, OSError):
        return False
    return True


@contextlib.contextmanager
def input_paused(app: Any) -> Iterator[bool]:
    """Textual's input thread stopped for the block, so that the terminal's replies to a
    question can be read from stdin there; yields whether it was (False: do not ask).

    Call it on the interface's thread: the interface does not paint meanwhile, so nothing
    else is written to the terminal while the question is out. Keys pressed during the
    question may be lost.
    """
    driver = getattr(app, "_driver", None)
    thread = getattr(driver, "_key_thread", None)
    stop = getattr(driver, "exit_event", None)
    restart = getattr(driver, "_run_input_thread", None)
    if thread is None or stop is None or restart is None or not thread.is_alive():
        yield False
        return
    stop.set()
    thread.join(INPUT_STOP_TIMEOUT)
    stop.clear()
    if thread.is_alive():  # it did not stop: leave it, and ask nothing
        yield False
        return
    try:
        _wait_for_output_written(driver)
        yield True
    finally:
        driver._key_thread = threading.Thread(target=restart, name="textual-input")
        driver._key_thread.start()


def _wait_for_output_written(driver: Any, timeout: float = 1.0) -> None:
    """Until Textual's writer thread has written what it holds (a question sent meanwhile
    would land in the middle of a frame)."""
    writer = getattr(driver, "_writer_thread", None)
    pending = getattr(writer, "_queue", None)
    deadline = time.monotonic() + timeout
    while pending is not None and pending.qsize() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.02)  # its last write, taken from the queue, may still be going out

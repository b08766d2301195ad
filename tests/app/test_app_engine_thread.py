"""The app's engine thread keeps out of the interface's way (nst_tui/app/engine_thread.py).

Its threads (it and the OpenMP threads torch starts from it) run below the interface, so a
run on a CPU with few cores leaves the interface a core when a key has work to do (Linux
only: elsewhere a thread has no priority of its own); and the objects of torch and of what
a run imports are set aside from the garbage collector, whose full passes over them held
the interpreter for half a second. benchmarks/key_latency.py measures what each buys.
"""

from __future__ import annotations

import gc
import inspect
import logging
import os
import sys
import threading

import pytest
from app_helpers import wait_for

import nst_engine.optimise.stepper
from nst_tui.app.engine_thread import (
    ENGINE_NICE,
    lower_engine_priority,
    set_aside_long_lived_objects,
)

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="thread priorities are Linux's"
)


def thread_nice(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def nice_in_new_thread() -> int:
    """The priority a fresh thread ends with after lower_engine_priority."""
    found: list[int] = []

    def body() -> None:
        lower_engine_priority()
        found.append(thread_nice(threading.get_native_id()))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return found[0]


def interface_nice() -> int:
    return thread_nice(threading.get_native_id())


def torch_work() -> None:
    """Big enough for torch to start its OpenMP threads (from the calling thread)."""
    import torch

    matrix = torch.ones(512, 512)
    (matrix @ matrix).sum()
    (torch.rand(4_000_000) * 2).sum()


@linux_only
async def test_engine_thread_and_its_torch_threads_run_below_the_interface(
    make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NST_TUI_ENGINE_NICE", raising=False)
    import torch

    expected = min(interface_nice() + ENGINE_NICE, 19)
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        engine = app._engine_thread.submit(threading.get_native_id).result()
        assert thread_nice(engine) == expected
        assert interface_nice() < expected  # the interface itself is left as it was
        app._engine_thread.submit(torch_work).result()
        tasks = [int(task) for task in os.listdir("/proc/self/task")]
        lowered = [task for task in tasks if thread_nice(task) == expected]
        # The engine thread and the OpenMP team it started (one thread per core in use).
        assert len(lowered) >= torch.get_num_threads()


@linux_only
def test_engine_nice_zero_keeps_the_interface_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NST_TUI_ENGINE_NICE", "0")
    assert nice_in_new_thread() == interface_nice()


@linux_only
def test_engine_nice_setting_sets_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NST_TUI_ENGINE_NICE", "3")
    assert nice_in_new_thread() == min(interface_nice() + 3, 19)


@linux_only
def test_engine_nice_bad_setting_warns_and_uses_the_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NST_TUI_ENGINE_NICE", "lots")
    with caplog.at_level(logging.WARNING, logger="nst.app"):
        assert nice_in_new_thread() == min(interface_nice() + ENGINE_NICE, 19)
    assert "NST_TUI_ENGINE_NICE='lots' is not a whole number" in caplog.text


def seen_by_the_collector(thing: object) -> bool:
    """Whether the garbage collector's full passes still walk over `thing`."""
    return any(candidate is thing for candidate in gc.get_objects())


@pytest.mark.slow  # runs the engine
async def test_torch_and_what_runs_import_are_set_aside_from_the_collector(
    make_app, tiny_config, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.delenv("NST_TUI_GC_FREEZE", raising=False)
    import torch

    app = make_app()
    async with app.run_test() as pilot:
        # After the device probe (it imports torch): torch's own functions are set aside.
        await wait_for(
            pilot,
            lambda: not seen_by_the_collector(torch.nn.Module.__init__),
            what="torch's objects set aside",
        )
        app.start_run(tiny_config.replace(output=tmp_path / "set-aside.png"))
        await wait_for(pilot, lambda: not app.running, what="the run's end")
        assert (tmp_path / "set-aside.png").is_file()  # the run went past its first step
        # Adam's first step imports torch._dynamo (about 890 modules): set aside after it.
        import torch._dynamo  # already imported: no cost here

        assert not seen_by_the_collector(torch._dynamo.reset)
        # The engine's own step (a test may have wrapped it: tests/conftest.py).
        step = inspect.unwrap(nst_engine.optimise.stepper.Stepper.step)
        assert not seen_by_the_collector(step)


def test_gc_freeze_setting_zero_sets_nothing_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NST_TUI_GC_FREEZE", "0")
    before = gc.get_freeze_count()
    assert not set_aside_long_lived_objects("a moment of this test")
    # Not above: a freeze would add every live object. (Frozen objects that another test's
    # leftover thread lets go of can make it fall a little meanwhile.)
    assert gc.get_freeze_count() <= before


def test_abandoning_ends_every_wait_then_the_thread_once_its_work_is_done() -> None:
    """The work going goes on unwaited, the work waiting never starts, and the thread ends
    after the work going: a thread left waiting for more kept the app alive (its stderr,
    captured when the app started the thread), and a test process that starts app after app
    carried every one of them."""
    from nst_tui.app.engine_thread import Abandoned, EngineThread

    engine, release, ran = EngineThread(), threading.Event(), []
    going = engine.submit(lambda: release.wait(60) and ran.append("going"))
    waiting = engine.submit(lambda: ran.append("waiting"))
    while not going.running():
        threading.Event().wait(0.01)
    engine.abandon()
    for future in (going, waiting):
        with pytest.raises(Abandoned):
            future.result(timeout=5)
    assert engine.submit(lambda: ran.append("later")).exception(timeout=5) is not None
    release.set()
    engine._thread.join(timeout=60)
    assert not engine._thread.is_alive() and ran == ["going"]


async def test_an_apps_engine_thread_ends_with_the_app(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app._engine_thread._thread is not None, what="the probe")
    app._engine_thread._thread.join(timeout=60)
    assert not app._engine_thread._thread.is_alive()

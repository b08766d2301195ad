"""Quitting never waits for work nobody needs any more: the estimate's speed measurement (a
few real iterations on the engine thread, 20-60 s on a busy machine) went on after Ctrl+Q
with the screen blank, and the process ended only when it had."""

from __future__ import annotations

import sys
import threading

from app_helpers import wait_for

from nst_engine.cost import rates

MEASUREMENT_LIMIT = 60  # seconds the stand-in measurement waits at most


def threads_in(function_name: str) -> list[str]:
    """The threads whose stack holds a call of `function_name` now."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    found = []
    for ident, frame in sys._current_frames().items():
        while frame is not None:
            if frame.f_code.co_name == function_name:
                found.append(names.get(ident, str(ident)))
                break
            frame = frame.f_back
    return found


async def test_quitting_does_not_wait_for_the_speed_measurement(make_app, monkeypatch) -> None:
    measuring, measured, returned = threading.Event(), threading.Event(), threading.Event()

    def slow_profile(setting: str, **options) -> rates.DeviceProfile:
        measuring.set()
        measured.wait(MEASUREMENT_LIMIT)  # stands in for rates.measure on a busy machine
        returned.set()
        return rates.DeviceProfile("cpu (test)", "cpu (2 threads)", rates.Timing(0.01, 0.02))

    monkeypatch.setattr(rates, "device_profile", slow_profile)
    app = make_app()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, measuring.is_set, what="the measurement")
            waiting = [worker for worker in app.workers if worker.group == "estimate"]
            assert waiting and not waiting[0].is_finished
            await pilot.press("ctrl+q")  # nothing runs: it quits at once
        # The app has closed; no thread of its interface still waits for the measurement
        # (asyncio's end waits for them all: app.run() did not return until it ended).
        assert all(worker.is_finished for worker in waiting)
        assert threads_in("_fetch_profile") == []
        assert app.engine_busy  # launch.py ends the process without waiting for it
        app.wait_for_engine(timeout=2 * MEASUREMENT_LIMIT)  # the runs only: none here
        assert not returned.is_set()
    finally:
        measured.set()

"""What the run panel says while a run starts, goes and stops, and where the focus is after it.

- The elapsed time ticks every second from the run's start, before the first iteration ends
  (a slow machine showed "--:--" for a minute).
- After Escape, Run says "Stopping…" and cannot be pressed until the run has stopped.
- The speed at the end is the speed shown while running (it/s while iterating).
- After a run, typing in the field that has the focus replaces its value ("10" typed into
  Iterations made "2010").

The engine's step is held at a gate (as tests/conftest.py's replace_engine_step replaces it)
so that a test sees the moments between two iterations; it waits on conditions, never on the
clock.
"""

from __future__ import annotations

import itertools
import re
import threading

import pytest
from app_helpers import form_settled, result_text, wait_for
from textual.widgets import Button, Input

from nst_engine.optimise.stepper import Stepper

pytestmark = pytest.mark.slow  # each runs the engine in the app

GATE_TIMEOUT = 60  # seconds a held step waits at most (a test that fails must not hang)
SLOW_FIRST_STEP = 8  # the first step does the work of this many


class StepGate:
    """Holds the engine's step `number` until `open()`; `reached` is set when it is held."""

    def __init__(self, monkeypatch, number: int) -> None:
        self.number = number
        self.reached = threading.Event()
        self._open = threading.Event()
        real_step, numbers = Stepper.step, itertools.count(1)

        def step(stepper):
            if next(numbers) == self.number:
                self.reached.set()
                self._open.wait(GATE_TIMEOUT)
            return real_step(stepper)

        monkeypatch.setattr(Stepper, "step", step)

    def open(self) -> None:
        self._open.set()

    async def run_until_held(self, pilot) -> None:
        """Ctrl+R, and wait until the run is held at the gate."""
        await pilot.press("ctrl+r")
        await wait_for(pilot, self.reached.is_set, what=f"step {self.number} held")


def counts_line(app) -> str:
    return str(app.main.panel.query_one("#progress-stats").content).split("\n")[0]


def elapsed_seconds(app) -> int | None:
    match = re.search(r"(\d+):(\d\d) elapsed", counts_line(app))
    return None if match is None else 60 * int(match[1]) + int(match[2])


async def test_the_elapsed_time_ticks_before_the_first_iteration_ends(
    make_app, tiny_config, monkeypatch
) -> None:
    gate = StepGate(monkeypatch, 1)
    app = make_app(tiny_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        try:
            await gate.run_until_held(pilot)
            await wait_for(
                pilot, lambda: (elapsed_seconds(app) or 0) >= 2, what="the clock ticking"
            )
            assert " 0/4 " in counts_line(app)  # no iteration has ended yet
        finally:
            gate.open()
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run's end")


async def test_after_escape_run_says_stopping_until_the_run_has_stopped(
    make_app, tiny_config, monkeypatch
) -> None:
    gate = StepGate(monkeypatch, 2)
    app = make_app(tiny_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        button = app.main.query_one("#run", Button)
        try:
            await gate.run_until_held(pilot)
            await pilot.press("escape")
            await pilot.pause()
            assert "Stopping" in str(button.label) and button.disabled
            reason = str(app.main.panel.query_one("#run-reason").content)
            assert "Stopping" in reason and "Ready" not in reason, reason
            assert app.check_action("run", ()) is False
            jobs = len(app.jobs)
            await pilot.press("ctrl+r")  # nothing starts or queues while it stops
            await pilot.pause()
            assert len(app.jobs) == jobs
        finally:
            gate.open()
        await wait_for(pilot, lambda: "Cancelled after" in result_text(app), what="the stop")
        await pilot.pause()
        assert "Run" in str(button.label) and not button.disabled
        assert "Ready" in str(app.main.panel.query_one("#run-reason").content)


def speeds(text: str) -> list[str]:
    return re.findall(r"(\d+\.\d+) it/s", text)


async def test_the_speed_at_the_end_is_the_speed_shown_while_running(
    make_app, tiny_config, monkeypatch
) -> None:
    # A first step that costs as much as 8, as setting up does on a slow machine (the
    # targets, the first run's imports): the final figure counted it, the running one not.
    real_step, numbers = Stepper.step, itertools.count(1)

    def step(stepper):
        for _ in range(SLOW_FIRST_STEP if next(numbers) == 1 else 1):
            losses = real_step(stepper)
        return losses

    monkeypatch.setattr(Stepper, "step", step)
    app = make_app(tiny_config.replace(iterations=6))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run")
        assert "Done in" in result_text(app), result_text(app)
        await pilot.pause()
        running, final = speeds(counts_line(app)), speeds(result_text(app))
        assert running and final == running, (counts_line(app), result_text(app))
        assert "while iterating" in result_text(app)


async def test_after_a_run_typing_in_the_focused_field_replaces_its_value(
    make_app, tiny_config
) -> None:
    app = make_app(tiny_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        iterations = app.main.query_one("#iterations", Input)
        iterations.focus()
        await pilot.press("backspace", "6")  # typed: the cursor at the end, nothing selected
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run's end")
        await wait_for(pilot, lambda: "Done in" in result_text(app), what="the result")
        await pilot.pause()
        assert app.focused is iterations  # where the user left it
        await pilot.press("1", "0")
        assert iterations.value == "10"

"""Helpers for the app's tests: waiting on the app, reading what it shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# How often a wait looks at its condition, and how often it also makes the screen catch up.
# Between looks the test only sleeps and the app runs as it does for a person: a pilot's
# pause hands a message to every widget on the screen (about 14 ms of CPU on the main
# screen), so one every 10 ms, as this wait made before, took half a core from the engine
# thread it was waiting for. A look at the condition alone costs next to nothing: every 5
# ms (20 before; the app tests of the quick loop 4% quicker, two runs of each alternated).
POLL = 0.005
CATCH_UP = 0.25
# Seconds each engine step of an app test waits (sleeping: no CPU) before it is taken
# (conftest.py engine_steps_paced; the real app in a terminal: test_app_signals.py); in a
# scale of LONG_RUN iterations or more, a run kept going while the test works the screen,
# LONG_RUN_STEP_PAUSE.
STEP_PAUSE = 0.03
LONG_RUN = 1000
LONG_RUN_STEP_PAUSE = 0.15


async def wait_for(
    pilot, condition: Callable[[], bool], timeout: float = 30.0, what: str = ""
) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds. Then the
    screen catches up, so that what made the condition true is whole (a widget that came is
    mounted with its children) when the test goes on."""
    deadline = time.monotonic() + timeout
    next_catch_up = time.monotonic() + CATCH_UP
    waited = False
    while not condition():
        waited = True
        now = time.monotonic()
        if now > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or condition}")
        if now > next_catch_up:
            await pilot.pause()
            next_catch_up = time.monotonic() + CATCH_UP
        else:
            await asyncio.sleep(POLL)
    if waited:
        await pilot.pause()


def _settled(app) -> bool:
    """Both images checked, no form check pending, and the app has the latest result."""
    from nst_tui.app.widgets.form.path_field import PathField

    return (
        all(field.problem is not None for field in app.main.query(PathField))
        and not app.main.form._check_pending
        and app.form_state is app.main.form.last_check
        # An image's answer may be in and its message to the form not yet handled:
        and not any(problem.startswith("checking the ") for problem in app.form_state.problems)
    )


async def form_settled(pilot) -> None:
    """Wait until both images are checked and the form has checked itself since."""
    await pilot.pause()
    await wait_for(pilot, lambda: _settled(pilot.app), what="the form's checks")
    await pilot.pause()


async def set_text(pilot, selector: str, text: str) -> None:
    """Type-free: set an input's value as if typed (or pasted); wait for the form's check of it."""
    app = pilot.app
    widget = app.main.query_one(selector)
    if widget.value == text:
        await form_settled(pilot)
        return
    before = app.main.form.last_check
    widget.value = text
    await wait_for(
        pilot,
        lambda: app.main.form.last_check is not before and _settled(app),
        what=f"the form's check of {selector} = {text!r}",
    )


async def open_layers(pilot, kind: str) -> None:
    """Open the content or style layer list and wait for its rows and the form's check."""
    from textual.widgets import Collapsible

    app = pilot.app
    app.main.query_one(f"#{kind}-layers-box", Collapsible).collapsed = False
    await wait_for(pilot, lambda: bool(app.main.query(f"#{kind}-relu1_1")), what="the rows")
    await form_settled(pilot)


async def search_palette(pilot, query: str) -> None:
    """Open the app's command palette, type `query` and wait until its hits are listed."""
    from textual.command import CommandPalette

    app = pilot.app
    app.action_command_palette()
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
    await pilot.press(*query)
    await app.workers.wait_for_complete()
    await pilot.pause(0.2)
    await app.workers.wait_for_complete()


def result_text(app) -> str:
    """The run's result as shown, with the saved (or kept) path whole on a last line of its own
    (on screen that line is elided to the panel's width)."""
    text = str(app.main.panel.query_one("#run-result").content)
    path = app.main.panel.query_one("#run-result-path")
    return f"{text}\n{path._path}" if path._path else text


def reason_text(app) -> str:
    return str(app.main.panel.query_one("#run-reason").content)


def run_is_off_because(app, *fragments: str) -> str:
    """Assert that Run is off with a reason holding every fragment, the app still up; the reason."""
    from textual.widgets import Button

    assert app.is_running, "the app exited"
    reason = reason_text(app)
    assert app.main.query_one("#run", Button).disabled, reason
    assert app.form_state.config is None, reason
    for fragment in fragments:
        assert fragment in reason, f"{fragment!r} not in {reason!r}"
    return reason


def run_is_on(app) -> None:
    """Assert that Run is on (the form makes a config) and the app is up."""
    from textual.widgets import Button

    assert app.is_running, "the app exited"
    assert not app.main.query_one("#run", Button).disabled, reason_text(app)
    assert app.form_state.config is not None
    assert "Ready" in reason_text(app)


def thumbnail_pixel(field, x: int, y: int) -> tuple[int, int, int]:
    """The colour of pixel (x, y) of a path field's thumbnail (two pixels per cell)."""
    from nst_tui.app.widgets.picture.cells import CellImage

    return cell_pixel(field.query_one(CellImage), x, y)


def cell_pixel(cells, x: int, y: int) -> tuple[int, int, int]:
    """The colour of pixel (x, y) of a CellImage's picture (two pixels per cell)."""
    strip = cells._strips[y // 2]
    column = 0
    for segment in strip:
        column += len(segment.text)
        if column > x:
            colour = segment.style.bgcolor if y % 2 == 0 else segment.style.color
            return tuple(colour.triplet)
    raise IndexError(f"no pixel {x} in a thumbnail {column} wide")


async def form_pictured(pilot) -> None:
    """The form checked, every image field's thumbnail and the estimate shown, the focus on Run
    (no blinking cursor): what a snapshot of the form waits for."""
    from nst_tui.app.widgets.form.path_field import ImageField
    from nst_tui.app.widgets.picture.cells import CellImage

    await form_settled(pilot)
    app = pilot.app
    app.main.query_one("#run").focus()
    fields = [field for field in app.main.query(ImageField) if field.text.strip()]
    await wait_for(
        pilot,
        lambda: all(field.query_one(CellImage).has_picture for field in fields),
        what="the thumbnails",
    )
    estimate = app.main.query_one("#estimate")
    await wait_for(pilot, lambda: str(estimate.content).startswith("≈"), what="the estimate")

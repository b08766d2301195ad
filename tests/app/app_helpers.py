"""Helpers for the app's tests: waiting on the app, reading what it shows."""

from __future__ import annotations

import time
from collections.abc import Callable


async def wait_for(
    pilot, condition: Callable[[], bool], timeout: float = 30.0, what: str = ""
) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or condition}")
        await pilot.pause(0.05)


async def form_settled(pilot) -> None:
    """Wait until both images are checked and the form has checked itself since."""
    from nst_tui.widgets.path_field import PathField

    app = pilot.app
    await pilot.pause()

    def settled() -> bool:
        fields = app.main.query(PathField)
        return (
            all(field.problem is not None for field in fields)
            and not app.main.form._check_pending
            and app.form_state is app.main.form.last_check  # the app has the latest
        )

    await wait_for(pilot, settled, what="the form's checks")
    await pilot.pause()


async def set_text(pilot, selector: str, text: str) -> None:
    """Type-free: set an input's value as if typed, then let the form check itself."""
    widget = pilot.app.main.query_one(selector)
    widget.value = text
    await pilot.pause()
    await form_settled(pilot)


def result_text(app) -> str:
    return str(app.main.panel.query_one("#run-result").content)


def reason_text(app) -> str:
    return str(app.main.panel.query_one("#run-reason").content)

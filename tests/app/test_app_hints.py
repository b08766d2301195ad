"""A rule shown before anything is typed is a neutral hint, not an error: in the save-preset
dialog and on the sweep screen; what is typed wrong then shows in the error colour."""

from __future__ import annotations

from app_helpers import form_settled, wait_for
from textual.color import Color

from nst_tui.app.screens.save_preset import SavePresetScreen
from nst_tui.app.screens.sweep import SweepScreen


def colour_of(app, selector: str) -> Color:
    return app.screen.query_one(selector).styles.color


def alarming(app) -> set[Color]:
    """The warning and error colours of the app's theme."""
    variables = app.get_css_variables()
    return {Color.parse(variables["text-warning"]), Color.parse(variables["text-error"])}


async def test_the_preset_name_rule_is_a_neutral_hint_until_a_bad_name_is_typed(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SavePresetScreen), what="the dialog")
        await pilot.pause()
        assert colour_of(app, "#preset-name-problem") not in alarming(app)
        await pilot.press("!")
        await pilot.pause()
        error = Color.parse(app.get_css_variables()["text-error"])
        assert colour_of(app, "#preset-name-problem") == error


async def test_the_sweeps_values_rule_is_a_neutral_hint_until_a_bad_value_is_typed(
    make_app,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), what="the sweep")
        await pilot.pause()
        line = app.screen.query_one("#sweep-problem")
        assert "values" in str(line.content)  # says what to type
        assert colour_of(app, "#sweep-problem") not in alarming(app)
        assert app.screen.query_one("#sweep-start").disabled  # nothing to run yet
        await pilot.press(*"ten")
        await pilot.pause()
        error = Color.parse(app.get_css_variables()["text-error"])
        assert colour_of(app, "#sweep-problem") == error
        await pilot.press("backspace", "backspace", "backspace")  # empty again: a hint again
        await pilot.pause()
        assert colour_of(app, "#sweep-problem") not in alarming(app)

"""What a first try tripped over (issue 8): the progress line at 80 columns, focus that shows,
keys that jump between the form's parts, errors under their fields, re-running with a chosen
name, and Ctrl+Q during a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import (
    form_settled,
    open_layers,
    run_is_off_because,
    run_is_on,
    set_text,
    wait_for,
)
from textual.widgets import Button, Checkbox, Input

from nst_tui.app.screens.confirm import ConfirmScreen
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.layers import LayerChecklist
from nst_tui.app.widgets.run.run_panel import format_progress


def shown_text(widget) -> list[str]:
    """The lines a Static shows, each cut at the widget's width as the screen cuts it."""
    width = widget.content_region.width
    return [line[:width] for line in str(widget.content).splitlines()]


# --- item 2: ETA and speed survive 80 columns -----------------------------------------------------


def test_the_progress_line_puts_eta_and_speed_first() -> None:
    line = format_progress(5, 60, 1.2, 4.0, 45.8)
    assert line.startswith("ETA 0:46 · 1.20 it/s ·")
    assert line.index("5/60") > line.index("it/s")


@pytest.mark.slow  # runs the engine
async def test_at_80_columns_the_run_shows_eta_and_speed_whole(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(iterations=6))
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run")
        await pilot.pause()
        panel = app.main.panel
        counts = shown_text(panel.query_one("#progress-stats"))[0]
        assert counts.startswith("ETA 0:00 · ") and counts.split(" · ")[1].endswith("it/s"), counts
        # The device, weights and notes: one line each, cut at the edge, not wrapped.
        status = panel.query_one("#run-status")
        assert status.size.height == len(str(status.content).splitlines()) <= 3
        assert str(status.content).startswith("32x21 · cpu")


# --- items 4, 7, 8, 10 at 80x24: first focus, F6, errors under their fields, Ctrl+Q with no run ---


def tint_change(before, after) -> int:
    """How far a background colour moved, summed over R, G and B."""
    return sum(abs(a - b) for a, b in zip(before.rgb, after.rgb, strict=True))


async def test_at_80x24_focus_starts_in_a_text_field_f6_walks_errors_show_under_fields_ctrl_q_quits(
    make_app,
) -> None:
    """Every part in one app (an app start costs more than a part), each from a good form."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        # Part: the app starts in a text field (first: nothing has moved the focus yet).
        assert app.focused is app.main.query_one("#content", Input), "the first focus"
        run_is_on(app)
        # Part: F6 walks the form's parts and Shift+F6 walks back.
        await f6_walks_the_forms_parts_and_shift_f6_walks_back(pilot)
        run_is_on(app)
        # Part: a compute size too small shows under Compute size.
        size_before = app.main.query_one("#size", Input).value
        await set_text(pilot, "#size", "8")
        run_is_off_because(app, "at this compute size")
        error = app.main.query_one("#size-field").error
        assert "becomes 8x5 at this compute size" in error, ("compute size 8", error)
        assert str(app.main.query_one("#form-error").content) == "", "compute size 8"
        await set_text(pilot, "#size", size_before)
        run_is_on(app)
        # Part: an absurd learning rate shows under it as learning rate.
        lr_before = app.main.query_one("#lr", Input).value
        await set_text(pilot, "#lr", "1e300")
        message = "learning rate must be at most 1e+06, got 1e+300"
        assert app.main.query_one("#lr-field").error == message, "learning rate 1e300"
        run_is_off_because(app, message)
        await set_text(pilot, "#lr", lr_before)
        run_is_on(app)
        # Part: Ctrl+Q with no run quits at once (item 10; last: it ends the app).
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running, "Ctrl+Q with no run: the app still up"


# --- item 7's parts: F6 between the form's parts; a layer list is one stop ------------------------


async def f6_walks_the_forms_parts_and_shift_f6_walks_back(pilot) -> None:
    app = pilot.app
    visited = []
    for _ in range(8):
        await pilot.press("f6")
        visited.append(app.focused.id or type(app.focused).__name__)
    assert visited == [
        "style_weight",
        "iterations",
        "device",
        "CollapsibleTitle",
        "CollapsibleTitle",
        "run",
        "preset",
        "content",
    ], ("F6", visited)
    await pilot.press("ctrl+down", "ctrl+down", "ctrl+down")
    assert app.focused.id == "device", "Ctrl+Down"
    await pilot.press("shift+f6")
    assert app.focused.id == "iterations", "Shift+F6"
    app.main.query_one("#lr", Input).focus()  # inside Optimisation
    await pilot.press("ctrl+up")  # the previous part, as F6 goes to the next one
    assert app.focused.id == "style_weight", "Ctrl+Up"
    app.main.query_one("#lr", Input).focus()
    await pilot.press("f6", "shift+f6")  # there and back: Machine, then Optimisation
    assert app.focused.id == "iterations", "F6 then Shift+F6"


async def an_open_layer_list_is_one_tab_stop_until_entered(pilot) -> None:
    app = pilot.app
    await open_layers(pilot, "style")
    checklist = app.main.query_one("#style-layers", LayerChecklist)
    app.main.query_one("#style-layers-box CollapsibleTitle").focus()
    await pilot.press("tab")
    assert app.focused is checklist, "layer list: Tab onto it"
    await pilot.press("tab")
    assert app.focused.id == "run", "layer list: Tab past it"  # past the 37 rows in one press
    await pilot.press("shift+tab")
    assert app.focused is checklist, "layer list: Shift+Tab back"  # and back in one
    await pilot.press("enter")
    assert app.focused.id == "style-relu1_1", "layer list: Enter"  # the first ticked layer
    await pilot.press("down")
    assert app.focused.id == "style-conv1_2", "layer list: Down"
    await pilot.press("tab")  # inside, Tab walks the rows (an unticked weight is skipped)
    assert app.focused.id == "style-relu1_2", "layer list: Tab inside"
    await pilot.press("escape")
    assert app.focused is checklist and not checklist.entered, "layer list: Escape"
    assert app.is_running, "layer list: Escape"
    # A click on a row enters the list and works as before.
    row = app.main.query_one("#style-conv1_1", Checkbox)
    assert not row.value, "layer list: conv1_1 ticked before the click"
    row.scroll_visible(animate=False)
    await pilot.pause()
    await pilot.click("#style-conv1_1")
    assert row.value, "layer list: the click"
    assert checklist.entered, "layer list: the click"
    # Back to the good form: conv1_1 unticked, the list left.
    row.value = False
    await pilot.press("escape")
    await form_settled(pilot)
    assert not checklist.entered, "layer list: left"


# --- items 4, 7, 8 at 120x40: a focused drop-down, a layer list, Nesterov under its field ---------


async def test_at_120x40_a_focused_drop_down_shows_a_layer_list_is_one_stop_and_nesterov_needs_momentum(
    make_app,
) -> None:
    """Every part in one app (an app start costs more than a part), each from a good form."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        # Part: a focused drop-down shows as clearly as a text field.
        select = app.main.query_one("#init", Dropdown)
        current = select  # it draws its own line
        text = app.main.query_one("#iterations", Input)
        select_idle, text_idle = current.background_colors[1], text.background_colors[1]
        select.focus()
        await pilot.pause()
        select_focused = current.background_colors[1]
        text.focus()
        await pilot.pause()
        text_focused = text.background_colors[1]
        select_change = tint_change(select_idle, select_focused)
        assert select_change >= tint_change(text_idle, text_focused), "the drop-down's focus"
        run_is_on(app)
        # Part: an open layer list is one Tab stop until entered.
        await an_open_layer_list_is_one_tab_stop_until_entered(pilot)
        run_is_on(app)
        # Part: Nesterov without momentum shows under Nesterov.
        app.main.query_one("#optimizer", Dropdown).value = "sgd"
        switcher = app.main.query_one("#optimizer-params")
        await wait_for(pilot, lambda: switcher.current == "params-sgd", what="the SGD panel")
        await form_settled(pilot)
        await set_text(pilot, "#sgd-momentum", "0")
        app.main.query_one("#sgd-nesterov", Checkbox).value = True
        await pilot.pause()
        await form_settled(pilot)
        error = app.main.query_one("#sgd-nesterov-field").error
        assert error == "nesterov needs a momentum above 0", ("nesterov", error)
        await set_text(pilot, "#sgd-momentum", "0.9")
        assert app.main.query_one("#sgd-nesterov-field").error == "", "nesterov, momentum 0.9"
        run_is_on(app)


# --- item 9: a chosen output name is numbered on the next run ------------------------------------


@pytest.mark.slow  # runs the engine
async def test_rerunning_with_a_chosen_name_offers_the_next_free_name(
    make_app, tiny_config, tmp_path: Path
) -> None:
    app = make_app(tiny_config.replace(iterations=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        chosen = tmp_path / "mine.png"
        await set_text(pilot, "#output", str(chosen))
        for expected in (chosen, tmp_path / "mine-2.png", tmp_path / "mine-3.png"):
            assert app.form_state.config.inputs.output == expected
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: not app.running, timeout=120, what="the run")
            assert expected.is_file()
            await form_settled(pilot)
            run_is_on(app)  # never blocked by "already exists"
        assert app.form_state.config.inputs.output == tmp_path / "mine-4.png"
        # Typing the name of an existing file says which name is free.
        await set_text(pilot, "#output", str(chosen))
        assert "('mine-4.png' is free)" in app.main.query_one("#output-field").error


# --- item 10: Ctrl+Q during a run asks -----------------------------------------------------------


@pytest.mark.slow  # runs the engine
async def test_ctrl_q_during_a_run_asks_and_escape_keeps_running(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.focused is app.screen.query_one("#confirm-yes", Button)  # Enter confirms
        await pilot.press("escape")
        assert app.is_running and app.running  # still running
        await pilot.press("ctrl+q")
        await pilot.press("enter")
    assert app.return_code == 0
    app.wait_for_engine()
    assert app.session_results and app.session_results[0].startswith("partial (")

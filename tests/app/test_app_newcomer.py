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
from textual.widgets import Button, Checkbox, Input, Select
from textual.widgets._select import SelectCurrent

from nst_tui.app.screens.confirm import ConfirmScreen
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


# --- item 4: focus shows, and the first screen has a cursor ---------------------------------------


def tint_change(before, after) -> int:
    """How far a background colour moved, summed over R, G and B."""
    return sum(abs(a - b) for a, b in zip(before.rgb, after.rgb, strict=True))


async def test_the_app_starts_in_a_text_field(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        assert app.focused is app.main.query_one("#content", Input)


async def test_a_focused_drop_down_shows_as_clearly_as_a_text_field(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        select = app.main.query_one("#init", Select)
        current = select.query_one(SelectCurrent)
        text = app.main.query_one("#iterations", Input)
        select_idle, text_idle = current.background_colors[1], text.background_colors[1]
        select.focus()
        await pilot.pause()
        select_focused = current.background_colors[1]
        text.focus()
        await pilot.pause()
        text_focused = text.background_colors[1]
        assert tint_change(select_idle, select_focused) >= tint_change(text_idle, text_focused)


# --- item 7: keys that jump between the form's parts; a layer list is one stop -------------------


async def test_f6_walks_the_forms_parts_and_shift_f6_walks_back(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
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
        ]
        await pilot.press("ctrl+down", "ctrl+down", "ctrl+down")
        assert app.focused.id == "device"
        await pilot.press("shift+f6")
        assert app.focused.id == "iterations"
        app.main.query_one("#lr", Input).focus()  # inside Optimisation
        await pilot.press("ctrl+up")  # the previous part, as F6 goes to the next one
        assert app.focused.id == "style_weight"
        app.main.query_one("#lr", Input).focus()
        await pilot.press("f6", "shift+f6")  # there and back: Machine, then Optimisation
        assert app.focused.id == "iterations"


async def test_an_open_layer_list_is_one_tab_stop_until_entered(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await open_layers(pilot, "style")
        checklist = app.main.query_one("#style-layers", LayerChecklist)
        app.main.query_one("#style-layers-box CollapsibleTitle").focus()
        await pilot.press("tab")
        assert app.focused is checklist
        await pilot.press("tab")
        assert app.focused.id == "run"  # past the 37 rows in one press
        await pilot.press("shift+tab")
        assert app.focused is checklist  # and back in one
        await pilot.press("enter")
        assert app.focused.id == "style-relu1_1"  # the first ticked layer
        await pilot.press("down")
        assert app.focused.id == "style-conv1_2"
        await pilot.press("tab")  # inside, Tab walks the rows (an unticked weight is skipped)
        assert app.focused.id == "style-relu1_2"
        await pilot.press("escape")
        assert app.focused is checklist and not checklist.entered
        assert app.is_running
        # A click on a row enters the list and works as before.
        app.main.query_one("#style-conv1_1").scroll_visible(animate=False)
        await pilot.pause()
        await pilot.click("#style-conv1_1")
        assert app.main.query_one("#style-conv1_1", Checkbox).value
        assert checklist.entered


# --- item 8: every check about one field shows under it, in the form's words --------------------


async def test_a_compute_size_too_small_shows_under_compute_size(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#size", "8")
        run_is_off_because(app, "at this compute size")
        assert "becomes 8x5 at this compute size" in app.main.query_one("#size-field").error
        assert str(app.main.query_one("#form-error").content) == ""


async def test_an_absurd_learning_rate_shows_under_it_as_learning_rate(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#lr", "1e300")
        message = "learning rate must be at most 1e+06, got 1e+300"
        assert app.main.query_one("#lr-field").error == message
        run_is_off_because(app, message)


async def test_nesterov_without_momentum_shows_under_nesterov(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        app.main.query_one("#optimizer", Select).value = "sgd"
        switcher = app.main.query_one("#optimizer-params")
        await wait_for(pilot, lambda: switcher.current == "params-sgd", what="the SGD panel")
        await form_settled(pilot)
        await set_text(pilot, "#sgd-momentum", "0")
        app.main.query_one("#sgd-nesterov", Checkbox).value = True
        await pilot.pause()
        await form_settled(pilot)
        assert (
            app.main.query_one("#sgd-nesterov-field").error == "nesterov needs a momentum above 0"
        )
        await set_text(pilot, "#sgd-momentum", "0.9")
        assert app.main.query_one("#sgd-nesterov-field").error == ""
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


async def test_ctrl_q_with_no_run_quits_at_once(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running

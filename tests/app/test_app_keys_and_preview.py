"""Keys, help, the command palette, and the preview's cells and sizing."""

from __future__ import annotations

import pytest
from app_helpers import form_settled, wait_for
from PIL import Image
from textual.command import CommandPalette

from nst_tui.app.commands import APP_COMMANDS, app_bindings
from nst_tui.app.screens.help import HelpScreen, keys_table
from nst_tui.app.widgets.picture.cells import CellBuilder, CellImage, fit_cells
from nst_tui.app.widgets.picture.preview import PreviewPane


def test_every_keyed_command_is_a_binding_and_in_the_help() -> None:
    keys = {binding.key: binding.action for binding in app_bindings()}
    assert keys["ctrl+r"] == "run"
    assert keys["escape"] == "cancel"
    assert keys["f1"] == "help"
    assert keys["ctrl+q"] == "quit"
    assert keys["ctrl+s"] == "save_preset"
    assert keys["ctrl+f"] == "maximise_preview"
    table = keys_table()
    for command in APP_COMMANDS:
        assert command.title in table


@pytest.mark.slow  # runs the engine
async def test_the_footer_shows_run_when_idle_and_cancel_when_running(
    make_app, tiny_config
) -> None:
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test() as pilot:
        await form_settled(pilot)

        def shown() -> set[str]:
            bindings = app.screen.active_bindings.values()
            actions = {binding.binding.action for binding in bindings}
            return {action for action in actions if app.check_action(action, ()) is not False}

        assert "run" in shown() and "cancel" not in shown()
        await pilot.press("ctrl+r")
        assert "cancel" in shown() and "run" not in shown()
        await pilot.press("escape")
        # Stopping (neither) or, on a fast machine, stopped already: no second cancel either
        # way (test_app_run_status.py holds a run in its stopping state to see "Stopping…").
        assert "cancel" not in shown()
        await wait_for(pilot, lambda: "run" in shown(), timeout=60, what="the stop")


async def test_f1_opens_help_and_escape_closes_it(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="closed")


async def test_the_command_palette_offers_the_apps_actions(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"demo images", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), what="done")
        from nst_engine.settings.gallery import demo_pair

        assert app.main.query_one("#content").value == str(demo_pair()[0])
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"maximise the preview", "enter")
        await wait_for(pilot, lambda: app.main.maximized is not None, what="maximised")
        assert isinstance(app.main.maximized, PreviewPane)


async def test_ctrl_f_maximises_the_preview_and_refits_it(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await form_settled(pilot)
        preview = app.main.preview
        small = preview.cell_size
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: preview.cell_size[0] > small[0], what="the bigger size")
        assert app.main.maximized is preview
        await pilot.press("escape")
        await wait_for(pilot, lambda: preview.cell_size == small, what="back")


async def test_the_preview_refits_when_the_terminal_is_resized(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        preview = app.main.preview
        preview._set_source(Image.new("RGB", (300, 200), (200, 30, 30)))
        cells = preview.query_one(CellImage)
        await wait_for(pilot, lambda: cells.has_picture, what="a picture")
        large = cells.picture_size
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: cells.picture_size[0] < large[0], what="the refit")
        width, height = cells.picture_size
        assert width <= preview.cell_size[0] and height <= preview.cell_size[1]


def test_cells_are_two_pixels_each_with_the_right_colours() -> None:
    image = Image.new("RGB", (3, 4), (0, 0, 0))
    image.putpixel((0, 0), (255, 0, 0))  # upper pixel of the first cell: its background
    image.putpixel((0, 1), (0, 0, 255))  # lower pixel: the colour of the half block
    strips = CellBuilder(bits=8).build(image)
    assert len(strips) == 2 and all(strip.cell_length == 3 for strip in strips)
    first = list(strips[0])[0]
    assert first.text == "▄"
    assert first.style.bgcolor.triplet == (255, 0, 0)
    assert first.style.color.triplet == (0, 0, 255)


def test_an_odd_number_of_rows_still_fills_the_last_cell() -> None:
    strips = CellBuilder().build(Image.new("RGB", (2, 5), (9, 9, 9)))
    assert len(strips) == 3


def test_fitting_keeps_the_aspect_ratio_in_half_blocks() -> None:
    assert fit_cells((640, 427), (40, 10)) == (30, 20)  # 10 rows hold 20 pixels
    assert fit_cells((100, 100), (80, 20)) == (40, 40)


async def test_graphics_fall_back_to_half_blocks_where_there_are_none(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await app.run_action("toggle_graphics")
        await pilot.pause()
        assert app.preview_mode == "graphics"  # remembered: the next start asks the terminal
        assert not app.main.preview.graphics_on  # this one has no graphics protocol
        assert app.main.preview.query_one(CellImage).display
        assert any("No graphics protocol" in str(note.message) for note in app._notifications)
        await app.run_action("toggle_graphics")
        assert app.preview_mode == "cells"


async def test_the_help_lists_keys_tips_and_files(make_app) -> None:
    from textual.widgets import Markdown

    from nst_tui.app.remembered import settings_path

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = app.screen.query_one(Markdown).source
        assert "Ctrl+R" in text and "COLORTERM=truecolor" in text
        assert str(settings_path()) in text


async def test_a_graphics_protocol_shows_the_frames_as_images(make_app, monkeypatch) -> None:
    from textual_image.widget import HalfcellImage  # stands in for Kitty or Sixel here

    import nst_tui.app.widgets.picture.preview as preview_module

    monkeypatch.setattr(preview_module, "graphics_widget_class", lambda: HalfcellImage)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await app.run_action("toggle_graphics")
        await pilot.pause()
        preview = app.main.preview
        assert preview.graphics_on and not preview.query_one(CellImage).display
        await wait_for(pilot, lambda: preview.frame_request()[0] == "graphics", what="graphics")
        mode, width, height = preview.frame_request()
        assert width > preview.cell_size[0] and height > preview.cell_size[1] * 2  # real pixels
        from nst_tui.app.messages import RunPreview

        image = Image.new("RGB", (width, height), (10, 200, 10))
        preview.show_frame(RunPreview(app.current_run_number, 1, image, None))
        assert preview.query_one(HalfcellImage).image is image
        await app.run_action("toggle_graphics")
        await pilot.pause()
        assert not preview.graphics_on and preview.query_one(CellImage).display

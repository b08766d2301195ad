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


async def test_f1_help_ctrl_f_and_the_graphics_toggle_with_and_without_a_protocol(
    make_app, monkeypatch
) -> None:
    """Every part in one app (an app start costs more than a part), each from the main screen."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        # Part: F1 opens the help and Escape closes it.
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="closed")
        await form_settled(pilot)
        # Part: Ctrl+F maximises the preview and refits it.
        preview = app.main.preview
        small = preview.cell_size
        assert app.main.maximized is None, "Ctrl+F: maximised before"
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: preview.cell_size[0] > small[0], what="the bigger size")
        assert app.main.maximized is preview, "Ctrl+F: not the preview maximised"
        await pilot.press("escape")
        await wait_for(pilot, lambda: preview.cell_size == small, what="back")
        assert app.main.maximized is None, "Ctrl+F: still maximised after Escape"
        await graphics_fall_back_to_half_blocks_where_there_are_none(pilot)
        await a_graphics_protocol_shows_the_frames_as_images(pilot, monkeypatch)


async def graphics_fall_back_to_half_blocks_where_there_are_none(pilot) -> None:
    app = pilot.app
    assert app.preview_mode == "cells" and not app.main.preview.graphics_on, "no protocol: before"
    await app.run_action("toggle_graphics")
    await pilot.pause()
    # Remembered: the next start asks the terminal.
    assert app.preview_mode == "graphics", "no protocol: not remembered"
    assert not app.main.preview.graphics_on, "no protocol: on"  # this one has none
    assert app.main.preview.query_one(CellImage).display, "no protocol: cells hidden"
    notes = [str(note.message) for note in app._notifications]
    assert any("No graphics protocol" in note for note in notes), ("no protocol", notes)
    await app.run_action("toggle_graphics")
    assert app.preview_mode == "cells", "no protocol: toggled back"


async def a_graphics_protocol_shows_the_frames_as_images(pilot, monkeypatch) -> None:
    from textual_image.widget import HalfcellImage  # stands in for Kitty or Sixel here

    import nst_tui.app.widgets.picture.preview as preview_module
    from nst_tui.app.messages import RunPreview

    app = pilot.app
    # The protocol is looked up at each toggle, so it can be given to the running app.
    monkeypatch.setattr(preview_module, "graphics_widget_class", lambda: HalfcellImage)
    preview = app.main.preview
    assert app.preview_mode == "cells" and not preview.graphics_on, "a protocol: before"
    await app.run_action("toggle_graphics")
    await pilot.pause()
    cells_shown = preview.query_one(CellImage).display
    assert preview.graphics_on and not cells_shown, "a protocol: graphics not on"
    await wait_for(pilot, lambda: preview.frame_request()[0] == "graphics", what="graphics")
    mode, width, height = preview.frame_request()
    real_pixels = width > preview.cell_size[0] and height > preview.cell_size[1] * 2
    assert real_pixels, ("a protocol: frame size", width, height, preview.cell_size)
    image = Image.new("RGB", (width, height), (10, 200, 10))
    preview.show_frame(RunPreview(app.current_run_number, 1, image, None))
    assert preview.query_one(HalfcellImage).image is image, "a protocol: frame not shown"
    await app.run_action("toggle_graphics")
    await pilot.pause()
    cells_shown = preview.query_one(CellImage).display
    assert not preview.graphics_on and cells_shown, "a protocol: toggled back"


async def test_the_help_lists_keys_tips_and_files_the_palette_offers_actions_and_the_preview_refits(
    make_app,
) -> None:
    """Every part in one app (an app start costs more than a part), each from the main screen."""
    from textual.widgets import Markdown

    from nst_engine.settings.gallery import demo_pair
    from nst_tui.app.remembered import settings_path

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        # Part: the help lists keys, tips and files.
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = app.screen.query_one(Markdown).source
        assert "Ctrl+R" in text and "COLORTERM=truecolor" in text, "the help: keys and tips"
        assert str(settings_path()) in text, "the help: the settings file"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="closed")
        await form_settled(pilot)
        # Part: the command palette offers the app's actions.
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"demo images", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), what="done")
        content = app.main.query_one("#content").value
        assert content == str(demo_pair()[0]), ("the palette: demo images", content)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"maximise the preview", "enter")
        await wait_for(pilot, lambda: app.main.maximized is not None, what="maximised")
        assert isinstance(app.main.maximized, PreviewPane), "the palette: maximise"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.main.maximized is None, what="the way back")
        await form_settled(pilot)
        # Part: the preview refits when the terminal is resized (last: it resizes it).
        preview = app.main.preview
        preview._set_source(Image.new("RGB", (300, 200), (200, 30, 30)))
        cells = preview.query_one(CellImage)
        await wait_for(pilot, lambda: cells.has_picture, what="a picture")
        large = cells.picture_size
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: cells.picture_size[0] < large[0], what="the refit")
        width, height = cells.picture_size
        fits = width <= preview.cell_size[0] and height <= preview.cell_size[1]
        assert fits, ("the refit", cells.picture_size, preview.cell_size)

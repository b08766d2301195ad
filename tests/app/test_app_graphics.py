"""The graphics preview (Kitty, Sixel): the picture keeps its aspect ratio in the terminal's real
cell size, stays within the largest Sixel image, and is sized again after maximise and restore.

textual-image's half-cell widget stands in for the Kitty and Sixel widgets here (a test has
no terminal to draw them); the screenshots in xterm and kitty are the check by hand.
"""

from __future__ import annotations

import pytest
from app_helpers import form_settled, wait_for
from PIL import Image

from nst_tui.app.widgets.picture import graphics
from nst_tui.app.widgets.picture.graphics import fit_graphics

CELL = (10, 20)  # pixels per cell: textual-image's answer without a terminal (VT340 sizes)


def drawn_aspect(cells: tuple[int, int], cell: tuple[int, int]) -> float:
    return cells[0] * cell[0] / (cells[1] * cell[1])


@pytest.mark.parametrize("cell", [(10, 20), (7, 15), (9, 18), (8, 17), (10, 22)])
@pytest.mark.parametrize("image", [(640, 427), (256, 171), (512, 512), (300, 900), (1000, 90)])
@pytest.mark.parametrize("area", [(63, 27), (118, 36), (40, 12), (200, 60)])
def test_the_picture_keeps_the_images_aspect_within_a_cell(cell, image, area) -> None:
    columns, rows = fit_graphics(image, area, cell)
    assert 1 <= columns <= area[0] and 1 <= rows <= area[1]
    # Rounding to whole cells changes each side by at most half a cell.
    width, height = columns * cell[0], rows * cell[1]
    target = image[0] / image[1]
    assert abs(width - height * target) <= 0.5 * cell[0] + 0.5 * cell[1] * target + 1e-9
    # And it fills the area on one side (within a cell).
    assert columns >= area[0] - 1 or rows >= area[1] - 1


def test_the_rocket_is_no_longer_drawn_at_the_panels_shape() -> None:
    # The reported case: xterm's panel of 63x27 cells of 10x20 pixels, a 1.5:1 image.
    cells = fit_graphics((640, 427), (63, 27), CELL)
    assert abs(drawn_aspect(cells, CELL) - 640 / 427) < 0.05
    assert drawn_aspect((63, 27), CELL) < 1.2  # what it was: the whole panel, 1.17:1


def test_a_sixel_picture_stays_within_the_largest_image_the_terminal_draws() -> None:
    # Maximised at 120x40 the panel is 1180x720 pixels; xterm draws no Sixel over 1000 wide.
    columns, rows = fit_graphics((640, 427), (118, 36), CELL, limit=(1000, 1000))
    assert columns * CELL[0] <= 1000 and rows * CELL[1] <= 1000
    assert abs(drawn_aspect((columns, rows), CELL) - 640 / 427) < 0.05
    assert graphics.frame_pixels((118, 36), (1000, 1000))[0] <= 1000


async def test_maximise_and_restore_size_the_graphics_picture_again(make_app, monkeypatch) -> None:
    from textual_image.widget import HalfcellImage  # stands in for Kitty or Sixel here

    import nst_tui.app.widgets.picture.preview as preview_module

    monkeypatch.setattr(preview_module, "graphics_widget_class", lambda: HalfcellImage)
    monkeypatch.setattr(graphics, "cell_pixels", lambda: CELL)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await app.run_action("toggle_graphics")
        await pilot.pause()
        preview = app.main.preview
        await wait_for(pilot, lambda: preview.frame_request()[0] == "graphics", what="graphics")
        _, width, height = preview.frame_request()
        from nst_tui.app.messages import RunPreview

        image = Image.new("RGB", (640, 427), (10, 200, 10))
        preview.show_frame(RunPreview(app.current_run_number, 1, image, None))
        picture = preview.query_one(HalfcellImage)

        def shown() -> tuple[int, int]:
            return picture.size.width, picture.size.height

        frame = picture.parent
        await wait_for(pilot, lambda: shown() == frame.fitted != (0, 0), what="the picture")
        before = shown()
        assert abs(drawn_aspect(before, CELL) - 1.5) < 0.1, before
        assert before[0] <= frame.size.width and before[1] <= frame.size.height
        assert before[0] == frame.size.width or before[1] == frame.size.height  # it fills

        app.action_maximise_preview()
        await wait_for(
            pilot,
            lambda: shown()[0] > before[0] and shown() == frame.fitted,
            what="the maximised picture",
        )
        maximised = shown()
        assert abs(drawn_aspect(maximised, CELL) - 1.5) < 0.1, maximised

        app.action_maximise_preview()
        await wait_for(pilot, lambda: shown() == before, what="the restored picture")


async def test_a_new_sixel_frame_is_drawn_over_the_old_without_blanking_it() -> None:
    from textual.app import App, ComposeResult
    from textual.geometry import Region
    from textual_image.widget import SixelImage

    from nst_tui.app.widgets.picture.graphics import GraphicsFrame

    class OneFrame(App[None]):
        def compose(self) -> ComposeResult:
            yield GraphicsFrame(SixelImage, id="frame")

    app = OneFrame()
    async with app.run_test(size=(60, 20)) as pilot:
        frame = app.query_one(GraphicsFrame)
        frame.image = Image.new("RGB", (300, 200), (200, 30, 30))
        await pilot.pause()
        frame.image = Image.new("RGB", (300, 200), (30, 30, 200))  # the next frame of a run
        await pilot.pause()
        drawing = frame.picture.children[0]
        assert frame.fitted == drawing.size
        width, height = drawing.size
        lines = drawing.render_lines(Region(0, 0, width, height))
        assert len(lines) == height
        # Rows but the last only move the cursor (no blank cells over the old picture); the
        # last carries the Sixel data of the whole picture.
        for line in lines[:-1]:
            assert line.text == f"\x1b[{width}C" and line.cell_length == width
        assert "\x1bP" in lines[-1].text and "q" in lines[-1].text


async def test_switching_to_graphics_asks_the_terminal_then(make_app, monkeypatch) -> None:
    # Started with half-blocks, so nothing was asked at start; a Sixel xterm answers now.
    import contextlib

    import nst_tui.app.textual_driver
    from nst_tui.app import terminal

    asked = []
    paused = False

    @contextlib.contextmanager
    def input_paused(app):
        nonlocal paused
        paused = True
        yield True
        paused = False

    def ask(query: bytes, timeout: float = terminal.ANSWER_TIMEOUT) -> bytes:
        asked.append((query, paused))
        return b"\x1bP>|XTerm(379)\x1b\\\x1b[?63;1;2;4;6;9;15;16;22;28c"  # xterm -ti vt340

    monkeypatch.setattr(nst_tui.app.textual_driver, "input_paused", input_paused)
    monkeypatch.setattr(terminal, "ask", ask)
    for name in ("_protocol", "_asked", "_version", "_sixel_limit"):  # not asked yet
        monkeypatch.setattr(terminal, name, None)
    monkeypatch.setattr(graphics, "cell_pixels", lambda: CELL)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        assert app.preview_mode == "cells" and not asked
        await app.run_action("toggle_graphics")
        await pilot.pause()
        assert asked and all(while_paused for _, while_paused in asked)
        preview = app.main.preview
        assert preview.graphics_on
        assert preview.query_one(graphics.GraphicsFrame).sixel
        assert not any("No graphics" in str(note.message) for note in app._notifications)

"""The preview follows its panel's size: after maximising and back, and for frames in flight."""

from __future__ import annotations

import pytest
from app_helpers import form_settled, wait_for
from PIL import Image

from nst_tui.app.messages import RunPreview
from nst_tui.app.widgets.picture.cells import CellBuilder, CellImage, fit_cells


def painted_size(cells: CellImage) -> tuple[int, int]:
    """(columns, rows) of picture actually painted: the strips, as the widget places them."""
    width, height = cells.size
    placed = [cells.render_line(y) for y in range(height)]
    rows = [strip for strip in placed if strip.text.strip()]  # blank rows are padding
    columns = max((len(strip.text.strip()) for strip in rows), default=0)
    return columns, len(rows)


def assert_fits(preview) -> None:
    """The frame size asked for and the picture shown both fit the panel as it is now."""
    cells = preview.query_one(CellImage)
    panel = (cells.size.width, cells.size.height)
    assert preview.cell_size == panel, f"frames requested at {preview.cell_size}, panel {panel}"
    _, columns, pixel_rows = preview.frame_request()
    assert (columns, pixel_rows) == (panel[0], panel[1] * 2)
    width, height = cells.picture_size
    assert width <= panel[0] and height <= panel[1], f"picture {width}x{height} in {panel}"
    assert width == panel[0] or height == panel[1], "the picture is refitted, not left small"
    painted_columns, painted_rows = painted_size(cells)
    assert painted_columns == width and painted_rows == height  # nothing cropped


async def maximise_and_back(pilot, small: tuple[int, int]) -> None:
    """Ctrl+F, then Escape as it goes during a run, each time asserting that the preview fits.

    During a run Textual may send the pane no Resize on the way back: when a line of the
    run panel changed under the maximised preview and a repaint reads the layout between
    the minimise and the next layout pass. Whether the read comes first depends on timing,
    so the way back is tried with the change made at a few moments before it."""
    app = pilot.app
    preview = app.main.preview
    cells = preview.query_one(CellImage)
    for attempt, settle in enumerate((None, 0.05, 0.1, 0.2)):
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: cells.picture_size[1] > small[1], what="the big picture")
        assert app.main.maximized is preview
        app.main.panel.status(f"{attempt}: the status changes\nnote: as during a run")
        await (pilot.pause() if settle is None else pilot.pause(settle))
        app.main.minimize()  # what Escape does when something is maximised
        _ = cells.size  # a repaint's read of the layout
        await pilot.pause(0.3)
        await wait_for(pilot, lambda: cells.picture_size[1] <= small[1], what="the refit")
        assert app.main.maximized is None
        assert_fits(preview)


async def test_the_preview_refits_after_maximising_and_back(
    make_app,
) -> None:
    """Ctrl+F then Escape: the preview is redrawn at the panel's size, as on a resize."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await form_settled(pilot)
        preview = app.main.preview
        cells = preview.query_one(CellImage)
        preview._set_source(Image.new("RGB", (300, 200), (200, 30, 30)))
        await wait_for(pilot, lambda: cells.has_picture, what="a picture")
        await maximise_and_back(pilot, preview.cell_size)


@pytest.mark.slow  # runs the engine
async def test_escape_after_a_finished_run_refits_the_result(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await form_settled(pilot)
        preview = app.main.preview
        cells = preview.query_one(CellImage)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run's end")
        await wait_for(pilot, lambda: cells.has_picture, what="the result")
        await form_settled(pilot)  # the form checks its next output name
        await pilot.pause(0.3)
        await maximise_and_back(pilot, preview.cell_size)


async def test_a_frame_built_for_the_previous_size_is_refitted(make_app) -> None:
    """A frame the worker built while the preview was maximised arrives after Escape: it is
    drawn to fit the panel, not cropped to its top-left corner."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await form_settled(pilot)
        preview = app.main.preview
        cells = preview.query_one(CellImage)
        columns, rows = preview.cell_size
        big = Image.new("RGB", (300, 200), (20, 90, 200))
        frame = big.resize(fit_cells(big.size, (columns * 2, rows * 2)))
        strips = CellBuilder().build(frame)
        assert len(strips) > rows  # built for a panel twice this size
        preview.show_frame(RunPreview(app.current_run_number, 3, frame, strips))
        await wait_for(pilot, lambda: cells.has_picture, what="a picture")
        await pilot.pause(0.2)
        await wait_for(pilot, lambda: cells.picture_size[1] <= rows, what="the refit")
        assert_fits(preview)

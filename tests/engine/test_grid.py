"""Comparison grids (nst_engine/sweeps/grid.py): size arithmetic, pictures in their cells, labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_engine.sweeps.grid import BACKGROUND, GAP, MARGIN, MISSING, compose_grid, grid_layout

RED, BLUE = (220, 30, 30), (30, 30, 220)


def solid(colour, size=(60, 40)) -> Image.Image:
    return Image.new("RGB", size, colour)


def ink(image: Image.Image, box) -> int:
    """How many pixels in `box` differ from the background (text, pictures)."""
    pixels = np.asarray(image.crop(box)).astype(int)
    return int((np.abs(pixels - np.array(BACKGROUND)).sum(axis=2) > 60).sum())


def centre(box) -> tuple[int, int]:
    left, top, right, bottom = box
    return (left + right) // 2, (top + bottom) // 2


def test_two_axes_size_and_cells(tmp_path: Path) -> None:
    red_file = tmp_path / "red.png"
    solid(RED).save(red_file)
    pictures = [[solid(RED), solid(BLUE), red_file], [solid(BLUE), "running", None]]
    image = compose_grid(
        pictures,
        ["3", "10"],
        ["0.5", "1", "2"],
        title="astronaut in the style of mosaic",
        row_title="style-weight",
        column_title="style-scale",
        cell_size=90,
    )
    layout = grid_layout(
        2,
        3,
        ["3", "10"],
        ["0.5", "1", "2"],
        title="astronaut in the style of mosaic",
        row_title="style-weight",
        column_title="style-scale",
        cell_size=(90, 60),  # the first picture's 3:2, longest side 90
    )
    assert image.size == layout.size
    assert layout.cell == (90, 60)
    # Width: margins, the row title and labels, three cells with two gaps between them.
    assert layout.size[0] == layout.cells_left + 3 * 90 + 2 * GAP + MARGIN
    assert layout.size[1] == layout.cells_top + 2 * 60 + GAP + MARGIN
    assert layout.cells_left > MARGIN  # room for the row labels
    assert image.getpixel(centre(layout.cell_box(0, 0))) == RED
    assert image.getpixel(centre(layout.cell_box(0, 1))) == BLUE
    assert image.getpixel(centre(layout.cell_box(0, 2))) == RED  # a path is opened
    assert image.getpixel(centre(layout.cell_box(1, 0))) == BLUE
    # A missing cell is a grey box; with a word, the word is written in it.
    running, empty = layout.cell_box(1, 1), layout.cell_box(1, 2)
    assert image.getpixel((running[0] + 2, running[1] + 2)) == MISSING
    assert image.getpixel(centre(empty)) == MISSING
    grey = np.array(MISSING)

    def words(box) -> int:
        pixels = np.asarray(image.crop(box)).astype(int)
        return int((np.abs(pixels - grey).sum(axis=2) > 60).sum())

    assert words(running) > 20
    assert words(empty) == 0


def test_labels_are_drawn_where_the_layout_says() -> None:
    pictures = [[solid(RED), solid(RED)], [solid(RED), solid(RED)]]
    labelled = compose_grid(
        pictures, ["3", "10"], ["0.5", "2"], title="a title", row_title="rows", cell_size=64
    )
    layout = grid_layout(
        2, 2, ["3", "10"], ["0.5", "2"], title="a title", row_title="rows", cell_size=(64, 43)
    )
    for column in range(2):
        assert ink(labelled, layout.column_label_box(column)) > 10
    for row in range(2):
        assert ink(labelled, layout.row_label_box(row)) > 10
    title_band = (0, 0, labelled.width, layout.column_labels_top)
    assert ink(labelled, title_band) > 20
    # The same grid without any words: those bands are blank (and the grid smaller).
    bare = compose_grid(pictures, [], [], cell_size=64)
    bare_layout = grid_layout(2, 2, [], [], cell_size=(64, 43))
    assert bare.size == bare_layout.size
    assert bare.size[0] < labelled.size[0] and bare.size[1] < labelled.size[1]
    assert bare_layout.cells_left == MARGIN and bare_layout.cells_top == MARGIN
    assert ink(bare, (0, 0, bare.width, MARGIN)) == 0


def test_different_labels_draw_differently() -> None:
    """The label text itself is drawn (not a fixed mark): 0.5 and 20 differ."""
    pictures = [[solid(RED)]]
    one = compose_grid(pictures, [], ["0.5"], cell_size=64)
    other = compose_grid(pictures, [], ["20"], cell_size=64)
    layout = grid_layout(1, 1, [], ["0.5"], cell_size=(64, 43))
    band = layout.column_label_box(0)
    assert one.size == other.size
    assert not np.array_equal(np.asarray(one.crop(band)), np.asarray(other.crop(band)))


def test_one_axis_is_one_row_without_row_labels() -> None:
    pictures = [[solid(RED, (40, 40)), solid(BLUE, (40, 40)), "failed"]]
    image = compose_grid(
        pictures, [""], ["10", "20", "30"], column_title="iterations", cell_size=50
    )
    layout = grid_layout(
        1, 3, [""], ["10", "20", "30"], column_title="iterations", cell_size=(50, 50)
    )
    assert image.size == layout.size
    assert layout.cells_left == MARGIN  # no row band
    assert image.size == (MARGIN + 3 * 50 + 2 * GAP + MARGIN, layout.cells_top + 50 + MARGIN)


def test_a_long_title_wraps_to_the_grid_width() -> None:
    title = "astronaut in the style of mosaic · " + ", ".join(f"setting {n}" for n in range(30))
    layout = grid_layout(1, 2, [], ["a", "b"], title=title, cell_size=(80, 80))
    assert len(layout.title_lines) > 2
    image = compose_grid([[solid(RED), solid(BLUE)]], [], ["a", "b"], title=title, cell_size=80)
    # Nothing written beyond the right margin.
    assert ink(image, (image.width - MARGIN // 2, 0, image.width, image.height)) == 0


def test_label_counts_must_fit_the_grid() -> None:
    with pytest.raises(ValueError, match="labels"):
        compose_grid([[solid(RED)]], ["a", "b"], [], cell_size=32)

"""Comparison grids: pictures in rows and columns, labelled with the values that made them.

    image = compose_grid(
        [[a, b, c], [d, e, "running"]],          # a picture (Image or path), or a word
        row_labels=["3", "10"], column_labels=["0.5", "1", "2"],
        title="astronaut in the style of mosaic · 128 px, 100 iterations",
        row_title="style-weight", column_title="style-scale", cell_size=128,
    )

Like the figures of the Gatys study: a title, the varied setting's name over the columns and
beside the rows, each value at its column or row. A cell without a picture yet (queued,
running, failed) is a grey box with that word. Pillow only, with Pillow's own font (nothing
shipped); `grid_layout` gives the geometry, so tests and callers can find each part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

Picture = Image.Image | Path | str | None  # a str is a word for a missing picture
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
MISSING = (208, 208, 208)
MISSING_INK = (90, 90, 90)
MARGIN = 12
GAP = 4
TITLE_WIDTH = 360  # px: a narrow grid is widened so that its title stays readable


@dataclass(frozen=True)
class GridLayout:
    """Where everything goes, in pixels (boxes are left, top, right, bottom)."""

    size: tuple[int, int]
    cell: tuple[int, int]  # each cell's width and height
    title_lines: tuple[str, ...]
    title_top: int
    column_title_top: int  # where the column setting's name is written (0 when none)
    column_labels_top: int
    row_labels_left: int
    row_title_left: int
    cells_left: int
    cells_top: int
    title_font_size: int
    label_font_size: int

    def cell_box(self, row: int, column: int) -> tuple[int, int, int, int]:
        width, height = self.cell
        left = self.cells_left + column * (width + GAP)
        top = self.cells_top + row * (height + GAP)
        return left, top, left + width, top + height

    def column_label_box(self, column: int) -> tuple[int, int, int, int]:
        left, _, right, _ = self.cell_box(0, column)
        return left, self.column_labels_top, right, self.cells_top

    def row_label_box(self, row: int) -> tuple[int, int, int, int]:
        _, top, _, bottom = self.cell_box(row, 0)
        return self.row_labels_left, top, self.cells_left, bottom


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own font at `size` px (Pillow >= 10.1 with FreeType; else its bitmap font)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1: one size only
        return ImageFont.load_default()


def _text_width(draw: ImageDraw.ImageDraw, text: str, size: int) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font(size))
    return right - left


def _wrap(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> tuple[str, ...]:
    """`text` in lines no wider than `width` px, broken between words (a longer word alone)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width(draw, f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return tuple(lines)


def grid_layout(
    rows: int,
    columns: int,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    *,
    title: str = "",
    row_title: str = "",
    column_title: str = "",
    cell_size: tuple[int, int] = (192, 192),
) -> GridLayout:
    """The geometry of a grid of `rows` x `columns` cells of `cell_size` (width, height)."""
    width, height = cell_size
    label_size = max(11, min(width, height) // 11)
    title_size = max(12, round(label_size * 1.2))
    line_height = round(label_size * 1.35)
    row_title_width = line_height if row_title else 0
    row_labels_width = _row_labels_width(row_labels, row_title, label_size)
    cells_left = MARGIN + row_title_width + row_labels_width
    cells_width = columns * width + (columns - 1) * GAP
    title_lines, total_width = _fit_title(title, title_size, cells_left + cells_width + MARGIN)
    title_top = MARGIN
    top = title_top + len(title_lines) * round(title_size * 1.35)
    if title_lines:
        top += GAP * 2
    column_title_top = top if column_title else 0
    if column_title:
        top += line_height
    column_labels_top = top
    if any(column_labels):
        top += line_height
    cells_top = top
    total_height = cells_top + rows * height + (rows - 1) * GAP + MARGIN
    return GridLayout(
        size=(total_width, total_height),
        cell=(width, height),
        title_lines=title_lines,
        title_top=title_top,
        column_title_top=column_title_top,
        column_labels_top=column_labels_top,
        row_labels_left=MARGIN + row_title_width,
        row_title_left=MARGIN,
        cells_left=cells_left,
        cells_top=cells_top,
        title_font_size=title_size,
        label_font_size=label_size,
    )


def _measuring() -> ImageDraw.ImageDraw:
    """A drawing on a 1-pixel image, to measure text with."""
    return ImageDraw.Draw(Image.new("RGB", (1, 1)))


def _row_labels_width(row_labels: Sequence[str], row_title: str, label_size: int) -> int:
    """The width of the band of row labels, px (0 when there are no labels nor a title)."""
    if not any(row_labels) and not row_title:
        return 0
    measure = _measuring()
    widest = max((_text_width(measure, label, label_size) for label in row_labels), default=0)
    return widest + GAP * 2


def _fit_title(title: str, title_size: int, grid_width: int) -> tuple[tuple[str, ...], int]:
    """The title's lines, wrapped to the grid's width, and the grid's width, grown to give the
    title at least TITLE_WIDTH (a narrow grid's title stays readable)."""
    if not title:
        return (), grid_width
    measure = _measuring()
    room = max(grid_width - 2 * MARGIN, min(TITLE_WIDTH, _text_width(measure, title, title_size)))
    return _wrap(measure, title, title_size, room), max(grid_width, room + 2 * MARGIN)


def compose_grid(
    pictures: Sequence[Sequence[Picture]],
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    *,
    title: str = "",
    row_title: str = "",
    column_title: str = "",
    cell_size: int = 192,
) -> Image.Image:
    """The grid of `pictures` (rows of cells), each fitted into a cell whose longest side is
    `cell_size` (the cells take the first picture's aspect ratio; square without one)."""
    rows = len(pictures)
    columns = max((len(row) for row in pictures), default=0)
    if rows == 0 or columns == 0:
        raise ValueError("a grid needs at least one cell")
    if len(row_labels) not in (0, rows) or len(column_labels) not in (0, columns):
        raise ValueError(
            f"{len(row_labels)} row labels and {len(column_labels)} column labels for a "
            f"{rows}x{columns} grid"
        )
    opened = [[_open(picture) for picture in row] for row in pictures]
    first = next((p for row in opened for p in row if isinstance(p, Image.Image)), None)
    cell = _cell_shape(first, cell_size)
    layout = grid_layout(
        rows,
        columns,
        row_labels,
        column_labels,
        title=title,
        row_title=row_title,
        column_title=column_title,
        cell_size=cell,
    )
    image = Image.new("RGB", layout.size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    _draw_labels(image, draw, layout, row_labels, column_labels, row_title, column_title)
    for row, cells in enumerate(opened):
        for column, picture in enumerate(cells):
            _draw_cell(image, draw, layout, layout.cell_box(row, column), picture)
    return image


def _open(picture: Picture) -> Image.Image | str | None:
    """A picture as an RGB image; an unreadable file becomes the word "unreadable"."""
    if isinstance(picture, Path):
        try:
            with Image.open(picture) as opened:
                return opened.convert("RGB")
        except OSError:
            return "unreadable"
    if isinstance(picture, Image.Image):
        return picture.convert("RGB")
    return picture


def _cell_shape(first: Image.Image | None, cell_size: int) -> tuple[int, int]:
    if first is None:
        return cell_size, cell_size
    width, height = first.size
    scale = cell_size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _draw_cell(image, draw, layout: GridLayout, box, picture) -> None:
    left, top, right, bottom = box
    if isinstance(picture, Image.Image):
        scale = min((right - left) / picture.width, (bottom - top) / picture.height)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        fitted = picture.resize(size, Image.Resampling.LANCZOS)
        x = left + (right - left - fitted.width) // 2
        y = top + (bottom - top - fitted.height) // 2
        image.paste(fitted, (x, y))
        return
    draw.rectangle((left, top, right - 1, bottom - 1), fill=MISSING)
    if picture:
        size = layout.label_font_size
        draw.text(
            ((left + right) / 2, (top + bottom) / 2),
            str(picture),
            fill=MISSING_INK,
            font=font(size),
            anchor="mm",
        )


def _draw_labels(image, draw, layout, row_labels, column_labels, row_title, column_title):
    title_font = font(layout.title_font_size)
    label_font = font(layout.label_font_size)
    y = layout.title_top
    for line in layout.title_lines:
        draw.text((MARGIN, y), line, fill=INK, font=title_font)
        y += round(layout.title_font_size * 1.35)
    cells_right = layout.cell_box(0, len(column_labels) - 1)[2] if column_labels else None
    if column_title:
        right = cells_right or layout.size[0] - MARGIN
        draw.text(
            ((layout.cells_left + right) / 2, layout.column_title_top),
            column_title,
            fill=INK,
            font=label_font,
            anchor="ma",
        )
    for column, label in enumerate(column_labels):
        left, top, right, _ = layout.column_label_box(column)
        draw.text(((left + right) / 2, top), label, fill=INK, font=label_font, anchor="ma")
    for row, label in enumerate(row_labels):
        _, top, right, bottom = layout.row_label_box(row)
        draw.text((right - GAP, (top + bottom) / 2), label, fill=INK, font=label_font, anchor="rm")
    if row_title:
        # Written upwards beside the row labels, as a figure's y axis.
        size = layout.label_font_size
        width = _text_width(draw, row_title, size) + 4
        band = Image.new("RGB", (width, round(size * 1.35)), BACKGROUND)
        ImageDraw.Draw(band).text((2, 0), row_title, fill=INK, font=label_font)
        upright = band.rotate(90, expand=True)
        rows = len(row_labels) or 1
        top = layout.cell_box(0, 0)[1]
        bottom = layout.cell_box(rows - 1, 0)[3]
        y = max(layout.cells_top, (top + bottom - upright.height) // 2)
        image.paste(upright, (layout.row_title_left, y))

"""The preview drawn with the terminal's graphics protocol (Kitty, Sixel), aspect ratio kept.

textual-image draws an image over the whole widget it is given, so a widget as large as the
panel stretches the picture to the panel's shape. `GraphicsFrame` fills the panel instead and
holds the picture widget, sized in cells to the image's aspect ratio in the terminal's real
cell size (pixels per cell, asked before the app started), centred.

Sixel terminals draw nothing beyond a largest image (xterm: 1000x1000 pixels unless
configured otherwise), so a maximised Sixel picture is kept within that size: larger, xterm
dropped it and the maximised panel stayed empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Container

if TYPE_CHECKING:
    from PIL import Image


def cell_pixels() -> tuple[int, int]:
    """(width, height) of a terminal cell in pixels, as textual-image found it at start."""
    from textual_image._terminal import get_cell_size

    cell = get_cell_size()
    return max(1, cell.width), max(1, cell.height)


def fit_graphics(
    image_size: tuple[int, int],
    area: tuple[int, int],
    cell: tuple[int, int],
    limit: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """(columns, rows) an image takes fitted inside `area` cells, its aspect ratio kept.

    `cell` is a cell's size in pixels, `limit` the largest image in pixels the terminal
    draws. The drawn aspect ratio is the image's within the rounding to whole cells.
    """
    width, height = image_size
    columns, rows = area
    cell_width, cell_height = cell
    if limit is not None:
        columns = min(columns, limit[0] // cell_width)
        rows = min(rows, limit[1] // cell_height)
    columns, rows = max(1, columns), max(1, rows)
    if width <= 0 or height <= 0:
        return columns, rows
    scale = min(columns * cell_width / width, rows * cell_height / height)
    fitted_columns = round(width * scale / cell_width)
    fitted_rows = round(height * scale / cell_height)
    return max(1, min(columns, fitted_columns)), max(1, min(rows, fitted_rows))


def is_sixel(widget_class: type) -> bool:
    from textual_image.widget.sixel import Image as SixelImage

    return issubclass(widget_class, SixelImage)


def pixel_limit(widget_class: type) -> tuple[int, int] | None:
    """The largest image the terminal draws with this widget's protocol (None: no limit)."""
    from nst_tui.app.terminal import sixel_limit

    return sixel_limit() if is_sixel(widget_class) else None


def frame_pixels(area: tuple[int, int], limit: tuple[int, int] | None) -> tuple[int, int]:
    """(width, height) in pixels of the frames worth building for `area` cells."""
    cell_width, cell_height = cell_pixels()
    width, height = area[0] * cell_width, area[1] * cell_height
    if limit is not None:
        width, height = min(width, limit[0]), min(height, limit[1])
    return max(1, width), max(1, height)


def steady_sixel(widget_class: type) -> type:
    """textual-image's Sixel widget, drawing a new image over the old without blanking it first.

    Its drawing child paints every row but the last as blank cells and puts the Sixel data
    on the last row: the terminal first erases the picture, then decodes the new one (a
    fraction of a second for a large picture on a busy machine), so each frame of a run
    flashed blank, the old picture's bottom row left as a strip. Here those rows only move
    the cursor across, keeping the old picture until the new one covers it.
    """
    from rich.segment import ControlType, Segment
    from rich.style import Style
    from textual.strip import Strip
    from textual_image.widget.sixel import _ImageSixelImpl

    class SteadyDrawing(_ImageSixelImpl):
        def render_lines(self, crop):  # type: ignore[no-untyped-def]
            lines = super().render_lines(crop)
            if len(lines) < 2:
                return lines
            across = Segment(
                f"\x1b[{crop.width}C", Style(), ((ControlType.CURSOR_FORWARD, crop.width),)
            )
            keep = Strip([across], cell_length=crop.width)
            return [keep] * (len(lines) - 1) + lines[-1:]

    class SteadySixel(widget_class, Renderable=widget_class._Renderable):  # type: ignore[misc, valid-type]
        def compose(self) -> ComposeResult:
            yield SteadyDrawing(self.image, self._sixel_options)

    return SteadySixel


class GraphicsFrame(Container):
    """Fills the panel; holds the picture widget, sized to the image and centred."""

    DEFAULT_CSS = """
    GraphicsFrame { align: center middle; }
    """

    def __init__(self, widget_class: type, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.picture: Any = (
            steady_sixel(widget_class)() if is_sixel(widget_class) else widget_class()
        )
        self.sixel = is_sixel(widget_class)
        self.limit = pixel_limit(widget_class)
        self.fitted = (0, 0)  # the picture's (columns, rows)

    def compose(self) -> ComposeResult:
        yield self.picture

    @property
    def image(self) -> Image.Image | None:
        return self.picture.image

    @image.setter
    def image(self, image: Image.Image | None) -> None:
        drawing = self.picture.children[0] if self.sixel and self.picture.children else None
        if drawing is not None and image is not None:
            # textual-image's Sixel widget makes a new drawing child for each image: the old
            # one goes (the panel is blanked) and the new one draws once its Sixel data is
            # encoded, a blank flash per frame of a run. The image goes to the child instead.
            from textual_image.widget._base import Image as BaseImage

            BaseImage.image.fset(self.picture, image)
            drawing.image = image
            drawing.refresh()
        else:
            self.picture.image = image
        self.fit()

    def frame_pixels(self, area: tuple[int, int]) -> tuple[int, int]:
        return frame_pixels(area, self.limit)

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Size the picture to the image in this frame (after a new image or a resize)."""
        image = self.picture.image
        if image is None or not self.size.area:
            return
        columns, rows = fit_graphics(
            image.size, (self.size.width, self.size.height), cell_pixels(), self.limit
        )
        if (columns, rows) != self.fitted:
            self.fitted = (columns, rows)
            self.picture.styles.width, self.picture.styles.height = columns, rows

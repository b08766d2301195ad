"""Pictures drawn with half-block cells: two pixels per terminal cell, in any terminal.

`CellBuilder.build` turns a small RGB image into rows of cells (Textual strips). It is the
costly part of a preview frame, so it runs in a worker thread; `CellImage` only paints the
rows it is given. The idea is rich-pixels' half-cell renderer (upper pixel as background,
lower pixel as the colour of "▄"); this version keeps the colours it has made between
frames and quantises them slightly (6 bits a channel), which makes a frame several times
cheaper to build than rich-pixels does (benchmarks/app_vs_headless.py prints both).

In a terminal of 256 colours the builder dithers onto xterm's palette instead (palette.py)
and draws palette entries, which Rich and the terminal keep as they are; the app says which
terminal it has with `use_colour_system` when the preview is mounted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from nst_tui.app.widgets.drawing import DrawsSafely

if TYPE_CHECKING:
    from PIL import Image

LOWER_HALF = "▄"
MAX_REMEMBERED_COLOURS = 100_000
MAX_REMEMBERED_STYLES = 200_000


_dither_by_default = False  # the terminal has 256 colours: set by `use_colour_system`


def use_colour_system(system: str | None) -> None:
    """Say what the terminal shows (Rich's colour system): "256" makes builders dither."""
    global _dither_by_default
    _dither_by_default = system == "256"


class CellBuilder:
    """Builds half-block rows from images; reuse one per run so colours carry over.

    `dither`: draw with xterm's 256-colour palette, dithered; None: as the terminal needs.
    """

    def __init__(self, bits: int = 6, dither: bool | None = None) -> None:
        self._shift = 8 - bits  # dropping the lowest bits: invisible at this resolution
        self._dither = dither
        self._dithering = False  # what the remembered colours are: palette entries or RGB
        self._colours: dict[int, Color] = {}
        self._styles: dict[int, Style] = {}

    def _colour(self, packed: int) -> Color:
        colour = self._colours.get(packed)
        if colour is None:
            if len(self._colours) > MAX_REMEMBERED_COLOURS:
                self._colours.clear()
            if self._dithering:  # a palette entry
                colour = self._colours[packed] = Color.from_ansi(packed)
                return colour
            red, green, blue = packed >> 16, (packed >> 8) & 255, packed & 255
            colour = Color(
                f"#{packed:06x}",
                ColorType.TRUECOLOR,
                triplet=ColorTriplet(red, green, blue),
            )
            self._colours[packed] = colour
        return colour

    def build(self, image: Image.Image) -> list[Strip]:
        """One strip per two rows of pixels; an odd last row is doubled."""
        import numpy as np  # the app's first paint does not wait for numpy

        pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
        if pixels.shape[0] % 2:
            pixels = np.concatenate([pixels, pixels[-1:]], axis=0)
        dither = _dither_by_default if self._dither is None else self._dither
        if dither != self._dithering:  # the colours and styles remembered mean other things
            self._dithering = dither
            self._colours.clear()
            self._styles.clear()
        if dither:
            from nst_tui.app.widgets.picture.palette import dither_to_palette

            packed = dither_to_palette(pixels).astype(np.int32)
        else:
            if self._shift:
                pixels = (pixels >> self._shift) << self._shift
            packed = (
                (pixels[..., 0].astype(np.int32) << 16)
                | (pixels[..., 1].astype(np.int32) << 8)
                | pixels[..., 2]
            )
        if len(self._styles) > MAX_REMEMBERED_STYLES:
            self._styles.clear()
        # One key per cell: its upper and lower colour. The same Style object for the same
        # pair, frame after frame, also lets Rich and Textual reuse what they derive from it.
        keys = ((packed[0::2].astype(np.int64) << 24) | packed[1::2]).tolist()
        styles = self._styles
        style_of = self._style
        width = packed.shape[1]
        strips = []
        for row in keys:
            # Neighbours of the same colours share one segment: fewer to paint.
            segments = []
            previous = row[0]
            count = 0
            for key in row:
                if key == previous:
                    count += 1
                    continue
                segments.append(
                    Segment(LOWER_HALF * count, styles.get(previous) or style_of(previous))
                )
                previous = key
                count = 1
            segments.append(Segment(LOWER_HALF * count, styles.get(previous) or style_of(previous)))
            strips.append(Strip(segments, width))
        return strips

    def _style(self, key: int) -> Style:
        upper, lower = key >> 24, key & 0xFFFFFF
        style = Style.from_color(self._colour(lower), self._colour(upper))
        self._styles[key] = style
        return style


def fit_cells(image_size: tuple[int, int], cells: tuple[int, int]) -> tuple[int, int]:
    """The pixel size (width, height) an image takes when fitted in `cells` half-blocks."""
    width, height = image_size
    columns, rows = cells
    scale = min(columns / width, rows * 2 / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


class CellImage(DrawsSafely, Widget):
    """Paints half-block rows, centred; the rows are built elsewhere (a worker thread)."""

    DRAWING_NAME = "the picture"

    DEFAULT_CSS = """
    CellImage { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._strips: list[Strip] = []
        self._placed: list[Strip] | None = None  # the rows padded to this widget's size

    @property
    def has_picture(self) -> bool:
        return bool(self._strips)

    @property
    def picture_size(self) -> tuple[int, int]:
        """(columns, rows) of the picture now shown."""
        if not self._strips:
            return 0, 0
        return self._strips[0].cell_length, len(self._strips)

    def show(self, strips: list[Strip]) -> None:
        self._strips = strips
        self._placed = None
        self.refresh()

    def clear(self) -> None:
        self.show([])

    def on_resize(self) -> None:
        self._placed = None

    def _blank_style(self) -> Style:
        """The widget's own style for the rows and margins around the picture.

        With 256 colours its background is drawn as the palette entry nearest to it, as the
        picture's cells are: Rich's mapping turned the thumbnails' grey margins navy.
        """
        style = self.rich_style
        background = style.bgcolor
        if not _dither_by_default or background is None or background.triplet is None:
            return style
        from nst_tui.app.widgets.picture.palette import nearest_entry

        return style + Style(bgcolor=Color.from_ansi(nearest_entry(*background.triplet)))

    def _place(self) -> list[Strip]:
        width, height = self.size
        style = self._blank_style()
        blank = Strip.blank(width, style)
        top = max(0, (height - len(self._strips)) // 2)
        placed = [blank] * top
        for strip in self._strips[:height]:
            left = max(0, (width - strip.cell_length) // 2)
            right = max(0, width - left - strip.cell_length)
            row = Strip.join([Strip.blank(left, style), strip, Strip.blank(right, style)])
            placed.append(row.crop(0, width))
        placed += [blank] * (height - len(placed))
        return placed

    def render_line(self, y: int) -> Strip:
        if self._placed is None:
            self._placed = self._place()
        if y < len(self._placed):
            return self._placed[y]
        return Strip.blank(self.size.width, self._blank_style())

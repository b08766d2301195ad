"""The live preview: the image being made, fitted to the panel, refitted when it changes size.

During a run the worker thread builds each frame at the size this pane reports
(`frame_request`), so the interface thread only paints. After a resize the last frame (or
the finished file) is refitted in a thread of its own.

Two ways to draw: half-block cells (any terminal, SSH, tmux) or, where the terminal has a
graphics protocol (Kitty, Sixel; asked at start, or when the user switches to graphics), a
true image. Graphics fall back to cells when the terminal has none. With the regions shown
(a palette toggle, regions_tint.py), each style mask's region is tinted over the picture.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from nst_tui.app.widgets.picture.cells import CellBuilder, CellImage, fit_cells, use_colour_system
from nst_tui.app.widgets.picture.regions_tint import tinted

if TYPE_CHECKING:
    from PIL import Image

    from nst_tui.app.messages import RunPreview
    from nst_tui.app.widgets.picture.graphics import GraphicsFrame

# One row, whole at 80x24 (the pane has 11 rows there); F1 and the tooltip say what to do.
TRUECOLOR_HINT = "Only {system} colours (F1: truecolor)"
TRUECOLOR_ADVICE = (
    "The terminal was found to have {system} colours only: pictures are dithered. If it has "
    "24-bit colour, export COLORTERM=truecolor and start nst-tui again (F1: more)."
)
NO_PREVIEW = "No preview yet (Ctrl+R runs)"
REGIONS_CAPTION = "The content, each style mask's region tinted (Ctrl+R runs)"
SOURCE_LONGEST_SIDE = 768  # the finished image is kept this large for refitting


def graphics_widget_class() -> type | None:
    """textual-image's widget for this terminal's graphics protocol, or None (cells only).

    The protocol is the terminal's answer to nst_tui.app.terminal.ask_graphics (asked at start
    when the preview is in graphics, or when the user switches to graphics), else what
    textual-image found when imported (it asks then, and only then).
    """
    import sys

    if "textual_image.widget" not in sys.modules:
        return None
    from textual_image.renderable import Image as detected
    from textual_image.renderable.sixel import Image as Sixel
    from textual_image.renderable.tgp import Image as TGP
    from textual_image.widget import TGPImage
    from textual_image.widget.sixel import Image as SixelImage

    from nst_tui.app import terminal

    if terminal.graphics_asked():
        protocol = terminal.graphics_protocol()
    else:
        protocol = {Sixel: "sixel", TGP: "kitty"}.get(detected)
    if protocol == "kitty" and not terminal.draws_kitty_placeholders(terminal.terminal_version()):
        return None  # an old kitty: it would show placeholder glyphs, not the picture
    return {"sixel": SixelImage, "kitty": TGPImage}.get(protocol or "")


class PreviewPane(Vertical):
    """Preview of the current run, with a line saying what it shows."""

    DEFAULT_CSS = """
    #preview-caption {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        padding: 0 1;
        color: $text-muted;
    }
    #preview-hint {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        padding: 0 1;
        color: $text-warning;
    }
    #preview-cells {
        width: 1fr;
        height: 1fr;
    }
    #preview-graphics {
        width: 1fr;
        height: 1fr;
    }
    """

    ALLOW_MAXIMIZE = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._source: Image.Image | None = None  # what a resize refits
        self._graphics: GraphicsFrame | None = None  # when graphics are on
        self.cell_size: tuple[int, int] = (40, 12)  # read by the worker thread
        self.graphics_on = False
        self.tint_masks: tuple[Image.Image, ...] = ()  # the regions shown, when on
        self._backdrop = False  # the content shown under the regions, no run's picture yet

    def compose(self) -> ComposeResult:
        yield Static(NO_PREVIEW, id="preview-caption", markup=False)
        yield CellImage(id="preview-cells")
        yield Static("", id="preview-hint", markup=False)

    def on_mount(self) -> None:
        self._watch_layout()
        system = self.app.console.color_system
        use_colour_system(system)  # 256 colours: half-blocks are dithered onto the palette
        hint = self.query_one("#preview-hint", Static)
        if system and system != "truecolor":
            hint.update(TRUECOLOR_HINT.format(system=system))
            hint.tooltip = TRUECOLOR_ADVICE.format(system=system)
        else:
            hint.display = False

    # --- size ---------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self.call_after_refresh(self._size_changed)

    def _watch_layout(self) -> None:
        """Measure again after every layout pass of the screen, not only on a Resize.

        Textual sends no Resize when a repaint has read the new layout before the layout
        pass that would send it: after Ctrl+F then Escape during a run (its progress and
        status updates repaint), the pane was back to its size but kept drawing frames at
        the full-screen size. The check is one comparison when nothing changed.
        """
        self.screen.screen_layout_refresh_signal.subscribe(self, lambda _: self._size_changed())

    def _size_changed(self) -> None:
        shown = self._graphics if self.graphics_on else self.query_one(CellImage)
        size = (max(1, shown.size.width), max(1, shown.size.height))
        if size == self.cell_size:
            return
        self.cell_size = size
        if self._source is not None and not self.graphics_on:
            self._refit(self._source, size)

    def _fits(self, strips: list) -> bool:
        """Whether half-block rows fit the panel (a frame may have been asked for before a
        resize, a maximise or its return)."""
        columns, rows = self.cell_size
        return not strips or (strips[0].cell_length <= columns and len(strips) <= rows)

    def frame_request(self) -> tuple[str, int, int]:
        """("cells" or "graphics", width, height in pixels) of the frames to send now."""
        columns, rows = self.cell_size
        if self.graphics_on and self._graphics is not None:
            return "graphics", *self._graphics.frame_pixels((columns, rows))
        return "cells", columns, rows * 2

    # --- showing ------------------------------------------------------------------------------

    def caption(self, text: str) -> None:
        self.query_one("#preview-caption", Static).update(text, layout=False)  # one line

    def show_frame(self, frame: RunPreview) -> None:
        """Paint a frame built by the worker."""
        self._source = frame.image
        self._backdrop = False
        if self.tint_masks:  # the worker's cells are of the picture alone
            self._show_source(frame.image)
        elif frame.strips is not None and not self._fits(frame.strips):
            self._refit(frame.image, self.cell_size)  # built for the size before a change
        elif frame.strips is not None:
            self.query_one(CellImage).show(frame.strips)
        elif self._graphics is not None:
            self._graphics.image = frame.image
        else:
            self._refit(frame.image, self.cell_size)

    def clear(self) -> None:
        self._source = None
        self.query_one(CellImage).clear()
        if self._graphics is not None:
            self._graphics.image = None

    def show_file(self, path: Path) -> None:
        """Show an image file (the finished result), read in a thread."""
        self._load_file(path)

    @work(thread=True, exclusive=True, group="preview-file", exit_on_error=False)
    def _load_file(self, path: Path) -> None:
        from PIL import Image

        try:
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError):
            return  # the last frame stays; the path is shown in any case
        image.thumbnail((SOURCE_LONGEST_SIDE, SOURCE_LONGEST_SIDE))
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(self._set_source, image)

    def _set_source(self, image: Image.Image) -> None:
        self._source = image
        self._show_source(image)

    def _show_source(self, image: Image.Image) -> None:
        if self._graphics is not None:
            self._graphics.image = self._look(image)
        else:
            self._refit(image, self.cell_size)

    def _look(self, image: Image.Image) -> Image.Image:
        """The picture as shown: with the regions tinted when they are on."""
        return tinted(image, self.tint_masks) if self.tint_masks else image

    def set_tint(self, masks: tuple[Image.Image, ...], backdrop: Path | None = None) -> None:
        """Show each of `masks`' regions tinted over the picture (none: as it is). With no
        picture yet, over `backdrop` (the content), until a run's first frame."""
        self.tint_masks = masks
        if masks and self._source is None and backdrop is not None:
            self._backdrop = True
            self.caption(REGIONS_CAPTION)
            self.show_file(backdrop)
        elif not masks and self._backdrop:
            self._backdrop = False
            self.caption(NO_PREVIEW)
            self.clear()
        elif self._source is not None:
            self._show_source(self._source)

    def _refit(self, image: Image.Image, cells: tuple[int, int]) -> None:
        self._refit_in_thread(image, cells, self.query_one(CellImage))

    @work(thread=True, exclusive=True, group="preview-refit", exit_on_error=False)
    def _refit_in_thread(
        self, image: Image.Image, cells: tuple[int, int], target: CellImage
    ) -> None:
        from PIL import Image as PILImage

        image = self._look(image)
        fitted = image.resize(fit_cells(image.size, cells), PILImage.Resampling.BOX)
        strips = CellBuilder().build(fitted)
        with contextlib.suppress(RuntimeError):  # the app may have closed meanwhile
            self.app.call_from_thread(target.show, strips)

    # --- graphics -----------------------------------------------------------------------------

    async def set_graphics(self, wanted: bool) -> bool:
        """Switch to the terminal's graphics protocol (True if it has one) or back to cells."""
        widget_class = graphics_widget_class() if wanted else None
        cells = self.query_one(CellImage)
        if widget_class is None:
            if self._graphics is not None:
                await self._graphics.remove()
                self._graphics = None
            cells.display = True
            self.graphics_on = False
            self.call_after_refresh(self._size_changed)
            if self._source is not None:
                self._refit(self._source, self.cell_size)
            return not wanted
        if self._graphics is None:
            from nst_tui.app.widgets.picture.graphics import GraphicsFrame

            self._graphics = GraphicsFrame(widget_class, id="preview-graphics")
            await self.mount(self._graphics, after=cells)
        cells.display = False
        self.graphics_on = True
        self.call_after_refresh(self._size_changed)
        if self._source is not None:
            self._graphics.image = self._look(self._source)
        return True

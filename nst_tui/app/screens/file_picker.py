"""A file dialog for the content and style images: a folder tree showing only images, and
a preview of the highlighted one (read in a thread, never on the interface thread)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Button, DirectoryTree, Input, Static
from textual.widgets.directory_tree import DirEntry
from textual.widgets.tree import TreeNode

from nst_tui.app.widgets.form.path_field import IMAGE_SUFFIXES, PathSuggester
from nst_tui.app.widgets.form.path_text import PathInput, PathLabel
from nst_tui.app.widgets.picture.cells import CellBuilder, CellImage, fit_cells

PREVIEW_DELAY = 0.15  # seconds the highlight rests on a file before it is read
NOTHING_TO_PREVIEW = "Highlight an image to see it here."


def file_size_text(size: int) -> str:
    """`812 bytes`, `44 KB`, `3.3 MB` (1024-based, as file managers show)."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class ImageTree(DirectoryTree):
    """Folders and image files; hidden ones left out. A name too long for the width is cut
    in the middle: its end (`-3.partial-16-of-20.png`) is what tells it from its neighbours."""

    def render_label(self, node: TreeNode[DirEntry], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        room = self.scrollable_content_region.width - _depth(node) * self.guide_depth
        if room <= 0 or label.cell_len <= room:
            return label
        return cut_in_the_middle(label, room)

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
                    yield path
            except OSError:
                continue


def _depth(node: TreeNode) -> int:
    """How many folders up the tree's root is from `node` (0: the root itself)."""
    depth = 0
    while node.parent is not None:
        node, depth = node.parent, depth + 1
    return depth


def cut_in_the_middle(label: Text, width: int) -> Text:
    """`label` in `width` cells, `…` in place of its middle (its start: the icon and the
    name's beginning; its end: the part that differs among numbered files)."""
    plain = label.plain
    keep = max(width - 1, 2)
    tail = keep // 2 + 4  # a little more of the end: numbers and extension live there
    head = max(keep - tail, 1)
    while Text(plain[:head]).cell_len + 1 + tail > width and head > 1:
        head -= 1  # a wide icon at the start
    return Text.assemble(label[:head], "…", label[len(plain) - tail :])


class FilePickerScreen(ModalScreen["Path | None"]):
    """Choose an image file; dismissed with its path, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", priority=True, id="file_picker.cancel")]
    DEFAULT_CSS = """
    #picker-main { height: 1fr; }
    #picker-main #picker-tree { width: 3fr; }
    #picker-preview { width: 2fr; height: 1fr; margin: 1 0 0 1; }
    #picker-image { width: 1fr; height: 1fr; }
    #picker-info { height: auto; color: $text-muted; }
    #picker-chosen { color: $text-muted; }
    """

    def __init__(self, title: str, start: Path | None) -> None:
        super().__init__(id="file-picker")
        self._title = title
        folder = start if start is not None and start.is_dir() else None
        if folder is None and start is not None and start.parent.is_dir():
            folder = start.parent
        self._folder = (folder or Path.cwd()).resolve()
        self._chosen: Path | None = start if start is not None and start.is_file() else None
        self._previewing: Path | None = None  # the file the preview shows or is reading
        self._preview_timer = None

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static(self._title, id="picker-title", markup=False)
            with Horizontal(id="picker-folder-row"):
                yield Button("↑ Up", id="picker-up", compact=True)
                yield PathInput(
                    str(self._folder),
                    id="picker-folder",
                    suggester=PathSuggester(),
                    compact=True,
                    placeholder="folder (Enter opens it)",
                )
            with Horizontal(id="picker-main"):
                yield ImageTree(self._folder, id="picker-tree")
                with Vertical(id="picker-preview"):
                    yield CellImage(id="picker-image")
                    yield Static(NOTHING_TO_PREVIEW, id="picker-info", markup=False)
            yield PathLabel(*self._chosen_text(), id="picker-chosen")
            with Horizontal(id="picker-buttons"):
                yield Button("Choose", id="picker-choose", variant="primary", compact=True)
                yield Button("Cancel", id="picker-cancel", compact=True)

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 100, "-small")  # a pushed screen may get no Resize
        self.query_one(ImageTree).focus()
        if self._chosen is not None:
            self._preview_soon(self._chosen)  # the image the field has, until one is highlighted

    def _chosen_text(self) -> tuple[str, str]:
        """(path, prefix) of the line under the tree."""
        if self._chosen:
            return str(self._chosen), "Chosen: "
        return "", "Enter on an image chooses it."

    def _open_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            self.notify(f"'{folder}' is not a folder", severity="warning")
            return
        self._folder = folder.resolve()
        self.query_one(ImageTree).path = self._folder
        folder_input = self.query_one("#picker-folder", Input)
        with folder_input.prevent(Input.Changed):
            folder_input.value = str(self._folder)

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(Path(event.path))

    @on(DirectoryTree.NodeHighlighted)
    def _highlighted(self, event: DirectoryTree.NodeHighlighted) -> None:
        data = event.node.data
        path = Path(data.path) if data is not None else None
        if path is not None and path.is_file():
            self._chosen = path
            self.query_one("#picker-chosen", PathLabel).update(*self._chosen_text())
            self._preview_soon(path)
        elif self._previewing != self._chosen:
            self._preview_soon(self._chosen)  # a folder: the image that Choose would take

    # --- the preview --------------------------------------------------------------------------

    def _preview_soon(self, path: Path | None) -> None:
        """Preview `path` once the highlight rests on it (None: a folder, nothing to show)."""
        self._previewing = path
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = None
        if path is None:
            self.query_one("#picker-image", CellImage).clear()
            self.query_one("#picker-info", Static).update(NOTHING_TO_PREVIEW)
            return
        self.query_one("#picker-info", Static).update("reading…")
        self._preview_timer = self.set_timer(PREVIEW_DELAY, self._read_highlighted)

    def _read_highlighted(self) -> None:
        self._preview_timer = None
        if self._previewing is not None:
            size = self.query_one("#picker-image", CellImage).size
            self._read_preview(self._previewing, (max(1, size.width), max(1, size.height)))

    def on_resize(self) -> None:
        self.set_class(self.app.size.width < 100, "-small")  # app.tcss: the whole width
        if self._previewing is not None:
            self.call_after_refresh(self._preview_soon, self._previewing)

    @work(thread=True, exclusive=True, group="picker-preview", exit_on_error=False)
    def _read_preview(self, path: Path, cells: tuple[int, int]) -> None:
        from PIL import Image

        from nst_engine.errors import NSTError
        from nst_engine.running.images import load_image

        strips: list[Strip] = []
        try:
            image = load_image(path, "this file").image
            fitted = image.resize(fit_cells(image.size, cells), Image.Resampling.BOX)
            strips = CellBuilder(bits=8).build(fitted)
            text = f"{image.width}x{image.height} pixels · {file_size_text(path.stat().st_size)}"
        except NSTError as error:  # the loader's reason, short: the path is shown below
            text = error.message.replace(f"this file '{path}' is ", "")
            text = text.replace(f" '{path}'", "")
            text = text[:1].upper() + text[1:]
        except Exception as error:  # a bug: logged with its traceback, named in one line
            logging.getLogger("nst.app").exception("previewing %s failed", path)
            text = f"Cannot show this file: {error}"
        with contextlib.suppress(RuntimeError):  # the dialog or the app may have closed
            self.app.call_from_thread(self._preview_ready, path, strips, text)

    def _preview_ready(self, path: Path, strips: list[Strip], text: str) -> None:
        if path != self._previewing or not self.is_attached:
            return  # the highlight has moved on
        self.query_one("#picker-image", CellImage).show(strips)
        self.query_one("#picker-info", Static).update(text)

    @on(Input.Submitted, "#picker-folder")
    def _folder_typed(self, event: Input.Submitted) -> None:
        path = Path(event.value).expanduser()
        if path.is_file():
            self.dismiss(path)
        else:
            self._open_folder(path)

    @on(Button.Pressed, "#picker-up")
    def _up(self) -> None:
        self._open_folder(self._folder.parent)

    @on(Button.Pressed, "#picker-choose")
    def _choose(self) -> None:
        if self._chosen is not None:
            self.dismiss(self._chosen)
        else:
            self.notify("Highlight an image in the list first.", severity="warning")

    @on(Button.Pressed, "#picker-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

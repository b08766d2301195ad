"""A file dialog for the content and style images: a folder tree showing only images."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Static

from nst_tui.widgets.path_field import IMAGE_SUFFIXES, PathSuggester
from nst_tui.widgets.path_text import PathInput


class ImageTree(DirectoryTree):
    """Folders and image files; hidden ones left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
                    yield path
            except OSError:
                continue


class FilePickerScreen(ModalScreen["Path | None"]):
    """Choose an image file; dismissed with its path, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", priority=True)]

    def __init__(self, title: str, start: Path | None) -> None:
        super().__init__(id="file-picker")
        self._title = title
        folder = start if start is not None and start.is_dir() else None
        if folder is None and start is not None and start.parent.is_dir():
            folder = start.parent
        self._folder = (folder or Path.cwd()).resolve()
        self._chosen: Path | None = start if start is not None and start.is_file() else None

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
            yield ImageTree(self._folder, id="picker-tree")
            yield Static(self._chosen_text(), id="picker-chosen", markup=False)
            with Horizontal(id="picker-buttons"):
                yield Button("Choose", id="picker-choose", variant="primary", compact=True)
                yield Button("Cancel", id="picker-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(ImageTree).focus()

    def _chosen_text(self) -> str:
        return f"Chosen: {self._chosen}" if self._chosen else "Enter on an image chooses it."

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
        if data is not None and Path(data.path).is_file():
            self._chosen = Path(data.path)
            self.query_one("#picker-chosen", Static).update(self._chosen_text())

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

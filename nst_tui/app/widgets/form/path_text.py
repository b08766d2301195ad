"""Paths shown in little room: the file name stays, the middle of the folder part gives way.

`elide_path` is the pure rule ("/home/ana/…/styles/rocket.jpg"); `PathInput` is a text field
that shows a path that way while it is not being edited (the whole text while it has the
focus), and `PathLabel` a line of text that elides its path to whatever width it has now.
"""

from __future__ import annotations

import os

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

ELLIPSIS = "…"


def _take(text: str, width: int, *, from_end: bool = False) -> str:
    """The longest start (or end) of `text` that is at most `width` cells wide."""
    taken: list[str] = []
    used = 0
    for character in reversed(text) if from_end else text:
        used += cell_len(character)
        if used > width:
            break
        taken.append(character)
    return "".join(reversed(taken)) if from_end else "".join(taken)


def elide_path(path: str, width: int, sep: str = os.sep) -> str:
    """`path` in at most `width` cells, its file name kept whole where it fits.

    What gives way is the middle of the folder part: its start (where the path is rooted)
    and its end (the folder the file is in) stay as far as there is room, joined by "…".
    A file name wider than `width` keeps its start and its extension ("very_lo…name.jpg").
    """
    if width <= 0:
        return ""
    if cell_len(path) <= width:
        return path
    if width == 1:
        return ELLIPSIS
    folder, slash, name = path.rpartition(sep)
    folder += slash
    if cell_len(name) + 1 > width:  # no room for any of the folder part
        if cell_len(name) <= width:
            return name
        stem, dot, suffix = name.rpartition(".")
        end = dot + suffix if dot and stem and cell_len(suffix) + 3 <= width else ""
        room = width - 1 - cell_len(end)  # what is left of the name, around the "…"
        start = _take(name, room // 3)
        rest = _take(name[: len(name) - len(end)], room - cell_len(start), from_end=True)
        return start + ELLIPSIS + rest + end
    room = width - cell_len(name) - 1  # what is left of the folder part, around the "…"
    head = room // 3  # where the path is rooted: less telling than the nearest folders
    return _take(folder, head) + ELLIPSIS + _take(folder, room - head, from_end=True) + name


class PathInput(Input):
    """A path field: while not being edited it shows the path elided to its width, so that
    the file name is always in sight (an Input otherwise shows the start of a long value)."""

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y != 0 or self.has_focus or not self.value or cell_len(self.value) <= width:
            return super().render_line(y)
        text = Text(elide_path(self.value, width), end="")
        segments = list(self.app.console.render(text, self.app.console_options))
        strip = Strip(segments).crop(0, width).extend_cell_length(width + 1)
        return strip.apply_style(self.rich_style)


class PathLabel(Widget):
    """One line: `prefix` and a path elided to the width the line has now."""

    DEFAULT_CSS = """
    PathLabel { height: 1; width: 1fr; }
    """

    def __init__(
        self, path: str = "", prefix: str = "", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._path = path
        self._prefix = prefix

    @property
    def text(self) -> str:
        """The whole line, not elided."""
        return self._prefix + self._path

    def update(self, path: str, prefix: str | None = None) -> None:
        self._path = path
        if prefix is not None:
            self._prefix = prefix
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y != 0:
            return Strip.blank(width, self.rich_style)
        prefix = _take(self._prefix, width)
        shown = prefix + elide_path(self._path, width - cell_len(prefix))
        strip = Strip([Segment(shown)]).extend_cell_length(width)
        return strip.apply_style(self.rich_style)

"""Lines of text that change often: updated only when what they say changes, and laid out
only when their height may change.

Textual lays the whole screen out again after an update of a `Static` (its size may have
changed): 30-50 ms of CPU on the main screen, whose 250 widgets are all measured again. The
form checks itself after every key typed, then updates its error lines, hints, the estimate
and the run panel's reason line, nearly always with the same text or with another text of
one line; each such update was a layout (benchmarks/form_keys.py measures the cost of a key).
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.visual import VisualType
from textual.widgets import Static


def show(line: Static, content: VisualType) -> None:
    """`line.update(content)`, unless `line` shows `content` already."""
    if line.content != content:
        line.update(content, layout=not _stays_one_line(line, content))


def _stays_one_line(line: Static, content: VisualType) -> bool:
    """Both what `line` shows and `content` are one line of text within its width, which does
    not follow its text: its size stays as it is."""
    width = line.content_region.width
    if width <= 0 or (line.styles.width is not None and line.styles.width.is_auto):
        return False
    return all(
        isinstance(text, str) and "\n" not in text and 0 < cell_len(text) <= width
        for text in (line.content, content)
    )

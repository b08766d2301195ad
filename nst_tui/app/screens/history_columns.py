"""The history table's columns: what each shows of a run, and which of them fit the width.

The table never lets a column push another out of sight: the columns are chosen by priority
(status and iterations first: what a run came to) until the width is used, names are cut in
the middle so that their ends stay (`a-rather-lo…harbour.jpg`), and what is left out at 80
columns is said in the line about the highlighted run (nst_tui/app/screens/history.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from nst_engine.store.runs import RunRecord
from nst_tui.app.widgets.run.run_panel import format_duration

CELL_PADDING = 1  # blank cells each side of a column's text (the DataTable's own setting)
SCROLLBAR = 2  # columns kept for the table's vertical scrollbar, there or not


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    # A flexible column (names, settings) is cut to fit, never below `min_width`; the others
    # are as wide as their longest text.
    flexible: bool = False
    min_width: int = 0


# In the order shown.
COLUMNS = (
    Column("date", "Date"),
    Column("content", "Content", flexible=True, min_width=14),
    Column("style", "Style", flexible=True, min_width=14),
    Column("settings", "Settings", flexible=True, min_width=16),
    Column("iterations", "Iter."),
    Column("status", "Status"),
    Column("time", "Time"),
)
BY_KEY = {column.key: column for column in COLUMNS}
# The order in which columns get room when not all fit: what a run came to first.
PRIORITY = ("status", "iterations", "content", "style", "date", "settings", "time")


def date_text(seconds: float) -> str:
    """`11-28 03:15`: the month, day and time a run started."""
    return time.strftime("%m-%d %H:%M", time.localtime(seconds))


def settings_text(summary: dict[str, Any]) -> str:
    """`adam lr 2 · 512 · sw 10`: the settings most often varied, short."""
    parts = []
    if summary.get("optimizer"):
        parts.append(f"{summary['optimizer']} lr {summary.get('lr', '?'):g}")
    if summary.get("size"):
        parts.append(str(summary["size"]))
    if summary.get("style_weight") is not None:
        parts.append(f"sw {summary['style_weight']:g}")
    return " · ".join(parts)


def run_settings_text(record: RunRecord) -> str:
    """A sweep's cell by the values it varies (`iterations=200, style-weight=1e4`), since the
    rest of its settings are its neighbours'; any other run by its key settings."""
    if record.labels:
        return ", ".join(record.labels)
    return settings_text(record.summary)


def iterations_text(record: RunRecord) -> str:
    """Iterations done of total; a sequence's frames done of total ("3/8 frames")."""
    return record.progress


def time_text(record: RunRecord) -> str:
    return format_duration(record.seconds) if record.seconds else ""


def row_texts(record: RunRecord) -> dict[str, str]:
    """Every column's text for `record`, whole."""
    return {
        "date": date_text(record.started),
        "content": record.content_name,
        "style": record.style_names,
        "settings": run_settings_text(record),
        "iterations": iterations_text(record),
        "status": record.status,
        "time": time_text(record),
    }


def sort_key(column: str, record: RunRecord) -> Any:
    keys = {
        "date": lambda: (record.started, record.id),
        "content": lambda: (record.content_name.lower(), record.started),
        "style": lambda: (record.style_names.lower(), record.started),
        "settings": lambda: (run_settings_text(record), record.started),
        "iterations": lambda: (record.iterations_done, record.started),
        "status": lambda: (record.status, record.started),
        "time": lambda: (record.seconds, record.started),
    }
    return keys[column]()


# --- fitting the width -------------------------------------------------------------------------


def natural_widths(rows: list[dict[str, str]]) -> dict[str, int]:
    """Each column's width with nothing cut: its heading or its longest text."""
    return {
        column.key: max([len(column.heading), *(len(row[column.key]) for row in rows)])
        for column in COLUMNS
    }


def fit_columns(
    width: int, natural: dict[str, int], scrollbar: bool = True
) -> list[tuple[Column, int]]:
    """The columns to show in `width` cells (less a vertical `scrollbar`'s) and each one's
    text width, in the order shown.

    Columns join by PRIORITY while they fit: a fixed one at its natural width, a flexible
    one (names, settings) at its minimum; the width left over then goes to the flexible
    ones, a cell at a time, up to their natural widths.
    """
    room = width - (SCROLLBAR if scrollbar else 0)
    widths: dict[str, int] = {}
    for key in PRIORITY:
        column = BY_KEY[key]
        wanted = min(column.min_width, natural[key]) if column.flexible else natural[key]
        if wanted + 2 * CELL_PADDING <= room:
            widths[key] = wanted
            room -= wanted + 2 * CELL_PADDING
    growing = [key for key in widths if BY_KEY[key].flexible]
    while room > 0:
        hungry = [key for key in growing if widths[key] < natural[key]]
        if not hungry:
            break
        for key in hungry[:room]:
            widths[key] += 1
            room -= 1
    return [(column, widths[column.key]) for column in COLUMNS if column.key in widths]


def cut(text: str, width: int, *, keep_end: bool) -> str:
    """`text` in `width` cells: whole if it fits, else with `…` in the middle (names: their
    ends tell them apart) or at the end."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    if not keep_end:
        return text[: width - 1] + "…"
    tail = (width - 1) // 2 + (width - 1) % 2
    head = width - 1 - tail
    return text[:head] + "…" + text[len(text) - tail :]


def fitted_cells(texts: dict[str, str], layout: list[tuple[Column, int]]) -> list[str]:
    """A row's texts for the columns of `layout`, each cut to its width: names and settings
    in the middle (a sweep cell's last value is what tells it from the next)."""
    return [cut(texts[column.key], width, keep_end=column.flexible) for column, width in layout]


def left_out_text(record: RunRecord, shown: set[str]) -> str:
    """What the table leaves out of `record` at this width, for the line under it."""
    texts = row_texts(record)
    parts = [f"{record.status} {texts['iterations']}"]
    if record.seconds and "time" not in shown:
        parts.append(f"in {texts['time']}")
    if "settings" not in shown:
        parts.append(texts["settings"])
    if record.error:
        parts.append(f"error: {record.error}")
    if record.resumable:
        parts.append("r resumes it")
    return " · ".join(part for part in parts if part)

"""A run's loss history (losses.jsonl): one JSON object a line, an iteration and its numbers.

Appended as the run goes, a line a row, so a run killed while writing can leave its last line
torn: reading leaves out a torn or damaged line. Cheap to import: no torch.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nst_engine.store import safe_files

# The largest history read back (a planted link or a huge file must not eat the memory).
LOSSES_LIMIT = 256 << 20  # about two million iterations' rows


def history_text(rows: Iterable[dict[str, float]]) -> str:
    """The lines of `rows` as the history holds them (compact JSON, one a line)."""
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)


def read_history(path: Path) -> list[dict[str, float]]:
    """The loss history, oldest first; a line torn by a crash, or damaged, is left out."""
    try:
        data = safe_files.read_regular(path, LOSSES_LIMIT)
    except OSError:
        return []
    rows = []
    for line in data.splitlines():
        with contextlib.suppress(ValueError):
            row = json.loads(line.decode("utf-8"))
            if _is_loss_row(row):
                rows.append(row)
    return rows


def _is_loss_row(row: Any) -> bool:
    """A row of the loss history: an iteration (a count) and numbers (NaN included: a run
    that diverged recorded it)."""
    return (
        isinstance(row, dict)
        and isinstance(row.get("iteration"), int)
        and not isinstance(row["iteration"], bool)
        and all(
            isinstance(value, (int, float)) and not isinstance(value, bool)
            for value in row.values()
        )
    )

"""The app's queue as people see it: each job's state, and a screen to follow or cancel them.

`QueueEntry` is the interface's record of one job (kept by the app, updated from the run
messages on the interface's thread); `QueueTable` lists them and refreshes itself a few
times a second; `QueueScreen` (F5) shows the table with its keys: Enter shows the selected
running job on the main screen, x cancels the selected job, Shift+X cancels them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from nst_engine.store.run_record import FAILED, FINISHED, QUEUED, RUNNING, STOPPED

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder

# A job's states are its run folder's (run.json's), in the same words.
ENDED = (FINISHED, STOPPED, FAILED)
REFRESH = 0.5  # seconds between two refreshes of a table


@dataclass
class QueueEntry:
    """One job of the app's queue: a run folder and how far its run got."""

    run_number: int  # the app's number for it this session ("Run 3"), carried by its messages
    config: RunConfig
    folder: RunFolder
    sweep: str | None = None
    labels: tuple[str, ...] = ()
    status: str = QUEUED  # queued | running | finished | stopped | failed
    index: int = 0  # iterations done
    total: int = 0
    slot: str = ""
    error: str = ""
    result: Path | None = None  # the final image, or the partial of a stopped run
    resumed: bool = False  # the job resumes a stopped run
    sequence: Any = None  # a sequence's job: its SequenceSettings (nst_engine/video/settings.py)
    notes: list[str] = field(default_factory=list)

    @property
    def job_id(self) -> str:
        """The run's id in the store: its folder's name, the job queue's `Job.id`, what
        `nst-tui resume ID` takes (not `run_number`, the app's own number for it)."""
        return self.folder.id

    @property
    def open(self) -> bool:
        """Queued or running."""
        return self.status in (QUEUED, RUNNING)

    def describe(self) -> str:
        """`astronaut → mosaic`; a sweep's cell: its values first (`lr=1 · style-weight=30 ·
        astronaut → mosaic`), as its images are those of every cell."""
        content = Path(self.config.inputs.content).stem if self.config.inputs.content else "?"
        styles = " + ".join(Path(style).stem for style in self.config.styles) or "?"
        text = f"{content} → {styles}"
        if self.labels:
            text = " · ".join(self.labels) + " · " + text
        if self.resumed:
            text += " (resumed)"
        return text

    @property
    def planned(self) -> int:
        """The iterations its run counts to (known before it starts: all its scales)."""
        from nst_engine.settings.sizes import planned_iterations

        return self.total or planned_iterations(self.config)

    def progress_text(self) -> str:
        if self.status == QUEUED:
            return ""
        total = self.planned
        percent = 100 * self.index // max(total, 1)
        return f"{self.index}/{total} ({percent}%)"


def queue_counts(entries: list[QueueEntry]) -> tuple[int, int]:
    """(running, queued) among `entries`."""
    running = sum(entry.status == RUNNING for entry in entries)
    queued = sum(entry.status == QUEUED for entry in entries)
    return running, queued


def overall_progress(entries: list[QueueEntry]) -> tuple[int, int]:
    """(iterations made, iterations there will be) over `entries`: a finished job counts
    whole; one that ended early (stopped, failed, cancelled while it waited) counts what it
    made, as nothing more of it will run; the others count what they plan."""
    done = total = 0
    for entry in entries:
        planned = entry.planned
        made = planned if entry.status == FINISHED else min(entry.index, planned)
        done += made
        total += made if entry.status in ENDED else planned
    return done, total


class QueueTable(DataTable):
    """The jobs, newest last: number, state, progress, what it styles, its run folder."""

    DEFAULT_CSS = "QueueTable { height: 1fr; }"

    def __init__(self, entries: Callable[[], list[QueueEntry]], **options: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **options)
        self._entries = entries  # () -> list[QueueEntry], read at each refresh
        self._shown: list[tuple] = []

    def on_mount(self) -> None:
        self.add_columns("Run", "State", "Progress", "What", "Folder")
        self.refresh_rows()
        self.set_interval(REFRESH, self.refresh_rows)

    def refresh_rows(self) -> None:
        rows = [
            (
                str(entry.run_number),
                entry.status + (f" ({entry.slot})" if entry.slot not in ("", "auto") else ""),
                entry.progress_text(),
                entry.describe(),
                entry.job_id,
            )
            for entry in self._entries()
        ]
        if rows == self._shown:
            return
        cursor = self.cursor_row
        self.clear()
        for row in rows:
            self.add_row(*row, key=row[0])
        self._shown = rows
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1))

    @property
    def selected_run_number(self) -> int | None:
        if not self._shown or self.cursor_row < 0 or self.cursor_row >= len(self._shown):
            return None
        return int(self._shown[self.cursor_row][0])


class QueueScreen(ModalScreen[None]):
    """The app's queue (F5): follow a running job, cancel one or all; Escape closes."""

    BINDINGS = [
        Binding("escape,f5", "dismiss", "Close", priority=True, id="queue.dismiss"),
        Binding("x,delete", "cancel_job", "Cancel job", id="queue.cancel_job"),
        Binding("X", "cancel_all", "Cancel all", id="queue.cancel_all"),
    ]

    def __init__(self) -> None:
        super().__init__(id="queue")

    def compose(self) -> ComposeResult:
        with Vertical(id="queue-box"):
            yield Static("", id="queue-title", markup=False)
            yield QueueTable(lambda: list(self.app.jobs.values()), id="queue-table")  # type: ignore[attr-defined]
            yield Static(
                "Enter: show on the main screen · x: cancel the job · Shift+X: cancel all · "
                "Esc: close. A stopped job can be resumed from the history.",
                id="queue-keys",
                markup=False,
            )

    def on_mount(self) -> None:
        self._title()
        self.set_interval(REFRESH, self._title)
        self.query_one(QueueTable).focus()

    def _title(self) -> None:
        entries = list(self.app.jobs.values())  # type: ignore[attr-defined]
        running, queued = queue_counts(entries)
        done, total = overall_progress(entries)
        self.query_one("#queue-title", Static).update(
            f"Queue: {running} running, {queued} queued, {len(entries)} in this session"
            + (f" · {done}/{total} iterations" if total else "")
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table's own key): show that job on the main screen."""
        event.stop()
        self.action_follow()

    def action_follow(self) -> None:
        run_number = self.query_one(QueueTable).selected_run_number
        if run_number is not None and self.app.follow(run_number):  # type: ignore[attr-defined]
            self.dismiss()

    def action_cancel_job(self) -> None:
        run_number = self.query_one(QueueTable).selected_run_number
        if run_number is not None:
            self.app.cancel_job(run_number)  # type: ignore[attr-defined]
            self.query_one(QueueTable).refresh_rows()

    def action_cancel_all(self) -> None:
        self.app.cancel_all_jobs()  # type: ignore[attr-defined]
        self.query_one(QueueTable).refresh_rows()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

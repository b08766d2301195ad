"""The history: past runs in a table (sortable, filterable), a thumbnail of the highlighted
one, and what can be done with a run (open it: nst_tui/app/screens/run_view.py; load its
settings, run it again, resume it, delete it: nst_tui/app/screens/run_actions.py).

The app reads run folders (run.json, settings.toml, losses.jsonl, PNGs) through
nst_engine.store.runs and never touches tensors. The list follows the runs folder by itself: every
POLL_INTERVAL seconds it compares the records' modification times, so a run of this app or
of `nst-tui run` in another terminal shows up, moves on and ends in the list.
"""

from __future__ import annotations

import contextlib
import os

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import CellDoesNotExist

from nst_engine.store.runs import (
    RUN_FILE,
    RUNNING,
    STATUSES,
    RunFolder,
    RunRecord,
    filter_runs,
    list_runs,
    run_folders,
)
from nst_tui.app.screens.history_columns import (
    COLUMNS,
    fit_columns,
    fitted_cells,
    left_out_text,
    natural_widths,
    row_texts,
    sort_key,
)
from nst_tui.app.screens.run_actions import (
    ask_delete,
    choose_image_for_settings,
    load_settings,
    picture_strips,
    resume,
    run_again,
)
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.keys_footer import KeysFooter
from nst_tui.app.widgets.picture.cells import CellImage

POLL_INTERVAL = 1.0  # seconds between two looks at the runs folder
NARROW = 100  # terminal columns below which the side panel gives its width to the table
NEWEST_FIRST = ("date", True)


def record_details(record: RunRecord) -> str:
    """What the side panel says of the highlighted run."""
    lines = [record.id, f"status: {record.status}"]
    if record.labels:
        lines.append("cell: " + ", ".join(record.labels))
    if record.error:
        lines.append(f"error: {record.error}")
    if record.resumable:
        lines.append("r resumes it")
    return "\n".join(lines)


class RunTable(DataTable):
    """The runs, one a row; its keys act on the highlighted run."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", key_display="⏎", id="history.select_cursor"),
        Binding("l", "screen.load_settings", "Load", id="history.load_settings"),
        Binding("a", "screen.run_again", "Again", id="history.run_again"),
        Binding("r", "screen.resume", "Resume", id="history.resume"),
        Binding("d,delete", "screen.delete", "Delete", id="history.delete"),
        # Sort, Reverse and Filter are named in the line under the table.
        Binding("s", "screen.sort", "Sort", show=False, id="history.sort"),
        Binding("S", "screen.reverse", "Reverse", show=False, id="history.reverse"),
        Binding(
            "slash",
            "screen.focus_filter",
            "Filter",
            key_display="/",
            show=False,
            id="history.focus_filter",
        ),
    ]


class HistoryScreen(Screen):
    """Past runs: sort (s, or a click on a heading), filter (/), open (Enter)."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="history.back"),
        Binding(
            "i", "settings_from_image", "From image", show=False, id="history.settings_from_image"
        ),
    ]
    AUTO_FOCUS = "#history-table"

    def __init__(self) -> None:
        super().__init__(id="history")
        self.records: list[RunRecord] = []  # every run, as last read
        self.shown: list[RunRecord] = []  # filtered and sorted: the table's rows
        self.sorting = NEWEST_FIRST  # (column, reversed)
        self._signature: tuple = ()
        # The thumbnail asked for last: (run id, size in cells). An answer for anything else (a
        # load begun before a resize or the first layout) comes late and is dropped.
        self._thumbnail_for: tuple[str, tuple[int, int]] | None = None
        self._named_damaged: set[str] = set()  # damaged run folders already named

    def compose(self) -> ComposeResult:
        with Horizontal(id="history-filters"):
            yield Input(
                placeholder="/ filter: names, settings (optimizer=adam), status…",
                id="history-filter",
                compact=True,
            )
            yield Dropdown(
                [(status, status) for status in STATUSES], prompt="any status", id="history-status"
            )
        with Horizontal(id="history-body"):
            yield RunTable(id="history-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="history-side"):
                yield CellImage(id="history-thumbnail")
                yield Static("", id="history-details", markup=False)
        # Narrow terminals: the highlighted run's figures that the table has no room for.
        yield Static("", id="history-line", markup=False)
        yield Static("", id="history-count", markup=False)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self._columns: list[tuple[str, int]] = []  # (key, width) of the columns shown, in order
        self._set_narrow()
        self.reload()
        self.set_interval(POLL_INTERVAL, self._poll)

    def on_resize(self) -> None:
        self._set_narrow()
        self.call_after_refresh(self.show_rows)  # the columns chosen again for the new width

    def _set_narrow(self) -> None:
        self.set_class(self.app.size.width < NARROW, "-narrow")

    # --- reading the runs folder --------------------------------------------------------------

    def _folder_signature(self) -> tuple:
        """Each record's name and modification time: what changes when a run does."""
        signature = []
        for folder in run_folders():
            with contextlib.suppress(OSError):
                signature.append((folder.id, os.stat(folder.path / RUN_FILE).st_mtime_ns))
        return tuple(signature)

    def _poll(self) -> None:
        self._look_at_folder()
        self._show_live_progress()

    def _show_live_progress(self) -> None:
        """This app's running runs' iterations as they go (run.json has them every 50; a
        sequence's record has its frames as each is made: shown as it says)."""
        jobs = (getattr(self.app, "jobs", None) or {}).values()
        live = {
            e.folder.id: f"{e.index}/{e.total or '?'}"
            for e in jobs
            if e.status == RUNNING and e.folder and getattr(e, "sequence", None) is None
        }
        table = self.table
        if "iterations" not in self._shown_keys:
            return
        for record in self.shown:
            if record.status == RUNNING and record.id in live:
                table.update_cell(record.id, "iterations", live[record.id])

    @work(thread=True, exclusive=True, group="history-poll", exit_on_error=False)
    def _look_at_folder(self) -> None:
        """Read the runs folder again if a record changed (a thread: 500 runs take 30 ms to
        look at and 60 ms to read, which the interface would feel every second)."""
        signature = self._folder_signature()
        if signature == self._signature:
            return
        damaged: list[str] = []
        records = list_runs(damaged=damaged)
        with contextlib.suppress(RuntimeError):  # the app may have closed meanwhile
            self.app.call_from_thread(self._records_read, signature, records, damaged)

    def _records_read(self, signature: tuple, records: list[RunRecord], damaged: list[str]) -> None:
        if self.is_attached:
            self._signature = signature
            self.records = records
            self.show_rows()
            self._name_damaged(damaged)

    def reload(self) -> None:
        """Read the runs folder again and show what the filter keeps."""
        self._signature = self._folder_signature()
        damaged: list[str] = []
        self.records = list_runs(damaged=damaged)
        self.show_rows()
        self._name_damaged(damaged)

    def _name_damaged(self, damaged: list[str]) -> None:
        """Say once which run folders are left out of the list, and why (a damaged run.json)."""
        new = [problem for problem in damaged if problem not in self._named_damaged]
        self._named_damaged.update(new)
        if new:
            shown = "\n".join(new[:3]) + (f"\n(and {len(new) - 3} more)" if len(new) > 3 else "")
            self.notify(
                f"Left out of the list:\n{shown}", severity="warning", timeout=8, markup=False
            )

    # --- the table ----------------------------------------------------------------------------

    @property
    def table(self) -> RunTable:
        return self.query_one(RunTable)

    @property
    def _shown_keys(self) -> set[str]:
        return {key for key, _ in self._columns}

    def show_rows(self) -> None:
        """Fill the table with the filtered records, sorted; the cursor stays on its run."""
        text = self.query_one("#history-filter", Input).value
        status = self.query_one("#history-status", Dropdown).value
        kept = filter_runs(self.records, text, status)
        column, descending = self.sorting
        kept.sort(key=lambda record: sort_key(column, record), reverse=descending)
        self.shown = kept
        table = self.table
        highlighted = self.highlighted
        rows = [row_texts(record) for record in kept]
        width, height = self._table_size()
        layout = fit_columns(width, natural_widths(rows), scrollbar=len(rows) >= height)
        # The columns again when any is added, dropped or of another width (a resize).
        columns = [(column.key, width) for column, width in layout]
        table.clear(columns=columns != self._columns)
        if columns != self._columns:
            for shown_column, width in layout:
                table.add_column(shown_column.heading, width=width, key=shown_column.key)
            self._columns = columns
        for record, texts in zip(kept, rows, strict=True):
            table.add_row(*fitted_cells(texts, layout), key=record.id)
        if highlighted is not None and highlighted.id in {record.id for record in kept}:
            table.move_cursor(row=table.get_row_index(highlighted.id), animate=False)
        heading = next(each.heading for each in COLUMNS if each.key == column)
        total = len(self.records)
        count = f"{len(kept)} of {total} runs" if len(kept) != total else f"{total} runs"
        self.query_one("#history-count", Static).update(
            f"{count} · sorted by {heading.lower()} {'↓' if descending else '↑'} · "
            "s, S: sort · /: filter · i: settings from an image"
            if total
            else "No runs yet: every run of the app or of `nst-tui run` is listed here."
        )
        self._show_highlighted()

    def _table_size(self) -> tuple[int, int]:
        """The table's size: as laid out, else (before the first layout) about as it will be."""
        width, height = self.table.size
        if width:
            return width, height
        side = self.query_one("#history-side")
        side_width = 0 if self.has_class("-narrow") else int(side.styles.width.value)
        return self.app.size.width - side_width, self.app.size.height - 4

    @property
    def highlighted(self) -> RunRecord | None:
        table = self.table
        if not self.shown or table.row_count == 0:
            return None
        with contextlib.suppress(CellDoesNotExist):  # the cursor on no row yet
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            return next((record for record in self.shown if record.id == key), None)
        return None

    def _highlighted_folder(self) -> RunFolder | None:
        record = self.highlighted
        if record is None:
            self.notify("No run highlighted.", severity="warning", timeout=3)
            return None
        return RunFolder(record.path)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self._show_highlighted()

    def _show_highlighted(self) -> None:
        record = self.highlighted
        details = self.query_one("#history-details", Static)
        thumbnail = self.query_one("#history-thumbnail", CellImage)
        line = self.query_one("#history-line", Static)
        if record is None:
            details.update("")
            line.update("")
            thumbnail.clear()
            self._thumbnail_for = None
            return
        details.update(record_details(record))
        line.update(left_out_text(record, self._shown_keys))
        if self.has_class("-narrow"):
            return  # no thumbnail to show
        size = (max(1, thumbnail.size.width), max(1, thumbnail.size.height))
        if self._thumbnail_for != (record.id, size):
            self._thumbnail_for = (record.id, size)
            self._load_thumbnail(RunFolder(record.path), size)

    @work(thread=True, exclusive=True, group="history-thumbnail", exit_on_error=False)
    def _load_thumbnail(self, folder: RunFolder, cells: tuple[int, int]) -> None:
        strips = picture_strips(folder, cells, thumbnail=True)
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(self._thumbnail_loaded, (folder.id, cells), strips)

    def _thumbnail_loaded(self, asked: tuple[str, tuple[int, int]], strips: list) -> None:
        if self._thumbnail_for == asked and self.is_attached:
            self.query_one("#history-thumbnail", CellImage).show(strips)

    @on(DataTable.HeaderSelected)
    def _heading_clicked(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(str(event.column_key.value))

    def sort_by(self, column: str) -> None:
        """Sort by `column`; the same column again reverses the order."""
        current, descending = self.sorting
        if column == current:
            self.sorting = (column, not descending)
        else:
            self.sorting = (column, column in ("date", "time", "iterations"))
        self.show_rows()

    # --- filtering ----------------------------------------------------------------------------

    @on(Input.Changed, "#history-filter")
    @on(Dropdown.Changed, "#history-status")
    def _filter_changed(self) -> None:
        self.show_rows()

    @on(Input.Submitted, "#history-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    # --- actions ------------------------------------------------------------------------------

    def action_back(self) -> None:
        if isinstance(self.focused, (Input, Dropdown)):
            self.table.focus()  # Escape in the filter: back to the list first
        else:
            self.dismiss()

    def action_focus_filter(self) -> None:
        self.query_one("#history-filter", Input).focus()

    def action_sort(self) -> None:
        """Sort by the next column (a click on a heading sorts by that one)."""
        keys = [each.key for each in COLUMNS]
        self.sort_by(keys[(keys.index(self.sorting[0]) + 1) % len(keys)])

    def action_reverse(self) -> None:
        self.sort_by(self.sorting[0])

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        from nst_tui.app.screens.run_view import RunScreen

        folder = self._highlighted_folder()
        if folder is not None:
            self.app.push_screen(RunScreen(folder))

    def action_load_settings(self) -> None:
        folder = self._highlighted_folder()
        if folder is not None:
            load_settings(self.app, folder)

    def action_run_again(self) -> None:
        folder = self._highlighted_folder()
        if folder is not None:
            run_again(self.app, folder)

    def action_resume(self) -> None:
        folder = self._highlighted_folder()
        if folder is not None:
            resume(self.app, folder)

    def action_delete(self) -> None:
        folder = self._highlighted_folder()
        if folder is not None:
            ask_delete(self.app, folder, self.reload)

    def action_settings_from_image(self) -> None:
        choose_image_for_settings(self.app)

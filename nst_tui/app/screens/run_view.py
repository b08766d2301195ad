"""One past run: its picture, its settings (TOML), its loss curve, and what can be done with it
(the same actions as the history's: load its settings, run it again, resume, delete)."""

from __future__ import annotations

import contextlib

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from nst_engine.errors import NSTError
from nst_engine.store.run_record import SEQUENCE, RunRecord
from nst_engine.store.runs import RunFolder
from nst_tui.app.screens.history_columns import date_text
from nst_tui.app.screens.run_actions import (
    ask_delete,
    load_settings,
    picture_strips,
    resume,
    run_again,
)
from nst_tui.app.widgets.keys_footer import KeysFooter
from nst_tui.app.widgets.picture.cells import CellImage
from nst_tui.app.widgets.run.loss_plot import LossPlot
from nst_tui.app.widgets.run.run_panel import format_duration


class RunScreen(Screen):
    """A run of the history, opened: Escape goes back to the list."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="run_view.back"),
        # Short labels: 80 columns hold them all.
        Binding("l", "load_settings", "Load", id="run_view.load_settings"),
        Binding("a", "run_again", "Again", id="run_view.run_again"),
        Binding("r", "resume", "Resume", id="run_view.resume"),
        Binding("d,delete", "delete", "Delete", id="run_view.delete"),
    ]

    def __init__(self, folder: RunFolder) -> None:
        super().__init__(id="run-view")
        self.folder = folder

    def compose(self) -> ComposeResult:
        yield Static("", id="run-view-title", markup=False)
        with Horizontal(id="run-view-body"):
            yield CellImage(id="run-view-picture")
            with Vertical(id="run-view-side"):
                with VerticalScroll(id="run-view-settings-box"):
                    yield Static("", id="run-view-settings", markup=False)
                yield LossPlot(id="run-view-losses")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.show_run()

    def show_run(self) -> None:
        folder = self.folder
        try:
            record = folder.record()
        except NSTError as error:
            self.query_one("#run-view-title", Static).update(error.message)
            return
        took = f" · {format_duration(record.seconds)}" if record.seconds else ""
        title = (
            f"{record.id} · {record.status} · {date_text(record.started)} · "
            f"{_progress(record)}{took}"
        )
        if record.error:
            title += f"\nerror: {record.error}"
        result = record.result or record.partial
        if result:
            title += f"\nimage: {result}"
        self.query_one("#run-view-title", Static).update(title)
        try:
            settings = folder.settings_text()
        except NSTError as error:  # missing, not a file, not text: say so in its place
            settings = f"({error.message})"
        self.query_one("#run-view-settings", Static).update(settings)
        self.losses.show_history(folder.losses())

    @property
    def losses(self) -> LossPlot:
        return self.query_one(LossPlot)

    def on_resize(self) -> None:
        self.call_after_refresh(self._load_picture)

    def _load_picture(self) -> None:
        picture = self.query_one("#run-view-picture", CellImage)
        size = (max(1, picture.size.width), max(1, picture.size.height))
        self._picture_in_thread(size)

    @work(thread=True, exclusive=True, group="run-view-picture", exit_on_error=False)
    def _picture_in_thread(self, cells: tuple[int, int]) -> None:
        strips = picture_strips(self.folder, cells, thumbnail=False)
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(self._picture_loaded, strips)

    def _picture_loaded(self, strips: list) -> None:
        if self.is_attached:
            self.query_one("#run-view-picture", CellImage).show(strips)

    # --- actions ------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def action_load_settings(self) -> None:
        load_settings(self.app, self.folder)

    def action_run_again(self) -> None:
        run_again(self.app, self.folder)

    def action_resume(self) -> None:
        resume(self.app, self.folder)

    def action_delete(self) -> None:
        def deleted() -> None:
            self.dismiss()
            history = self.app.screen
            if hasattr(history, "reload"):
                history.reload()

        ask_delete(self.app, self.folder, deleted)


def _progress(record: RunRecord) -> str:
    """`50/100 iterations`, or a sequence's `3/8 frames`."""
    if record.kind == SEQUENCE:
        return record.progress
    return f"{record.iterations_done}/{record.total or '?'} iterations"

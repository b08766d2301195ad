"""The app as its screens see it: this session's jobs and sweeps, the run the main screen
shows, and the queue's verbs. `NSTApp` (nst_tui/app/app.py) is one; the screens name this
rather than the app, which imports them, so that no module imports itself back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder
    from nst_tui.app.messages import RunMessage
    from nst_tui.app.screens.queue import QueueEntry


class Session(Protocol):
    jobs: dict[int, QueueEntry]  # this session's jobs by run number, oldest first
    sweeps: dict[str, object]  # this session's sweeps by id (their grids)
    current_run_number: int  # the run the main screen shows (0: none yet)
    running: bool  # the current run is going (not finished, failed or cancelled)

    @property
    def closing(self) -> bool: ...

    def enqueue(
        self,
        config: RunConfig,
        folder: RunFolder | None = None,
        *,
        sweep: str | None = None,
        labels: tuple[str, ...] | list[str] = (),
    ) -> str: ...

    def job_message(self, message: RunMessage) -> None: ...

    def run_ended(self) -> None: ...

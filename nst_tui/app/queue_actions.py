"""The app's queue as actions: Run puts the form in the queue, the main screen follows a job.

Part of `NSTApp` (a mixin, kept apart so that app.py stays about the app): every run is a
job of the app's queue (nst_tui/app/run_driver.py over the engine's JobQueue) with a run folder
of its own; `jobs` is this session's record of them, by run number, updated on the interface's
thread from the run messages (`job_message`). The main screen follows one running job
(`current_run_number`) and takes the next one when it ends; the queue screen (F5,
nst_tui/app/screens/queue.py) lists them all; the sweep screen (F4) queues a sweep's jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nst_engine.errors import NSTError
from nst_engine.settings.config import RunConfig
from nst_tui.app.messages import JobDone, RunBegan, RunMessage
from nst_tui.app.screens.queue import QUEUED, RUNNING, QueueEntry
from nst_tui.app.widgets.by_id import by_id

if TYPE_CHECKING:
    from nst_engine.store.runs import RunFolder
    from nst_engine.sweeps.sweep import SweepGrid
    from nst_engine.video.settings import SequenceSettings
    from nst_tui.app.run_driver import QueueDriver

SEQUENCE_ON_CLUSTER = (
    "a sequence runs on this machine, not on the cluster: start the app without --cluster, "
    "or use `nst-tui video`"
)

SWEEP_OF_A_SEQUENCE = (
    "a sweep compares pictures: give an image (one frame) as the content to sweep settings, "
    "then run the sequence with the settings chosen"
)


class QueueActions:
    """Enqueueing, following and cancelling jobs: the run path of `NSTApp`."""

    jobs: dict[int, QueueEntry]  # this session's jobs by run number, oldest first
    sweeps: dict[str, SweepGrid]  # this session's sweeps by id (their grids)
    current_run_number: int  # the run the main screen shows (0: none yet)
    running: bool  # the current run is going (not finished, failed or cancelled)
    cancelling: bool  # ...and told to stop: it finishes its iteration and saves first
    _queue: QueueDriver

    def enqueue(
        self,
        config: RunConfig,
        folder: RunFolder | None = None,
        *,
        sweep: str | None = None,
        labels: tuple[str, ...] | list[str] = (),
        sequence: SequenceSettings | None = None,
    ) -> str:
        """Queue a run of `config` in a new run folder, or resume `folder`'s run (config:
        `folder.config()`); with `sequence`, a sequence of the frames of config's content
        (nst_engine/video/). Its job id (the folder's id), "" when no folder could be made."""
        entry = self._enqueue(config, folder, sweep=sweep, labels=tuple(labels), sequence=sequence)
        return entry.job_id if entry is not None else ""

    def _enqueue(
        self,
        config: RunConfig,
        folder: RunFolder | None = None,
        *,
        sweep: str | None = None,
        labels: tuple[str, ...] = (),
        sequence: SequenceSettings | None = None,
    ) -> QueueEntry | None:
        from nst_engine.settings.sizes import planned_iterations

        if folder is not None and any(
            entry.open and entry.folder == folder for entry in self.jobs.values()
        ):
            self.notify(f"Run {folder.id} is in the queue already (F5).", severity="warning")
            return None
        resumed = folder is not None and folder.record().status != QUEUED
        wanted = config.inputs.output
        if sequence is not None and self._queue.cluster is not None:
            self.notify(SEQUENCE_ON_CLUSTER, title="Not queued", severity="error", timeout=10)
            return None
        if folder is None:
            config = self._own_output(config)
            try:
                folder = self._new_folder(config, sweep, labels, sequence)
            except NSTError as error:
                self.notify(error.message, title="Not queued", severity="error", timeout=10)
                return None
        entry = QueueEntry(
            next(self._run_numbers), config, folder, sweep, labels, total=planned_iterations(config)
        )
        entry.resumed, entry.sequence = resumed, sequence
        self.jobs[entry.run_number] = entry
        if not self.running:
            self._show_run(entry, starting=True)
            if any(other.status == RUNNING for other in self.jobs.values()):
                self.main.panel.status("waiting for the previous run to stop…")
            if wanted is not None and config.inputs.output != wanted and sweep is None:
                self.notify(
                    f"{wanted.name} is being written by another run: this one writes "
                    f"{config.inputs.output.name}.",
                    timeout=8,
                )
        elif sweep is None:
            ahead = sum(other.open for other in self.jobs.values()) - 1
            self.notify(
                f"Queued as run {entry.run_number}, {ahead} ahead of it; its result: "
                f"{config.inputs.output.name if config.inputs.output else '?'} (F5: the queue).",
                timeout=5,
            )
        self._queue.submit(entry.run_number, config, folder, sequence)
        return entry

    def _new_folder(self, config, sweep, labels, sequence) -> RunFolder:
        """A run's folder, or a sequence's (nst_engine/video/sequence_record.py)."""
        from nst_engine.store.runs import RunFolder

        if sequence is None:
            return RunFolder.create(config, sweep=sweep, labels=labels)
        from nst_engine.video.sequence_record import create_sequence_folder

        source, output = Path(config.inputs.content or ""), Path(config.inputs.output or "")
        total = self._frames_of(source)
        return create_sequence_folder(config, source, output, sequence, total)

    def _frames_of(self, source: Path) -> int:
        """The frames of `source` as the content field counted them in its check's thread;
        counted here only for another source (the history's Again): counting a video reads
        all of it, which the interface's thread must not do at each Run. The engine counts
        them again when the sequence starts (its record's total is set then)."""
        from nst_tui.app.widgets.form.sequence_fields import ContentField

        field = by_id(self.main, "content-field", ContentField)
        if field is not None and field.path == source and field.frames:
            return field.frames
        from nst_engine.video.frames import open_frames

        return open_frames(source).count

    def _own_output(self, config: RunConfig) -> RunConfig:
        """`config` with an output that no waiting or running job of this session, nor a run
        running elsewhere, writes: else the next free name (`mine-2.png` -> `mine-3.png`)."""
        import os

        from nst_engine.running.outputs import free_output_path
        from nst_engine.store.output_index import owned_outputs
        from nst_engine.store.output_owners import owner_of

        if config.inputs.output is None:
            return config
        wanted = Path(os.path.abspath(config.inputs.output))
        writing = {
            Path(os.path.abspath(entry.config.inputs.output))
            for entry in self.jobs.values()
            if entry.open and entry.config.inputs.output is not None
        }
        owner = owner_of(wanted)
        if wanted not in writing and (owner is None or owner.status != RUNNING):
            # A name typed over a stopped run's is the person's choice (the form said so);
            # with "replace the output" ticked the name may exist.
            return config
        output = free_output_path(config.inputs.output, writing | {wanted, *owned_outputs()})
        return config.replace(output=output)

    def _show_run(self, entry: QueueEntry, *, starting: bool = False) -> None:
        """The main screen follows `entry`'s run from now on."""
        self.current_run_number = entry.run_number
        self.running = True
        self.cancelling = False
        self._preview = self.main.preview  # for the queue's thread, which must not query the DOM
        panel = self.main.panel
        panel.set_running()
        panel.start(entry.planned, folder=entry.folder)
        if entry.index:
            panel.status(f"run {entry.run_number}: {entry.describe()}")
        caption = "starting…" if starting else f"iteration {entry.index}"
        self.main.preview.caption(f"Run {entry.run_number}: {caption}")
        self.refresh_bindings()

    def follow(self, run_number: int) -> bool:
        """Show a running (or waiting) job on the main screen; whether it could be."""
        entry = self.jobs.get(run_number)
        if entry is None or not entry.open:
            return False
        if run_number != self.current_run_number or not self.running:
            self._show_run(entry)
        return True

    def job_message(self, message: RunMessage) -> None:
        """Keep the queue's record of a job up to date (every run message, current or not)."""
        from nst_tui.app.messages import RunProgress, RunSnapshot, RunStarted

        entry = self.jobs.get(message.run_number)
        if entry is None:
            return
        if entry.sweep in self.sweeps and isinstance(message, (RunSnapshot, JobDone)):
            self.sweeps[entry.sweep].request()  # a cell's picture may have come: the grid again
        if isinstance(message, RunBegan):
            entry.status = RUNNING
            entry.slot = message.slot
            if not self.running and not self.closing:
                self._show_run(entry, starting=True)
        elif isinstance(message, RunStarted):
            entry.total = message.total
        elif isinstance(message, RunProgress):
            entry.index, entry.total = message.index, message.total
        elif isinstance(message, JobDone):
            entry.status = message.status
            entry.error = message.error
            if self.closing:
                return
            if not self.running:
                self._follow_next()

    def _follow_next(self) -> None:
        """Nothing shown runs: show a job that runs already (several devices), if any."""
        for entry in self.jobs.values():
            if entry.status == RUNNING:
                self._show_run(entry)
                return

    def cancel_job(self, run_number: int) -> None:
        """Stop a job: a running one after its iteration (resumable), a queued one at once
        (its run folder says stopped, at 0: cancelled, not still queued)."""
        entry = self.jobs.get(run_number)
        if entry is None or not entry.open:
            return
        if run_number == self.current_run_number and self.running:
            self.action_cancel()
            return
        self._queue.cancel(entry.job_id)

    def cancel_all_jobs(self) -> None:
        for entry in list(self.jobs.values()):
            if entry.status == QUEUED:
                self.cancel_job(entry.run_number)
        for entry in list(self.jobs.values()):
            if entry.status == RUNNING:
                self.cancel_job(entry.run_number)

    def action_cancel(self) -> None:
        """Stop the run shown after its iteration; it stays the current run ("Stopping…",
        Run off) until it has stopped and saved (`run_ended`)."""
        entry = self.jobs.get(self.current_run_number)
        if not self.running or self.cancelling or entry is None:
            return
        self._queue.cancel(entry.job_id)
        self.cancelling = True
        self.main.panel.set_stopping()
        self.refresh_bindings()

    def action_queue(self) -> None:
        from nst_tui.app.screens.queue import QueueScreen

        if isinstance(self.screen, QueueScreen):
            self.screen.dismiss()
        elif not self._in_dialog():
            self.push_screen(QueueScreen())

    def action_sweep(self) -> None:
        from nst_tui.app.screens.sweep import SweepScreen

        if isinstance(self.screen, SweepScreen) or self._in_dialog():
            return
        self.form_state = self.main.form.check() or self.form_state
        if self.form_state.config is None:
            self.bell()
            self.notify(self.form_state.problem, title="Fix the form first", severity="warning")
            return
        if self.form_state.sequence is not None:
            self.notify(SWEEP_OF_A_SEQUENCE, title="No sweep", severity="warning")
            return
        self.push_screen(SweepScreen(self.form_state.config))

"""The app's queue of runs: jobs handed to the engine's JobQueue, their events made into messages.

One thread of the app (the consumer, "nst-queue") owns the engine's `JobQueue`
(nst_engine/jobs/queue.py): it submits the jobs the interface asks for, pulls every job's events
and posts messages that carry the job's run number, throttled by time per job: progress about
ten times a second, preview frames a few times a second, the last step always. A job's Step
is handed over until the consumer asks for the next event, so the preview frame is read
here, resized and made into cells before the run goes on; the interface only paints.

The interface never waits on this thread: it puts requests (a job, a cancel) in a mailbox
that the consumer reads between two events. torch is imported here, not on the interface's
thread; the queue's worker threads (the runs) and this one run below the interface's
priority (nst_tui/app/engine_thread.py).
"""

from __future__ import annotations

import logging
import queue as queue_module
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from nst_engine.errors import InternalError
from nst_tui.app.messages import (
    JobDone,
    RunBegan,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunPreview,
    RunProgress,
    RunSnapshot,
    RunStarted,
    RunStatus,
)
from nst_tui.app.wording import bug_text, for_the_app

if TYPE_CHECKING:
    from nst_engine.jobs.queue import JobEnded, JobEvent, JobQueue
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder
    from nst_engine.video.settings import SequenceSettings
    from nst_tui.app.sequence_progress import SequenceProgress
    from nst_tui.app.widgets.picture.preview import PreviewPane

PROGRESS_INTERVAL = 0.1  # seconds between progress messages (each reads the losses)
PREVIEW_INTERVAL = 0.3  # seconds between preview frames, at least
PREVIEW_COST_RATIO = 50  # ...and 50 times what making the last one took (at most 1 s)
POLL = 0.05  # seconds the consumer waits for an event before it reads its mailbox again

log = logging.getLogger("nst.app")


@dataclass
class _JobState:
    """What the consumer keeps of one job while it runs (throttles, last report)."""

    run_number: int
    reporter: object = (
        None  # nst_engine.running.progress.ProgressReporter, made with the first event
    )
    last_preview: float = 0.0
    preview_interval: float = PREVIEW_INTERVAL
    last_report: object = None  # the last Progress posted
    began: bool = False
    results: list[str] = field(default_factory=list)
    sequence: SequenceProgress | None = None  # a sequence's job: its frames so far


class QueueDriver:
    """The app's side of the engine's job queue (one per app)."""

    def __init__(
        self,
        post: Callable[[Message], None],
        preview: Callable[[], PreviewPane],
        session_results: list[str],
        stopping: threading.Event,
        cluster=None,
    ) -> None:
        self.post = post  # thread-safe; does nothing once the app has closed
        self.cluster = cluster  # a connected Ray cluster (nst_engine/jobs/cluster.py), or None
        self.preview = preview  # asked for the frame size only (no DOM queries here)
        self.session_results = session_results  # results and partials, printed at exit
        self.stopping = stopping  # a stop signal came: stop everything as if cancelled
        self._mailbox: queue_module.Queue[tuple[str, object]] = queue_module.Queue()
        self._jobs: dict[str, _JobState] = {}  # job id -> state, until the job has ended
        self._shutting_down = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: JobQueue | None = None
        self._builder = None  # nst_tui.app.widgets.picture.cells.CellBuilder, made on this thread

    # --- what the interface calls -------------------------------------------------------------

    def submit(
        self,
        run_number: int,
        config: RunConfig,
        folder: RunFolder,
        sequence: SequenceSettings | None = None,
    ) -> None:
        """Queue a run of `config`, recorded (or resumed) in `folder`; with `sequence`, the
        sequence of frames of its content (nst_engine/video/job.py)."""
        self._start()
        self._mailbox.put(("submit", (run_number, config, folder, sequence)))

    def cancel(self, job_id: str) -> None:
        """Stop a running job after its iteration (image kept, resumable); drop a queued one."""
        self._mailbox.put(("cancel", job_id))

    def cancel_all(self) -> None:
        self._mailbox.put(("cancel_all", None))

    def shut_down(self) -> None:
        """Stop every job (running ones after their iteration, queued ones stay queued in
        the history) and end the consumer once every job has ended."""
        self._shutting_down.set()
        self._mailbox.put(("cancel_all", None))

    def wait(self, timeout: float) -> bool:
        """Wait until the consumer has ended (after shut_down); whether it did in time."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # --- the consumer thread --------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._consume, name="nst-queue", daemon=True)
            self._thread.start()

    def _consume(self) -> None:
        from nst_tui.app.engine_thread import lower_engine_priority

        lower_engine_priority()  # its preview frames are torch work too
        try:
            self._loop()
        except Exception as error:  # a bug here must not leave the interface waiting for ever
            log.exception("the app's job queue stopped")
            stopped = InternalError(f"the job queue stopped: {type(error).__name__}: {error}")
            text = bug_text(stopped)
            run_numbers = [state.run_number for state in self._jobs.values()]
            while not self._mailbox.empty():
                request, argument = self._mailbox.get_nowait()
                if request == "submit":
                    run_numbers.append(argument[0])  # type: ignore[index]
            for run_number in run_numbers:
                self.post(RunFailed(run_number, stopped.title, text))
                self.post(JobDone(run_number, "failed", text))
        finally:
            if self._queue is not None:
                self._queue.close()

    def _make_queue(self) -> JobQueue:
        """The engine's queue: one slot per CUDA device when there are several, else one
        slot where each job keeps its own device setting."""
        from nst_engine.jobs.queue import JobQueue, local_slots  # torch: here
        from nst_engine.video.job import SequenceExecutor
        from nst_tui.app.engine_thread import lower_engine_priority
        from nst_tui.app.widgets.picture.cells import CellBuilder

        class BelowTheInterface(SequenceExecutor):
            """Runs a slot's jobs (sequences too) on its worker thread, lowered below the
            interface first."""

            lowered = False

            def execute(self, job, hand_over):  # type: ignore[no-untyped-def]
                if not self.lowered:  # on the worker thread, before torch starts threads
                    lower_engine_priority()
                    self.lowered = True
                return super().execute(job, hand_over)

        self._builder = CellBuilder()
        if self.cluster is not None:  # `nst-tui --cluster ADDRESS`: the jobs run there
            return JobQueue(self.cluster.slots(), executor=self.cluster.executor)
        slots = local_slots("auto")
        return JobQueue(slots if len(slots) > 1 else ["auto"], executor=BelowTheInterface)

    def _loop(self) -> None:
        self._queue = job_queue = self._make_queue()
        while True:
            if self.stopping.is_set() and not self._shutting_down.is_set():
                self.shut_down()
            self._read_mailbox(job_queue)
            if self._shutting_down.is_set() and not self._jobs and self._mailbox.empty():
                return
            item = job_queue.next_event(timeout=POLL)
            if item is None:
                continue
            try:
                self._handle(item)
            except Exception:
                log.exception("internal error while showing job %s's event", item.job_id)

    def _read_mailbox(self, job_queue: JobQueue) -> None:
        from nst_engine.jobs.queue import Job

        while True:
            try:
                request, argument = self._mailbox.get_nowait()
            except queue_module.Empty:
                return
            if request == "submit":
                run_number, config, folder, sequence = argument  # type: ignore[misc]
                if self._shutting_down.is_set():
                    self.post(JobDone(run_number, "stopped"))  # never started: stays queued
                    continue
                try:
                    job_queue.submit(Job(folder.id, config, folder, sequence))
                except ValueError as error:  # its folder's run is in the queue already
                    self.post(RunFailed(run_number, "Not queued", str(error)))
                    self.post(JobDone(run_number, "failed", str(error)))
                    continue
                self._jobs[folder.id] = _JobState(run_number)
                if sequence is not None:
                    from nst_tui.app.sequence_progress import SequenceProgress

                    self._jobs[folder.id].sequence = SequenceProgress.of(config, sequence)
            elif request == "cancel":
                job_queue.cancel(str(argument))
            elif request == "cancel_all":
                job_queue.cancel_all()

    def _handle(self, item: JobEvent | JobEnded) -> None:
        from nst_engine.jobs.queue import JobEnded

        state = self._jobs.get(item.job_id)
        if state is None:
            return
        if isinstance(item, JobEnded):
            del self._jobs[item.job_id]
            self._ended(state, item)
            return
        if not state.began:
            state.began = True
            self.post(RunBegan(state.run_number, item.slot))
        if state.sequence is not None:
            self._sequence_event(state, item.event)
        else:
            self._event(state, item.event)

    def _ended(self, state: _JobState, ended: JobEnded) -> None:
        error, error_text = ended.error, ""
        if isinstance(error, InternalError):  # a bug, on this machine or a cluster's worker
            error_text = bug_text(error)
            self.post(RunFailed(state.run_number, error.title, error_text))
        elif error is not None:
            error_text = for_the_app(error.message)
            self.post(RunFailed(state.run_number, error.title, error_text))
        elif ended.status == "stopped" and not state.began:
            self.post(RunCancelled(state.run_number, 0, None))  # dropped before it started
        elif ended.status == "stopped" and state.sequence is not None:
            stopped = state.sequence.cancelled(state.run_number)
            self.session_results.append(f"frames done ({stopped.index}): {stopped.partial_path}")
            self.post(stopped)
        self.post(JobDone(state.run_number, ended.status, error_text))

    def _event(self, state: _JobState, event: object) -> None:
        from nst_engine.running.events import Cancelled, Finished, Snapshot, Started, Status, Step
        from nst_engine.running.progress import ProgressReporter
        from nst_tui.app.engine_thread import set_aside_long_lived_objects

        run_number = state.run_number
        if state.reporter is None:
            state.reporter = ProgressReporter(PROGRESS_INTERVAL)  # as headless counts
        if isinstance(event, Step):
            self._show(state, event, last=event.index == event.total)
            if event.index == 1:  # what the run imports is imported by now
                set_aside_long_lived_objects("run")
        elif isinstance(event, Status):
            self.post(RunStatus.of(run_number, event))
        elif isinstance(event, Started):
            state.reporter.start(event)  # type: ignore[attr-defined]
            self.post(RunStarted.of(run_number, event))
        elif isinstance(event, Snapshot):
            self.post(RunSnapshot.of(run_number, event))
        elif isinstance(event, Finished):
            self.session_results.append(f"result: {event.path}")
            self.post(RunFinished.of(run_number, event))
        elif isinstance(event, Cancelled):
            report = state.last_report
            if report is not None and event.index and event.index != report.index:  # type: ignore[attr-defined]
                # The screen ends on the iteration kept, not on the last throttled one.
                self.post(self._progress(run_number, report, index=event.index))
            if event.partial_path is not None:
                self.session_results.append(
                    f"partial ({event.index} iterations): {event.partial_path}"
                )
            self.post(RunCancelled(run_number, event.index, event.partial_path))

    def _sequence_event(self, state: _JobState, event: object) -> None:
        """A sequence's event, as the messages of a run (nst_tui/app/sequence_progress.py)."""
        from nst_engine.running.events import Cancelled, Finished, Started, Status
        from nst_engine.running.progress import ProgressReporter
        from nst_engine.video.sequence import FrameDone, FrameEvent, FrameStarted, SequenceDone

        sequence = state.sequence
        assert sequence is not None
        if isinstance(event, FrameStarted):
            state.reporter = None  # each frame's speed and ETA are its own
            state.last_report = None
            self.post(sequence.frame_started(state.run_number, event.number, event.total))
        elif isinstance(event, Cancelled):  # the frame in progress, stopped (its job ends next)
            report = state.last_report
            if report is not None and event.index and event.index != report.index:  # type: ignore[attr-defined]
                # The screen ends on the iteration kept, as a picture's run does (`_event`).
                kept = self._progress(state.run_number, report, index=event.index)
                self.post(sequence.progress(kept))
        elif isinstance(event, FrameDone):
            sequence.frame_done(event.number, event.total, event.seconds, event.path, event.skipped)
        elif isinstance(event, SequenceDone):
            self.session_results.append(f"result: {event.output}")
            self.post(sequence.finished(state.run_number, event.seconds))
        elif isinstance(event, FrameEvent) and isinstance(event.event, Started):
            state.reporter = ProgressReporter(PROGRESS_INTERVAL)
            state.reporter.start(event.event)  # type: ignore[attr-defined]
            started = sequence.started(RunStarted.of(state.run_number, event.event))
            if started is not None:
                self.post(started)
        elif isinstance(event, FrameEvent) and isinstance(event.event, Status):
            if not sequence.started_said:  # a later frame's set-up would stay on the status
                self._event(state, event.event)
        elif isinstance(event, FrameEvent) and not isinstance(event.event, Finished):
            self._event(state, event.event)  # a frame's steps and snapshots

    def _show(self, state: _JobState, step, last: bool) -> None:
        """Progress and a preview frame of this step, unless one went out just now."""
        report = state.reporter.offer(step, force=last)  # type: ignore[attr-defined]
        if report is not None:
            state.last_report = report
            progress = self._progress(state.run_number, report)
            if state.sequence is not None:
                progress = state.sequence.progress(progress)
            self.post(progress)
        now = time.perf_counter()
        if last or now - state.last_preview >= state.preview_interval:
            self.post(self._preview_frame(state.run_number, step))
            state.last_preview = time.perf_counter()
            # Big frames (a maximised preview) cost more to build and more again to paint:
            # space them out so both stay a few percent.
            cost = PREVIEW_COST_RATIO * (state.last_preview - now)
            state.preview_interval = min(max(PREVIEW_INTERVAL, cost), 1.0)

    @staticmethod
    def _progress(run_number: int, report, index: int | None = None) -> RunProgress:
        return RunProgress(
            run_number,
            report.index if index is None else index,
            report.total,
            report.elapsed,
            report.rate,
            report.losses,
            report.scale,
            report.scales,
            report.eta,
        )

    def _preview_frame(self, run_number: int, step) -> RunPreview:
        """Resize on the run's device and build the cells, here, before the run goes on."""
        mode, width, height = self.preview().frame_request()
        image = step.preview(width, height)
        strips = self._builder.build(image) if mode == "cells" else None  # type: ignore[union-attr]
        return RunPreview(run_number, step.index, image, strips)

"""A run's engine events made into the app's messages, on the app's engine thread.

The driver pulls the events, checks between two of them whether its worker was cancelled
(and then cancels the run, which saves the image so far), and posts messages that carry
the run's id, throttled by time: progress about ten times a second, preview frames a few
times a second, the last step always. Preview frames are resized and made into cells
here; the interface only paints them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker

from nst_engine.config import RunConfig
from nst_engine.errors import NSTError
from nst_tui.messages import (
    RunCancelled,
    RunFailed,
    RunFinished,
    RunPreview,
    RunProgress,
    RunSnapshot,
    RunStarted,
    RunStatus,
)
from nst_tui.wording import for_the_app

if TYPE_CHECKING:
    from nst_tui.widgets.preview import PreviewPane

PROGRESS_INTERVAL = 0.1  # seconds between progress messages (each reads the losses)
PREVIEW_INTERVAL = 0.3  # seconds between preview frames, at least
PREVIEW_COST_RATIO = 50  # ...and 50 times what making the last one took (at most 1 s)

log = logging.getLogger("nst.app")


class RunDriver:
    """Runs one config on the calling thread, posting what happens as messages."""

    def __init__(
        self,
        post: Callable[[Message], None],
        preview: PreviewPane,
        session_results: list[str],
        stopping: threading.Event,
    ) -> None:
        self.post = post  # thread-safe; does nothing once the app has closed
        self.preview = preview  # asked for the frame size only (no DOM queries here)
        self.session_results = session_results  # results and partials, printed at exit
        self.stopping = stopping  # a stop signal came: stop as if cancelled

    def drive(self, config: RunConfig, run_id: int, worker: Worker) -> None:
        """Pull the run's events and turn them into messages (on the engine thread)."""
        from nst_engine.events import Finished, Snapshot, Started, Status, Step
        from nst_engine.progress import ProgressReporter
        from nst_engine.transfer import run  # torch: imported here, on the engine thread
        from nst_tui.engine_thread import set_aside_long_lived_objects
        from nst_tui.widgets.cells import CellBuilder

        builder = CellBuilder()
        reporter = ProgressReporter(PROGRESS_INTERVAL)  # the same speed and ETA as headless
        last_preview = 0.0
        preview_interval = PREVIEW_INTERVAL

        def show(step: Step, last: bool) -> None:
            """Progress and a preview frame of this step, unless one went out just now."""
            nonlocal last_preview, preview_interval
            report = reporter.offer(step, force=last)
            if report is not None:
                self.post(
                    RunProgress(
                        run_id,
                        report.index,
                        report.total,
                        report.elapsed,
                        report.rate,
                        report.losses,
                        report.scale,
                        report.scales,
                        report.eta,
                    )
                )
            now = time.perf_counter()
            if last or now - last_preview >= preview_interval:
                self.post(self._preview_frame(run_id, step, builder))
                last_preview = time.perf_counter()
                # Big frames (a maximised preview) cost more to build and more again to
                # paint: space them out so both stay a few percent.
                cost = PREVIEW_COST_RATIO * (last_preview - now)
                preview_interval = min(max(PREVIEW_INTERVAL, cost), 1.0)

        try:
            with run(config) as events:
                for event in events:
                    if worker.is_cancelled or self.stopping.is_set():
                        if isinstance(event, Step) and not self.stopping.is_set():
                            show(event, last=True)  # the screen ends on the step it keeps
                        cancelled = events.cancel()
                        index = cancelled.index if cancelled else 0
                        partial = cancelled.partial_path if cancelled else None
                        if partial is not None:
                            self.session_results.append(f"partial ({index} iterations): {partial}")
                        self.post(RunCancelled(run_id, index, partial))
                        return
                    if isinstance(event, Step):
                        show(event, last=event.index == event.total)
                        if event.index == 1:  # what the run imports is imported by now
                            set_aside_long_lived_objects("run")
                    elif isinstance(event, Status):
                        self.post(RunStatus.of(run_id, event))
                    elif isinstance(event, Started):
                        reporter.start(event)
                        self.post(RunStarted.of(run_id, event))
                    elif isinstance(event, Snapshot):
                        self.post(RunSnapshot.of(run_id, event))
                    elif isinstance(event, Finished):
                        self.session_results.append(f"result: {event.path}")
                        self.post(RunFinished.of(run_id, event))
        except NSTError as error:
            self.post(RunFailed(run_id, error.title, for_the_app(error.message)))
        except Exception as error:
            # A bug: the traceback goes to the log, a short line to the screen.
            log.exception("internal error during run %d", run_id)
            from nst_engine.runlog import log_path

            self.post(
                RunFailed(
                    run_id,
                    "Internal error",
                    f"{type(error).__name__}: {error} (details in {log_path()})",
                    internal=True,
                )
            )

    def _preview_frame(self, run_id: int, step, builder) -> RunPreview:
        """Resize on the run's device and build the cells, here on the engine thread."""
        mode, width, height = self.preview.frame_request()
        image = step.preview(width, height)
        strips = builder.build(image) if mode == "cells" else None
        return RunPreview(run_id, step.index, image, strips)

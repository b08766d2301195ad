"""A sequence's job as the run panel shows it: frames, the frame's iterations, the ETA.

The queue's consumer (nst_tui/app/run_driver.py) keeps one `SequenceProgress` per sequence
job and turns the sequence's events (nst_engine/video/sequence.py) into the run messages a
run sends: the frame's progress becomes the sequence's (the bar counts every frame's
iterations), the end is one RunFinished for the whole sequence, a stop one RunCancelled that
says the frames kept.

The ETA is the frame's own time left plus the frames after it times the mean time of a frame
made after the first: the first frame has the full run's iterations (and coarse to fine), the
later ones `frame_iterations` each, so it is counted apart. Until a later frame is done, their
time is their iterations at the speed of the frame running.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nst_tui.app.messages import RunCancelled, RunFinished, RunFrame, RunProgress, RunStarted

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig
    from nst_engine.video.settings import SequenceSettings


@dataclass
class SequenceProgress:
    """How far a sequence job got, on the consumer's thread."""

    first_iterations: int  # the first frame's (the run's planned iterations)
    later_iterations: int  # each later frame's
    output: Path
    total: int = 0  # frames (known from the first frame event)
    frame: int = 0  # the frame running (1-based; 0: none yet)
    done: int = 0  # the frames finished, from the first
    started_said: bool = False  # RunStarted went out (once: the first frame made here)
    later_seconds: list[float] = field(default_factory=list)  # each later frame made here
    last_frame: Path | None = None
    losses: dict[str, float] = field(default_factory=dict)  # the last ones shown

    @classmethod
    def of(cls, config: RunConfig, settings: SequenceSettings) -> SequenceProgress:
        from nst_engine.settings.sizes import planned_iterations

        first = planned_iterations(config)
        later = settings.frame_iterations if settings.guided else first
        return cls(first, later, Path(config.inputs.output or ""))

    @property
    def planned(self) -> int:
        """Every frame's iterations together."""
        return self.iterations_before(self.total + 1)

    def iterations_before(self, number: int) -> int:
        """The iterations of frames 1 to `number - 1`."""
        if number <= 1:
            return 0
        return self.first_iterations + (number - 2) * self.later_iterations

    def frame_started(self, run_number: int, number: int, total: int) -> RunFrame:
        self.frame, self.total = number, total
        return RunFrame(run_number, number, total)

    def frame_done(self, number: int, total: int, seconds: float, path: Path, skipped: bool):
        self.done, self.total, self.last_frame = number, total, path
        if not skipped and number > 1:
            self.later_seconds.append(seconds)

    def started(self, message: RunStarted) -> RunStarted | None:
        """The first frame's start, counting the whole sequence (None for the later ones:
        they run at the same sizes, on the same device)."""
        if self.started_said:
            return None
        self.started_said = True
        return dataclasses.replace(message, total=self.planned)

    def progress(self, frame_report: RunProgress) -> RunProgress:
        """The frame's progress as the sequence's."""
        self.losses = frame_report.losses
        return dataclasses.replace(
            frame_report,
            index=self.iterations_before(self.frame) + frame_report.index,
            total=self.planned,
            time_left=self.time_left(frame_report),
            frame=self.frame,
            frames=self.total,
            frame_index=frame_report.index,
            frame_total=frame_report.total,
        )

    def time_left(self, frame_report: RunProgress) -> float | None:
        frame_left = frame_report.eta
        after = self.total - self.frame
        if frame_left is None or after <= 0:
            return frame_left
        if self.later_seconds:
            per_frame = sum(self.later_seconds) / len(self.later_seconds)
        elif frame_report.rate > 0:
            per_frame = self.later_iterations / frame_report.rate
        else:
            return None
        return frame_left + after * per_frame

    def finished(self, run_number: int, seconds: float) -> RunFinished:
        return RunFinished(
            run_number,
            self.output,
            seconds,
            self.planned,
            self.losses,
            frames=self.total,
            last_frame=self.last_frame,
        )

    def cancelled(self, run_number: int) -> RunCancelled:
        """Stopped: the frames done are kept where the sequence writes them."""
        from nst_engine.video.sequence import frames_folder

        return RunCancelled(run_number, self.done, frames_folder(self.output), frames=self.total)

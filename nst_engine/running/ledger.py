"""What a run has done, and what it keeps of it as it goes.

The iterations counted over all scales, the last losses and the optimisation time; the
images it saves (a Saver: snapshots, the result, a stopped run's image) and, with a run folder,
what its Recorder writes there: a row per iteration, snapshots, and checkpoints.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from nst_engine.running.checkpointing import Checkpoint, CheckpointSchedule, keep_history
from nst_engine.running.outputs import snapshot_path
from nst_engine.running.saving import Saver
from nst_engine.settings.config import RunConfig
from nst_engine.store.recorder import Recorder

if TYPE_CHECKING:
    from nst_engine.running.scale import Scale


class Ledger:
    """One run's count, clock and records. Made with the run; `plan` when its sizes are
    known, `start` when its first iteration is next."""

    def __init__(
        self, config: RunConfig, recorder: Recorder | None, checkpoint_seconds: float
    ) -> None:
        self.config = config
        self.recorder = recorder
        self.checkpoint_seconds = checkpoint_seconds
        self.total = 0  # iterations planned, all scales
        self.scales = 1
        self.completed = 0  # iterations whose update is done (all scales)
        self.resumed_from = 0  # the iterations a resumed run's checkpoint had done
        self.losses: dict[str, torch.Tensor] = {}  # the last iteration's, on the device
        self.saver: Saver | None = None
        self._seconds_before = 0.0  # optimisation time of the parts before a resume
        self._started_at: float | None = None
        self._schedule: CheckpointSchedule | None = None

    def plan(self, plan: list[int], resume: Checkpoint | None) -> None:
        """The iterations at each scale, and the checkpoint the run goes on from (if any)."""
        self.total, self.scales = sum(plan), len(plan)
        self.resumed_from = resume.completed if resume is not None else 0
        if self.recorder is not None:
            self.recorder.running(self.total, self.resumed_from)

    def start(self, saver: Saver, resume: Checkpoint | None) -> None:
        """The first iteration is next: the clock runs from now."""
        self.saver = saver
        self._started_at = time.perf_counter()
        every = self.config.recording.checkpoint_every
        self._schedule = CheckpointSchedule(every, self.checkpoint_seconds, self.total)
        if resume is not None:
            self._seconds_before = resume.seconds

    def resume(self, checkpoint: Checkpoint, device: torch.device) -> None:
        """Count on from the checkpoint's iterations (its scale was just restored)."""
        self.completed = checkpoint.completed
        self.losses = {name: value.to(device) for name, value in checkpoint.losses.items()}

    def elapsed(self) -> float:
        """Optimisation time so far, the parts before a resume included."""
        if self._started_at is None:
            return self._seconds_before
        return self._seconds_before + time.perf_counter() - self._started_at

    def count(self, scale: int, losses: dict[str, torch.Tensor]) -> int:
        """One more iteration done, at scale `scale`, recorded; its index (1-based, all scales)."""
        self.completed += 1
        self.losses = losses
        if self.recorder is not None:
            self.recorder.step(self.completed, scale, self.elapsed(), losses)
        return self.completed

    # --- snapshots and checkpoints -------------------------------------------------------------

    def snapshot_due(self, index: int) -> bool:
        every = self.config.recording.snapshot_every
        return bool(every) and index % every == 0 and index < self.total

    def snapshot(self, scale: Scale, index: int) -> Path | None:
        """The image now, in the run folder when there is one (None if it could not take
        it: the run goes on), else beside the output."""
        saver = self.saver
        assert saver is not None
        note = f"snapshot at iteration {index}"
        if self.recorder is None:
            assert self.config.inputs.output is not None
            path = snapshot_path(self.config.inputs.output, index, self.total)
            return saver.save(scale.shown(), path, note)
        # The folder's snapshots are the run's own: one a resumed run makes again replaces it.
        return self.recorder.snapshot(
            lambda path: saver.save(scale.shown(), path, note, overwrite=True), index, self.total
        )

    def checkpoint_due(self, index: int) -> bool:
        return (
            self.recorder is not None and self._schedule is not None and self._schedule.due(index)
        )

    def checkpoint(self, scale: Scale | None, at_stop: bool = False) -> None:
        """The state the next iteration starts from, in the run folder (if there is one and
        an iteration was made at this scale); L-BFGS's history only where it is small or,
        `at_stop`, where it fits (nst_engine/running/checkpointing.py)."""
        recorder = self.recorder
        if recorder is None or scale is None or scale.stepper is None or scale.local == 0:
            return
        keep = keep_history(scale.stepper.history_bytes(), at_stop, recorder.folder.path)
        state = scale.checkpoint(self.completed, self.total, self.losses, self.elapsed(), keep)
        recorder.checkpoint(state.to_dict())
        if self._schedule is not None:
            self._schedule.written()

"""What a job's worker on a Ray cluster sends back, message by message (a Ray streaming task).

The worker (nst_engine/jobs/cluster_worker.py) yields these; Ray pickles each one across the
network, and `RayExecutor` (nst_engine/jobs/cluster_executor.py) writes what they carry into
the job's local run folder. Plain frozen dataclasses of bytes, numbers, text and the engine's
own events and errors: every box runs the same nst-tui (cluster.connect checks), so the
classes unpickle as they were sent. Cheap to import: no torch, no Ray.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nst_engine.errors import NSTError
    from nst_engine.running.events import Finished, Started, Status


@dataclass(frozen=True)
class OnNode:
    """The first message: where the job runs (the queue shows `ray:0 on NODE`)."""

    node: str
    pid: int


@dataclass(frozen=True)
class EngineEvent:
    """An engine event that travels as it is (a preparation stage, the run's start)."""

    event: Status | Started


@dataclass(frozen=True)
class StepMade:
    """Progress (throttled): a Step's numbers, and now and then a small preview picture."""

    index: int
    total: int
    scale: int
    scales: int
    losses: dict[str, float]
    preview: bytes | None = None  # PNG; None: the last one sent still stands

    def as_step(self, preview: bytes | None):
        """The Step this stands for, on the head: its losses, and `preview`, the last picture
        that came (pictures come less often than steps)."""
        import io

        import numpy as np
        import torch
        from PIL import Image

        from nst_engine.running.events import Step

        losses = {name: torch.tensor(value) for name, value in self.losses.items()}

        def picture() -> torch.Tensor:
            if preview is None:
                return torch.zeros(1, 3, 8, 8)
            with Image.open(io.BytesIO(preview)) as image:
                array = np.asarray(image.convert("RGB"), dtype=np.float32)
            return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()

        return Step(self.index, self.total, losses, picture, self.scale, self.scales)


@dataclass(frozen=True)
class LossRows:
    """Loss-history rows written since the last that were sent."""

    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CheckpointWritten:
    """The job's checkpoint as it was just written, and the iterations it holds."""

    data: bytes
    completed: int


@dataclass(frozen=True)
class SnapshotTaken:
    """A snapshot image (its file's bytes) at iteration `index`."""

    index: int
    data: bytes


@dataclass(frozen=True)
class JobFinished:
    """The last message of a finished job: its Finished event, the result's bytes, its log."""

    event: Finished
    data: bytes
    log: str


@dataclass(frozen=True)
class JobCancelled:
    """The last message of a cancelled job: the iterations kept, its partial image and
    checkpoint (None: there was none yet), its log."""

    index: int
    data: bytes | None
    checkpoint: bytes | None
    log: str


@dataclass(frozen=True)
class JobFailed:
    """The last message of a failed job: its error (an InternalError for a bug), its log."""

    error: NSTError
    log: str


WorkerMessage = (
    OnNode
    | EngineEvent
    | StepMade
    | LossRows
    | CheckpointWritten
    | SnapshotTaken
    | JobFinished
    | JobCancelled
    | JobFailed
)

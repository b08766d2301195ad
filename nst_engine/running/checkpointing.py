"""Checkpoints: what one holds, how often periodic ones are written, whether L-BFGS's
history goes in, and reading one back for a resume.

A `Checkpoint` is where the run stood (iterations done, scale, time) and the state_dicts of
the objects that own the rest (the Stepper, the moving average, the last good image); the
file keeps the flat keys checkpoints always had (`Checkpoint.to_dict`), so a checkpoint
written by an earlier version resumes.

Whether a checkpoint carries L-BFGS's history is what keeps big runs from stalling on it.
The history is 2 x (history_size + 1) image-sized vectors: 635 MB at 512 px, 10 GB at
2048 px, 15 GB at print size (history 100). Copying it to the host and writing it took
seconds each time, a pause of the whole run (and Ray ships every checkpoint whole). So:

- periodic checkpoints (a crashed run's only way back) leave it out when it is larger than
  PERIODIC_HISTORY_BYTES; the resumed run starts L-BFGS with an empty history, which it
  rebuilds over its next iterations (one pair per iteration), from the same image,
  optimiser counters and step scale: the result differs from an unstopped run's in the last
  bits, not in kind;
- the checkpoint written when a run is stopped keeps it wherever it fits on the disk and in
  the host's memory, so that a stopped run resumes to the same pixels as one never stopped.

`benchmarks/checkpoint_pause.py` measures the pause at 1024 px (benchmarks/RESULTS.md).
Cheap to import (no torch): a cluster's settings take CHECKPOINT_SECONDS from here.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_engine.errors import ConfigError
from nst_engine.running.checkpoint_settings import check_same_settings

if TYPE_CHECKING:
    import torch

    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder

log = logging.getLogger("nst.engine")

# Periodic checkpoints at most this often, by default (they may leave out a large L-BFGS
# history, below, but are still a copy to the host and a write). A stopped run always
# writes one.
CHECKPOINT_SECONDS = 30.0

# Above this, periodic checkpoints leave the history out: about a tenth of a second to copy
# and write at 1 GB/s, and a 512 px run's history (635 MB) is well above it.
PERIODIC_HISTORY_BYTES = 64 * 2**20


def keep_history(history_bytes: int, at_stop: bool, folder: Path) -> bool:
    """Whether a checkpoint written now holds L-BFGS's history of `history_bytes`."""
    if history_bytes <= PERIODIC_HISTORY_BYTES:
        return True
    return at_stop and history_bytes <= room_for_history(folder)


def room_for_history(folder: Path) -> int:
    """Bytes a stop's checkpoint may spend on the history: half of what is free on the
    folder's disk and in the host's memory (the history is copied there before writing)."""
    try:
        disk = shutil.disk_usage(folder).free
    except OSError:
        return 0
    return min(disk, _available_memory()) // 2


def _available_memory() -> int:
    """The host memory available now (Linux's MemAvailable), or the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass
class Checkpoint:
    """The state a run goes on from: where it stood, and each owner's own state_dict."""

    completed: int  # iterations done, all scales together
    total: int  # iterations planned
    scale: int  # the scale (1-based) it was made at
    local: int  # iterations done at that scale
    image: torch.Tensor  # the image being optimised
    stepper: dict[str, Any]  # Stepper.state_dict()
    average: dict[str, Any] | None  # MovingAverage.state_dict(); None without `ema`
    last_good: dict[str, Any]  # LastGoodImage.state_dict()
    pooling: list[torch.Tensor]  # the average poolings' factors (FeatureExtractor's)
    losses: dict[str, torch.Tensor]  # the last iteration's
    seconds: float  # optimisation time so far

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint as its file holds it: format 1's flat keys, as before it had a type."""
        average = self.average
        return {
            "completed": self.completed,
            "total": self.total,
            "scale": self.scale,
            "local": self.local,
            "image": self.image,
            "optimizer": self.stepper["optimizer"],
            "gradient_scale": self.stepper["gradient_scale"],
            "average": None if average is None else average["biased"],
            "average_kept": 1.0 if average is None else average["kept"],
            "last_good": self.last_good["image"],
            "last_good_index": self.last_good["index"],
            "pooling": self.pooling,
            "losses": self.losses,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Checkpoint:
        """A checkpoint file's contents (`to_dict`'s keys) as a Checkpoint."""
        average = None
        if state["average"] is not None:
            average = {"biased": state["average"], "kept": state["average_kept"]}
        return cls(
            completed=state["completed"],
            total=state["total"],
            scale=state["scale"],
            local=state["local"],
            image=state["image"],
            stepper={"optimizer": state["optimizer"], "gradient_scale": state["gradient_scale"]},
            average=average,
            last_good={"image": state["last_good"], "index": state["last_good_index"]},
            pooling=state["pooling"],
            losses=state["losses"],
            seconds=float(state["seconds"]),
        )


def read_checkpoint(
    folder: RunFolder, config: RunConfig, total: int, scales: int
) -> Checkpoint | None:
    """The folder's checkpoint, if it has one; ConfigError if it was made with other
    settings than `config`, which plans `total` iterations over `scales` scales."""
    state = folder.read_checkpoint()
    if state is None:
        return None
    check_same_settings(state, config, folder)
    if state.get("total") != total or not 1 <= state.get("scale", 0) <= scales:
        raise ConfigError(
            f"the checkpoint of run '{folder.id}' was made with other settings "
            f"({state.get('total')} iterations planned, now {total}); delete "
            f"{folder.checkpoint_path} to start it again from the beginning"
        )
    log.info("resuming from iteration %d of %d", state["completed"], total)
    return Checkpoint.from_dict(state)


@dataclass
class CheckpointSchedule:
    """When periodic checkpoints fall due: every `every` iterations (0: never) but the
    last, and at most once per `seconds`."""

    every: int
    seconds: float
    total: int
    _last: float = field(default_factory=time.monotonic)

    def due(self, index: int) -> bool:
        return (
            self.every > 0
            and index % self.every == 0
            and index < self.total
            and time.monotonic() - self._last >= self.seconds
        )

    def written(self) -> None:
        self._last = time.monotonic()

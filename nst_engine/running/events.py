"""What a run tells its caller, in order: Status*, Started, (Step | Snapshot)*, then Finished.

A run that is cancelled ends with Cancelled instead; a run that fails raises an NSTError
(after saving what it had, which its message names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from PIL import Image


@dataclass(frozen=True)
class Status:
    """A preparation stage, for people to read while nothing else moves (loading weights)."""

    text: str


@dataclass(frozen=True)
class Started:
    device: str
    weights_source: str
    compute_size: tuple[int, int]  # (width, height) optimised
    style_size: tuple[int, int]
    output_size: tuple[int, int]
    total: int  # iterations planned, all scales together
    notes: tuple[str, ...] = ()  # warnings for people (random weights, first frame of a GIF)
    # Coarse to fine: the compute size (width, height) of each scale, smallest first; one
    # entry, the compute size, when it is off.
    scale_sizes: tuple[tuple[int, int], ...] = ()
    scale_iterations: tuple[int, ...] = ()  # iterations at each scale
    resumed_from: int = 0  # iterations done before this start (a resumed run's checkpoint)


@dataclass(frozen=True, eq=False)
class Step:
    """One iteration done. `losses` are device tensors: reading them is the caller's choice.

    The step refers to the image being optimised, which the next iteration changes: call
    `preview` and `loss_values` before pulling the next event.
    """

    index: int  # 1-based, counted over all scales
    total: int  # all scales together
    losses: dict[str, torch.Tensor]
    # The image as people see it, or what makes it (built only when previewed).
    _image: torch.Tensor | Callable[[], torch.Tensor] = field(repr=False)
    scale: int = 1  # coarse to fine: which scale (1-based) this iteration ran at
    scales: int = 1

    def loss_values(self) -> dict[str, float]:
        """The losses as numbers (on a GPU this waits for the step to finish)."""
        return {name: float(value) for name, value in self.losses.items()}

    def picture(self) -> torch.Tensor:
        """The current image as it is saved: a 1x3xHxW device tensor in 0-255 RGB."""
        return self._image() if callable(self._image) else self._image

    def preview(self, width: int, height: int) -> Image.Image:
        """The current image, fitted inside width x height (aspect ratio kept), 8-bit RGB."""
        from nst_engine.running.tensors import (
            preview_image,  # torch stays out of this module's import
        )

        return preview_image(self.picture(), width, height)


@dataclass(frozen=True)
class Snapshot:
    index: int
    path: Path


@dataclass(frozen=True)
class Finished:
    path: Path
    seconds: float  # optimisation time, from the first iteration to the saved file
    iterations: int
    losses: dict[str, float]
    notes: tuple[str, ...] = ()  # e.g. where a result went when its folder was gone


@dataclass(frozen=True)
class Cancelled:
    index: int  # iterations completed
    partial_path: Path | None  # None when no iteration had completed


Event = Status | Started | Step | Snapshot | Finished | Cancelled

"""What a frame of a sequence takes from the one before: where it starts, and the temporal loss.

Ruder, Dosovitskiy and Brox (2016) start frame i from the result of frame i-1 warped by the
optical flow, and add to its loss

    E_temporal = 1/D * sum_k c_k (x_k - w_k)^2

(D pixels, x the image, w the warped previous result, c the consistency mask: 1 where the
warp is trusted, 0 in occlusions). A run takes it as a `FrameGuide` (nst_engine/running/
transfer.py's `run(..., guide=)`); each scale of the run (nst_engine/running/scale.py) asks
it for its start and its loss term at the scale's size.

Unit: the difference is in 0-1 (not 0-255), and the mean is divided by TEMPORAL_UNIT, so a
warped result off by a tenth of the range everywhere costs `weight`, of the order of the
normalised content and style terms: the weight means the same at any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nst_engine.optimise.optimizers import LossFunction

TEMPORAL_UNIT = 0.1**2


class TemporalLoss(nn.Module):
    """`terms`' loss plus weight * mean(c (x - w)^2) / TEMPORAL_UNIT, as the term `temporal`."""

    def __init__(
        self, terms: LossFunction, target: torch.Tensor, mask: torch.Tensor, weight: float
    ) -> None:
        super().__init__()
        self.terms = terms
        self.register_buffer("target", target.detach())
        self.register_buffer("mask", mask.detach())
        self.weight = weight

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        losses = dict(self.terms(image))
        difference = (image - self.target) / 255
        temporal = self.weight / TEMPORAL_UNIT * (self.mask * difference.pow(2)).mean()
        losses["temporal"] = temporal
        losses["total"] = losses["total"] + temporal
        return losses


@dataclass(frozen=True)
class FrameGuide:
    """The previous frame's result warped onto this frame (1x3xHxW, 0-255 RGB, as people see
    it), the consistency mask (1x1xHxW, 0-1), and the temporal loss's weight (0: a start only)."""

    previous: torch.Tensor
    mask: torch.Tensor
    weight: float

    @classmethod
    def from_arrays(cls, warped: np.ndarray, mask: np.ndarray, weight: float) -> FrameGuide:
        """From HxWx3 (0-255) and HxW (0-1) arrays, as nst_engine/video/flow.py makes them."""
        previous = torch.from_numpy(np.ascontiguousarray(warped, dtype=np.float32))
        mask_tensor = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))
        return cls(previous.permute(2, 0, 1)[None], mask_tensor[None, None], weight)

    def start(self, size: tuple[int, int], device: torch.device) -> torch.Tensor:
        """The image a run of this frame starts from, at (width, height)."""
        return _resized(self.previous, size, device).clamp_(0, 255)

    def loss(
        self, terms: LossFunction, size: tuple[int, int], device: torch.device, seen
    ) -> LossFunction:
        """`terms` with the temporal term added, at (width, height); `seen` turns an image as
        people see it into the optimisation's (the run's colour mode: ColourMode.start)."""
        if self.weight <= 0:
            return terms
        target = seen(_resized(self.previous, size, device).clamp_(0, 255))
        mask = _resized(self.mask, size, device).clamp_(0, 1)
        return TemporalLoss(terms, target, mask, self.weight)


def _resized(image: torch.Tensor, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    width, height = size
    image = image.to(device)
    if image.shape[-2:] == (height, width):
        return image.clone()
    return F.interpolate(image, size=(height, width), mode="bilinear", align_corners=False)

"""Images as tensors: to and from Pillow, previews, starting images, rescaling between scales.

Tensors here are 1x3xHxW float RGB in 0-255, the scale the engine optimises in.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from nst_engine.settings.config import CONTENT_INITS


def image_to_tensor(
    image: Image.Image, size: tuple[int, int], device: torch.device
) -> torch.Tensor:
    """An RGB image resized to (width, height), as a 1x3xHxW float tensor in 0-255."""
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    array = torch.from_numpy(np.asarray(image, dtype=np.float32).copy())
    return array.permute(2, 0, 1).unsqueeze(0).contiguous().to(device)


def tensor_to_image(image: torch.Tensor) -> Image.Image:
    """A 1x3xHxW tensor in 0-255 to an 8-bit RGB image (values outside 0-255 clipped)."""
    pixels = image.detach()[0].clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0)
    return Image.fromarray(pixels.cpu().numpy(), "RGB")


def preview_image(image: torch.Tensor, width: int, height: int) -> Image.Image:
    """The image shrunk on its device to fit width x height, aspect ratio kept."""
    source_height, source_width = image.shape[-2:]
    scale = min(width / source_width, height / source_height)
    size = (max(1, round(source_height * scale)), max(1, round(source_width * scale)))
    with torch.no_grad():
        mode = "area" if scale < 1 else "nearest"
        small = F.interpolate(image.detach(), size=size, mode=mode)
    return tensor_to_image(small)


def initial_image(
    content: torch.Tensor,
    init: str,
    noise: float,
    seed: int,
    start: torch.Tensor | None = None,
) -> torch.Tensor:
    """The starting image in 0-255: the content, the content plus noise, noise alone, or
    `start` (the style image or an image file, at the content's size) for any other init."""
    generator = torch.Generator().manual_seed(seed)
    if init not in CONTENT_INITS:
        assert start is not None and start.shape == content.shape
        return start.clone()
    if init == "content":
        return content.clone()
    if init == "noise":
        # White noise, as in the paper's texture synthesis; uniform over the pixel range.
        return (torch.rand(content.shape, generator=generator) * 255).to(content.device)
    gaussian = torch.randn(content.shape, generator=generator).to(content.device)
    return content + gaussian * (noise * 255)


def rescale(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The image resized to (width, height) on its device: how one scale's result becomes the
    next scale's start (bicubic, as smooth as Lanczos for a sqrt(2) step, and no host trip)."""
    with torch.no_grad():
        resized = F.interpolate(
            image.detach(), size=(size[1], size[0]), mode="bicubic", align_corners=False
        )
    return resized.clamp_(0, 255)


class MovingAverage:
    """An exponential moving average of the iterates, corrected for starting at zero.

    After t updates with images x_1..x_t it is sum_i d^(t-i) x_i (1 - d) / (1 - d^t): a
    weighted mean of what came so far, the last ones weighing most (about the last
    1 / (1 - d) iterations). What is saved and previewed, it smooths away the jitter of the
    last steps without holding the optimiser back. One fused update per iteration on the
    device (`lerp_`); the correction is a number kept on the host.
    """

    def __init__(self, image: torch.Tensor, decay: float) -> None:
        self.decay = decay
        self._biased = torch.zeros_like(image.detach())
        self._kept = 1.0  # d^t: how much of the zero start is still in _biased

    def update(self, image: torch.Tensor) -> None:
        with torch.no_grad():
            self._biased.lerp_(image.detach(), 1 - self.decay)
        self._kept *= self.decay

    def state_dict(self) -> dict:
        """The average's state for a checkpoint (its tensor is the live one, not a copy)."""
        return {"biased": self._biased, "kept": self._kept}

    def load_state_dict(self, state: dict) -> None:
        """Average on from `state_dict()`'s state (copied into this average's tensor)."""
        with torch.no_grad():
            self._biased.copy_(state["biased"])
        self._kept = float(state["kept"])

    @property
    def empty(self) -> bool:
        """Whether nothing was averaged yet."""
        return self._kept == 1.0

    def value(self) -> torch.Tensor:
        """The average so far (nothing before the first update: an error)."""
        if self.empty:
            raise ValueError("no image averaged yet")
        return self._biased / (1 - self._kept)

"""A run's style masks (issue 22.1): read, checked against the content, and sized per scale.

A mask is any image file, read as greyscale (white: that style, black: none, grey: part;
transparent pixels count as white, as load_image lays them over white). It may be of any size
but must have the content's shape: a mask drawn for a portrait does not fit a landscape, and
stretching it would put the regions elsewhere than drawn, so an aspect further than
ASPECT_TOLERANCE from the content's is refused in one line. The guided statistics that use it
are in nst_engine/method/regions.py. No torch at import: the command line's preflight reads
the masks before it imports torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from nst_engine.errors import InputImageError
from nst_engine.running.images import load_image

if TYPE_CHECKING:
    import torch

# How far (relative) a mask's width / height may be from the content's: a few pixels of
# rounding at any size, never another framing.
ASPECT_TOLERANCE = 0.02


def load_masks(
    paths: tuple[Path, ...], content_size: tuple[int, int], max_pixels: int
) -> tuple[Image.Image, ...]:
    """The masks at `paths` as greyscale images, each checked to have the content's aspect."""
    return tuple(
        _load_mask(path, _role(number, len(paths)), content_size, max_pixels)
        for number, path in enumerate(paths, start=1)
    )


def _role(number: int, count: int) -> str:
    return "style mask" if count == 1 else f"style mask {number}"


def _load_mask(
    path: Path, role: str, content_size: tuple[int, int], max_pixels: int
) -> Image.Image:
    mask = load_image(path, role, max_pixels).image.convert("L")
    check_aspect(path, role, mask.size, content_size)
    return mask


def aspect(size: tuple[int, int]) -> float:
    width, height = size
    return width / height


def check_aspect(
    path: Path, role: str, size: tuple[int, int], content_size: tuple[int, int]
) -> None:
    """InputImageError, in one line naming the file and both aspects, unless a mask of `size`
    has the content's aspect within ASPECT_TOLERANCE."""
    own, content = aspect(size), aspect(content_size)
    if abs(own / content - 1) > ASPECT_TOLERANCE:
        raise InputImageError(
            f"{role} '{path}' is {size[0]}x{size[1]} (aspect {own:.3g}) but the content image "
            f"is {content_size[0]}x{content_size[1]} (aspect {content:.3g}); a mask must have "
            "the content's shape"
        )


def mask_tensor(mask: Image.Image, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """A greyscale mask resized to (width, height), as 1 x 1 x H x W in 0..1 on `device`."""
    import torch

    if mask.size != size:
        # Bilinear with Pillow's antialiasing: a smooth edge at any scale, values in 0..255.
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    array = torch.from_numpy(np.asarray(mask, dtype=np.float32) / 255.0)
    return array[None, None].contiguous().to(device)

"""Short clips for the tests of sequences: a smooth texture seen through a window that moves
2 px right a frame (the known motion a test undoes), written as numbered PNG frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SHIFT = 2  # px a frame


def write_moving_texture(folder: Path, frames: int, size: tuple[int, int], seed: int) -> Path:
    """`frames` frames of `size` (width, height) into the new `folder`, named 0.png, 1.png..."""
    width, height = size
    folder.mkdir()
    noise = np.random.default_rng(seed).random((12, 20, 3)) * 255
    texture = Image.fromarray(noise.astype(np.uint8)).resize((80, 48), Image.Resampling.BICUBIC)
    for number in range(frames):
        left = SHIFT * number
        texture.crop((left, 8, left + width, 8 + height)).save(folder / f"{number}.png")
    return folder

"""Mask files for the tests of regions (engine, command line, app): one module, so each test
writes them the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_mask(path: Path, size: tuple[int, int], left: bool = True) -> Path:
    """A black-and-white mask of `size`, white on its left half (or its right)."""
    width, height = size
    array = np.zeros((height, width), np.uint8)
    array[:, : width // 2] = 255
    Image.fromarray(array if left else 255 - array).save(path)
    return path

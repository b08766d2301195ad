"""Ordered dithering onto xterm's 256-colour palette, for terminals without 24-bit colour.

Where the terminal has 256 colours only (plain SSH does not pass COLORTERM on), Rich maps
each 24-bit colour to one palette entry on its own: a grey-blue sky becomes a flat teal or
grey, and smooth gradients turn into bands. Here each pixel is instead set to one of the
two palette levels around it, per channel, with a Bayer threshold that varies from pixel to
pixel, so that a few neighbouring pixels average to the original colour. The same threshold
for the three channels of a pixel moves it along the grey axis, which keeps hues.

The result is palette indices (16-255: the 6x6x6 colour cube and the 24-step grey ramp);
cells drawn with those exact entries leave the terminal nothing to round. The pattern does
not move between frames (no flicker in a live preview), and it is a few numpy operations.
"""

from __future__ import annotations

import numpy as np

CUBE_LEVELS = np.array([0, 95, 135, 175, 215, 255], dtype=np.float32)  # entries 16-231
GREY_RAMP = np.arange(8, 239, 10, dtype=np.float32)  # entries 232-255
GREY_TOLERANCE = 6  # channels this close are a grey: dithered on the finer grey levels


def _bayer(order: int) -> np.ndarray:
    """The Bayer threshold matrix of size 2**order, as thresholds in (0, 1)."""
    matrix = np.zeros((1, 1), dtype=np.int64)
    for _ in range(order):
        matrix = np.block([[4 * matrix, 4 * matrix + 2], [4 * matrix + 3, 4 * matrix + 1]])
    return ((matrix + 0.5) / matrix.size).astype(np.float32)


BAYER = _bayer(3)  # 8x8


def _grey_levels() -> tuple[np.ndarray, np.ndarray]:
    """Every grey of the palette (cube greys and the ramp), sorted, and its palette index."""
    cube_greys = [(float(level), 16 + 43 * step) for step, level in enumerate(CUBE_LEVELS)]
    ramp = [(float(level), 232 + step) for step, level in enumerate(GREY_RAMP)]
    pairs = sorted(cube_greys + ramp)
    levels = np.array([level for level, _ in pairs], dtype=np.float32)
    indices = np.array([index for _, index in pairs], dtype=np.uint8)
    return levels, indices


GREY_LEVELS, GREY_INDICES = _grey_levels()


def _dither_levels(values: np.ndarray, levels: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """For each value, the position in `levels` of the level below or above it, dithered."""
    below = np.clip(np.searchsorted(levels, values, side="right") - 1, 0, len(levels) - 2)
    low, high = levels[below], levels[below + 1]
    fraction = (values - low) / (high - low)
    return below + (fraction > threshold)


def palette_rgb() -> np.ndarray:
    """The RGB of palette entries 0-255 as xterm draws 16-255 (0-15 vary by theme: zeros)."""
    rgb = np.zeros((256, 3), dtype=np.uint8)
    steps = np.arange(216)
    rgb[16:232, 0] = CUBE_LEVELS[steps // 36]
    rgb[16:232, 1] = CUBE_LEVELS[(steps // 6) % 6]
    rgb[16:232, 2] = CUBE_LEVELS[steps % 6]
    rgb[232:] = GREY_RAMP[:, None]
    return rgb


def dither_to_palette(pixels: np.ndarray) -> np.ndarray:
    """Palette indices (height x width, 16-255) for RGB pixels (height x width x 3, 0-255)."""
    height, width = pixels.shape[:2]
    rows, columns = np.indices((height, width))
    threshold = BAYER[rows % BAYER.shape[0], columns % BAYER.shape[1]]
    values = pixels.astype(np.float32)
    cube = _dither_levels(values, CUBE_LEVELS, threshold[..., None])
    colour = 16 + 36 * cube[..., 0] + 6 * cube[..., 1] + cube[..., 2]
    grey = GREY_INDICES[_dither_levels(values.mean(axis=2), GREY_LEVELS, threshold)]
    greyish = values.max(axis=2) - values.min(axis=2) <= GREY_TOLERANCE
    return np.where(greyish, grey, colour).astype(np.uint8)


def nearest_entry(red: int, green: int, blue: int) -> int:
    """The palette entry (16-255) nearest to a colour, as the eye sees it (weighted RGB).

    Rich maps a colour to the palette on its own, but cuts the cube into equal steps where
    xterm's levels are not (0, 95, 135...): the panel grey-blue #242F38 became navy (17).
    """
    rgb = palette_rgb()[16:].astype(np.float32)
    weights = np.array([0.3, 0.59, 0.11], dtype=np.float32)  # luma: green counts most
    distance = (((rgb - (red, green, blue)) ** 2) * weights).sum(axis=1)
    return 16 + int(distance.argmin())

"""Draw the gallery's own style images: `python styles/generate.py` rewrites them.

They are made here, by this code, so the project may ship them under its own licence.
Deterministic: the same seed always draws the same pictures.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from nst_engine.store.safe_files import write_atomically

SIZE = 512
FOLDER = Path(__file__).resolve().parent


def _flow_angle(
    x: np.ndarray, y: np.ndarray, vortices: list[tuple[float, float, float]]
) -> np.ndarray:
    """Direction of a field made of a gentle drift and a few swirling vortices."""
    u = np.full_like(x, 1.0)
    v = 0.25 * np.sin(x / 60.0)
    for cx, cy, strength in vortices:
        dx, dy = x - cx, y - cy
        r2 = dx * dx + dy * dy + 400.0
        falloff = strength * np.exp(-r2 / (2 * 110.0**2)) * 60.0 / np.sqrt(r2)
        u += -dy * falloff / 10.0
        v += dx * falloff / 10.0
    return np.arctan2(v, u)


def swirl(seed: int = 7) -> Image.Image:
    """Thick curved strokes following swirling currents: night blues, gold and white."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (SIZE, SIZE), (18, 32, 84))
    draw = ImageDraw.Draw(image)
    vortices = [(150, 140, 1.6), (360, 210, -1.3), (250, 400, 1.1), (470, 450, -0.9)]
    palette_sky = [(25, 55, 140), (40, 90, 180), (70, 130, 200), (120, 170, 220), (20, 40, 110)]
    palette_light = [(250, 215, 80), (245, 240, 200), (230, 180, 60), (255, 250, 235)]
    for _ in range(7000):
        x, y = rng.uniform(-20, SIZE + 20, 2)
        near_light = any(math.hypot(x - cx, y - cy) < 55 for cx, cy, _ in vortices[:2])
        palette = palette_light if near_light or rng.random() < 0.08 else palette_sky
        base = np.array(palette[rng.integers(len(palette))], dtype=float)
        colour = tuple(int(c) for c in np.clip(base + rng.normal(0, 12, 3), 0, 255))
        points = [(x, y)]
        for _ in range(int(rng.integers(6, 16))):
            angle = float(_flow_angle(np.array([x]), np.array([y]), vortices)[0])
            x, y = x + 4.0 * math.cos(angle), y + 4.0 * math.sin(angle)
            points.append((x, y))
        draw.line(points, fill=colour, width=int(rng.integers(3, 8)), joint="curve")
    return image.filter(ImageFilter.SMOOTH_MORE)


def mosaic(seed: int = 11) -> Image.Image:
    """Stained glass: Voronoi cells in bold colours, dark lead between them."""
    rng = np.random.default_rng(seed)
    seeds = rng.uniform(0, SIZE, (260, 2))
    palette = np.array(
        [
            (200, 40, 40),
            (235, 130, 30),
            (245, 200, 50),
            (40, 140, 130),
            (30, 60, 140),
            (120, 50, 130),
            (230, 230, 215),
        ],
        dtype=float,
    )
    colours = palette[rng.integers(len(palette), size=len(seeds))] + rng.normal(
        0, 14, (len(seeds), 3)
    )
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    distances = np.stack([np.hypot(xs - sx, ys - sy) for sx, sy in seeds])
    nearest_two = np.partition(distances, 1, axis=0)[:2]
    owner = np.argmin(distances, axis=0)
    pixels = colours[owner]
    # Light falls off towards each cell's edge, like uneven glass.
    glow = np.clip(1.15 - nearest_two[0] / 60.0, 0.7, 1.15)[..., None]
    pixels = pixels * glow + rng.normal(0, 6, pixels.shape)
    lead = (nearest_two[1] - nearest_two[0]) < 3.2
    pixels[lead] = (25, 22, 20)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.SMOOTH)


def ripples(seed: int = 3) -> Image.Image:
    """Woodblock-like bands of water: indigo, teal and cream rings from a few centres."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    field = np.zeros((SIZE, SIZE), dtype=np.float32)
    for _ in range(5):
        cx, cy = rng.uniform(0, SIZE, 2)
        wavelength = rng.uniform(22, 40)
        field += np.sin(np.hypot(xs - cx, ys - cy) / wavelength * 2 * math.pi + rng.uniform(0, 6.3))
    field += 0.6 * np.sin(xs / 23.0 + 2.0 * np.sin(ys / 41.0))
    bands = np.array(
        [(16, 30, 72), (28, 70, 120), (60, 120, 150), (150, 190, 190), (236, 228, 205)], dtype=float
    )
    level = np.clip(
        ((field - field.min()) / (np.ptp(field) + 1e-6) * len(bands)).astype(int), 0, len(bands) - 1
    )
    pixels = bands[level] + rng.normal(0, 5, (SIZE, SIZE, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def main() -> None:
    for name, draw in (("swirl", swirl), ("mosaic", mosaic), ("ripples", ripples)):
        path = FOLDER / f"{name}.jpg"
        save = functools.partial(draw().save, format="JPEG", quality=90, optimize=True)
        write_atomically(path, save)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

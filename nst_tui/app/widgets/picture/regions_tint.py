"""The preview's regions (issue 22.1): each style mask's region tinted in a colour of its own
over the picture shown, so a person sees where each style goes (a palette toggle).

Drawn here with Pillow from the mask files: the app never touches the engine's tensors. A
mask is stretched to the picture (the run refuses one of another shape, so this is the
region as the run uses it, give or take a pixel of rounding); grey tints part-way, as grey
styles part-way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

# One colour per style image, in order (red, blue, green, amber, violet, cyan), then again.
REGION_COLOURS = (
    (230, 60, 60),
    (60, 110, 240),
    (60, 200, 90),
    (240, 180, 40),
    (170, 80, 220),
    (40, 200, 210),
)
REGION_COLOUR_NAMES = ("red", "blue", "green", "amber", "violet", "cyan")
TINT_STRENGTH = 0.45  # how far a fully covered pixel goes toward its region's colour


def read_masks(paths: Sequence[Path]) -> tuple[Image.Image, ...]:
    """The mask files as greyscale images, read as the run reads them (transparency laid over
    white); an NSTError in one line for one that cannot be read."""
    from nst_engine.running.images import load_image

    return tuple(load_image(path, "style mask").image.convert("L") for path in paths)


def tinted(picture: Image.Image, masks: Sequence[Image.Image]) -> Image.Image:
    """`picture` (RGB) with each mask's region moved toward its colour, in order."""
    result = picture.convert("RGB")
    for number, mask in enumerate(masks):
        colour = Image.new("RGB", result.size, REGION_COLOURS[number % len(REGION_COLOURS)])
        fitted = mask.resize(result.size, Image.Resampling.BILINEAR)
        strength = fitted.point(lambda value: round(value * TINT_STRENGTH))
        result = Image.composite(colour, result, strength)
    return result


def legend(count: int) -> str:
    """'style 1 red, style 2 blue' for `count` masks."""
    names = (REGION_COLOUR_NAMES[n % len(REGION_COLOUR_NAMES)] for n in range(count))
    return ", ".join(f"style {number} {name}" for number, name in enumerate(names, start=1))

"""`nst-tui masks CONTENT --split left-right|top-bottom|luma:T -o PREFIX`: two masks to start from.

For `run --style-masks` (issue 22.1), on a machine without a painting program (a GPU box
over SSH): PREFIX-1.png and PREFIX-2.png at the content's size, complementary (their sum is
255 at every pixel): the left and right halves, the top and bottom halves, or the light and
dark parts of the picture (luminance at or above T in 0..1, and below it). Each is written
whole or not at all, and neither is written when either name is taken (without --overwrite).
No torch: this answers at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from nst_engine.errors import ConfigError

if TYPE_CHECKING:  # numpy and Pillow load when masks are made, not for `nst-tui --help`
    import numpy as np
    from PIL import Image

SPLITS = ("left-right", "top-bottom", "luma:T")

MASKS_EXAMPLES = """examples:
  nst-tui masks photo.jpg --split left-right -o masks/photo
      masks/photo-1.png (white on the left half) and masks/photo-2.png (the right half)
  nst-tui masks photo.jpg --split luma:0.6 -o sky
      sky-1.png: where the photo is light (the sky), sky-2.png: the rest
  nst-tui run photo.jpg mosaic.jpg swirl.jpg --style-masks sky-1.png,sky-2.png
"""


def add_masks_command(commands) -> None:
    masks = commands.add_parser(
        "masks",
        help="write two complementary masks for --style-masks (halves, or light and dark)",
        description="Write PREFIX-1.png and PREFIX-2.png at CONTENT's size: two complementary "
        "greyscale masks (white: that style) for `nst-tui run --style-masks`.",
        epilog=MASKS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    masks.add_argument(
        "content", metavar="CONTENT", help="the content image the masks are for (or a gallery name)"
    )
    masks.add_argument(
        "--split",
        required=True,
        metavar="|".join(SPLITS),
        help="left-right or top-bottom: the two halves; luma:T (T in 0..1, e.g. 0.5): the "
        "parts at least that light (1) and darker (2)",
    )
    masks.add_argument(
        "-o", "--output", required=True, metavar="PREFIX", help="writes PREFIX-1.png, PREFIX-2.png"
    )
    masks.add_argument("--overwrite", action="store_true", help="replace masks already there")


def run_masks_command(arguments: argparse.Namespace) -> int:
    from PIL import Image

    from nst_engine.running.images import load_image, save_image
    from nst_engine.settings.gallery import resolve_image_path

    # A gallery name works here as in `run` (a file of that name here wins).
    content = load_image(resolve_image_path(arguments.content), "content image").image
    first = first_mask(content, arguments.split)
    paths = mask_paths(arguments.output)
    if not arguments.overwrite:
        taken = [path for path in paths if path.exists()]
        if taken:  # before either is written: never one mask of a pair
            raise ConfigError(
                f"mask '{taken[0]}' already exists; choose another PREFIX or add --overwrite"
            )
    for path, mask in zip(paths, (first, 255 - first), strict=True):
        save_image(Image.fromarray(mask, "L"), path, overwrite=arguments.overwrite)
        print(path)
    return 0


def mask_paths(prefix: str) -> tuple[Path, Path]:
    """PREFIX-1.png and PREFIX-2.png (a `.png` typed on the prefix is not doubled)."""
    base = Path(prefix).expanduser()
    if base.suffix.lower() == ".png":
        base = base.with_suffix("")
    return tuple(base.with_name(f"{base.name}-{number}.png") for number in (1, 2))


def first_mask(content: Image.Image, split: str) -> np.ndarray:
    """The first mask of `split` at the content's size (uint8, 0 or 255); the second is its
    complement."""
    import numpy as np

    width, height = content.size
    mask = np.zeros((height, width), np.uint8)
    if split == "left-right":
        mask[:, : width // 2] = 255
    elif split == "top-bottom":
        mask[: height // 2] = 255
    elif split.startswith("luma:"):
        threshold = _threshold(split)
        luma = np.asarray(content.convert("L"), dtype=np.float64) / 255
        mask[luma >= threshold] = 255
    else:
        raise ConfigError(f"--split must be left-right, top-bottom or luma:T, got '{split}'")
    return mask


def _threshold(split: str) -> float:
    text = split.partition(":")[2]
    try:
        threshold = float(text)
    except ValueError:
        threshold = float("nan")
    if not 0 <= threshold <= 1:  # NaN fails too
        raise ConfigError(f"--split luma:T needs T between 0 and 1 (e.g. luma:0.5), got '{text}'")
    return threshold

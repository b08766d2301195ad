"""The three sizes of a run (compute, style, output), and whether the network can take them.

Torch-free: the app checks a form against the images' sizes before Run is pressed.
"""

from __future__ import annotations

from dataclasses import dataclass

from nst_engine.config import RunConfig
from nst_engine.errors import InputImageError
from nst_engine.layers import deepest
from nst_engine.values import Size


@dataclass(frozen=True)
class RunSizes:
    compute: tuple[int, int]  # (width, height) optimised
    style: tuple[int, int]  # the style image as the network sees it
    output: tuple[int, int]  # the saved image


def resolve_sizes(
    config: RunConfig, content_size: tuple[int, int], style_size: tuple[int, int]
) -> RunSizes:
    """The sizes for images of `content_size` and `style_size` (width, height) pixels.

    Compute: the `size` setting applied to the content image. Style: `style_size`, or by
    default the style image with the compute size's longest side. Output: `output_size`
    applied to the compute size, or the compute size itself.
    """
    compute = config.size.resolve(*content_size)
    style = (config.style_size or Size(longest=max(compute))).resolve(*style_size)
    output = config.output_size.resolve(*compute) if config.output_size else compute
    return RunSizes(compute, style, output)


def check_fits_network(config: RunConfig, sizes: RunSizes) -> None:
    """Refuse sizes at which the deepest chosen layer would have less than one pixel."""
    layers = [name for name, _ in config.active_content_layers + config.active_style_layers]
    layer = deepest(layers)
    needed = layer.minimum_side
    for role, path, size, setting, size_name in (
        ("content image", config.content, sizes.compute, "size", "compute size"),
        ("style image", config.style, sizes.style, "style_size", "style size"),
    ):
        if min(size) < needed:
            raise InputImageError(
                f"{role} '{path}' becomes {size[0]}x{size[1]} at this {size_name}, but layer "
                f"{layer.name} needs at least {needed}x{needed}; use a larger {size_name} or a "
                "less elongated image",
                setting=setting,
            )

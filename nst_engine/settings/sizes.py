"""The three sizes of a run (compute, style, output), and whether the network can take them.

Torch-free: the app checks a form against the images' sizes before Run is pressed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nst_engine.errors import InputImageError
from nst_engine.settings.config import RunConfig
from nst_engine.settings.layers import deepest
from nst_engine.settings.values import Size


@dataclass(frozen=True)
class RunSizes:
    compute: tuple[int, int]  # (width, height) optimised
    style: tuple[int, int]  # the style image as the network sees it
    output: tuple[int, int]  # the saved image
    # Coarse to fine: (compute, style) of each scale, smallest first, the last being
    # (compute, style); one entry when coarse-to-fine is off.
    scales: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.scales:
            object.__setattr__(self, "scales", ((self.compute, self.style),))


SCALE_STEP = math.sqrt(2)  # each scale's side over the previous one's
HALF_STEP = math.sqrt(SCALE_STEP)


def scale_sides(min_side: int, final_side: int) -> list[int]:
    """Longest sides of the scales: min_side, then sqrt(2) larger each, then final_side.

    Off (only final_side) when min_side is 0 or not below final_side. A scale less than half
    a step (2^(1/4)) below final_side is left out (but never the first): it would cost a
    scale's iterations at nearly the final size and change little, so the last step is
    between sqrt(2) and 2^(3/4) instead.
    """
    sides = []
    side = float(min_side)
    while min_side and round(side) < final_side:
        sides.append(round(side))
        side *= SCALE_STEP
    if len(sides) > 1 and final_side / sides[-1] < HALF_STEP:
        sides.pop()
    return [*sides, final_side]


def _scaled(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` (width, height) shrunk so that its longest side is `side`, aspect kept."""
    ratio = side / max(size)
    return (max(1, round(size[0] * ratio)), max(1, round(size[1] * ratio)))


def resolve_sizes(
    config: RunConfig, content_size: tuple[int, int], style_size: tuple[int, int]
) -> RunSizes:
    """The sizes for images of `content_size` and `style_size` (width, height) pixels.

    Compute: the `size` setting applied to the content image. Style: `style_size`, or by
    default the style image with the compute size's longest side. Output: `output_size`
    applied to the compute size, or the compute size itself. Scales (coarse to fine): the
    compute and style sizes shrunk together, so the strokes keep their size in the picture.
    """
    compute = config.plan.size.resolve(*content_size)
    style = style_size_of(config, compute, style_size)
    output = config.plan.output_size.resolve(*compute) if config.plan.output_size else compute
    final_side = max(compute)
    scales = tuple(
        (_scaled(compute, side), _scaled(style, max(1, round(max(style) * side / final_side))))
        for side in scale_sides(config.plan.min_size, final_side)[:-1]
    )
    return RunSizes(compute, style, output, (*scales, (compute, style)))


def style_size_of(
    config: RunConfig, compute: tuple[int, int], image_size: tuple[int, int]
) -> tuple[int, int]:
    """A style image's size at the final scale: `style_size`, or its longest side
    `style_scale` (default 1) times the compute size's."""
    if config.look.style_size is not None:
        return config.look.style_size.resolve(*image_size)
    side = max(1, round(max(compute) * (config.look.style_scale or 1.0)))
    return Size(longest=side).resolve(*image_size)


def style_sizes_at(
    config: RunConfig, sizes: RunSizes, scale: int, image_sizes: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Each style image's size at scale `scale` (0-based) of coarse to fine; the first one
    is `sizes`' own, the others shrink with the compute size in the same way."""
    compute, first = sizes.scales[scale]
    final_side = max(sizes.compute)
    result = [first]
    for image_size in image_sizes[1:]:
        style = style_size_of(config, sizes.compute, image_size)
        side = max(1, round(max(style) * max(compute) / final_side))
        result.append(style if compute == sizes.compute else _scaled(style, side))
    return result


def scale_iterations(config: RunConfig, sizes: RunSizes) -> list[int]:
    """Iterations at each scale, smallest first: `scale_iterations` before the last,
    `iterations` at it. Their sum is what a run's progress counts to."""
    return [config.plan.scale_iterations] * (len(sizes.scales) - 1) + [config.plan.iterations]


def planned_iterations(config: RunConfig) -> int:
    """What a run of `config` counts to, all its scales, before its images are read: the
    number of scales follows from the compute size's longest side alone."""
    size = config.plan.size
    longest = size.longest if size.longest is not None else max(size.width or 1, size.height or 1)
    coarse = len(scale_sides(config.plan.min_size, longest)) - 1
    return coarse * config.plan.scale_iterations + config.plan.iterations


def check_fits_network(
    config: RunConfig, sizes: RunSizes, style_image_sizes: list[tuple[int, int]] | None = None
) -> None:
    """Refuse sizes at which the deepest chosen layer would have less than one pixel.

    `style_image_sizes`: every style image's own size, when there are several (the first's
    compute-time size is `sizes.style`).
    """
    layers = [name for name, _ in config.active_content_layers + config.active_style_layers]
    layer = deepest(layers)
    needed = layer.minimum_side
    styles = config.styles or (config.inputs.style,)
    setting = "style_scale" if config.look.style_scale is not None else "style_size"
    checked = [("content image", config.inputs.content, sizes.compute, "size", "compute size")]
    for number, path in enumerate(styles[: max(1, len(style_image_sizes or ()))]):
        if number == 0:
            size = sizes.style
        else:
            size = style_size_of(config, sizes.compute, style_image_sizes[number])
        role = "style image" if len(styles) == 1 else f"style image {number + 1}"
        checked.append((role, path, size, setting, "style size"))
    for role, path, size, setting, size_name in checked:
        if min(size) < needed:
            raise InputImageError(
                f"{role} '{path}' becomes {size[0]}x{size[1]} at this {size_name}, but layer "
                f"{layer.name} needs at least {needed}x{needed}; use a larger {size_name} or a "
                "less elongated image",
                setting=setting,
            )
    first_compute, first_style = sizes.scales[0]
    for role, size in (("content image", first_compute), ("style image", first_style)):
        if min(size) < needed:
            raise InputImageError(
                f"coarse to fine's first scale makes the {role} {size[0]}x{size[1]}, but layer "
                f"{layer.name} needs at least {needed}x{needed}; use a larger min size "
                f"(now {config.plan.min_size}), or 0 to turn coarse to fine off",
                setting="min_size",
            )

"""The checks across settings: each compares settings of a whole RunConfig (the style blend
and the masks against the style images, a layer above 0, one style size), after every
setting's own check (nst_engine/settings/table.py names them in its rows). No torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nst_engine.errors import ConfigError
from nst_engine.settings.layers import check_some_layer


def blend_fits(config: Any) -> None:
    styles = 1 + len(config.inputs.extra_styles)
    blend = config.look.style_blend
    if blend and len(blend) != styles:
        raise ConfigError(
            f"style_blend has {len(blend)} weights for {styles} style images",
            setting="style_blend",
        )


def masks_fit(config: Any) -> None:
    masks, styles = len(config.inputs.style_masks), len(config.styles)
    if masks and masks != styles:
        raise ConfigError(
            f"{masks} style mask{'s' * (masks != 1)} for {styles} style image"
            f"{'s' * (styles != 1)}: give one mask per style image, in order",
            setting="style_masks",
        )


def some_layer(name: str) -> Callable[[Any], None]:
    def check(config: Any) -> None:
        check_some_layer(name, getattr(config.look, name))

    return check


def one_style_size(config: Any) -> None:
    if config.look.style_size is not None and config.look.style_scale is not None:
        raise ConfigError(
            "style_size and style_scale are both given: choose one (the size is "
            "absolute, the scale relative to the compute size)",
            setting="style_size",
        )

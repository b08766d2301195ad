"""The form's fields for how the result looks (style strength and statistic, colours, the
style's scale, smoothing) and for the loss's finer settings (padding, loss scale).

Each text field checks its text with nst_engine.settings.values' parsers as the command line does;
`LOOK_TEXTS`, `LOOK_CHOICES` and `LOSS_CHOICES` name the RunConfig settings they show, so
the form reads and fills them in a loop.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.widget import Widget
from textual.widgets import Checkbox

from nst_engine.settings.config import DEFAULT_STYLE_WEIGHT, STYLE_SCALE_RANGE, RunConfig
from nst_engine.settings.table import BY_NAME
from nst_engine.settings.values import Size
from nst_tui.app.widgets.form.fields import Field, TextField, choice_field

LOOK_TEXTS = ("style_weight", "style_scale", "style_size", "tv_weight")
LOOK_CHOICES = ("style_loss", "preserve_color")
LOSS_CHOICES = ("padding", "loss_scale")


def size_text(size: Size | None) -> str:
    return "" if size is None else str(size)


def look_texts(config: RunConfig) -> dict[str, str]:
    """The look's text fields' texts for `config`."""
    return {
        "style_weight": f"{config.look.style_weight:g}",
        "style_scale": "" if config.look.style_scale is None else f"{config.look.style_scale:g}",
        "style_size": size_text(config.look.style_size),
        "tv_weight": f"{config.look.tv_weight:g}",
    }


def look_fields(config: RunConfig) -> Iterator[Widget]:
    texts = look_texts(config)
    low, high = STYLE_SCALE_RANGE
    usual = DEFAULT_STYLE_WEIGHT
    yield TextField(
        "Style weight", "style_weight", BY_NAME["style_weight"].read, texts["style_weight"],
        tooltip="How strongly the style is applied: the style-to-content ratio on top of the "
        f"layer weights ({usual:g} by default; {usual * 10:g} for bolder, {usual / 10:g} for "
        "subtler)",
    )  # fmt: skip
    yield choice_field(
        "style_loss", "Style loss", config.look.style_loss,
        tooltip="The style statistic: gram (Gatys) or w2 (mean and covariance, Wasserstein-2)",
    )  # fmt: skip
    yield choice_field(
        "preserve_color", "Keep colour", config.look.preserve_color,
        tooltip="Keep the photo's colours: luminance (the style changes only the brightness) or "
        "histogram (the style image recoloured to the photo's colours first)",
    )  # fmt: skip
    yield TextField(
        "Style scale", "style_scale", BY_NAME["style_scale"].read, texts["style_scale"],
        placeholder="1 (× compute size)",
        tooltip=f"The style image's size relative to the compute size ({low:g} to {high:g}): "
        "below 1 smaller brush strokes, above 1 larger; empty: 1, or the Style size",
    )  # fmt: skip
    yield TextField(
        "Style size", "style_size", BY_NAME["style_size"].read, texts["style_size"],
        placeholder="longest side of compute size",
        tooltip="The style image's size in pixels (the absolute form of Style scale)",
    )  # fmt: skip
    yield TextField(
        "TV weight", "tv_weight", BY_NAME["tv_weight"].read, texts["tv_weight"],
        tooltip="Total variation: smooths the result; 0 turns it off",
    )  # fmt: skip
    ema = Checkbox("moving average of the iterates", config.look.ema, id="ema", compact=True)
    ema.tooltip = "Save and preview an average of the last iterations: less noise (EMA)"
    yield Field("Smoothing", ema, id="ema-field", tooltip=ema.tooltip)


def loss_fields(config: RunConfig) -> Iterator[Widget]:
    yield choice_field(
        "padding", "Padding", config.look.padding,
        tooltip="The first convolution's padding: replicate avoids dark borders, zeros is the "
        "original network's",
    )  # fmt: skip
    yield choice_field(
        "loss_scale", "Loss scale", config.look.loss_scale,
        tooltip="normalized: weights of order one that mean the same at any size and with any "
        "network; raw: the 2022 formulas (reference-2022)",
    )  # fmt: skip

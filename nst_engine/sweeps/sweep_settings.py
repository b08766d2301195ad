"""The settings a sweep can vary, by name, and how a value of each is applied to a config.

A name is the `nst-tui run` flag without its dashes (`lr`, `style-weight`, `preset`, `style`,
optimiser parameters such as `beta1`), or a layer's weight: `relu4_1` (a style layer),
`content.relu4_2` (a content layer). Values go through the engine's own parsers, so a bad one
is refused with the same one-line message as on the command line. No torch here.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nst_engine.errors import ConfigError, InputImageError, about_setting
from nst_engine.settings.config import OPTIMIZERS, RunConfig
from nst_engine.settings.layers import LAYERS, normalise_layer_weights
from nst_engine.settings.optimizer_settings import (
    OPTIMIZER_PARAMETER_NAMES,
    parse_learning_rate,
    read_parameter,
)
from nst_engine.settings.table import BY_NAME, INITS, SETTINGS, parse_init
from nst_engine.settings.values import parse_choice, parse_float

Setter = Callable[[RunConfig, str, str], RunConfig]


def _simple(field_name: str, parse: Callable[[str, str], Any]) -> Setter:
    def apply(config: RunConfig, name: str, value: str) -> RunConfig:
        with about_setting(field_name):
            return config.replace(**{field_name: parse(name, value)})

    return apply


def _choice(field_name: str, choices: tuple[str, ...]) -> Setter:
    return _simple(field_name, lambda name, value: parse_choice(name, value, choices))


def _optimizer(setting: str, change: Callable[[str, str], dict[str, Any]]) -> Setter:
    """A setter of the optimiser's own `setting` (its name, its learning rate)."""

    def apply(config: RunConfig, name: str, value: str) -> RunConfig:
        with about_setting(setting):
            changes = change(name, value)
        return config.replace(optimizer=dataclasses.replace(config.plan.optimizer, **changes))

    return apply


def _optimizer_parameter(parameter: str) -> Setter:
    def apply(config: RunConfig, name: str, value: str) -> RunConfig:
        settings = config.plan.optimizer
        number = read_parameter(settings, parameter, name, value)
        try:
            own = dataclasses.replace(settings.parameters, **{parameter: number})
        except ConfigError as error:
            raise ConfigError(f"{name}={value}: {error.message}", setting=error.setting) from None
        return config.replace(optimizer=dataclasses.replace(settings, **{settings.name: own}))

    return apply


def _style_scale(config: RunConfig, name: str, value: str) -> RunConfig:
    """The style's scale, in place of a style size (two ways to say one thing)."""
    with about_setting("style_scale"):
        scale = BY_NAME["style_scale"].parse(name, value)
    return config.replace(style_scale=scale, style_size=None)


def _style_size(config: RunConfig, name: str, value: str) -> RunConfig:
    with about_setting("style_size"):
        size = BY_NAME["style_size"].parse(name, value)
    return config.replace(style_size=size, style_scale=None)


def _image(role: str, value: str) -> Path:
    """The image a value names: a file, or else a gallery name (refused when neither)."""
    from nst_engine.settings.gallery import closest_gallery_name, resolve_image_path

    path = resolve_image_path(value)
    if path.exists():
        return path.absolute()
    message = f"{role} '{value}' does not exist"
    suggestion = closest_gallery_name(value)
    if suggestion is not None:
        message += f"; did you mean the gallery's {suggestion}?"
    raise InputImageError(message)


def _style(config: RunConfig, name: str, value: str) -> RunConfig:
    """One style image in place of all; a lone mask stays (the paintings are tried on its
    region), but several masks belong to several styles: which region would one style take?"""
    masks = len(config.inputs.style_masks)
    if masks > 1:
        raise ConfigError(
            f"varying style puts one style image in place of {len(config.styles)}, but "
            f"--style-masks gives {masks} masks; give one style and one mask to try styles on "
            "a region, or leave the masks out"
        )
    return config.replace(style=_image("style image", value), extra_styles=(), style_blend=())


def _content(config: RunConfig, name: str, value: str) -> RunConfig:
    return config.replace(content=_image("content image", value))


def _init(config: RunConfig, name: str, value: str) -> RunConfig:
    word = value.strip().lower()
    if word in INITS:
        return config.replace(init=word)
    try:
        return config.replace(init=str(_image("init image", value)))
    except InputImageError:
        parse_init(value)  # a word that is no path: say which words there are
        raise


def _preset(config: RunConfig, name: str, value: str) -> RunConfig:
    from nst_engine.settings.presets import load_preset

    return _framed(load_preset(value.strip(), config), config)


def _framed(look: RunConfig, frame: RunConfig) -> RunConfig:
    """`look` (a preset, with what a preset carries, as `nst-tui run --preset` has it) in
    `frame`'s images and output; the blend stays the frame's too: it belongs to its images."""
    return look.replace(inputs=frame.inputs, style_blend=frame.look.style_blend)


# A setting of the table (nst_engine/settings/table.py) a sweep can vary: its own rule, by the
# command line's name without dashes; below, those that change more than their own field.
SETTERS: dict[str, Setter] = {
    setting.sweep_name: _simple(setting.name, setting.parse)
    for setting in SETTINGS
    if setting.sweep
}
SETTERS.update(
    {
        "optimizer": _optimizer("optimizer", lambda n, v: {"name": parse_choice(n, v, OPTIMIZERS)}),
        "lr": _optimizer("lr", lambda n, v: {"lr": parse_learning_rate(n, v)}),
        "style-scale": _style_scale,
        "style-size": _style_size,
        "init": _init,
        "preset": _preset,
        "style": _style,
        "content": _content,
        **{
            parameter.replace("_", "-"): _optimizer_parameter(parameter)
            for parameter in OPTIMIZER_PARAMETER_NAMES
        },
    }
)
# Applied before the others in a cell: each replaces many settings the other axis may set.
FIRST = ("preset", "style", "content")
LAYER_PREFIXES = ("style.", "content.")


def sweep_names() -> list[str]:
    """The names a sweep can vary (besides a layer's weight: `relu4_1`, `content.relu4_2`)."""
    return list(SETTERS)


def canonical_name(text: str) -> str:
    """`Style_Weight` -> `style-weight`, `style.relu4_1` -> `relu4_1`; ConfigError if unknown."""
    word = text.strip().lstrip("-").strip()
    lowered = word.lower()
    layer = lowered.removeprefix("style.")
    if layer in LAYERS:
        return layer
    if lowered.startswith("content.") and lowered.removeprefix("content.") in LAYERS:
        return lowered
    name = lowered.replace("_", "-")
    if name in SETTERS:
        return name
    if lowered.startswith(LAYER_PREFIXES):
        layer_name = lowered.partition(".")[2]
        raise ConfigError(
            f"unknown VGG19 layer '{layer_name}' in '{word}' (`nst-tui layers` lists them)"
        )
    close = difflib.get_close_matches(name, [*SETTERS, *LAYERS], n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ConfigError(
        f"a sweep cannot vary '{word}'{hint} (it can: {', '.join(SETTERS)}, or a layer's "
        "weight such as relu4_1 or content.relu4_2)"
    )


def value_text(value: object) -> str:
    """A value as a label: TOML's 1000.0 as `1000`, 0.5 as `0.5`, true as `true`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def apply_setting(
    config: RunConfig, name: str, value: str, *, looks: Mapping[str, RunConfig] | None = None
) -> RunConfig:
    """`config` with the sweep setting `name` at `value`; a one-line ConfigError naming both
    when the value does not fit (through the engine's own parsers). `looks`: for a preset
    value, the settings to take instead of the preset's own (the command line's: the preset
    with the flags given over it)."""
    name = canonical_name(name)
    try:
        if name == "preset" and looks and value in looks:
            return _framed(looks[value], config)
        if name in SETTERS:
            return SETTERS[name](config, name, value)
        return _layer_weight(config, name, value)
    except InputImageError:
        raise
    except ConfigError as error:
        message = error.message
        if name not in message and value not in message:
            message = f"{name}={value}: {message}"
        raise ConfigError(message, setting=error.setting) from None


def _layer_weight(config: RunConfig, name: str, value: str) -> RunConfig:
    group, _, layer = name.rpartition(".")
    field_name = "content_layers" if group == "content" else "style_layers"
    weight = parse_float(f"{name} weight", value, 0.0)
    weights = dict(config.value(field_name))
    weights[layer] = weight
    return config.replace(**{field_name: normalise_layer_weights(field_name, weights)})


def value_label(name: str, value: str) -> str:
    """How a value is shown: an image by its gallery name or file name, else as given."""
    if name in ("style", "content") or (name == "init" and value.strip().lower() not in INITS):
        from nst_engine.settings.gallery import gallery_name_of, resolve_image_path

        path = resolve_image_path(value)
        return gallery_name_of(path) or path.stem
    return value

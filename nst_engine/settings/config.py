"""RunConfig: every setting of one run, as frozen dataclasses that round-trip through TOML.

The form, the command-line flags, presets, remembered settings and the metadata embedded
in output images all go through this one object, made of parts (inputs, look, plan,
machine, recording: nst_engine/settings/parts.py). Values are checked when a config is
built, by each setting's row of the table (nst_engine/settings/table.py), so an invalid
config cannot exist; each check raises a ConfigError whose message names the setting and
the value that came.

This module must stay cheap to import (no torch): the app and `--help` use it first.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nst_engine.errors import ConfigError, about_setting
from nst_engine.settings.layers import (  # noqa: F401 (the layer-weight helpers re-exported)
    LayerWeights,
    format_layer_weights,
    parse_layer_weights,
)
from nst_engine.settings.optimizer_settings import (  # noqa: F401 (re-exported)
    OPTIMIZER_LABELS,
    OPTIMIZER_PARAMETERS,
    OPTIMIZERS,
    AdadeltaSettings,
    AdamSettings,
    LBFGSSettings,
    OptimizerSettings,
    RMSpropSettings,
    SGDSettings,
    optimizer_from_dict,
    parse_learning_rate,
)
from nst_engine.settings.parts import (  # noqa: F401 (the defaults re-exported)
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_MAX_INPUT_PIXELS,
    DEFAULT_SCALE_ITERATIONS,
    DEFAULT_STYLE_LAYERS,
    DEFAULT_STYLE_WEIGHT,
    Inputs,
    Look,
    Machine,
    Plan,
    Recording,
)
from nst_engine.settings.table import (  # noqa: F401 (the choices and parse_init re-exported)
    BY_NAME,
    COLOR_MODES,
    CONTENT_INITS,
    CUDA_GRAPHS,
    IMAGE_SUFFIXES,
    INITS,
    LOSS_SCALES,
    MEMORY_FORMATS,
    PADDINGS,
    PARTS,
    POOLINGS,
    PRECISIONS,
    PRESET_LEAVES,
    SETTINGS,
    STYLE_LOSSES,
    STYLE_SCALE_RANGE,
    STYLE_WEIGHT_MAXIMUM,
    WEIGHT_SOURCES,
    parse_init,
)
from nst_engine.settings.values import Size, parse_blend  # noqa: F401 (parse_blend re-exported)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Settings written before `loss_scale` existed had raw weights this small: read them as raw.
RAW_WEIGHT_BELOW = 1e-5


# --- the run configuration ------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs, in parts (nst_engine/settings/parts.py): read a setting as
    `config.look.style_weight`. Defaults are the built-in `default` preset.

    Code that works with the settings' flat names (the form, the command line's flags, a
    sweep's `--vary NAME=`, TOML) goes through `from_flat`, `replace` and `flat`, which
    find each name's part in the settings table.
    """

    inputs: Inputs = field(default_factory=Inputs)
    look: Look = field(default_factory=Look)
    plan: Plan = field(default_factory=Plan)
    machine: Machine = field(default_factory=Machine)
    recording: Recording = field(default_factory=Recording)

    def __post_init__(self) -> None:
        # Each part checked its own values when made; here the checks across settings (the
        # style blend against the inputs' style images, a layer above 0, one style size).
        for setting in SETTINGS:
            if setting.check is not None:
                setting.check(self)

    @classmethod
    def from_flat(cls, **values: Any) -> RunConfig:
        """A config from settings by their flat names (`style_weight=5`), the others default."""
        return cls().replace(**values)

    def replace(self, **changes: Any) -> RunConfig:
        """This config with settings changed, by their flat names (`style_weight=5`) or whole
        parts (`look=Look(...)`); a name that is no setting is a TypeError, as a field's."""
        parts = {part: getattr(self, part) for part in PARTS}
        by_part: dict[str, dict[str, Any]] = {}
        for name, value in changes.items():
            if name in parts:
                parts[name] = value
            elif name in BY_NAME:
                by_part.setdefault(BY_NAME[name].part, {})[name] = value
            else:
                raise TypeError(f"RunConfig has no setting called '{name}'")
        for part, values in by_part.items():
            parts[part] = dataclasses.replace(parts[part], **values)
        return RunConfig(**parts)

    def value(self, name: str) -> Any:
        """The setting called `name` (a flat name: the table's), from its part."""
        return getattr(getattr(self, BY_NAME[name].part), name)

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name, in the table's order."""
        return {setting.name: self.value(setting.name) for setting in SETTINGS}

    @property
    def styles(self) -> tuple[Path, ...]:
        """Every style image, the first (`style`) first; empty before one is chosen."""
        inputs = self.inputs
        return ((inputs.style,) if inputs.style else ()) + inputs.extra_styles

    @property
    def blend(self) -> tuple[float, ...]:
        """Each style image's share of the style targets, summing to 1."""
        weights = self.look.style_blend or (1.0,) * max(1, len(self.styles))
        total = sum(weights)
        return tuple(weight / total for weight in weights)

    @property
    def active_content_layers(self) -> LayerWeights:
        return tuple(pair for pair in self.look.content_layers if pair[1] > 0)

    @property
    def active_style_layers(self) -> LayerWeights:
        return tuple(pair for pair in self.look.style_layers if pair[1] > 0)

    # --- TOML ---------------------------------------------------------------------------------

    def to_dict(self, *, paths: bool = True) -> dict[str, Any]:
        """A TOML-ready dict; `paths=False`: only what a preset carries (no images, no output)."""
        values = self.flat()
        data: dict[str, Any] = {}
        for name in ("content", "style", "output"):
            value = values[name]
            if value is not None:
                data[name] = str(value)
        if values["extra_styles"]:
            data["extra_styles"] = [str(path) for path in values["extra_styles"]]
        if values["style_blend"]:
            data["style_blend"] = list(values["style_blend"])
        if values["style_masks"]:
            data["style_masks"] = [str(path) for path in values["style_masks"]]
        data.update(
            iterations=values["iterations"],
            style_weight=values["style_weight"],
            tv_weight=values["tv_weight"],
            loss_scale=values["loss_scale"],
            style_loss=values["style_loss"],
            preserve_color=values["preserve_color"],
            ema=values["ema"],
            padding=values["padding"],
            init=values["init"],
            init_noise=values["init_noise"],
            seed=values["seed"],
            size=values["size"].to_toml(),
        )
        if values["output_size"] is not None:
            data["output_size"] = values["output_size"].to_toml()
        if values["style_size"] is not None:
            data["style_size"] = values["style_size"].to_toml()
        if values["style_scale"] is not None:
            data["style_scale"] = values["style_scale"]
        data.update(
            pooling=values["pooling"],
            device=values["device"],
            weights=values["weights"],
            snapshot_every=values["snapshot_every"],
            checkpoint_every=values["checkpoint_every"],
            min_size=values["min_size"],
            scale_iterations=values["scale_iterations"],
            precision=values["precision"],
            memory_format=values["memory_format"],
            cuda_graph=values["cuda_graph"],
            overwrite=values["overwrite"],
            max_input_pixels=values["max_input_pixels"],
        )
        settings = values["optimizer"]
        optimizer: dict[str, Any] = {"name": settings.name, "lr": settings.lr}
        for name in OPTIMIZERS:
            optimizer[name] = dataclasses.asdict(getattr(settings, name))
        data["optimizer"] = optimizer
        data["content_layers"] = dict(values["content_layers"])
        data["style_layers"] = dict(values["style_layers"])
        if not paths:  # the table says what a preset carries
            data = {key: value for key, value in data.items() if key not in PRESET_LEAVES}
        return data

    def to_toml(self, *, paths: bool = True) -> str:
        """TOML text in parts: `[inputs]`, `[look]`, `[plan]`, `[machine]`, `[recording]`
        (files written flat, before parts, are read as well: `from_dict`)."""
        from nst_engine.settings.toml_text import (
            dumps,  # tomli_w where installed (a bare machine lacks it)
        )

        return dumps(in_parts(self.to_dict(paths=paths)))

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], base: RunConfig | None = None, source: str = "settings"
    ) -> RunConfig:
        """Settings from `data` laid over `base` (the defaults when None).

        Unknown keys are refused with their name, so a typo in a preset never passes silently.
        Layer tables replace the base's layers as a whole; optimiser tables merge.
        """
        base = base or cls()
        data = flat_settings(data)
        unknown = sorted(set(data) - set(BY_NAME))
        if unknown:
            raise ConfigError(f"{source}: unknown setting '{unknown[0]}'")
        changes: dict[str, Any] = output_follows_size(dict(data))
        if "loss_scale" not in data and _raw_weights(data):
            # Written before loss_scale existed: the raw loss, no style factor, as then.
            changes["loss_scale"] = "raw"
            changes.setdefault("style_weight", 1.0)
        try:
            if "optimizer" in data:
                with about_setting("optimizer"):
                    optimizer = optimizer_from_dict(data["optimizer"], base.plan.optimizer)
                changes["optimizer"] = optimizer
            for key in ("content_layers", "style_layers"):
                if key in data and not isinstance(data[key], dict):
                    raise ConfigError(f"{key} must be a table of layer = weight", setting=key)
            return base.replace(**changes)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error.message}", setting=error.setting) from None

    @classmethod
    def from_toml(cls, text: str, base: RunConfig | None = None, source: str = "settings"):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{source}: not valid TOML ({error})") from None
        return cls.from_dict(data, base, source)


def in_parts(flat: dict[str, Any]) -> dict[str, Any]:
    """A flat settings table (`to_dict`'s) as a table of parts, each part's settings in the
    flat table's order; a part with no setting in it left out."""
    parts: dict[str, dict[str, Any]] = {part: {} for part in PARTS}
    for name, value in flat.items():
        parts[BY_NAME[name].part][name] = value
    return {part: values for part, values in parts.items() if values}


def flat_settings(data: dict[str, Any]) -> dict[str, Any]:
    """A settings table by flat names: one written in parts (`[look]`, `[plan]`, ...) made
    flat; one written flat (every file before parts existed) as it is."""
    flat = {key: value for key, value in data.items() if key not in PARTS}
    for part in PARTS:
        if isinstance(data.get(part), dict):
            flat.update(data[part])
        elif part in data:
            flat[part] = data[part]  # not a table: refused below as an unknown setting
    return flat


def output_follows_size(changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` to lay over a config, in which a new compute size without an output size
    lets the output follow the compute size (None) instead of keeping the base's.

    A base's output size (a preset's: reference-2022's 224x224) was chosen for its own
    compute size; kept under another one, it stretched the picture to another aspect
    (issue 18). An output size given with the size stays.
    """
    if "size" in changes and "output_size" not in changes:
        changes["output_size"] = None
    return changes


def _raw_weights(data: dict[str, Any]) -> bool:
    """Whether `data`'s layer weights are all tiny: the raw weights of older settings."""
    weights = [
        weight
        for key in ("content_layers", "style_layers")
        if isinstance(data.get(key), dict)
        for weight in data[key].values()
        if isinstance(weight, (int, float)) and weight > 0
    ]
    return bool(weights) and max(weights) < RAW_WEIGHT_BELOW


def read_toml_file(path: Path, what: str) -> dict[str, Any]:
    """A TOML file's table, or a ConfigError naming the file and what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} '{path}' does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} '{path}' is a folder, not a file") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"{what} '{path}' cannot be read: {reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{what} '{path}' is not valid TOML: {error}") from None

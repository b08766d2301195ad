"""RunConfig: every setting of one run, as frozen dataclasses that round-trip through TOML.

The form, the command-line flags, presets, remembered settings and the metadata embedded
in output images all go through this one object. Values are checked when a config is
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
from nst_engine.settings.table import (  # noqa: F401 (the choices and parse_init re-exported)
    COLOR_MODES,
    CONTENT_INITS,
    CUDA_GRAPHS,
    IMAGE_SUFFIXES,
    INITS,
    LOSS_SCALES,
    MEMORY_FORMATS,
    PADDINGS,
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

DEFAULT_SCALE_ITERATIONS = 100
DEFAULT_MAX_INPUT_PIXELS = 100_000_000


# --- the run configuration ------------------------------------------------------------------

# The `default` preset's layers (nst_engine/settings/presets/default.toml says why these numbers).
# Under the normalised loss, each group's weights are relative (divided by their sum).
DEFAULT_CONTENT_LAYERS: LayerWeights = (("relu4_2", 1.0),)
DEFAULT_STYLE_LAYERS: LayerWeights = (
    ("relu1_1", 1.0),
    ("relu2_1", 1.0),
    ("relu3_1", 1.0),
    ("relu4_1", 1.0),
    ("relu5_1", 1.0),
)
DEFAULT_STYLE_WEIGHT = 10.0
# Settings written before `loss_scale` existed had raw weights this small: read them as raw.
RAW_WEIGHT_BELOW = 1e-5


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs. Defaults are the built-in `default` preset.

    Pixel scale: the image being optimised holds RGB values in 0-255 (so learning rates
    and the TV weight are in those units); the network sees it through the preprocessing
    of the chosen weights (see nst_engine.method.weights).
    """

    content: Path | None = None
    style: Path | None = None
    # More style images, blended with the first (`style_blend`: one weight per style image,
    # the first's included; empty: equal shares).
    extra_styles: tuple[Path, ...] = ()
    style_blend: tuple[float, ...] = ()
    # One greyscale mask per style image, in order (empty: none): each style only where its
    # mask is (nst_engine/method/regions.py).
    style_masks: tuple[Path, ...] = ()
    output: Path | None = None
    iterations: int = 200
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    content_layers: LayerWeights = DEFAULT_CONTENT_LAYERS
    style_layers: LayerWeights = DEFAULT_STYLE_LAYERS
    # Style to content, on top of the layer weights: how strongly the style is applied.
    style_weight: float = DEFAULT_STYLE_WEIGHT
    tv_weight: float = 0.1
    loss_scale: str = "normalized"
    style_loss: str = "gram"
    preserve_color: str = "off"
    # The style image's longest side over the compute size's (None: 1, or `style_size`).
    style_scale: float | None = None
    # What is saved and previewed: an exponential moving average of the iterates.
    ema: bool = True
    padding: str = "replicate"
    init: str = "content+noise"
    init_noise: float = 0.1  # std of the Gaussian noise added by content+noise, in 0..1 units
    seed: int = 0
    size: Size = field(default_factory=lambda: Size(longest=512))
    output_size: Size | None = None  # None: the compute size
    style_size: Size | None = None  # None: the longest side of the compute size
    pooling: str = "max"
    device: str = "auto"
    weights: str = "auto"
    snapshot_every: int = 0  # save an intermediate image every N iterations (0: never)
    # With a run folder: a checkpoint to resume from every N iterations (0: only when the run
    # stops), at most one per `checkpoint_seconds` of the run (30 s: checkpointing.py).
    checkpoint_every: int = 100
    # Coarse to fine: the first scale's longest side (0: off), each next one sqrt(2) larger,
    # the last one `size`; `scale_iterations` at each scale before the last, `iterations` at it.
    min_size: int = 0
    scale_iterations: int = DEFAULT_SCALE_ITERATIONS
    # Speed switches (the same result within stated bounds; see nst_engine/optimise/stepper.py).
    precision: str = "auto"
    memory_format: str = "auto"
    cuda_graph: str = "auto"
    overwrite: bool = False
    max_input_pixels: int = DEFAULT_MAX_INPUT_PIXELS

    def __post_init__(self) -> None:
        # Each setting's value checked by its row of the table and stored normalised (frozen:
        # once, here), in the table's order, then what it must agree with among those before.
        for setting in SETTINGS:
            name = setting.name
            if not (setting.optional and getattr(self, name) is None):
                with about_setting(name):  # the error is about this setting
                    object.__setattr__(self, name, setting.parse(name, getattr(self, name)))
            if setting.check is not None:
                setting.check(self)

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    @property
    def styles(self) -> tuple[Path, ...]:
        """Every style image, the first (`style`) first; empty before one is chosen."""
        return ((self.style,) if self.style else ()) + self.extra_styles

    @property
    def blend(self) -> tuple[float, ...]:
        """Each style image's share of the style targets, summing to 1."""
        weights = self.style_blend or (1.0,) * max(1, len(self.styles))
        total = sum(weights)
        return tuple(weight / total for weight in weights)

    @property
    def active_content_layers(self) -> LayerWeights:
        return tuple(pair for pair in self.content_layers if pair[1] > 0)

    @property
    def active_style_layers(self) -> LayerWeights:
        return tuple(pair for pair in self.style_layers if pair[1] > 0)

    # --- TOML ---------------------------------------------------------------------------------

    def to_dict(self, *, paths: bool = True) -> dict[str, Any]:
        """A TOML-ready dict; `paths=False`: only what a preset carries (no images, no output)."""
        data: dict[str, Any] = {}
        for name in ("content", "style", "output"):
            value = getattr(self, name)
            if value is not None:
                data[name] = str(value)
        if self.extra_styles:
            data["extra_styles"] = [str(path) for path in self.extra_styles]
        if self.style_blend:
            data["style_blend"] = list(self.style_blend)
        if self.style_masks:
            data["style_masks"] = [str(path) for path in self.style_masks]
        data.update(
            iterations=self.iterations,
            style_weight=self.style_weight,
            tv_weight=self.tv_weight,
            loss_scale=self.loss_scale,
            style_loss=self.style_loss,
            preserve_color=self.preserve_color,
            ema=self.ema,
            padding=self.padding,
            init=self.init,
            init_noise=self.init_noise,
            seed=self.seed,
            size=self.size.to_toml(),
        )
        if self.output_size is not None:
            data["output_size"] = self.output_size.to_toml()
        if self.style_size is not None:
            data["style_size"] = self.style_size.to_toml()
        if self.style_scale is not None:
            data["style_scale"] = self.style_scale
        data.update(
            pooling=self.pooling,
            device=self.device,
            weights=self.weights,
            snapshot_every=self.snapshot_every,
            checkpoint_every=self.checkpoint_every,
            min_size=self.min_size,
            scale_iterations=self.scale_iterations,
            precision=self.precision,
            memory_format=self.memory_format,
            cuda_graph=self.cuda_graph,
            overwrite=self.overwrite,
            max_input_pixels=self.max_input_pixels,
        )
        optimizer: dict[str, Any] = {"name": self.optimizer.name, "lr": self.optimizer.lr}
        for name in OPTIMIZERS:
            optimizer[name] = dataclasses.asdict(getattr(self.optimizer, name))
        data["optimizer"] = optimizer
        data["content_layers"] = dict(self.content_layers)
        data["style_layers"] = dict(self.style_layers)
        if not paths:  # the table says what a preset carries
            data = {key: value for key, value in data.items() if key not in PRESET_LEAVES}
        return data

    def to_toml(self, *, paths: bool = True) -> str:
        from nst_engine.settings.toml_text import (
            dumps,  # tomli_w where installed (a bare machine lacks it)
        )

        return dumps(self.to_dict(paths=paths))

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], base: RunConfig | None = None, source: str = "settings"
    ) -> RunConfig:
        """Settings from `data` laid over `base` (the defaults when None).

        Unknown keys are refused with their name, so a typo in a preset never passes silently.
        Layer tables replace the base's layers as a whole; optimiser tables merge.
        """
        base = base or cls()
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
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
                    optimizer = optimizer_from_dict(data["optimizer"], base.optimizer)
                changes["optimizer"] = optimizer
            for key in ("content_layers", "style_layers"):
                if key in data and not isinstance(data[key], dict):
                    raise ConfigError(f"{key} must be a table of layer = weight", setting=key)
            return dataclasses.replace(base, **changes)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error.message}", setting=error.setting) from None

    @classmethod
    def from_toml(cls, text: str, base: RunConfig | None = None, source: str = "settings"):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{source}: not valid TOML ({error})") from None
        return cls.from_dict(data, base, source)


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

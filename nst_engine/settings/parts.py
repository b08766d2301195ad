"""RunConfig's parts: one frozen dataclass per concern, each field a row of the settings
table (nst_engine/settings/table.py, its `part` column).

- Inputs: the run's images, its output and whether it may overwrite it (a preset never
  carries these).
- Look: what the picture looks like: the layers and their weights, the losses, colour,
  the style's scale, the network's weights, padding, pooling, the start image.
- Plan: how the optimisation runs: optimiser, iterations, seed, sizes, coarse to fine.
- Machine: where and how fast it runs; the same result within stated bounds.
- Recording: what the run records on the way (snapshots, checkpoints).

Each part checks its own values by the table's rows when it is made (frozen: once), so no
invalid part exists; checks across parts are RunConfig's. No torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from nst_engine.errors import about_setting
from nst_engine.settings.layers import LayerWeights
from nst_engine.settings.optimizer_settings import OptimizerSettings
from nst_engine.settings.table import ROWS_OF_PART
from nst_engine.settings.values import Size

DEFAULT_SCALE_ITERATIONS = 100
DEFAULT_MAX_INPUT_PIXELS = 100_000_000

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


@dataclass(frozen=True)
class Part:
    """A part of RunConfig: its values checked and normalised by its rows of the table."""

    PART: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for setting in ROWS_OF_PART[self.PART]:
            name = setting.name
            if not (setting.optional and getattr(self, name) is None):
                with about_setting(name):  # the error is about this setting
                    object.__setattr__(self, name, setting.parse(name, getattr(self, name)))


@dataclass(frozen=True)
class Inputs(Part):
    PART: ClassVar[str] = "inputs"

    content: Path | None = None
    style: Path | None = None
    output: Path | None = None
    # More style images, blended with the first (Look.style_blend: one weight per style
    # image, the first's included; empty: equal shares).
    extra_styles: tuple[Path, ...] = ()
    # One greyscale mask per style image, in order (empty: none): each style only where its
    # mask is (nst_engine/method/regions.py).
    style_masks: tuple[Path, ...] = ()
    overwrite: bool = False


@dataclass(frozen=True)
class Look(Part):
    """Defaults are the built-in `default` preset's.

    Pixel scale: the image being optimised holds RGB values in 0-255 (so learning rates
    and the TV weight are in those units); the network sees it through the preprocessing
    of the chosen weights (see nst_engine.method.weights).
    """

    PART: ClassVar[str] = "look"

    style_blend: tuple[float, ...] = ()
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
    style_size: Size | None = None  # None: the longest side of the compute size
    pooling: str = "max"
    weights: str = "auto"


@dataclass(frozen=True)
class Plan(Part):
    PART: ClassVar[str] = "plan"

    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    iterations: int = 200
    seed: int = 0
    size: Size = field(default_factory=lambda: Size(longest=512))
    output_size: Size | None = None  # None: the compute size
    # Coarse to fine: the first scale's longest side (0: off), each next one sqrt(2) larger,
    # the last one `size`; `scale_iterations` at each scale before the last, `iterations` at it.
    min_size: int = 0
    scale_iterations: int = DEFAULT_SCALE_ITERATIONS


@dataclass(frozen=True)
class Machine(Part):
    """Speed switches give the same result within stated bounds (nst_engine/optimise/stepper.py)."""

    PART: ClassVar[str] = "machine"

    device: str = "auto"
    precision: str = "auto"
    memory_format: str = "auto"
    cuda_graph: str = "auto"
    max_input_pixels: int = DEFAULT_MAX_INPUT_PIXELS


@dataclass(frozen=True)
class Recording(Part):
    PART: ClassVar[str] = "recording"

    snapshot_every: int = 0  # save an intermediate image every N iterations (0: never)
    # With a run folder: a checkpoint to resume from every N iterations (0: only when the run
    # stops), at most one per `checkpoint_seconds` of the run (30 s: checkpointing.py).
    checkpoint_every: int = 100


PART_TYPES: dict[str, type[Part]] = {
    part.PART: part for part in (Inputs, Look, Plan, Machine, Recording)
}

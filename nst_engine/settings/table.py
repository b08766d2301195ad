"""The table of run settings: one row per setting, saying which of RunConfig's parts holds
it, how its value is read and checked, its command-line flag, its help, the form's section it
is in and whether a sweep can vary it (a preset carries every part but the inputs).

RunConfig checks its values through this table (config.py), a sweep's simple setters are
made from it (nst_engine/sweeps/sweep_settings.py), and the command line reads its flags
with the same rules (nst_tui/cli/run_options.py). Adding a setting is one row here (and a
field in its part, nst_engine/settings/parts.py); tests/engine/test_settings_table.py checks
the two agree. No torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nst_engine.errors import ConfigError
from nst_engine.settings.cross_checks import blend_fits, masks_fit, one_style_size, some_layer
from nst_engine.settings.layers import (
    normalise_layer_weights,
    parse_layer_weights,
)
from nst_engine.settings.optimizer_settings import (
    OPTIMIZERS,
    OptimizerSettings,
    optimizer_from_dict,
)
from nst_engine.settings.values import (
    Size,
    parse_blend,
    parse_bool,
    parse_choice,
    parse_device,
    parse_float,
    parse_int,
    parse_path,
    parse_paths,
)

# Starting images made from the content image; `style` and a file's path start from a picture.
CONTENT_INITS = ("content+noise", "content", "noise")
INITS = (*CONTENT_INITS, "style")  # or an image file's path
POOLINGS = ("max", "avg")
# Weights named by a word (nst_engine/method/weights.py loads them); any other text is a file.
WEIGHT_SOURCES = ("auto", "oxford", "torchvision", "random")
# How the loss terms are scaled (nst_engine/method/losses.py): `normalized` divides each term by a
# magnitude of its own target, so layer weights of order one mean the same with any weights
# and at any size; `raw` keeps the 2022 formulas exactly (the reference-2022 preset).
LOSS_SCALES = ("normalized", "raw")
STYLE_LOSSES = ("gram", "w2")
COLOR_MODES = ("off", "luminance", "histogram")
PADDINGS = ("replicate", "zeros")  # of the first convolution
STYLE_SCALE_RANGE = (0.1, 4.0)
# A style weight beyond this is a typo (the normalised ratio is of order 1 to 1000).
STYLE_WEIGHT_MAXIMUM = 1e12
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")
# How an iteration runs (nst_engine/optimise/stepper.py); `auto` picks per device what
# measured fastest.
PRECISIONS = ("auto", "fp32", "bf16")
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")
CUDA_GRAPHS = ("auto", "on", "off")


def parse_init(value: object) -> str:
    """One of INITS, or the path of an image file to start from."""
    text = str(value).strip()
    if text in INITS:
        return text
    path = Path(text)
    if text and ("/" in text or "\\" in text or path.suffix.lower() in IMAGE_SUFFIXES):
        return str(path.expanduser())
    raise ConfigError(
        f"init must be one of {', '.join(INITS)} or an image file's path, got '{text}'"
    )


# --- rules: how a value is read and checked ---------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """`parse(label, value)`: the value checked (text as typed or a TOML value), or a
    ConfigError naming `label`; `bounds`: the same in words, for help texts; `choices`: the
    fixed values it takes (the form's drop-down offers them)."""

    parse: Callable[[str, Any], Any]
    bounds: str = ""
    metavar: str = "VALUE"  # how the command line's help shows a value
    choices: tuple[str, ...] = ()


def whole(minimum: int) -> Rule:
    return Rule(lambda label, value: parse_int(label, value, minimum), f"at least {minimum}", "N")


def number(
    minimum: float | None = None, *, above: float | None = None, maximum: float | None = None
) -> Rule:
    words = [f"at least {minimum:g}"] if minimum is not None else []
    words += [f"above {above:g}"] if above is not None else []
    words += [f"at most {maximum:g}"] if maximum is not None else []

    def parse(label: str, value: Any) -> float:
        return parse_float(label, value, minimum, above=above, maximum=maximum)

    return Rule(parse, ", ".join(words), "X")


def choice(choices: tuple[str, ...]) -> Rule:
    def parse(label: str, value: Any) -> str:
        return parse_choice(label, value, choices)

    return Rule(parse, metavar="{" + ",".join(choices) + "}", choices=choices)


def _layers(label: str, value: Any):
    """Layer weights: `relu4_2=1,...` as typed, or a TOML table (or pairs)."""
    if isinstance(value, str):
        return parse_layer_weights(label, value)
    return normalise_layer_weights(label, value)


def _optimizer(label: str, value: Any) -> OptimizerSettings:
    """The optimiser's settings, or a TOML table of them laid over the defaults."""
    return optimizer_from_dict(value, OptimizerSettings()) if isinstance(value, dict) else value


PATH = Rule(parse_path, metavar="PATH")
BOOLEAN = Rule(parse_bool, metavar="BOOL")
SIZE = Rule(Size.parse, metavar="N|WxH")
LAYERS = Rule(_layers, metavar="L=W,...")


def _mask_paths(label: str, value: Any) -> tuple[Path, ...]:
    """Mask files: `m1.png,m2.png` as typed (comma-separated), or a list of paths."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    return parse_paths(label, value)


# RunConfig's parts (nst_engine/settings/parts.py): the run's images and output; how the
# picture looks; the plan of the optimisation; the machine it runs on; what it records.
PARTS = ("inputs", "look", "plan", "machine", "recording")

# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One run setting: the field `name` of RunConfig's part `part` (config.look.name), read
    and checked by `rule`."""

    name: str
    part: str  # one of PARTS
    rule: Rule
    section: str  # the form's section: Images, Look, Optimisation, Machine, Layers (or none)
    help: str = ""
    flag: str | None = ""  # "": --name-with-dashes; None: no flag of its own
    sweep: bool = True  # whether a sweep can vary it (by `sweep_name`)
    optional: bool = False  # None: not given (not checked)
    # Across settings (of the whole RunConfig), after every setting's own.
    check: Callable[[Any], None] | None = None
    words: str = ""  # its name in the form's errors ("" : the name, in words)

    @property
    def option(self) -> str | None:
        """The command-line flag, `--style-weight`; None where the setting has none."""
        if self.flag is None:
            return None
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def flag_help(self) -> str:
        """The flag's help: the row's, with the bounds of its values where there are some."""
        if not self.rule.bounds:
            return self.help
        return f"{self.help} ({self.rule.bounds})" if self.help else self.rule.bounds

    @property
    def preset(self) -> bool:
        """Whether a preset carries it: every part but the inputs (the run's images, output
        and overwrite stay the run's)."""
        return self.part != "inputs"

    @property
    def sweep_name(self) -> str:
        return self.name.replace("_", "-")

    def parse(self, label: str, value: Any) -> Any:
        return self.rule.parse(label, value)

    @property
    def label(self) -> str:
        return self.words or self.name.replace("_", " ")

    def read(self, text: str) -> Any:
        """A value as typed in the form (errors name it by its label); empty is None where
        the setting may be not given."""
        if self.optional and not text.strip():
            return None
        return self.parse(self.label, text)


_low, _high = STYLE_SCALE_RANGE
NOT_IN_THE_FORM = ""  # a setting of the command line and of settings.toml only

# In the order each part checks its own (which error a part with several bad values gives).
# `help`: the command line's (its bounds are added to it).
SETTINGS: tuple[Setting, ...] = (
    Setting("content", "inputs", PATH, "Images", flag=None),
    Setting("style", "inputs", PATH, "Images", flag=None),
    Setting("output", "inputs", PATH, "Images", flag="--output", sweep=False),
    Setting(
        "extra_styles", "inputs", Rule(parse_paths), "Images", flag=None, sweep=False
    ),
    # A preset's blend is kept only where it has one weight per style image (load_preset).
    Setting(
        "style_blend", "look", Rule(parse_blend, metavar="W,W,..."), "Images", check=blend_fits,
        help="one weight per STYLE image, in order, e.g. 0.7,0.3 (default: equal shares)",
    ),
    Setting(
        "style_masks", "inputs", Rule(_mask_paths, metavar="M1[,M2,...]"), "Images",
        sweep=False, check=masks_fit,
        help="one greyscale mask per STYLE image, in order (white: that style, black: none, "
        "grey: part); where no mask covers, the content stays",
    ),
    Setting(
        "optimizer",
        "plan",
        Rule(_optimizer, metavar="{" + ",".join(OPTIMIZERS) + "}", choices=OPTIMIZERS),
        "Optimisation",
    ),
    Setting("iterations", "plan", whole(1), "Optimisation"),
    Setting(
        "content_layers", "look", LAYERS, "Layers", sweep=False,
        check=some_layer("content_layers"),
        help="e.g. relu4_2=1; with --loss-scale normalized the weights are shares (only "
        "their ratios matter)",
    ),
    Setting(
        "style_layers", "look", LAYERS, "Layers", sweep=False, check=some_layer("style_layers"),
        help="e.g. relu1_1=1,relu2_1=1; shares as for --content-layers (relu1_1=2,relu2_1=1 "
        "gives relu1_1 two thirds of the style term); how strong the style is overall is "
        "--style-weight",
    ),
    Setting(
        "style_weight", "look", number(above=0.0, maximum=STYLE_WEIGHT_MAXIMUM), "Look",
        help="how strongly the style is applied: the style-to-content ratio on top of the "
        "layer weights; e.g. 10, more for more style",
    ),
    Setting(
        "tv_weight", "look", number(0.0), "Look", words="TV weight",
        help="total variation weight: smoothness, e.g. 0.1",
    ),
    Setting(
        "loss_scale", "look", choice(LOSS_SCALES), "Optimisation",
        help="normalized: each term over its own target's size, so weights of order one "
        "mean the same with any network weights and size; raw: the 2022 sums "
        "(reference-2022)",
    ),
    Setting(
        "style_loss", "look", choice(STYLE_LOSSES), "Look",
        help="style statistic: gram (Gram matrices, Gatys) or w2 (means and covariances, "
        "Wasserstein-2)",
    ),
    Setting(
        "preserve_color", "look", choice(COLOR_MODES), "Look",
        help="luminance: style the brightness only and keep the photo's colours; "
        "histogram: match the style's colours to the photo's before the run",
    ),
    Setting(
        "style_scale", "look", number(_low, maximum=_high), "Look", optional=True,
        help="the style image's size relative to the compute size: larger, larger strokes; "
        "instead of --style-size",
    ),
    Setting(
        "ema", "look", BOOLEAN, "Look",
        help="save and preview a moving average of the iterates (smoother, less noise)",
    ),
    Setting(
        "padding", "look", choice(PADDINGS), "Optimisation",
        help="padding of the first convolution (replicate: no dark rim at the borders)",
    ),
    Setting(
        "init",
        "look",
        Rule(lambda label, value: parse_init(value), metavar="NAME|PATH", choices=INITS),
        "Optimisation",
        help=", ".join(INITS) + ", or an image file to start from (a path or a gallery name)",
    ),
    Setting(
        "init_noise", "look", number(0.0), "Optimisation",
        help="noise strength for content+noise, in the image's 0-1 units",
    ),
    Setting("seed", "plan", whole(0), "Optimisation"),
    Setting(
        "size", "plan", SIZE, "Optimisation", words="compute size",
        help="compute size: longest side, or exact WxH",
    ),
    Setting(
        "output_size", "plan", SIZE, "Optimisation", sweep=False, optional=True,
        help="size of the saved image (default: compute size)",
    ),
    Setting(
        "style_size", "look", SIZE, "Look", optional=True, check=one_style_size,
        help="size the style image is seen at, absolute (default: longest side of the "
        "compute size); instead of --style-scale",
    ),
    Setting("pooling", "look", choice(POOLINGS), "Optimisation"),
    Setting(
        "device", "machine", Rule(lambda label, value: parse_device(value), metavar="NAME"),
        "Machine",
        sweep=False, help="auto, cpu, cuda or cuda:N",
    ),
    Setting(
        "weights",
        "look",
        Rule(
            lambda label, value: str(value).strip() or "auto", metavar="SOURCE",
            choices=WEIGHT_SOURCES,
        ),
        "Machine", help=", ".join(WEIGHT_SOURCES) + ", or a file",
    ),
    Setting(
        "snapshot_every", "recording", whole(0), NOT_IN_THE_FORM, sweep=False,
        help="also save the image every N iterations, into the run's folder; 0: never",
    ),
    Setting(
        "checkpoint_every", "recording", whole(0), NOT_IN_THE_FORM, sweep=False,
        help="save a checkpoint to resume from every N iterations, at most one per 30 s; "
        "default 100, 0: only when the run stops",
    ),
    Setting(
        "min_size", "plan", whole(0), "Optimisation",
        help="coarse to fine (0: off): start at this longest side, then sqrt(2) larger each "
        "scale up to --size, each scale starting from the last one's result; for large "
        "images, e.g. --size 2048 --min-size 256",
    ),
    Setting(
        "scale_iterations", "plan", whole(1), "Optimisation",
        help="coarse to fine: iterations at each scale before the last, the last one "
        "running --iterations; default 100",
    ),
    Setting(
        "precision", "machine", choice(PRECISIONS), "Machine",
        help="bf16: the network in bfloat16 (Gram matrices, losses and optimiser in fp32)",
    ),
    Setting(
        "memory_format", "machine", choice(MEMORY_FORMATS), "Machine",
        help="how images and features lie in memory",
    ),
    Setting(
        "cuda_graph", "machine", choice(CUDA_GRAPHS), "Machine",
        help="replay each iteration as one CUDA graph (GPU only)",
    ),
    Setting("overwrite", "inputs", BOOLEAN, "Images", sweep=False),
    Setting(
        "max_input_pixels", "machine", whole(1), NOT_IN_THE_FORM, flag="--max-pixels", sweep=False,
        help="refuse input images with more pixels than this; default 100000000",
    ),
)  # fmt: skip
BY_NAME = {setting.name: setting for setting in SETTINGS}
# Each part's rows, in the table's order.
ROWS_OF_PART = {part: tuple(s for s in SETTINGS if s.part == part) for part in PARTS}

# What a preset does not carry: the run's images and output (a preset holds settings only).
PRESET_LEAVES = tuple(setting.name for setting in SETTINGS if not setting.preset)

"""The flags of `nst-tui run` and how they become a RunConfig (preset first, flags over it)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from nst_engine.errors import ConfigError, InputImageError, about_setting
from nst_engine.running.outputs import default_output_path
from nst_engine.settings.config import (
    COLOR_MODES,
    CUDA_GRAPHS,
    INITS,
    LOSS_SCALES,
    MEMORY_FORMATS,
    OPTIMIZERS,
    PADDINGS,
    POOLINGS,
    PRECISIONS,
    STYLE_LOSSES,
    STYLE_SCALE_RANGE,
    RunConfig,
    output_follows_size,
    parse_blend,
    parse_init,
)
from nst_engine.settings.table import SETTINGS, Setting
from nst_engine.settings.values import (
    parse_bool,
    parse_choice,
    parse_float,
    parse_int,
)

# Flag -> (optimisers it applies to, parameter name, parser).
OPTIMIZER_FLAGS = {
    "beta1": (("adam",), "beta1"),
    "beta2": (("adam",), "beta2"),
    "eps": (("adam", "adadelta", "rmsprop"), "eps"),
    "rho": (("adadelta",), "rho"),
    "alpha": (("rmsprop",), "alpha"),
    "momentum": (("rmsprop", "sgd"), "momentum"),
    "nesterov": (("sgd",), "nesterov"),
    "history_size": (("lbfgs",), "history_size"),
}


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "content",
        nargs="?",
        metavar="CONTENT",
        help="the photo whose content is kept: a file, or a name from `nst-tui gallery` "
        "(a file of that name in the current folder wins)",
    )
    parser.add_argument(
        "style",
        nargs="*",
        metavar="STYLE",
        help="the picture whose style is taken: a file or a gallery name; several are "
        "blended (equal shares, or see --style-blend)",
    )
    parser.add_argument(
        "-o",
        "--output",
        help="result file, .png or .jpg (default: CONTENT-STYLE.png here, after the first STYLE)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="use the built-in demo pair for content and style"
    )
    parser.add_argument(
        "--preset",
        help="preset name (see `nst-tui presets`), TOML file, or an image made by nst-tui",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the output file if it exists"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run even when the estimate says the device has too little free memory",
    )
    settings = parser.add_argument_group("settings (override the preset)")
    settings.add_argument("--iterations", metavar="N")
    settings.add_argument("--optimizer", metavar="NAME", help=", ".join(OPTIMIZERS))
    settings.add_argument("--lr", metavar="X", help="learning rate, in pixel units (0-255)")
    settings.add_argument(
        "--size", metavar="N|WxH", help="compute size: longest side, or exact WxH"
    )
    settings.add_argument(
        "--output-size", metavar="N|WxH", help="size of the saved image (default: compute size)"
    )
    settings.add_argument(
        "--min-size",
        metavar="N",
        help="coarse to fine (0: off): start at this longest side, then sqrt(2) larger each "
        "scale up to --size, each scale starting from the last one's result; for large "
        "images, e.g. --size 2048 --min-size 256",
    )
    settings.add_argument(
        "--scale-iterations",
        metavar="N",
        help="coarse to fine: iterations at each scale before the last (the last one runs "
        "--iterations; default 100)",
    )
    settings.add_argument(
        "--content-layers",
        metavar="L=W,...",
        help="e.g. relu4_2=1; with --loss-scale normalized the weights are shares (only "
        "their ratios matter)",
    )
    settings.add_argument(
        "--style-layers",
        metavar="L=W,...",
        help="e.g. relu1_1=1,relu2_1=1; shares as for --content-layers (relu1_1=2,relu2_1=1 "
        "gives relu1_1 two thirds of the style term); how strong the style is overall is "
        "--style-weight",
    )
    settings.add_argument(
        "--tv-weight", metavar="X", help="total variation weight: smoothness (e.g. 0.1)"
    )
    settings.add_argument(
        "--init",
        metavar="NAME|PATH",
        help=", ".join(INITS) + ", or an image file to start from (a path or a gallery name)",
    )
    settings.add_argument(
        "--init-noise", metavar="X", help="noise strength for content+noise (0-1)"
    )
    settings.add_argument("--seed", metavar="N")
    settings.add_argument("--pooling", metavar="NAME", help=", ".join(POOLINGS))
    settings.add_argument(
        "--padding",
        metavar="{" + ",".join(PADDINGS) + "}",
        help="padding of the first convolution (replicate: no dark rim at the borders)",
    )
    settings.add_argument(
        "--loss-scale",
        metavar="{" + ",".join(LOSS_SCALES) + "}",
        help="normalized: each term over its own target's size, so weights of order one "
        "mean the same with any network weights and size; raw: the 2022 sums "
        "(reference-2022)",
    )
    settings.add_argument(
        "--ema",
        action=argparse.BooleanOptionalAction,
        help="save and preview a moving average of the iterates (smoother, less noise)",
    )
    settings.add_argument("--device", metavar="NAME", help="auto, cpu, cuda or cuda:N")
    settings.add_argument(
        "--weights", metavar="SOURCE", help="auto, oxford, torchvision, random, or a file"
    )
    settings.add_argument(
        "--snapshot-every",
        metavar="N",
        help="also save the image every N iterations (into the run's folder)",
    )
    settings.add_argument(
        "--checkpoint-every",
        metavar="N",
        help="save a checkpoint to resume from every N iterations, at most one per 30 s "
        "(default 100; 0: only when the run stops)",
    )
    settings.add_argument(
        "--max-pixels", metavar="N", help="refuse input images with more pixels (default 100000000)"
    )
    style = parser.add_argument_group("style (override the preset)")
    style.add_argument(
        "--style-weight",
        metavar="X",
        help="how strongly the style is applied: the style-to-content ratio on top of the "
        "layer weights (e.g. 10; more: more style)",
    )
    style.add_argument(
        "--style-blend",
        metavar="W,W,...",
        help="one weight per STYLE image, in order, e.g. 0.7,0.3 (default: equal shares)",
    )
    low, high = STYLE_SCALE_RANGE
    style.add_argument(
        "--style-scale",
        metavar="X",
        help=f"the style image's size relative to the compute size ({low:g}-{high:g}): "
        "larger, larger strokes; instead of --style-size",
    )
    style.add_argument(
        "--style-size",
        metavar="N|WxH",
        help="size the style image is seen at, absolute (default: longest side of the "
        "compute size); instead of --style-scale",
    )
    style.add_argument(
        "--style-loss",
        metavar="{" + ",".join(STYLE_LOSSES) + "}",
        help="style statistic: gram (Gram matrices, Gatys) or w2 (means and covariances, "
        "Wasserstein-2)",
    )
    style.add_argument(
        "--preserve-color",
        metavar="{" + ",".join(COLOR_MODES) + "}",
        help="luminance: style the brightness only and keep the photo's colours; "
        "histogram: match the style's colours to the photo's before the run",
    )
    speed = parser.add_argument_group(
        "speed switches (auto picks what measured fastest on the device)"
    )
    speed.add_argument(
        "--precision",
        metavar="{" + ",".join(PRECISIONS) + "}",
        help="bf16: the network in bfloat16 (Gram matrices, losses and optimiser in fp32)",
    )
    speed.add_argument(
        "--memory-format",
        metavar="{" + ",".join(MEMORY_FORMATS) + "}",
        help="how images and features lie in memory",
    )
    speed.add_argument(
        "--cuda-graph",
        metavar="{" + ",".join(CUDA_GRAPHS) + "}",
        help="replay each iteration as one CUDA graph (GPU only)",
    )
    optimizer = parser.add_argument_group("optimiser parameters (for the chosen optimiser)")
    optimizer.add_argument("--beta1", metavar="X", help="Adam")
    optimizer.add_argument("--beta2", metavar="X", help="Adam")
    optimizer.add_argument("--eps", metavar="X", help="Adam, Adadelta, RMSprop")
    optimizer.add_argument("--rho", metavar="X", help="Adadelta")
    optimizer.add_argument("--alpha", metavar="X", help="RMSprop")
    optimizer.add_argument("--momentum", metavar="X", help="RMSprop, SGD")
    optimizer.add_argument("--nesterov", metavar="BOOL", help="SGD")
    optimizer.add_argument("--history-size", metavar="N", help="L-BFGS")


def config_from_arguments(arguments: argparse.Namespace) -> RunConfig:
    """The preset (default: `default`) with every given flag laid over it."""
    from nst_engine.settings.presets import load_preset

    content, styles = _input_paths(arguments)
    # The preset's blend is kept when it has one weight per style image given (see load_preset).
    base = RunConfig(content=content, style=styles[0], extra_styles=styles[1:])
    config = load_preset(arguments.preset or "default", base)
    changes: dict = {
        "content": content,
        "style": styles[0],
        "extra_styles": styles[1:],
        "style_blend": _style_blend(arguments, config, len(styles)),
        "overwrite": arguments.overwrite,
    }
    changes.update(_table_flags(arguments))
    if arguments.init is not None:
        with about_setting("init"):
            changes["init"] = init_from_argument(arguments.init)
    if arguments.ema is not None:
        changes["ema"] = arguments.ema
    _one_style_size(changes)
    output_follows_size(changes)  # --size without --output-size: not the preset's output size
    changes["optimizer"] = _optimizer_from_arguments(arguments, config)
    config = config.replace(**changes)
    output = (
        Path(arguments.output).expanduser()
        if arguments.output
        else default_output_path(
            config.content, config.style, runs_root=getattr(arguments, "runs_dir", None)
        )
    )
    if not output.suffix:
        output = output.with_suffix(".png")
    return config.replace(output=output)


# Settings with a flag read by their own code: paths, the blend, the optimiser (its name
# and parameters), init (an image must exist), ema (--ema/--no-ema), overwrite.
OWN_FLAGS = ("output", "overwrite", "style_blend", "optimizer", "init", "ema")


def flag_destination(setting: Setting) -> str:
    """Where argparse puts a setting's flag: `--max-pixels` in `max_pixels`."""
    assert setting.option is not None
    return setting.option.removeprefix("--").replace("-", "_")


def _table_flags(arguments: argparse.Namespace) -> dict:
    """The settings table's flags given, each read by its setting's rule (named by its flag)."""
    changes = {}
    for setting in SETTINGS:
        if setting.option is None or setting.name in OWN_FLAGS:
            continue
        value = getattr(arguments, flag_destination(setting))
        if value is not None:
            with about_setting(setting.name):
                changes[setting.name] = setting.parse(setting.option, value)
    return changes


def _one_style_size(changes: dict) -> None:
    """--style-size and --style-scale are two ways to say one thing: refuse both together,
    and let the one given replace the other of the preset."""
    if "style_size" in changes and "style_scale" in changes:
        raise ConfigError(
            "--style-size and --style-scale are both given: choose one (--style-size is "
            "absolute, --style-scale relative to the compute size)"
        )
    if "style_size" in changes:
        changes["style_scale"] = None
    elif "style_scale" in changes:
        changes["style_size"] = None


def _style_blend(arguments: argparse.Namespace, config: RunConfig, count: int) -> tuple:
    """--style-blend's weights, one per style image; without the flag, the preset's blend
    (load_preset kept it only if it fits the style images given)."""
    if arguments.style_blend is not None:
        with about_setting("style_blend"):
            blend = parse_blend("--style-blend", arguments.style_blend)
        if len(blend) != count:
            raise ConfigError(
                f"--style-blend has {_counted(len(blend), 'weight')} for "
                f"{_counted(count, 'style image')}: give one weight per style image, in order",
                setting="style_blend",
            )
        return blend
    return config.style_blend


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _input_paths(arguments: argparse.Namespace) -> tuple[Path, tuple[Path, ...]]:
    """The content image and the style images (at least one), each found or refused now."""
    if arguments.demo:
        if arguments.content or arguments.style:
            raise ConfigError("--demo uses the built-in pair; give either --demo or CONTENT STYLE")
        from nst_engine.settings.gallery import demo_pair

        content, style = demo_pair()
        return content, (style,)
    if not arguments.content or not arguments.style:
        raise ConfigError("give a CONTENT and a STYLE image (or --demo for the built-in pair)")
    several = len(arguments.style) > 1
    return input_path(arguments.content, "content image"), tuple(
        input_path(text, f"style image {number}" if several else "style image")
        for number, text in enumerate(arguments.style, start=1)
    )


def input_path(text: str, role: str) -> Path:
    """The image a CONTENT or STYLE argument names: a file, or else a gallery name (a file
    here wins). A missing one is refused now, before the output is looked at: a missing
    input is the more basic mistake."""
    from nst_engine.settings.gallery import resolve_image_path
    from nst_tui.cli.suggestions import did_you_mean_image

    path = resolve_image_path(text)
    if path.exists():
        return path
    raise InputImageError(f"{role} '{text}' does not exist{did_you_mean_image(text)}")


def init_from_argument(text: str) -> str:
    """--init: one of INITS, or the image to start from (a file, or else a gallery name), which
    must exist: refused now, before torch loads, like a missing CONTENT or STYLE."""
    from nst_engine.settings.gallery import closest_gallery_name, resolve_image_path

    word = text.strip()
    if word.lower() in INITS:
        return word.lower()
    path = resolve_image_path(word)
    if word and path.exists():
        return str(path)
    try:
        parse_init(word)  # a word that looks like no path is a mistyped choice...
    except ConfigError as error:
        if closest_gallery_name(word) is None:  # ...or a misspelt gallery name
            raise ConfigError(f"--{error.message}") from None
    return str(input_path(word, "init image"))


def _optimizer_from_arguments(arguments: argparse.Namespace, config: RunConfig):
    settings = config.optimizer
    if arguments.optimizer is not None:
        with about_setting("optimizer"):
            name = parse_choice("--optimizer", arguments.optimizer, OPTIMIZERS)
        settings = dataclasses.replace(settings, name=name)
    if arguments.lr is not None:
        settings = dataclasses.replace(settings, lr=parse_float("--lr", arguments.lr, above=0.0))
    for flag, (applies_to, parameter) in OPTIMIZER_FLAGS.items():
        value = getattr(arguments, flag)
        if value is None:
            continue
        option = "--" + flag.replace("_", "-")
        if settings.name not in applies_to:
            raise ConfigError(
                f"{option} applies to {', '.join(applies_to)}; the optimizer is {settings.name}"
            )
        if parameter == "history_size":
            value = parse_int(option, value, 1)
        elif parameter == "nesterov":
            value = parse_bool(option, value)
        else:
            value = parse_float(option, value, 0.0)
        own = getattr(settings, settings.name)
        try:
            own = dataclasses.replace(own, **{parameter: value})
        except ConfigError as error:
            raise ConfigError(f"{option}: {error.message}") from None
        settings = dataclasses.replace(settings, **{settings.name: own})
    return settings

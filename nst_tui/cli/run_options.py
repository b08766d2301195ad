"""The flags of `nst-tui run` and how they become a RunConfig (preset first, flags over it)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from nst_engine.errors import ConfigError, InputImageError, about_setting
from nst_engine.running.outputs import default_output_path
from nst_engine.settings.config import (
    INITS,
    OPTIMIZERS,
    RunConfig,
    output_follows_size,
    parse_blend,
    parse_init,
)
from nst_engine.settings.optimizer_settings import (
    OPTIMIZER_LABELS,
    OPTIMIZER_PARAMETER_NAMES,
    optimizers_with,
    parse_learning_rate,
    read_parameter,
)
from nst_engine.settings.table import BY_NAME, SETTINGS, Setting
from nst_engine.settings.values import (
    parse_choice,
)

# The settings table's flags in `--help`, by group, in order (their help: the table's).
SETTINGS_GROUP = "settings (override the preset)"
FLAG_GROUPS = {
    SETTINGS_GROUP: (
        "iterations", "optimizer", "lr", "size", "output_size", "min_size",
        "scale_iterations", "content_layers", "style_layers", "tv_weight", "init",
        "init_noise", "seed", "pooling", "padding", "loss_scale", "ema", "device", "weights",
        "snapshot_every", "checkpoint_every", "max_input_pixels",
    ),
    "style (override the preset)": (
        "style_weight", "style_blend", "style_scale", "style_size", "style_loss",
        "preserve_color",
    ),
    "speed switches (auto picks what measured fastest on the device)": (
        "precision", "memory_format", "cuda_graph",
    ),
}  # fmt: skip


def _add_table_flag(group, setting: Setting) -> None:
    if setting.name == "ema":  # --ema and --no-ema
        group.add_argument("--ema", action=argparse.BooleanOptionalAction, help=setting.flag_help)
        return
    group.add_argument(setting.option, metavar=setting.rule.metavar, help=setting.flag_help or None)


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
    groups = {title: parser.add_argument_group(title) for title in FLAG_GROUPS}
    for title, names in FLAG_GROUPS.items():
        for name in names:
            if name == "lr":  # the optimiser's own setting, not a row of the table
                groups[title].add_argument(
                    "--lr", metavar="X", help="learning rate, in pixel units (0-255)"
                )
            else:
                _add_table_flag(groups[title], BY_NAME[name])
    placed = {name for names in FLAG_GROUPS.values() for name in names}
    for setting in SETTINGS:  # a new row's flag, until it is given its place above
        if setting.option is not None and setting.name not in placed | {"output", "overwrite"}:
            _add_table_flag(groups[SETTINGS_GROUP], setting)
    optimizer = parser.add_argument_group("optimiser parameters (for the chosen optimiser)")
    metavars = {"nesterov": "BOOL", "history_size": "N"}
    for parameter in OPTIMIZER_PARAMETER_NAMES:  # each with the optimisers that have it
        optimizer.add_argument(
            "--" + parameter.replace("_", "-"),
            metavar=metavars.get(parameter, "X"),
            help=", ".join(OPTIMIZER_LABELS[name] for name in optimizers_with(parameter)),
        )


def config_from_arguments(arguments: argparse.Namespace) -> RunConfig:
    """The preset (default: `default`) with every given flag laid over it."""
    from nst_engine.settings.presets import load_preset

    content, styles = _input_paths(arguments)
    # The preset's blend is kept when it has one weight per style image given (see load_preset).
    base = RunConfig.from_flat(content=content, style=styles[0], extra_styles=styles[1:])
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
            config.inputs.content,
            config.inputs.style,
            runs_root=getattr(arguments, "runs_dir", None),
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
    return config.look.style_blend


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
    settings = config.plan.optimizer
    if arguments.optimizer is not None:
        with about_setting("optimizer"):
            name = parse_choice("--optimizer", arguments.optimizer, OPTIMIZERS)
        settings = dataclasses.replace(settings, name=name)
    if arguments.lr is not None:
        with about_setting("lr"):
            lr = parse_learning_rate("--lr", arguments.lr)
        settings = dataclasses.replace(settings, lr=lr)
    for parameter in OPTIMIZER_PARAMETER_NAMES:
        value = getattr(arguments, parameter)
        if value is None:
            continue
        option = "--" + parameter.replace("_", "-")
        value = read_parameter(settings, parameter, option, value)
        try:
            own = dataclasses.replace(settings.parameters, **{parameter: value})
        except ConfigError as error:
            raise ConfigError(f"{option}: {error.message}") from None
        settings = dataclasses.replace(settings, **{settings.name: own})
    return settings


def add_runs_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir",
        metavar="FOLDER",
        help="where run folders are kept (default: NST_TUI_RUNS_DIR, else the user data "
        "folder's runs)",
    )

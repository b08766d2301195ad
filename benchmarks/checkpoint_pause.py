"""The pause a checkpoint makes in a run: with L-BFGS's history and without it.

A run stops while its checkpoint is copied to the host and written (nst_engine/store/recorder.py,
runs.py); with L-BFGS the history is 2 x (history + 1) image-sized vectors. This builds the
device L-BFGS's state for an image of `--size` px square (two steps on a random gradient:
the history is allocated whole at the first) and times what the run loop does at a
checkpoint, through the same calls (Stepper.optimizer_state, Recorder.checkpoint into a
run folder), with the history kept (as a stop's checkpoint where it fits) and left out (a
periodic one above nst_engine/running/checkpointing.py PERIODIC_HISTORY_BYTES). Alternates the two,
`--repeats` times each, and prints each pause, the checkpoint's size and the medians.

    python benchmarks/checkpoint_pause.py [--size 1024] [--history 100] [--repeats 3]
        [--device cpu] [--folder DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from nst_engine.optimise.stepper import Stepper, Switches
from nst_engine.settings.config import OptimizerSettings, RunConfig
from nst_engine.settings.optimizer_settings import LBFGSSettings
from nst_engine.store.recorder import Recorder
from nst_engine.store.runs import RunFolder


def lbfgs_stepper(size: int, history: int, device: torch.device) -> Stepper:
    """A Stepper whose L-BFGS has taken two steps on an image of size x size px."""
    image = torch.rand(1, 3, size, size, device=device, requires_grad=True)
    target = torch.rand_like(image)

    def loss_function(picture):
        return {"total": (picture - target).pow(2).sum()}

    settings = OptimizerSettings(name="lbfgs", lbfgs=LBFGSSettings(history_size=history))
    stepper = Stepper(loss_function, image, settings, Switches(False, False, False))
    for _ in range(2):
        stepper.step()
    return stepper


def pause(recorder: Recorder, stepper: Stepper, keep_history: bool, device) -> float:
    """Seconds the run loop would spend on one checkpoint."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    recorder.checkpoint(
        {
            "completed": 2,
            "total": 10,
            "scale": 1,
            "local": 2,
            "image": stepper.image,
            "optimizer": stepper.optimizer_state(keep_history),
            "seconds": 0.0,
        }
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--history", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--folder", type=Path, help="where the run folder goes (default: /tmp)")
    arguments = parser.parse_args()
    device = torch.device(arguments.device)
    stepper = lbfgs_stepper(arguments.size, arguments.history, device)
    history_mb = stepper.history_bytes() / 2**20
    print(
        f"checkpoint pause at {arguments.size}x{arguments.size} px, L-BFGS history "
        f"{arguments.history} ({history_mb:.0f} MB of pairs), on {device}, torch {torch.__version__}"
    )
    with tempfile.TemporaryDirectory(dir=arguments.folder) as scratch:
        config = RunConfig.from_flat(iterations=10, optimizer=OptimizerSettings(name="lbfgs"))
        folder = RunFolder.create(config, Path(scratch))
        recorder = Recorder(folder)
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(arguments.repeats):
            for keep in (True, False):
                seconds = pause(recorder, stepper, keep, device)
                times[keep].append(seconds)
                size_mb = folder.checkpoint_path.stat().st_size / 2**20
                kind = "with history   " if keep else "without history"
                print(f"  {kind}: {seconds:7.3f} s, checkpoint {size_mb:8.1f} MB", flush=True)
    with_history, without = statistics.median(times[True]), statistics.median(times[False])
    print(
        f"median pause: with history {with_history:.3f} s, without {without:.3f} s "
        f"({with_history / max(without, 1e-9):.0f}x)"
    )


if __name__ == "__main__":
    main()

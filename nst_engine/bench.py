"""`nst-tui bench`: milliseconds per iteration and peak memory at several sizes.

Each size runs in a fresh process (so its peak memory is its own) through the real
`run()`, on the built-in demo pair, timing the iterations after a warm-up. Random weights
by default: the same computation as trained weights, without needing them. It measures
and prints; it passes or fails nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512], metavar="N")
    parser.add_argument(
        "--iterations", type=int, default=10, metavar="N", help="timed iterations per size"
    )
    parser.add_argument(
        "--warmup", type=int, default=3, metavar="N", help="untimed iterations first"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--weights", default="random", help="random (default), oxford, ...")
    parser.add_argument("--optimizer", default="lbfgs")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")


def demo_config(
    output: Path,
    size: int,
    iterations: int,
    device: str,
    weights: str = "random",
    optimizer: str | dict = "lbfgs",
    **changes,
):
    """Settings of a benchmark run: the built-in demo pair at `size` px (longest side)."""
    from nst_engine.config import RunConfig
    from nst_engine.gallery import demo_pair

    content, style = demo_pair()
    return RunConfig.from_dict(
        {
            "size": size,
            "iterations": iterations,
            "device": device,
            "weights": weights,
            "optimizer": optimizer if isinstance(optimizer, dict) else {"name": optimizer},
            **changes,
        },
        base=RunConfig(content=content, style=style, output=output),
    )


def measure(
    size: int, iterations: int, warmup: int, device: str, weights: str, optimizer: str
) -> dict:
    """One size, in this process: ms per iteration and peak memory."""
    import resource

    import torch

    from nst_engine.events import Finished, Started, Step
    from nst_engine.transfer import run

    baseline_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as folder:
        config = demo_config(
            Path(folder) / "bench.png",
            size,
            warmup + iterations,
            device,
            weights,
            {"name": optimizer, "lr": 1.0},
        )
        started = timed_from = None
        for event in run(config):
            if isinstance(event, Started):
                started = event
                if started.device.startswith("cuda"):
                    torch.cuda.reset_peak_memory_stats()
            elif isinstance(event, Step) and event.index == warmup:
                event.loss_values()  # wait for the device before starting the clock
                timed_from = time.perf_counter()
            elif isinstance(event, Step) and event.index == warmup + iterations:
                event.loss_values()
                seconds = time.perf_counter() - timed_from
            elif isinstance(event, Finished):
                break
    assert started is not None
    result = {
        "size": size,
        "compute_size": "x".join(map(str, started.compute_size)),
        "device": started.device,
        "ms_per_iteration": seconds / iterations * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "baseline_rss_mb": baseline_rss_mb,
    }
    if started.device.startswith("cuda"):
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def run_bench(arguments: argparse.Namespace) -> int:
    results = []
    context = multiprocessing.get_context("spawn")
    print(
        f"nst-tui bench: {arguments.optimizer}, {arguments.weights} weights, {arguments.iterations} timed "
        f"iterations after {arguments.warmup} warm-up, {platform.processor() or platform.machine()}"
    )
    for size in arguments.sizes:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            result = pool.submit(
                measure,
                size,
                arguments.iterations,
                arguments.warmup,
                arguments.device,
                arguments.weights,
                arguments.optimizer,
            ).result()
        results.append(result)
        print(format_row(result, results[0]), flush=True)
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def format_row(result: dict, first: dict) -> str:
    ratio = result["ms_per_iteration"] / first["ms_per_iteration"]
    memory = (
        f"peak GPU {result['peak_cuda_mb']:.0f} MB"
        if "peak_cuda_mb" in result
        else f"peak RSS {result['peak_rss_mb']:.0f} MB (with torch loaded, before the run: {result['baseline_rss_mb']:.0f} MB)"
    )
    return (
        f"{result['size']:>5} px ({result['compute_size']:>9}) on {result['device']}: "
        f"{result['ms_per_iteration']:8.1f} ms/iteration  {ratio:5.2f}x the {first['size']} px time  {memory}"
    )

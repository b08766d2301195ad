"""The device check's headline: steady-state ms per iteration, CUDA graph on and off.

For each size (the demo job's 512x342, then 512x512 and 1024x1024) and optimiser (L-BFGS,
then Adam, each with its `auto` precision: float32 for L-BFGS, bf16 for Adam on a GPU), the
demo job runs twice through the real `run()`, with `cuda_graph` on and off, all in this
process (one CUDA start for all): nst_engine.cost.bench.measure, which warms up (L-BFGS's
history full), times spans between device syncs and takes their median. Each row says
whether the iterations really went through a graph (`graphing`) and how far the loss fell
over the timed spans (a graph that replays nothing leaves it flat). Rows print as they
come, the goals' sizes first; `--json FILE` writes them all.

    python benchmarks/gpu_headline.py [--device cuda] [--sizes 512 512x512 1024x1024]
        [--optimizers lbfgs adam] [--graphs on off] [--iterations 20] [--spans 3]
        [--set KEY=VALUE ...] [--json FILE]

The goals (issue 20), on an H100 or H200: 512x342 L-BFGS at most 4 ms per iteration and Adam
(bf16) at most 2.5 ms. Random weights: the same computation as trained ones. A benchmark: it
measures and prints, it does not judge.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from nst_engine.cost.bench import measure, merge_settings, parse_settings
from nst_engine.store.safe_files import write_atomically


def size_settings(size: str) -> tuple[int, dict]:
    """`512` (the demo pair's shape, longest side 512) or `512x512` (that exact size)."""
    width, _, height = size.partition("x")
    if not height:
        return int(width), {}
    return max(int(width), int(height)), {"size": size}


def row(result: dict, graph: str) -> str:
    first, last = result["loss_first"], result["loss_last"]
    fell = (first - last) / abs(first) if first else float("nan")
    memory = f"{result['peak_cuda_mb']:.0f} MB" if "peak_cuda_mb" in result else "-"
    return (
        f"{result['compute_size']:>9}  {result['optimizer']:5}  graph={graph:3}  "
        f"graphing={result['graphing']!s:5}  {result['ms_per_iteration']:8.2f} ms/it  "
        f"(spans {min(result['span_ms']):.2f}-{max(result['span_ms']):.2f})  "
        f"loss fell {fell:9.2e} over the spans (relative)  peak {memory}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--sizes", nargs="+", default=["512", "512x512", "1024x1024"])
    parser.add_argument("--optimizers", nargs="+", default=["lbfgs", "adam"])
    parser.add_argument("--graphs", nargs="+", default=["on", "off"])
    parser.add_argument("--iterations", type=int, default=20, help="per timed span")
    parser.add_argument("--spans", type=int, default=3)
    parser.add_argument("--warmup", type=int, help="default: L-BFGS history + 6, else 5")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", type=Path, metavar="FILE")
    arguments = parser.parse_args()
    extra = parse_settings(arguments.set)
    print(
        f"gpu_headline: {arguments.device}, torch {torch.__version__}, median of "
        f"{arguments.spans} spans of {arguments.iterations} iterations; settings {extra or 'default'}",
        flush=True,
    )
    results = []
    for size in arguments.sizes:
        longest, size_change = size_settings(size)
        for optimizer in arguments.optimizers:
            for graph in arguments.graphs:
                settings = merge_settings(merge_settings(extra, size_change), {"cuda_graph": graph})
                started = time.perf_counter()
                result = measure(
                    longest,
                    arguments.iterations,
                    arguments.spans,
                    arguments.warmup,
                    arguments.device,
                    "random",
                    optimizer,
                    settings,
                )
                result["graph"] = graph
                result["wall_seconds"] = time.perf_counter() - started
                results.append(result)
                print(row(result, graph), flush=True)
                if arguments.json:  # after each row: a run cut short keeps what it measured
                    write_atomically(
                        arguments.json, (json.dumps(results, indent=1) + "\n").encode()
                    )


if __name__ == "__main__":
    main()

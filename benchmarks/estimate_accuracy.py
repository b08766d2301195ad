"""How close the cost estimate under Run comes to real runs on this machine.

    python benchmarks/estimate_accuracy.py --sizes 128 256 512 --iterations 10

Measures the device as the app does (nst_engine.cost.rates.measure, in a fresh process), then
runs each size in a fresh process through `nst_engine.cost.bench.measure` (the real run, random
weights, the demo pair, L-BFGS), and prints per size: the estimated and measured seconds
per iteration (from the measurement, and from the figures of the other sizes' runs, as the
app does once runs are recorded) and the estimated and measured peak memory (the process's
peak RSS over its RSS with torch loaded, before the run). It measures and prints only.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def calibrate(device: str):
    from nst_engine.cost.rates import measure

    return measure(device)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    arguments = parser.parse_args()

    from nst_engine.cost.bench import demo_config, measure
    from nst_engine.cost.estimate import iteration_flops, memory_bytes, workload_from_sizes
    from nst_engine.cost.rates import DeviceProfile, RunRecord

    context = multiprocessing.get_context("spawn")

    def fresh(function, *args):
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(function, *args).result()

    print(f"load average before: {os.getloadavg()[0]:.1f}; device {arguments.device}")
    timing = fresh(calibrate, arguments.device)
    print(f"measured: {timing.overhead * 1000:.1f} ms + {timing.per_gflop * 1000:.2f} ms/GFLOP")
    rows = []
    total = arguments.warmup + arguments.iterations
    for size in arguments.sizes:
        result = fresh(
            measure,
            size,
            arguments.iterations,
            arguments.warmup,
            arguments.device,
            "random",
            "lbfgs",
        )
        config = demo_config(Path("unused.png"), size, total, arguments.device)
        width, height = map(int, result["compute_size"].split("x"))
        work = workload_from_sizes(config, (width, height), (width, width))
        # The style image (the demo pair's) is seen at the compute size's longest side.
        rows.append((size, work, result))
    records = [
        RunRecord(iteration_flops(work), result["ms_per_iteration"] / 1000)
        for _, work, result in rows
    ]
    print(
        f"{'size':>5} {'compute':>9}  {'measured':>9} {'est.(here)':>10} {'est.(runs)':>10}"
        f"  {'peak MB':>8} {'est. MB':>8}"
    )
    for index, (size, work, result) in enumerate(rows):
        flops = iteration_flops(work)
        from_measurement = DeviceProfile("", "", timing).seconds_per_iteration(flops)
        others = tuple(record for other, record in enumerate(records) if other != index)
        from_runs = DeviceProfile("", "", timing, others).seconds_per_iteration(flops)
        measured = result["ms_per_iteration"] / 1000
        peak = result["peak_rss_mb"] - result["baseline_rss_mb"]
        estimated_mb = memory_bytes(work) / 2**20
        print(
            f"{size:>5} {result['compute_size']:>9}  {measured * 1000:7.0f}ms "
            f"{from_measurement * 1000:8.0f}ms {from_runs * 1000:8.0f}ms"
            f"  {peak:8.0f} {estimated_mb:8.0f}"
            f"   time x{from_measurement / measured:.2f} / x{from_runs / measured:.2f},"
            f" memory x{estimated_mb / peak:.2f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

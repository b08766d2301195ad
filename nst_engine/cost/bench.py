"""`nst-tui bench`: steady-state milliseconds per iteration, peak memory and FLOP rate.

Each size runs in a fresh process (so its peak memory is its own) through the real `run()`,
on the built-in demo pair. The first iterations are not timed: L-BFGS's cost per iteration
grows until its history is full (history_size + 1 iterations), and the first ones of any
optimiser pay for allocations and caches. After that warm-up, several spans of iterations
are timed, each between two device syncs, and their median is the figure (one span slowed
by another job on the machine does not move it). Random weights by default: the same
computation as trained weights, without needing them. It measures and prints; it passes or
fails nothing.

`--set KEY=VALUE` passes any run setting through (`--set precision=bf16`,
`--set optimizer.lbfgs.history_size=20`); `--compare KEY=V1,V2` runs each value in its own
fresh process, in turn, and prints each one's time against the first's. `--pastiche VENV`
runs a whole job through `nst-tui run` and through pastiche (installed in VENV), alternating,
and prints the ratio of their wall times.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nst_engine.errors import ConfigError
from nst_engine.store import safe_files

# Everything else is imported where it is used: `nst-tui` builds this command's parser on
# every start, the app's and `nst-tui run`'s too, and multiprocessing, concurrent.futures
# and statistics cost them about 0.1 s.

WARMUP_EXTRA = 5  # iterations past a full L-BFGS history (or, for the others, the whole warm-up)


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes", type=int, nargs="+", metavar="N", help="longest sides (default 128 256 512)"
    )
    parser.add_argument(
        "--iterations", type=int, default=5, metavar="N", help="iterations per timed span"
    )
    parser.add_argument("--spans", type=int, default=5, metavar="N", help="timed spans")
    parser.add_argument(
        "--warmup",
        type=int,
        metavar="N",
        help=f"untimed iterations first (default: L-BFGS history + {WARMUP_EXTRA + 1}, "
        f"else {WARMUP_EXTRA})",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--weights", default="random", help="random (default), oxford, ...")
    parser.add_argument("--optimizer", default="lbfgs")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any run setting, e.g. precision=bf16 or optimizer.lbfgs.history_size=20",
    )
    parser.add_argument(
        "--compare",
        metavar="KEY=V1,V2",
        help="run each value of a setting in turn, each in a fresh process",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, metavar="N", help="--compare/--pastiche: rounds"
    )
    parser.add_argument(
        "--pastiche",
        type=Path,
        metavar="VENV",
        help="time whole jobs (--sizes, default 256) against pastiche installed in VENV",
    )
    parser.add_argument(
        "--job-iterations", type=int, default=60, metavar="N", help="--pastiche: job length"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")


# --- what is run --------------------------------------------------------------------------------


def parse_settings(pairs: list[str]) -> dict:
    """`["precision=bf16", "optimizer.lbfgs.history_size=5"]` to a nested settings table."""
    settings: dict = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise ConfigError(f"--set takes KEY=VALUE, got '{pair}'")
        *tables, name = key.strip().split(".")
        table = settings
        for part in tables:
            table = table.setdefault(part, {})
        table[name] = value.strip()
    return settings


def merge_settings(base: dict, changes: dict) -> dict:
    """`changes` laid over `base`, table by table (neither is changed)."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = merge_settings(merged[key], value)
        merged[key] = value
    return merged


def parse_compare(text: str) -> tuple[str, list[str]]:
    key, _, values = text.partition("=")
    choices = [value.strip() for value in values.split(",") if value.strip()]
    if not key.strip() or len(choices) < 2:
        raise ConfigError(f"--compare takes KEY=V1,V2[,...] (two values at least), got '{text}'")
    return key.strip(), choices


def compare_plan(values: list[str], rounds: int) -> list[str]:
    """Each value in turn, `rounds` times: a drift in the machine's speed hits all alike."""
    return [value for _ in range(rounds) for value in values]


def bench_config(output, size, iterations, device, weights, optimizer, settings: dict):
    """The run measured: the built-in demo pair at `size` px, then `settings` laid over."""
    from nst_engine.settings.config import RunConfig
    from nst_engine.settings.gallery import demo_pair

    content, style = demo_pair()
    base = RunConfig.from_dict(
        {
            "size": size,
            "iterations": iterations,
            "device": device,
            "weights": weights,
            "optimizer": {"name": optimizer},
        },
        base=RunConfig.from_flat(content=content, style=style, output=output),
    )
    return RunConfig.from_dict(settings, base=base, source="--set")


def demo_config(
    output, size, iterations, device="auto", weights="random", optimizer="lbfgs", **changes
):
    """The demo pair's run for a benchmark: bench_config's, with `optimizer` a name or a
    table ({"name": "adam", "lr": 5.0}) and any other setting as a keyword (seed=5)."""
    from nst_engine.settings.config import RunConfig

    table = {"name": optimizer} if isinstance(optimizer, str) else dict(optimizer)
    config = bench_config(output, size, iterations, device, weights, table["name"], {})
    return RunConfig.from_dict({"optimizer": table}, base=config).replace(**changes)


def auto_warmup(optimizer: str, history_size: int) -> int:
    """Iterations before the steady state: L-BFGS's history holds a pair from its 2nd step."""
    return history_size + 1 + WARMUP_EXTRA if optimizer == "lbfgs" else WARMUP_EXTRA


def span_marks(warmup: int, iterations: int, spans: int) -> list[int]:
    """The iteration indices at which the clock is read: after the warm-up, then each span."""
    return [warmup + span * iterations for span in range(spans + 1)]


def summarise(clock: list[float], iterations: int) -> dict:
    """Clock readings at the span marks to each span's ms/iteration and their median."""
    import statistics

    span_ms = [
        (end - start) / iterations * 1000 for start, end in zip(clock[:-1], clock[1:], strict=True)
    ]
    median = statistics.median(span_ms)
    return {"span_ms": span_ms, "ms_per_iteration": median, "iterations_per_second": 1000 / median}


def step_flops(work) -> float:
    """Floating-point operations of one steady-state iteration: forward, backward, optimiser.

    estimate.iteration_flops counts the forward pass only (the backward is in its measured
    rate). The backward to the image costs the convolutions as much again (no weight
    gradients are needed: each convolution's gradient with respect to its input is one
    product of the forward's size) and each Gram matrix twice as much (G = F F^T has F on
    both sides: two products of the forward's size). torch's FlopCounterMode gives the same
    total. ReLU, pooling and the losses' sums are left out (memory-bound, a few per cent of
    the time, no multiply-adds). L-BFGS with a full history adds its two loops: for each
    stored pair a dot product and an update in each, 8 operations per pixel value.
    """
    from nst_engine.cost.estimate import _outputs

    convolutions = grams = 0.0
    for layer, in_channels, positions in _outputs(work.compute, work.deepest_index):
        if layer.kind == "conv":
            convolutions += 2 * 9 * in_channels * layer.channels * positions
        if layer.name in work.style_layers:
            grams += 2 * layer.channels**2 * positions
    history = 8 * work.history_size * 3 * work.pixels if work.optimizer == "lbfgs" else 0
    return 2 * convolutions + 3 * grams + history


# --- one size, in this process ------------------------------------------------------------------


def measure(size, iterations, spans, warmup, device, weights, optimizer, settings=None) -> dict:
    """One size in this process: the median ms/iteration over the timed spans, peak memory."""
    import resource
    import tempfile

    import torch

    from nst_engine.cost.estimate import workload_from_sizes

    baseline_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as folder:
        probe = bench_config(Path(folder) / "b.png", size, 1, device, weights, optimizer, settings)
        if warmup is None:
            warmup = auto_warmup(probe.plan.optimizer.name, probe.plan.optimizer.lbfgs.history_size)
        marks = span_marks(warmup, iterations, spans)
        config = probe.replace(iterations=max(marks[-1], 1))
        started, clock, totals, graphing = timed_run(config, marks)
    work = workload_from_sizes(config, started.compute_size, started.style_size)
    result = {
        "size": size,
        "compute_size": "x".join(map(str, started.compute_size)),
        "device": started.device,
        "optimizer": config.plan.optimizer.name,
        "settings": settings or {},
        "warmup": warmup,
        "iterations_run": config.plan.iterations,
        **summarise(clock, iterations),
        "flops_per_iteration": step_flops(work),
        "graphing": bool(graphing) and all(graphing),
        "loss_first": totals[0] if totals else None,
        "loss_last": totals[-1] if totals else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "baseline_rss_mb": baseline_rss_mb,
        "torch_threads": torch.get_num_threads(),
    }
    result["tflops"] = result["flops_per_iteration"] / result["ms_per_iteration"] / 1e9
    if started.device.startswith("cuda"):
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def timed_run(config, marks: list[int]) -> tuple:
    """Run `config` to its end: its Started event, then at each of `marks` (iterations) the
    clock, the total loss (it must still be moving) and whether the iterations went through a
    CUDA graph."""
    import time

    import torch

    from nst_engine.running.events import Finished, Started, Step
    from nst_engine.running.transfer import run

    clock: list[float] = []
    totals: list[float] = []
    graphing: list[bool] = []
    started = None
    engine_run = run(config)
    for event in engine_run:
        if isinstance(event, Started):
            started = event
            if started.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            if marks[0] == 0:
                clock.append(time.perf_counter())
        elif isinstance(event, Step) and event.index in marks:
            # Reading the loss waits for the device: the span ends when its work does.
            totals.append(event.loss_values()["total"])
            clock.append(time.perf_counter())
            graphing.append(engine_run.graphing)
        elif isinstance(event, Finished):
            break
    assert started is not None
    return started, clock, totals, graphing


def measure_fresh(arguments: argparse.Namespace, size: int, settings: dict) -> dict:
    """`measure` in a fresh process (spawned: no torch state shared with this one)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(
            measure,
            size,
            arguments.iterations,
            arguments.spans,
            arguments.warmup,
            arguments.device,
            arguments.weights,
            arguments.optimizer,
            settings,
        ).result()


def run_bench(arguments: argparse.Namespace) -> int:
    import json
    import platform
    import statistics

    if arguments.pastiche is not None:
        script = pastiche_script()
        return script.run_comparison(
            arguments.pastiche,
            arguments.sizes or [256],
            arguments.job_iterations,
            arguments.rounds,
            "cpu" if arguments.device == "auto" else arguments.device,
            "oxford" if arguments.weights == "random" else arguments.weights,
            arguments.json,
        )
    settings = parse_settings(arguments.set)
    compare = parse_compare(arguments.compare) if arguments.compare else None
    sizes = arguments.sizes or [128, 256, 512]
    _check_settings(arguments, settings, compare, sizes[0])
    warmup = "auto" if arguments.warmup is None else arguments.warmup
    print(
        f"nst-tui bench: {arguments.optimizer}, {arguments.weights} weights, median of "
        f"{arguments.spans} spans of {arguments.iterations} iterations after {warmup} warm-up; "
        f"{platform.processor() or platform.machine()}; settings {settings or 'default'}"
    )
    results = []
    for size in sizes:
        if compare is None:
            results.append(measure_fresh(arguments, size, settings))
            print(format_row(results[-1], results[0]), flush=True)
            continue
        key, values = compare
        times: dict[str, list[float]] = {value: [] for value in values}
        for value in compare_plan(values, arguments.rounds):
            result = measure_fresh(
                arguments, size, merge_settings(settings, parse_settings([f"{key}={value}"]))
            )
            times[value].append(result["ms_per_iteration"])
            results.append(result)
            print(f"  {key}={value}: " + format_row(result, results[0]), flush=True)
        first = statistics.median(times[values[0]])
        for value in values:
            median = statistics.median(times[value])
            print(f"{size} px {key}={value}: {median:.1f} ms/iteration, {median / first:.3f}x")
    if arguments.json:
        text = json.dumps(results, indent=2) + "\n"
        safe_files.write_atomically(arguments.json, text.encode())
    return 0


def _check_settings(arguments, settings, compare, size: int) -> None:
    """A bad setting is said here, once, rather than from inside a fresh process."""
    for value in compare[1] if compare else [None]:
        change = parse_settings([f"{compare[0]}={value}"]) if compare else {}
        bench_config(
            Path("check.png"),
            size,
            1,
            arguments.device,
            arguments.weights,
            arguments.optimizer,
            merge_settings(settings, change),
        )


def format_row(result: dict, first: dict) -> str:
    ratio = result["ms_per_iteration"] / first["ms_per_iteration"]
    spans = f"spans {min(result['span_ms']):.1f}-{max(result['span_ms']):.1f}"
    memory = (
        f"peak GPU {result['peak_cuda_mb']:.0f} MB"
        if "peak_cuda_mb" in result
        else f"peak RSS {result['peak_rss_mb']:.0f} MB (torch loaded: {result['baseline_rss_mb']:.0f} MB)"
    )
    return (
        f"{result['size']:>5} px ({result['compute_size']:>9}) on {result['device']}: "
        f"{result['ms_per_iteration']:8.1f} ms/iteration ({result['iterations_per_second']:.2f} it/s; "
        f"{spans}), {ratio:5.2f}x the {first['size']} px time, "
        f"{result['tflops']:.3f} TFLOP/s, {memory}"
    )


def pastiche_script():
    """benchmarks/pastiche_compare.py, which runs whole jobs of both tools (source tree only)."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "pastiche_compare.py"
    if not path.exists():
        raise ConfigError(f"--pastiche needs the source tree's {path.name} (not found at {path})")
    import sys

    if "pastiche_compare" not in sys.modules:
        spec = importlib.util.spec_from_file_location("pastiche_compare", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["pastiche_compare"] = module  # its dataclass looks itself up there
        spec.loader.exec_module(module)
    return sys.modules["pastiche_compare"]

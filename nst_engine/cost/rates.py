"""How fast a device runs an iteration: measured here, or taken from the last runs on it.

The rate of a device is kept in the user cache folder, per device description and torch
version (`estimates.json`): a quick measurement (`measure`: a few real iterations at two
small sizes with random weights, fitted as a fixed overhead plus a cost per gigaflop), and
the figures of the last runs, which the engine records when a run finishes and which are
preferred: those of the same optimiser, scaled by the work (nst_engine/cost/estimate.py counts it)
to the size asked about. The figures themselves are plain values (nst_engine/cost/profile.py).

Only `measure`, `device_profile` and `describe` import torch, when called.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_engine.cost.estimate import (
    Workload,
    estimate,
    format_bytes,
    free_bytes,
    iteration_flops,
    mean_iteration_flops,
    short_device,
    workload_from_sizes,
    workload_of,
)
from nst_engine.cost.profile import DeviceProfile, RunRecord, Timing
from nst_engine.errors import NSTError
from nst_engine.store import safe_files
from nst_engine.store.locations import cache_dir

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig

log = logging.getLogger("nst.engine")

CACHE_NAME = "estimates.json"
CACHE_VERSION = 1
RECORDS_KEPT = 8  # last runs remembered per device
CALIBRATION_SIDES = (64, 128)  # square sizes measured by `measure`
CALIBRATION_STEPS = 2  # timed iterations per size, after one that warms up


def device_key(description: str, torch_version: str | None = None) -> str:
    if torch_version is None:
        torch_version = _torch_version()
    return f"{description} | torch {torch_version}"


def _torch_version() -> str:
    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version("torch")
    return "unknown"


def cache_path() -> Path:
    return cache_dir() / CACHE_NAME


def read_cache() -> dict[str, Any]:
    """The cached devices' figures; an unreadable or old file counts as empty."""
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    devices = data.get("devices")
    return devices if isinstance(devices, dict) else {}


def write_cache(devices: dict[str, Any]) -> None:
    """Replace the cache file atomically (a reader never sees half a file)."""
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": CACHE_VERSION, "devices": devices}, indent=1)
    safe_files.write_atomically(path, text.encode())


def cached_profile(key: str, device: str) -> DeviceProfile:
    """What the cache knows of the device `key` (its timing and runs may be missing)."""
    entry = read_cache().get(key) or {}
    timing = None
    runs: tuple[RunRecord, ...] = ()
    with contextlib.suppress(TypeError, ValueError, KeyError, AttributeError):
        calibration = entry.get("timing")
        if calibration:
            timing = Timing(float(calibration["overhead"]), float(calibration["per_gflop"]))
    with contextlib.suppress(TypeError, ValueError, KeyError, AttributeError):
        runs = tuple(
            RunRecord(
                float(run["flops"]),
                float(run["seconds_per_iteration"]),
                str(run.get("optimizer", "")),
            )
            for run in entry.get("runs", [])
            if float(run["flops"]) > 0 and float(run["seconds_per_iteration"]) > 0
        )
    return DeviceProfile(key, device, timing, runs)


def save_timing(key: str, timing: Timing) -> None:
    devices = read_cache()
    entry = devices.setdefault(key, {})
    entry["timing"] = {"overhead": timing.overhead, "per_gflop": timing.per_gflop}
    entry["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_cache(devices)


def record_run(key: str, work: Workload, seconds: float, iterations: int) -> None:
    """Remember a finished run's seconds per iteration for the device `key`."""
    if iterations < 1 or seconds <= 0:
        return
    devices = read_cache()
    entry = devices.setdefault(key, {})
    runs = [run for run in entry.get("runs", []) if isinstance(run, dict)]
    # A coarse-to-fine run's iterations cost differently at each scale: the mean counts.
    flops = mean_iteration_flops(work)
    runs.append(
        {"flops": flops, "seconds_per_iteration": seconds / iterations, "optimizer": work.optimizer}
    )
    entry["runs"] = runs[-RECORDS_KEPT:]
    write_cache(devices)


def record_finished(config: RunConfig, started: Any, finished: Any) -> None:
    """The engine's hook: a run's Started and Finished events into the cache.

    Never raises: the run's result is saved by now, and a rate not kept only makes the next
    estimates less sure. Why it was not kept goes to the log.
    """
    try:
        work = workload_of(config, started.compute_size, started.style_size)
        record_run(device_key(started.device), work, finished.seconds, finished.iterations)
    except OSError as error:  # a full or read-only cache folder
        log.warning("the run's rate was not kept for the estimates: %s", error)
    except Exception:  # a bug: its traceback in the log, the run unharmed
        log.exception("the run's rate was not kept for the estimates")


# --- measuring (torch) ------------------------------------------------------------------------


def measure(device_setting: str = "cpu") -> Timing:
    """Time a few real iterations (default layers, Adam, random weights) at two sizes.

    The fastest iteration of each size counts (the least disturbed by other work). Seconds
    per iteration are fitted as overhead + per_gflop x gigaflops through the two points, or
    taken as proportional to the work when the two points make no sense (a disturbed run).
    """
    from nst_engine.cost.devices import device_scope, resolve_device

    device = resolve_device(device_setting)
    with device_scope(device):  # the device current, as in a run (CUDA graph capture)
        return _measure_on(device)


def _measure_on(device: Any) -> Timing:
    import torch

    from nst_engine.method.features import FeatureExtractor
    from nst_engine.method.losses import Network, build_loss
    from nst_engine.method.weights import random_weights
    from nst_engine.optimise.stepper import GRAPH_WARMUP, Stepper, resolve_switches
    from nst_engine.settings.config import OptimizerSettings, RunConfig

    config = RunConfig.from_flat(optimizer=OptimizerSettings(name="adam"))
    layers = [name for name, _ in config.active_content_layers + config.active_style_layers]
    switches = resolve_switches(config, device)  # as a run with these settings would go
    extractor = FeatureExtractor(
        random_weights(0), layers, config.look.pooling, channels_last=switches.channels_last
    ).to(device)
    network = Network(extractor, switches.bf16)
    points = []
    generator = torch.Generator().manual_seed(0)
    for side in CALIBRATION_SIDES:
        images = [torch.rand(1, 3, side, side, generator=generator) * 255 for _ in range(2)]
        content, style = (image.to(device) for image in images)
        loss = build_loss(
            network,
            content,
            style,
            config.active_content_layers,
            config.active_style_layers,
            config.look.tv_weight,
        )
        image = content.clone().requires_grad_(True)
        stepper = Stepper(loss, image, config.plan.optimizer, switches)
        for _ in range(GRAPH_WARMUP + 1 if switches.graph else 1):
            stepper.step()  # warms up (allocations, kernels chosen, the graph captured)
        _synchronise(device)
        times = []
        for _ in range(CALIBRATION_STEPS):  # the fastest: the least disturbed by other work
            started = time.perf_counter()
            stepper.step()
            _synchronise(device)
            times.append(time.perf_counter() - started)
        seconds = min(times)
        work = workload_from_sizes(config, (side, side), (side, side))
        points.append((iteration_flops(work) / 1e9, seconds))
    return fit_timing(points[0], points[1])


def fit_timing(small: tuple[float, float], large: tuple[float, float]) -> Timing:
    """The line through two (gigaflops, seconds) points; proportional if they make no sense."""
    (small_work, small_time), (large_work, large_time) = small, large
    per_gflop = (large_time - small_time) / (large_work - small_work)
    overhead = small_time - per_gflop * small_work
    if per_gflop < 0.25 * large_time / large_work or overhead < 0:
        # The larger size was not clearly slower, or the small one not slow enough: other
        # work disturbed the measurement. Proportional to the work is the safer reading.
        return Timing(0.0, large_time / large_work)
    return Timing(overhead, per_gflop)


def _synchronise(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def describe(device_setting: str) -> str:
    """The description the engine gives the device of a setting ("cpu (2 threads)")."""
    from nst_engine.cost.devices import describe_device, resolve_device

    return describe_device(resolve_device(device_setting))


def device_profile(device_setting: str, *, calibrate: bool = True) -> DeviceProfile:
    """The device of a form's setting with its rates; measured now if nothing is known.

    Raises the engine's DeviceError for a device this machine does not have.
    """
    import dataclasses

    description = describe(device_setting)
    key = device_key(description)
    profile = cached_profile(key, description)
    if calibrate and profile.timing is None and not profile.runs:
        timing = measure(device_setting)
        with contextlib.suppress(OSError):
            save_timing(key, timing)
        profile = dataclasses.replace(profile, timing=timing)
    if description.startswith("cuda"):
        profile = dataclasses.replace(profile, free_bytes=free_bytes(description))
    return profile


def memory_warning(config: RunConfig) -> str | None:
    """A line for people when `config` needs more memory than its device has free, else None.

    None too when it cannot tell (an image missing or unreadable, a device not here): the
    run itself reports those. Reads the images' headers only; imports torch.
    """
    from PIL import Image

    try:
        sizes = []
        for path in (config.inputs.content, config.inputs.style):
            if path is None:
                return None
            with Image.open(path) as image:
                sizes.append(image.size)
        description = describe(config.machine.device)
        free = free_bytes(description)
    except (OSError, ValueError, Image.DecompressionBombError, NSTError):
        return None  # an image missing or unreadable, a device not here: the run says so
    except Exception:  # a bug, or a device's driver failing: the run goes on without a warning
        log.warning(
            "the memory a run needs could not be compared with the memory free", exc_info=True
        )
        return None
    result = estimate(workload_of(config, *sizes), None, free, short_device(description))
    if not result.too_big or result.free_bytes is None:
        return None
    return (
        f"this run needs about {format_bytes(result.bytes)} of memory and {result.device} has "
        f"{format_bytes(result.free_bytes)} free (an estimate)"
    )

"""What a run will cost before it starts: time per iteration, memory, and the memory free.

Memory comes from a model of what one iteration keeps (nothing is measured): VGG19's
activations up to the deepest chosen layer, saved for the backward pass, the weights, the
image-sized vectors of the run and of its optimiser (L-BFGS keeps `history_size` pairs),
times a factor calibrated against measured runs on a CPU (ACTIVATION_FACTOR).

Time is floating-point work times a rate for the device. The work of one iteration is
counted from the layer table (convolutions up to the deepest layer, Gram matrices of the
style layers, L-BFGS's history); the rate comes, by preference, from the figures of the
last runs on that device (recorded by the engine when a run finishes), else from a quick
measurement here (a few real iterations at two small sizes with random weights), cached
per device and torch version in the user cache folder.

Importing this module costs no torch: the app estimates on every change of the form. The
rates, their cache and the measurement are in nst_engine/cost/rates.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nst_engine.settings.layers import LAYERS, Layer, deepest
from nst_engine.settings.sizes import resolve_sizes, scale_iterations

if TYPE_CHECKING:
    from nst_engine.cost.profile import DeviceProfile
    from nst_engine.settings.config import RunConfig

FLOAT_BYTES = 4
# The peak is about the activations of the forward pass once (what autograd keeps, less
# the conv outputs it frees, plus the backward pass's gradient buffers), plus a fixed part
# (random or loaded weights in transit, buffers, PIL images): fitted to the peak RSS of
# real CPU runs at 128 to 1024 px (benchmarks/estimate_accuracy.py), which it then
# matches within 0.95-1.15x, erring high at the larger sizes.
ACTIVATION_FACTOR = 1.0
FIXED_BYTES = 220 * 1024**2
# One L-BFGS history value touched costs about as much time as this many convolution flops
# (the two-loop recursion is bound by memory bandwidth, convolutions by arithmetic).
HISTORY_OP_COST = 8.0
LONG_RUN_SECONDS = 24 * 3600  # an estimate beyond this gets a warning


# --- the workload of one run ------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """What decides a run's cost: sizes, the deepest layer, the style layers, the optimiser."""

    compute: tuple[int, int]  # (width, height)
    style: tuple[int, int]
    deepest_index: int  # of the deepest chosen layer in the layer table
    style_layers: tuple[str, ...]
    optimizer: str
    history_size: int  # L-BFGS only
    iterations: int
    # Coarse to fine: the smaller scales run before this one, smallest first, each its own
    # workload (its sizes, its iterations); empty when coarse to fine is off.
    earlier_scales: tuple[Workload, ...] = ()

    @property
    def pixels(self) -> int:
        return self.compute[0] * self.compute[1]

    @property
    def scales(self) -> tuple[Workload, ...]:
        """Every scale's workload, smallest first, this one (the final scale) last."""
        return (*self.earlier_scales, self)


def workload_of(
    config: RunConfig,
    content_size: tuple[int, int] | None = None,
    style_size: tuple[int, int] | None = None,
) -> Workload:
    """The workload of `config` for images of these sizes; unknown sizes count as square.

    A square image is the largest one a longest-side size gives, so the estimate errs high.
    With coarse to fine, the workload of the final scale holds those of the smaller ones.
    """
    sizes = resolve_sizes(config, content_size or (1, 1), style_size or content_size or (1, 1))
    works = [
        workload_from_sizes(config, compute, style, iterations)
        for (compute, style), iterations in zip(
            sizes.scales, scale_iterations(config, sizes), strict=True
        )
    ]
    return dataclasses.replace(works[-1], earlier_scales=tuple(works[:-1]))


def workload_from_sizes(
    config: RunConfig,
    compute: tuple[int, int],
    style: tuple[int, int],
    iterations: int | None = None,
) -> Workload:
    """One scale's workload: `iterations` at these sizes (default: the config's)."""
    layers = [name for name, _ in config.active_content_layers + config.active_style_layers]
    return Workload(
        compute=compute,
        style=style,
        deepest_index=deepest(layers).index,
        style_layers=tuple(name for name, _ in config.active_style_layers),
        optimizer=config.plan.optimizer.name,
        history_size=config.plan.optimizer.lbfgs.history_size,
        iterations=config.plan.iterations if iterations is None else iterations,
    )


def _outputs(size: tuple[int, int], deepest_index: int) -> list[tuple[Layer, int, int]]:
    """(layer, its input channels, its output positions) for each layer up to the deepest."""
    width, height = size
    rows = []
    channels = 3
    for layer in list(LAYERS.values())[: deepest_index + 1]:
        side = 2**layer.pools_before  # each 2x2 pooling floors the sides, as torch's does
        rows.append((layer, channels, (width // side) * (height // side)))
        channels = layer.channels
    return rows


def iteration_flops(work: Workload) -> float:
    """Floating-point operations of one iteration's forward pass (the backward is in the rate)."""
    flops = 0.0
    for layer, in_channels, positions in _outputs(work.compute, work.deepest_index):
        if layer.kind == "conv":
            flops += 2 * 9 * in_channels * layer.channels * positions
        if layer.name in work.style_layers:
            flops += 2 * layer.channels**2 * positions  # the Gram matrix F F^T
    if work.optimizer == "lbfgs":
        # The two-loop recursion reads each stored pair twice, once the history has filled.
        stored = min(work.history_size, work.iterations)
        flops += HISTORY_OP_COST * 4 * stored * 3 * work.pixels
    return flops


def mean_iteration_flops(work: Workload) -> float:
    """The whole run's work (every scale's) over its iterations: what one iteration costs on
    average, the figure to record for a finished run's seconds per iteration."""
    scales = work.scales
    total = sum(iteration_flops(scale) * scale.iterations for scale in scales)
    return total / sum(scale.iterations for scale in scales)


def _activation_floats(size: tuple[int, int], deepest_index: int) -> int:
    floats = 2 * 3 * size[0] * size[1]  # the image / 255 and its preprocessed copy
    for layer, _, positions in _outputs(size, deepest_index):
        floats += layer.channels * positions
        if layer.kind == "pool":
            floats += 2 * layer.channels * positions  # int64 indices of max pooling
    return floats


def _weight_floats(deepest_index: int) -> int:
    floats = 0
    for layer, in_channels, _ in _outputs((1, 1), deepest_index):
        if layer.kind == "conv":
            floats += (9 * in_channels + 1) * layer.channels
    return floats


ALL_WEIGHT_FLOATS = _weight_floats(len(LAYERS) - 1)  # the loaded set, kept for the next run


def history_vectors(work: Workload) -> int:
    """Image-sized vectors of L-BFGS's history: a (step, gradient change) pair per entry,
    never more entries than iterations; 0 for the other optimisers."""
    if work.optimizer != "lbfgs":
        return 0
    return 2 * min(work.history_size, work.iterations)


def optimizer_vectors(work: Workload) -> int:
    """Image-sized vectors the optimiser keeps."""
    if work.optimizer == "lbfgs":
        # The history, plus direction, previous gradient and previous step.
        return history_vectors(work) + 4
    return {"adam": 2, "adadelta": 2, "rmsprop": 2, "sgd": 1}.get(work.optimizer, 2)


def memory_bytes(work: Workload) -> int:
    """Peak memory of the run's tensors, in bytes (the process's own baseline not included)."""
    pixels = work.pixels
    # The image, its gradient, the content image, the last good image, the noise.
    vectors = 5 + optimizer_vectors(work)
    grams = sum(2 * LAYERS[name].channels ** 2 for name in work.style_layers)
    during_steps = ACTIVATION_FACTOR * _activation_floats(work.compute, work.deepest_index)
    # The targets are computed without gradients: only about two layers are alive at once.
    style_pass = 2 * max(
        layer.channels * positions
        for layer, _, positions in _outputs(work.style, work.deepest_index)
    )
    floats = (
        max(during_steps, style_pass)
        + vectors * 3 * pixels
        + grams
        + ALL_WEIGHT_FLOATS
        + _weight_floats(work.deepest_index)
    )
    return int(floats * FLOAT_BYTES + FIXED_BYTES)


# --- free memory --------------------------------------------------------------------------------


def cpu_free_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable from /proc/meminfo (Linux); None where there is none."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def free_bytes(device: str) -> int | None:
    """Memory free on `device` ("cpu", "cuda:1", or a description starting so); None: unknown.

    CUDA's figure needs torch (imported here); the CPU's is read from /proc/meminfo.
    """
    name = device.split()[0] if device.strip() else "cpu"
    if name == "cpu":
        return cpu_free_bytes()
    if name.startswith("cuda"):
        import torch  # only asked on the thread that runs torch

        index = int(name.partition(":")[2] or torch.cuda.current_device())
        return int(torch.cuda.mem_get_info(index)[0])
    return None


# --- the estimate -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    seconds: float | None  # None while the device's rate is unknown
    bytes: int
    free_bytes: int | None
    device: str  # short name for people: "cpu", "cuda:0"
    warnings: tuple[str, ...] = field(default=())

    @property
    def too_big(self) -> bool:
        """The estimate exceeds the memory free on the device."""
        return self.free_bytes is not None and self.bytes > self.free_bytes

    def summary(self, *, compact: bool = False) -> str:
        """`≈ 3 min 40 s · 2.1 GB of 18 GB free (cpu)`; compact: `≈ 3 min 40 s · 2.1 GB · cpu`."""
        time_part = "estimating…" if self.seconds is None else f"≈ {format_seconds(self.seconds)}"
        memory = format_bytes(self.bytes)
        if compact:
            return f"{time_part} · {memory} · {self.device}"
        if self.free_bytes is not None:
            memory += f" of {format_bytes(self.free_bytes)} free"
        return f"{time_part} · {memory} ({self.device})"


def estimate(
    work: Workload, profile: DeviceProfile | None, free: int | None, device: str = "device"
) -> Estimate:
    """The time and memory of `work` on the device of `profile` (else named `device`).

    Coarse to fine: the time of every scale (its iterations at its cost), the memory of the
    largest (a scale's tensors are freed before the next one's are made).
    """
    seconds: float | None = None
    if profile is not None:
        times = [
            profile.seconds_per_iteration(iteration_flops(scale), scale.optimizer)
            for scale in work.scales
        ]
        if None not in times:
            seconds = sum(t * scale.iterations for t, scale in zip(times, work.scales, strict=True))
    needed = max(memory_bytes(scale) for scale in work.scales)
    if profile is not None:
        device = short_device(profile.device)
    warnings = []
    if free is not None and needed > free:
        warnings.append(
            f"needs about {format_bytes(needed)} of memory ({format_bytes(free)} free on {device})"
        )
    if seconds is not None and seconds > LONG_RUN_SECONDS:
        warnings.append(f"takes about {format_seconds(seconds)}")
    return Estimate(seconds, needed, free, device, tuple(warnings))


def warning_line(result: Estimate) -> str:
    """One line for people, or "" when nothing is wrong."""
    if not result.warnings:
        return ""
    return "this run " + " and ".join(result.warnings)


def short_device(description: str) -> str:
    return description.split()[0] if description.strip() else "device"


def format_seconds(seconds: float) -> str:
    """`40 s`, `3 min 40 s`, `2 h 10 min`, `3 days`, `12 years`."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s" if minutes < 10 and rest else f"{round(seconds / 60)} min"
    if seconds < 86400:
        hours, rest = divmod(round(seconds / 60), 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = seconds / 86400
    if days < 365:
        return f"{days:.0f} days" if days >= 2 else "1 day"
    return f"{days / 365:,.0f} years"


def format_bytes(count: float) -> str:
    """`350 MB`, `2.1 GB`, `18 GB`, `1,900 GB`."""
    gigabytes = count / 1e9
    if gigabytes < 1:
        return f"{max(1, round(count / 1e6))} MB"
    if gigabytes < 10:
        return f"{gigabytes:.1f} GB"
    return f"{gigabytes:,.0f} GB"

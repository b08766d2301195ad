"""A device's rates as figures: a measured timing and the last runs' records.

Plain values (no cache, no torch): nst_engine/cost/rates.py reads and measures them,
nst_engine/cost/estimate.py turns them into the time of a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds per iteration = `overhead` + `per_gflop` x forward gigaflops."""

    overhead: float
    per_gflop: float

    def seconds(self, flops: float) -> float:
        return self.overhead + self.per_gflop * flops / 1e9


@dataclass(frozen=True)
class RunRecord:
    """A finished run's figures: its work per iteration, the seconds one took, its optimiser
    ("" in caches written before the optimiser was kept)."""

    flops: float
    seconds_per_iteration: float
    optimizer: str = ""


@dataclass(frozen=True)
class DeviceProfile:
    """A device's rates: a measurement here and the last runs' figures (preferred)."""

    key: str  # the device's description and the torch version
    device: str  # the device's description, e.g. "cpu (2 threads)"
    timing: Timing | None = None
    runs: tuple[RunRecord, ...] = ()
    free_bytes: int | None = None  # memory free on a GPU when measured; None: read it live

    def seconds_per_iteration(self, flops: float, optimizer: str = "") -> float | None:
        """From the last runs of `optimizer` (else of any), scaled by the work; else the
        measurement; None if neither.

        Between two runs the time is read off the line through them; outside, it is the
        nearest run's, proportional to the work. Not through the measurement's overhead: that
        is fitted at small sizes, where a busy machine can make it look large, and scaled
        through it a run four times larger came out hardly slower than the last one.
        """
        runs = [run for run in self.runs if run.optimizer == optimizer] or list(self.runs)
        if runs:
            return _scaled_from_runs(runs, max(flops, 1.0))
        if self.timing is not None:
            return self.timing.seconds(flops)
        return None


def _scaled_from_runs(runs: list[RunRecord], flops: float) -> float:
    """Seconds per iteration of `flops` of work from runs' figures (see seconds_per_iteration)."""
    below = [run for run in runs if run.flops <= flops]
    above = [run for run in runs if run.flops > flops]
    if below and above:
        low = max(below, key=lambda run: run.flops)
        high = min(above, key=lambda run: run.flops)
        share = (flops - low.flops) / (high.flops - low.flops)
        return low.seconds_per_iteration + share * (
            high.seconds_per_iteration - low.seconds_per_iteration
        )
    nearest = min(runs, key=lambda run: abs(math.log(run.flops / flops)))
    return nearest.seconds_per_iteration * flops / nearest.flops

"""A run's steps made into progress reports: one way of counting speed and time left.

The app and the headless command both feed their events through a `ProgressReporter`, so
they show the same it/s and the same ETA. Reports are throttled by time (reading the losses
waits for the device, so a GPU run at hundreds of iterations a second is read only about
ten times a second) and the last step is always reported.

Speed is measured over the current scale, from its first step on (the first step of a scale
also builds its targets and, on a GPU, captures its graph, so it is left out). The time left
counts each later scale's iterations at this speed, scaled by its pixel count (an iteration
costs about its pixels: nst_engine/cost/estimate.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nst_engine.running.events import Started, Step

INTERVAL = 0.1  # seconds between reports, at least


@dataclass(frozen=True)
class Progress:
    index: int  # iterations done, all scales together
    total: int
    scale: int  # 1-based
    scales: int
    elapsed: float  # seconds since the run started iterating
    rate: float  # iterations per second at the current scale (0 while unknown)
    eta: float | None  # seconds left (None while unknown)
    losses: dict[str, float]


class ProgressReporter:
    """Feed it Started and each Step; it answers a Progress when one is due."""

    def __init__(
        self, interval: float = INTERVAL, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.interval = interval
        self.clock = clock
        self._started_at: float | None = None
        self._last_report = -float("inf")
        self._scale_sizes: tuple[tuple[int, int], ...] = ()
        self._scale_iterations: tuple[int, ...] = ()
        self._scale = 0
        self._scale_start: tuple[int, float] = (0, 0.0)  # (index, time) of the scale's first step
        self._pixel_rate = 0.0  # pixel-iterations per second at the last measured scale

    def start(self, started: Started) -> None:
        self._started_at = None
        self._last_report = -float("inf")
        self._scale_sizes = started.scale_sizes or (started.compute_size,)
        self._scale_iterations = started.scale_iterations or (started.total,)
        self._scale = 0
        self._pixel_rate = 0.0
        self._started_at = self.clock()

    def offer(self, step: Step, force: bool = False) -> Progress | None:
        """A report of `step` if one is due (always for the last step or when forced)."""
        now = self.clock()
        if self._started_at is None:  # not told of Started
            self._started_at = now
        if step.scale != self._scale:
            self._scale = step.scale
            self._scale_start = (step.index, now)
        if not (force or step.index == step.total or now - self._last_report >= self.interval):
            return None
        self._last_report = now
        first_index, first_time = self._scale_start
        done = step.index - first_index
        pixels = _pixels(self._scale_sizes, step.scale - 1)
        if done > 0 and now > first_time:
            rate = done / (now - first_time)
            self._pixel_rate = rate * pixels
        else:
            # A scale's first step: the last scale's speed, for this scale's pixel count.
            rate = self._pixel_rate / pixels
        return Progress(
            step.index,
            step.total,
            step.scale,
            step.scales,
            now - self._started_at,
            rate,
            self._time_left(step, rate),
            step.loss_values(),
        )

    def _time_left(self, step: Step, rate: float) -> float | None:
        if step.index >= step.total:
            return 0.0
        if rate <= 0:
            return None
        scale = step.scale - 1
        done_before = sum(self._scale_iterations[:scale])
        left = (
            self._scale_iterations[scale] - (step.index - done_before)
            if scale < len(self._scale_iterations)
            else step.total - step.index
        )
        seconds = max(left, 0) / rate
        pixels = _pixels(self._scale_sizes, scale)
        for later in range(scale + 1, len(self._scale_iterations)):
            seconds += (
                self._scale_iterations[later] / rate * _pixels(self._scale_sizes, later) / pixels
            )
        return seconds


def _pixels(sizes: tuple[tuple[int, int], ...], scale: int) -> int:
    width, height = sizes[min(scale, len(sizes) - 1)]
    return width * height

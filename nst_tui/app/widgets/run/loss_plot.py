"""The loss curve: each loss term over the iterations, log scale, live or from a past run.

A textual-plotext plot (plotext draws it as text). A live run sends about ten points a
second (`add`); the plot redraws at most every REDRAW_INTERVAL seconds, keeps at most
MAX_POINTS points (the older half is thinned to every other point when full), and draws
at most a few points per column: plotext's cost grows with the points it is given, and a
column shows one value however many fall in it. `show_history` draws a past run's rows
(RunFolder.losses()).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping

from textual_plotext import PlotextPlot

from nst_tui.app.widgets.drawing import DrawsSafely

TERMS = ("total", "content", "style", "tv")  # drawn in this order (the legend's too)
# Each term's colour, in the curve and in the legend above it (plotext's own legend sits on
# the curve's top-left corner, over the first iterations of a short plot).
COLOURS = {
    "total": (235, 235, 235),
    "content": (90, 170, 250),
    "style": (250, 150, 60),
    "tv": (130, 210, 120),
}
MAX_POINTS = 4000  # kept per term; the older half is thinned when there are more
POINTS_PER_COLUMN = 2  # drawn: more would not show and would cost more to draw
REDRAW_INTERVAL = 1.0  # seconds between two redraws of a live curve, at least (each costs
# 20-50 ms of the interface thread at the run panel's size on a shared 2-core machine)


class LossPlot(DrawsSafely, PlotextPlot):
    """The loss terms over the iterations, on a log scale, with a legend."""

    DRAWING_NAME = "the loss curve"

    DEFAULT_CSS = """
    LossPlot { width: 1fr; height: 10; border-top: hkey $panel-lighten-2; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.iterations: list[int] = []
        self.values: dict[str, list[float]] = {term: [] for term in TERMS}
        self._last_draw = 0.0
        self._draw_pending = False
        self.draws = 0  # how many times the data was laid out again (tests, measurements)

    def on_mount(self) -> None:
        super().on_mount()
        self._draw()

    def on_resize(self) -> None:
        self._draw()  # the columns decide which points are drawn

    # --- data ---------------------------------------------------------------------------------

    def clear(self) -> None:
        """No points: a new run starts."""
        self.iterations = []
        self.values = {term: [] for term in TERMS}
        self._draw()

    def add(self, iteration: int, losses: Mapping[str, float]) -> None:
        """A live run's point; redrawn soon (at most every REDRAW_INTERVAL seconds)."""
        if self.iterations and iteration <= self.iterations[-1]:
            self._drop_from(iteration)  # a resumed run goes back to its checkpoint
        self.iterations.append(iteration)
        for term in TERMS:
            self.values[term].append(float(losses.get(term, math.nan)))
        if len(self.iterations) > MAX_POINTS:
            self._thin()
        self._draw_soon()

    def show_history(self, rows: Iterable[Mapping[str, float]]) -> None:
        """Draw a past run's loss history (rows of RunFolder.losses()), now."""
        self.iterations = []
        self.values = {term: [] for term in TERMS}
        for row in rows:
            self.iterations.append(int(row["iteration"]))
            for term in TERMS:
                self.values[term].append(float(row.get(term, math.nan)))
        while len(self.iterations) > MAX_POINTS:
            self._thin()
        self._draw()

    @property
    def point_count(self) -> int:
        return len(self.iterations)

    def _drop_from(self, iteration: int) -> None:
        keep = next(
            (index for index, seen in enumerate(self.iterations) if seen >= iteration),
            len(self.iterations),
        )
        del self.iterations[keep:]
        for series in self.values.values():
            del series[keep:]

    def _thin(self) -> None:
        """Every other point of the older half: the recent part stays as fine as it came."""
        half = len(self.iterations) // 2
        self.iterations = self.iterations[:half:2] + self.iterations[half:]
        for term, series in self.values.items():
            self.values[term] = series[:half:2] + series[half:]

    # --- drawing ------------------------------------------------------------------------------

    def _draw_soon(self) -> None:
        if self._draw_pending:
            return
        wait = REDRAW_INTERVAL - (time.monotonic() - self._last_draw)
        if wait <= 0:
            self._draw()
            return
        self._draw_pending = True
        self.set_timer(wait, self._draw)

    def _draw(self) -> None:
        """Lay the data out for plotext; the next paint builds the text."""
        self._draw_pending = False
        self._last_draw = time.monotonic()
        self.draws += 1
        try:
            self._lay_out()
        except Exception as error:  # a resize or a timer must not end the app (DrawsSafely)
            self.border_title = self.drawing_failed(error)
            self.refresh()

    def _lay_out(self) -> None:
        plot = self.plt
        plot.clear_figure()  # no axis label: a row more for the curve (the legend says what)
        step = max(1, len(self.iterations) // max(1, self.size.width * POINTS_PER_COLUMN))
        drawn = range(0, len(self.iterations), step)
        series = {}
        for term in TERMS:
            # The log scale is ours: plotext is given log10 of each value on a linear axis.
            # (Its own log scale takes the log of its stored data in place, so the next build,
            # after a resize, took the log of the log: "math domain error" for values below 1.)
            # 0 (tv with tv_weight 0), negative and diverged values have no place on it.
            points = [
                (self.iterations[index], math.log10(self.values[term][index]))
                for index in drawn
                if self.values[term][index] > 0 and math.isfinite(self.values[term][index])
            ]
            if points:
                series[term] = points
        if not series:
            self.border_title = "loss: no iterations yet"
            self.refresh()
            return
        for term, points in series.items():
            xs, ys = zip(*points, strict=True)
            plot.plot(list(xs), list(ys), marker="braille", color=COLOURS[term])
        self.border_title = "loss  " + "  ".join(
            "[rgb({},{},{})]━ {}[/]".format(*COLOURS[term], term) for term in series
        )
        exponents = [value for points in series.values() for _, value in points]
        plot.yticks(*tick_labels(min(exponents), max(exponents)))
        first, last = self.iterations[0], self.iterations[-1]
        ticks = sorted({round(first + (last - first) * part / 4) for part in range(5)})
        plot.xticks(ticks, [str(tick) for tick in ticks])
        self.refresh()

    def summary(self) -> str:
        """The latest value of each term, as text (for tests and the tooltip)."""
        if not self.iterations:
            return "no iterations yet"
        latest = ", ".join(
            f"{term} {series[-1]:.3g}"
            for term, series in self.values.items()
            if series and math.isfinite(series[-1])
        )
        return f"iteration {self.iterations[-1]}: {latest}"


def tick_labels(low: float, high: float) -> tuple[list[float], list[str]]:
    """Ticks for an axis of log10 values from `low` to `high`: the whole exponents between them,
    labelled as powers of ten (`1e3`), when there are two or more; else three values labelled
    as what they stand for (`0.42`, `1.3`, `4.2`): short labels leave the curve its columns."""
    exponents = range(math.ceil(low), math.floor(high) + 1)
    if len(exponents) >= 2:
        return list(exponents), [f"1e{exponent}" for exponent in exponents]
    ticks = [low, (low + high) / 2, high] if high > low else [low]
    return ticks, [f"{10.0**tick:.2g}" for tick in ticks]

"""One redraw of the app's loss curve (LossPlot: lay out + plotext build + Rich text) at
120x40 and at the run panel's size, with 2000 points of four terms; median of 15.

    .venv/bin/python benchmarks/loss_plot_redraw.py
"""

import asyncio
import math
import statistics
import time

from textual.app import App, ComposeResult

from nst_tui.app.widgets.run import loss_plot
from nst_tui.app.widgets.run.loss_plot import LossPlot


class PlotApp(App[None]):
    CSS = "LossPlot { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield LossPlot()


def rows(count):
    return [
        {
            "iteration": x,
            "total": 1e6 / math.sqrt(x) + 1e3,
            "content": 1e3 * (1 - math.exp(-x / 200)) + 1,
            "style": 1e6 / math.sqrt(x),
            "tv": 50 + 10 * math.sin(x / 30),
        }
        for x in range(1, count + 1)
    ]


async def measure(size, per_column):
    loss_plot.POINTS_PER_COLUMN = per_column
    app = PlotApp()
    async with app.run_test(size=size) as pilot:
        plot = app.query_one(LossPlot)
        plot.show_history(rows(2000))
        await pilot.pause()
        layout, build = [], []
        for _ in range(15):
            start = time.perf_counter()
            plot._draw()
            middle = time.perf_counter()
            plot.render()
            layout.append(middle - start)
            build.append(time.perf_counter() - middle)
        return statistics.median(layout) * 1000 + statistics.median(build) * 1000, (
            statistics.median(build) * 1000
        )


async def main():
    for size in ((120, 40), (64, 10)):
        (thinned, thinned_build) = await measure(size, 2)
        (every, every_build) = await measure(size, 10_000)
        print(
            f"{size[0]}x{size[1]}, 2000 points x 4 terms: {thinned:.1f} ms as drawn "
            f"(2 points a column; {thinned_build:.1f} ms of it building the text), "
            f"{every:.1f} ms with every point ({every_build:.1f} ms building)"
        )


asyncio.run(main())

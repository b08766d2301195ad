"""The loss curve: live in the run panel during a run, a past run's history, thinning and
throttling, and showing or hiding it by the terminal's height and Ctrl+L."""

from __future__ import annotations

import math

import pytest
from app_helpers import form_settled, wait_for
from textual.app import App, ComposeResult

from nst_tui.app.widgets.run import loss_plot
from nst_tui.app.widgets.run.loss_plot import LossPlot, tick_labels


class PlotApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LossPlot(id="plot")


def losses(iteration: int) -> dict[str, float]:
    return {
        "content": 10.0 + iteration,
        "style": 1e5 / iteration,
        "tv": 0.0,  # tv_weight 0: nothing a log scale can draw
        "total": 10.0 + iteration + 1e5 / iteration,
    }


def plot_text(plot: LossPlot) -> str:
    return "\n".join(plot.render_line(y).text for y in range(plot.size.height))


def drawn(text: str) -> bool:
    """Whether a curve is drawn: braille dots (plotext's marker) in the text."""
    return any("\u2801" <= character <= "\u28ff" for character in text)


async def test_a_past_runs_history_is_drawn_with_a_legend_on_a_log_scale() -> None:
    app = PlotApp()
    async with app.run_test(size=(80, 20)) as pilot:
        plot = app.query_one(LossPlot)
        rows = [{"iteration": index, "scale": 1, **losses(index)} for index in range(1, 301)]
        plot.show_history(rows)
        await pilot.pause()
        assert plot.point_count == 300 and plot.iterations[-1] == 300
        text = plot_text(plot)
        assert drawn(text)
        legend = str(plot.border_title)
        for term in ("total", "content", "style"):
            assert f"━ {term}" in legend  # the legend names what is drawn, in its colour
        labels = [line.split("┤")[0].strip() for line in text.splitlines() if "┤" in line]
        assert labels == ["1e5", "1e4", "1e3", "1e2"]  # powers of ten: a log scale
        assert text.splitlines()[-1].split() == ["1", "76", "150", "225", "300"]
        assert "tv" not in legend  # all zero: left out of the drawing and the legend
        plot.clear()
        await pilot.pause()
        assert plot.point_count == 0 and "no iterations yet" in str(plot.border_title)
        assert not drawn(plot_text(plot))


async def test_live_points_are_thinned_and_redrawn_at_most_once_a_second(monkeypatch) -> None:
    monkeypatch.setattr(loss_plot, "MAX_POINTS", 100)
    app = PlotApp()
    async with app.run_test(size=(80, 20)) as pilot:
        plot = app.query_one(LossPlot)
        await pilot.pause()
        draws = plot.draws
        for index in range(1, 1001):
            plot.add(index, losses(index))
        assert plot.point_count <= 100
        assert plot.iterations[-1] == 1000 and plot.iterations[-50:] == list(range(951, 1001))
        assert plot.iterations[0] == 1  # the start of the run stays, thinned
        assert plot.values["style"][-1] == 1e5 / 1000
        assert plot.draws - draws <= 2  # a thousand points: one draw now, one pending
        await wait_for(pilot, lambda: not plot._draw_pending, what="the redraw")
        assert drawn(plot_text(plot))


async def test_a_resumed_run_goes_back_to_its_checkpoint_on_the_curve() -> None:
    app = PlotApp()
    async with app.run_test(size=(80, 20)) as pilot:
        plot = app.query_one(LossPlot)
        for index in range(1, 11):
            plot.add(index, losses(index))
        plot.add(6, losses(6))  # resumed from the checkpoint at 5
        await pilot.pause()
        assert plot.iterations == [1, 2, 3, 4, 5, 6]
        plot.add(7, {"total": math.inf, "content": 1.0, "style": 1.0, "tv": 1.0})
        await wait_for(pilot, lambda: not plot._draw_pending, what="the redraw")
        # A diverged value is left out of the drawing, not an error; the other terms stay.
        assert drawn(plot_text(plot)) and "total" in str(plot.border_title)


@pytest.mark.slow  # runs the engine
async def test_the_curve_moves_during_a_run_in_the_run_panel(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(iterations=6))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        curve = app.main.panel.curve
        assert not curve.display  # no run yet: the first screen's layout is as before
        seen: list[int] = []
        original = curve.add

        def add(iteration, values) -> None:
            seen.append(iteration)
            original(iteration, values)

        curve.add = add  # type: ignore[method-assign]
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: curve.display, what="the curve")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run")
        await pilot.pause()
        assert seen and seen[-1] == 6 and seen == sorted(seen)
        assert curve.iterations[-1] == 6 and curve.values["total"][-1] > 0
        assert curve.region.height == 10
        await pilot.press("ctrl+l")  # hidden on request
        await pilot.pause()
        assert not curve.display


@pytest.mark.slow  # runs the engine
async def test_on_a_short_terminal_the_curve_waits_for_ctrl_l(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(iterations=2))
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run")
        await pilot.pause()
        curve = app.main.panel.curve
        assert not curve.display and curve.iterations[-1] == 2  # fed, but hidden at 24 rows
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert curve.display and curve.region.height > 0


async def test_a_resumed_run_curve_starts_with_its_loss_history(make_app, tiny_config, tmp_path):
    from nst_engine.store.runs import RunFolder
    from nst_tui.app.messages import RunProgress

    folder = RunFolder.create(tiny_config, tmp_path / "runs")
    folder.append_losses([{"iteration": index, **losses(index)} for index in range(1, 9)])
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        panel = app.main.panel
        panel.start(20, folder=folder)  # as the app does when it follows a resumed run
        await pilot.pause()
        assert panel.curve.display and panel.curve.iterations == list(range(1, 9))
        # The run goes on from its checkpoint at 5: the rows after it are dropped.
        panel.progress(RunProgress(app.current_run_number, 6, 20, 1.0, 1.0, losses(6)))
        assert panel.curve.iterations == [1, 2, 3, 4, 5, 6]
        panel.start(4)  # another run: a clean curve
        assert panel.curve.point_count == 0


# --- surviving redraws (issue 18: a resize once killed the app with "math domain error") ---


def awkward_losses(iteration: int) -> dict[str, float]:
    """Values a log scale finds hard: below 1, zero, negative and non-finite ones."""
    return {
        "content": 0.5 / iteration,  # below 1: plotext's in-place log took the log of a negative
        "style": [0.0, -1.0, math.nan, math.inf, 3e-3][iteration % 5],
        "tv": 0.0,
        "total": 0.5 / iteration + 1e-4,
    }


async def test_the_curve_survives_any_number_of_redraws_and_resizes() -> None:
    app = PlotApp()
    async with app.run_test(size=(120, 20)) as pilot:
        plot = app.query_one(LossPlot)
        for index in range(1, 41):
            plot.add(index, awkward_losses(index))
        plot._draw()
        for width, height in [(110, 20), (80, 12), (60, 24), (120, 20), (110, 18)]:
            await pilot.resize_terminal(width, height)
            await pilot.pause()
            text = plot_text(plot)  # each paint builds the plot again
            assert drawn(text)
            plot._draw()  # and a redraw of the same data, as the live curve does
            await pilot.pause()
            assert drawn(plot_text(plot))
        labels = [line.split("┤")[0].strip() for line in text.splitlines() if "┤" in line]
        assert labels and all(label.startswith("1e") for label in labels)  # powers of ten
        assert "content" in str(plot.border_title)


def test_ticks_are_powers_of_ten_or_three_values_within_a_decade() -> None:
    # The curve gives plotext log10 values on a linear axis: ticks are exponents, labels 1eN.
    assert tick_labels(-3.2, 1.5) == ([-3, -2, -1, 0, 1], ["1e-3", "1e-2", "1e-1", "1e0", "1e1"])
    ticks, labels = tick_labels(math.log10(0.4), math.log10(3))  # within one decade
    assert labels == ["0.4", "1.1", "3"] and ticks[0] == math.log10(0.4)

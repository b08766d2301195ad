"""The app survives its terminal changing size at any moment (issue 18): during and after a run
with the loss curve shown, after the curve is hidden and shown again, with the keys panel
open, and on a past run's screen; and a widget that fails to draw does not end the app."""

from __future__ import annotations

import pytest
from app_helpers import form_settled, result_text, wait_for

from nst_engine.store.runs import RunFolder
from nst_tui.app.widgets.run.loss_plot import LossPlot

SIZES = [(110, 40), (96, 30), (80, 24), (130, 45), (120, 40)]


def curve_drawn(curve: LossPlot) -> bool:
    text = "\n".join(curve.render_line(y).text for y in range(curve.size.height))
    return any("\u2801" <= character <= "\u28ff" for character in text)


async def resize_through(pilot, sizes=SIZES) -> None:
    for width, height in sizes:
        await pilot.resize_terminal(width, height)
        await pilot.pause()
        assert pilot.app.is_running and pilot.app._exception is None


@pytest.mark.slow
async def test_resizes_during_and_after_a_run_with_the_curve_shown(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(iterations=2000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        curve = app.main.panel.curve
        await wait_for(pilot, lambda: curve.point_count >= 3, timeout=60, what="three points")
        curve._draw()  # laid out with values below 1 (random weights, 32 px), then resized
        await resize_through(pilot)
        assert app.running  # the run went on through the resizes
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.running, timeout=60, what="the run to stop")
        await resize_through(pilot)
        for _ in range(2):  # hidden, shown, each followed by resizes
            await pilot.press("ctrl+l")
            await resize_through(pilot, SIZES[:2])
        assert curve.display and curve_drawn(curve)
        app.action_show_help_panel()  # the palette's "Keys": the curve gets narrower
        await resize_through(pilot, SIZES[:3])
        app.action_hide_help_panel()
        await pilot.pause()
        assert curve_drawn(curve)


async def test_a_past_runs_screen_survives_resizes(make_app, tiny_config, tmp_path) -> None:
    from nst_tui.app.screens.run_view import RunScreen

    folder = RunFolder.create(tiny_config, tmp_path / "runs")
    folder.append_losses(
        [
            {"iteration": i, "scale": 1, "content": 0.5 / i, "style": 2e-3, "tv": 0.0, "total": 0.6}
            for i in range(1, 31)
        ]
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        app.push_screen(RunScreen(folder))
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the run's screen")
        await pilot.pause()
        await resize_through(pilot)
        curve = app.screen.query_one(LossPlot)
        assert curve.point_count == 30 and curve_drawn(curve)


@pytest.mark.slow
async def test_a_widget_that_fails_to_draw_leaves_a_notice_and_the_run_goes_on(
    make_app, tiny_config, monkeypatch
) -> None:
    from nst_engine.store.runlog import log_path

    def broken_build(self):
        raise ZeroDivisionError("plotext broke")

    app = make_app(tiny_config.replace(iterations=30))
    notices: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **options: notices.append(message))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        plot_class = type(app.main.panel.curve.plt)
        monkeypatch.setattr(plot_class, "build", broken_build)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run")
        await resize_through(pilot, [(110, 40), (130, 45)])  # tall enough for the curve
        assert result_text(app).startswith("Done in")  # the run finished and saved
        assert any("The loss curve could not be drawn (ZeroDivisionError" in n for n in notices)
        assert len([n for n in notices if "loss curve" in n]) == 1  # told once, not per frame
        curve = app.main.panel.curve
        lines = [curve.render_line(y).text for y in range(curve.size.height)]
        assert any(line.startswith("the loss curve could not be drawn") for line in lines)
    logged = log_path().read_text()
    assert "the loss curve could not be drawn" in logged and "Traceback" in logged
    assert "plotext broke" in logged


async def test_an_internal_error_in_the_interface_goes_to_the_log_with_its_traceback(
    make_app,
) -> None:
    from nst_engine.store.runlog import log_path

    app = make_app()
    with pytest.raises(RuntimeError, match="a bug in a handler"):
        async with app.run_test(size=(80, 24)) as pilot:
            await form_settled(pilot)

            def bug() -> None:
                raise RuntimeError("a bug in a handler")

            app.call_later(bug)
            await pilot.pause()
    logged = log_path().read_text()
    assert "internal error in the interface" in logged and "a bug in a handler" in logged
    assert "Traceback" in logged


async def test_a_picture_that_fails_to_draw_is_a_line_and_a_notice(monkeypatch) -> None:
    from PIL import Image
    from textual.app import App

    from nst_tui.app.widgets.picture.cells import CellBuilder, CellImage

    def broken_place(self):
        raise ValueError("no rows")

    class PictureApp(App[None]):
        def compose(self):
            yield CellImage()

    app = PictureApp()
    notices: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **options: notices.append(message))
    async with app.run_test(size=(40, 10)) as pilot:
        picture = app.query_one(CellImage)
        picture.show(CellBuilder().build(Image.new("RGB", (20, 10), "red")))
        monkeypatch.setattr(CellImage, "_place", broken_place)
        await pilot.resize_terminal(30, 8)
        await pilot.pause()
        assert app.is_running
        assert picture.render_line(0).text.startswith("the picture could not be drawn")
        assert notices == [
            "The picture could not be drawn (ValueError: no rows); the log has the details"
        ]

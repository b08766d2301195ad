"""Coarse to fine and the speed switches in the app: the form's fields and their hint, the
estimate of all scales, presets and remembered settings, and "scale 3 of 5" during a run."""

from __future__ import annotations

from app_helpers import form_settled, run_is_off_because, run_is_on, set_text, wait_for
from textual.widgets import Input

from nst_engine.settings.presets import load_preset
from nst_tui.app.messages import RunProgress, RunStarted
from nst_tui.app.remembered import load_remembered
from nst_tui.app.widgets.dropdown import Dropdown


def hint(app) -> str:
    shown = app.main.query_one("#scales-hint")
    return str(shown.content) if shown.display else ""


async def test_coarse_to_fine_in_the_form(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(size=512))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        assert hint(app) == ""  # off by default
        estimate = app.main.query_one("#estimate")
        await wait_for(pilot, lambda: str(estimate.content).startswith("≈"), what="the estimate")
        single = estimate.result.seconds
        await set_text(pilot, "#min_size", "128")
        await set_text(pilot, "#scale_iterations", "30")
        run_is_on(app)
        config = app.form_state.config
        assert (config.plan.min_size, config.plan.scale_iterations) == (128, 30)
        assert hint(app) == "5 scales: 128 → 181 → 256 → 362 → 512"
        # The estimate counts the smaller scales' iterations too.
        await wait_for(pilot, lambda: estimate.result.seconds > single, what="a longer estimate")

        await set_text(pilot, "#min_size", "600")
        assert hint(app) == "off: the min size is not below the compute size"

        await set_text(pilot, "#min_size", "16")
        run_is_off_because(app, "coarse to fine's first scale makes the content image 16x11")
        field = app.main.query_one("#min_size-field")
        assert "use a larger min size" in field.error

        await set_text(pilot, "#min_size", "abc")
        assert app.main.query_one("#min_size-field").error == (
            "min size must be a whole number, got 'abc'"
        )
        assert hint(app) == ""  # no scales to list, rather than the last ones

        await set_text(pilot, "#min_size", "0")
        run_is_on(app)
        assert hint(app) == ""

        # The speed switches, in the machine section.
        precision = app.main.query_one("#precision", Dropdown)
        precision.value = "bf16"
        app.main.query_one("#cuda_graph", Dropdown).value = "off"
        await pilot.pause()
        await form_settled(pilot)
        config = app.form_state.config
        assert (
            config.machine.precision,
            config.machine.memory_format,
            config.machine.cuda_graph,
        ) == (
            "bf16",
            "auto",
            "off",
        )

        # The print preset fills the fields; the speed switches go back to its (auto).
        app.main.query_one("#preset", Dropdown).value = "print"
        await pilot.pause()
        await form_settled(pilot)
        assert app.main.query_one("#min_size", Input).value == "256"
        assert app.main.query_one("#scale_iterations", Input).value == "100"
        assert app.main.query_one("#precision", Dropdown).value == "auto"
        assert app.form_state.config.replace(content=None, style=None, output=None) == (
            load_preset("print")
        )
        assert hint(app).startswith("7 scales: 256 → 362 → ")
        await set_text(pilot, "#min_size", "200")
        await pilot.press("ctrl+q")
    remembered = load_remembered().config
    assert (
        remembered.plan.min_size,
        remembered.plan.scale_iterations,
        remembered.plan.size.longest,
    ) == (
        200,
        100,
        2048,
    )


async def test_the_run_panel_says_which_scale_at_80_columns(make_app) -> None:
    """The status line above the bar says the scale and its size (the counts line below has
    no room left at 80 columns: ETA and speed fill it)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        app.current_run_number = 1
        app.running = True
        app.main.panel.set_running()
        app.main.panel.start(600)
        main = app.main
        sizes = ((128, 86), (181, 121), (256, 171), (362, 242), (512, 342))
        started = RunStarted(1, "cpu (2 threads)", "oxford", (512, 342), (512, 342), 600)
        started.scale_sizes = sizes
        main.post_message(started)
        losses = {"content": 1.25e5, "style": 3.5e6, "tv": 4.2e3}
        main.post_message(RunProgress(1, 250, 600, 20.0, 2.5, losses, scale=3, scales=5))
        await pilot.pause()
        status = main.panel.query_one("#run-status")
        shown = str(status.content).splitlines()[0][: status.content_region.width]
        assert shown.startswith("scale 3 of 5 · 256x171 · cpu"), shown
        counts = main.panel.query_one("#progress-stats")
        assert str(counts.content).startswith("ETA 2:20 · 2.50 it/s · 250/600")
        # The last scale: the compute size, and the output size when it differs.
        main.post_message(RunProgress(1, 500, 600, 40.0, 2.5, losses, scale=5, scales=5))
        await pilot.pause()
        assert str(status.content).startswith("scale 5 of 5 · 512x342 · cpu")
        app.running = False

"""The cost estimate under Run: shown for the form's run, warning about absurd settings,
and asking before a run that needs more memory than the device has free."""

from __future__ import annotations

import threading

import pytest
from app_helpers import form_settled, reason_text, result_text, set_text, wait_for

from nst_engine.cost import estimate, rates
from nst_engine.cost.rates import DeviceProfile, Timing

GB = 10**9


def estimate_text(app) -> str:
    return str(app.main.query_one("#estimate").content)


@pytest.fixture
def quick_profiles(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Devices answer at once with fixed rates (after the returned event is set), 16 GB free."""
    monkeypatch.setattr(estimate, "cpu_free_bytes", lambda *args: 16 * GB)
    release = threading.Event()

    def profile(setting: str, **options) -> DeviceProfile:
        release.wait(30)
        return DeviceProfile("cpu (test)", "cpu (2 threads)", Timing(0.01, 0.02))

    monkeypatch.setattr(rates, "device_profile", profile)
    return release


async def test_the_estimate_appears_under_run_and_absurd_sizes_and_iterations_warn(
    make_app, tiny_config, quick_profiles
) -> None:
    """Every part in one app (an app start costs more than a part), each from the tiny form."""
    iterations = str(tiny_config.plan.iterations)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        # The estimate appears under Run, then follows the form.
        await wait_for(pilot, lambda: "free (cpu)" in estimate_text(app))
        assert estimate_text(app).startswith("estimating…"), "appears: the rate is not known yet"
        assert "of 16 GB free (cpu)" in estimate_text(app), "appears: the free memory"
        quick_profiles.set()
        await wait_for(pilot, lambda: estimate_text(app).startswith("≈ "), what="the time")
        assert "Ready" in reason_text(app), "appears: Ready"
        shown = estimate_text(app)
        await set_text(pilot, "#iterations", "2000")
        assert estimate_text(app) != shown, "appears: the estimate follows the form"
        await set_text(pilot, "#iterations", iterations)
        assert estimate_text(app) == shown and "Ready" in reason_text(app), "appears: back"

        # A compute size of 99999 warns instead of Ready.
        await set_text(pilot, "#size", "99999")
        reason = reason_text(app)
        assert "Ready" not in reason, f"size 99999: {reason}"
        assert reason.startswith("Warning:") and "memory" in reason, f"size 99999: {reason}"
        assert "16 GB free" in reason and "Ctrl+R asks first" in reason, f"size 99999: {reason}"
        await set_text(pilot, "#size", "32")
        assert "Ready" in reason_text(app), "size 99999: back to 32"

        # A hundred million iterations warn instead of Ready.
        await set_text(pilot, "#iterations", "99999999")
        reason = reason_text(app)
        assert reason.startswith("Warning:") and "takes about" in reason, f"1e8 its: {reason}"
        assert "days" in reason and "Ready" not in reason, f"1e8 iterations: {reason}"


@pytest.mark.slow  # runs the engine
async def test_run_asks_first_when_the_estimate_exceeds_free_memory(
    make_app, quick_profiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nst_tui.app.screens.confirm import ConfirmScreen

    quick_profiles.set()
    monkeypatch.setattr(estimate, "cpu_free_bytes", lambda *args: 10**6)  # 1 MB free
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Run anyway?" in str(app.screen.query_one(".confirm-question").content)
        await pilot.press("enter")  # the default is Cancel
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert not app.running and app.current_run_number == 0
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#confirm-yes")
        await wait_for(pilot, lambda: app.current_run_number == 1, what="the run to start")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run")


@pytest.mark.slow  # runs the engine
async def test_run_does_not_ask_when_memory_suffices(make_app, quick_profiles) -> None:
    from nst_tui.app.screens.confirm import ConfirmScreen

    quick_profiles.set()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        output = app.form_state.config.inputs.output
        await pilot.press("ctrl+r")
        # Started at once (a tiny run may even have ended by now), no question asked.
        await wait_for(pilot, lambda: app.current_run_number == 1, what="the run to start")
        assert not isinstance(app.screen, ConfirmScreen)
        # The run goes ahead unasked, to its result.
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run")
        assert not isinstance(app.screen, ConfirmScreen)
        assert output.is_file() and result_text(app).startswith("Done in")


async def test_the_estimate_follows_the_past_runs_of_the_forms_optimiser(
    make_app, tiny_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two past runs: Adam at 256 px (0.2 s an iteration), L-BFGS at 512 px (1 s). The form's
    L-BFGS run at 256 px is the L-BFGS run's time scaled down by the work, not the Adam one's;
    its Adam run at 512 px is the Adam run's scaled up."""
    from nst_engine.cost.estimate import format_seconds, iteration_flops, workload_of
    from nst_engine.cost.rates import RunRecord
    from nst_engine.settings.config import OptimizerSettings
    from nst_engine.settings.values import Size

    sizes = ((640, 427), (512, 512))  # the demo pair's

    def flops(config) -> float:
        return iteration_flops(workload_of(config, *sizes))

    adam, lbfgs = OptimizerSettings(name="adam"), OptimizerSettings(name="lbfgs")
    at_256 = tiny_config.replace(size=Size(longest=256), iterations=100, optimizer=lbfgs)
    at_512 = at_256.replace(size=Size(longest=512))
    runs = (
        RunRecord(flops(at_256.replace(optimizer=adam)), 0.2, "adam"),
        RunRecord(flops(at_512), 1.0, "lbfgs"),
    )
    monkeypatch.setattr(
        rates,
        "device_profile",
        lambda setting, **options: DeviceProfile("cpu (test)", "cpu (2 threads)", None, runs),
    )
    app = make_app(at_256)
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        seconds = 1.0 * flops(at_256) / runs[1].flops * 100
        expected = f"≈ {format_seconds(seconds)} "
        await wait_for(pilot, lambda: estimate_text(app).startswith(expected), what=expected)
        app.main.form.query_one("#optimizer-field").set_value("adam")
        await set_text(pilot, "#size", "512")
        seconds = 0.2 * flops(at_512.replace(optimizer=adam)) / runs[0].flops * 100
        expected = f"≈ {format_seconds(seconds)} "
        await wait_for(pilot, lambda: estimate_text(app).startswith(expected), what=expected)

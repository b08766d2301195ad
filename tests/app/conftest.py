"""Fixtures for the app's tests: a small, fast starting config and helpers to wait on the app.

Runs use random weights at 32 px (the network is not trained, the result is meaningless,
but every step of the machinery runs) unless a test says otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_engine.settings.config import OptimizerSettings, RunConfig
from nst_engine.settings.values import Size

TINY_SIZE = 32


@pytest.fixture
def tiny_config(demo_pair: tuple[Path, Path]) -> RunConfig:
    """The demo pair at 32 px, random weights, a few iterations, on the CPU."""
    content, style = demo_pair
    return RunConfig(
        content=content,
        style=style,
        iterations=4,
        size=Size(longest=TINY_SIZE),
        weights="random",
        device="cpu",
        optimizer=OptimizerSettings(name="adam", lr=2.0),
    )


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_config: RunConfig):
    """An NSTApp starting from `config` (default: tiny_config), proposing outputs in tmp_path."""
    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered

    monkeypatch.chdir(tmp_path)

    def make(config: RunConfig | None = None) -> NSTApp:
        return NSTApp(Remembered(config or tiny_config), folder=tmp_path)

    return make


@pytest.fixture
def quick_path_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check a typed path after 20 ms of quiet instead of 200 (what is checked is the same)."""
    import nst_tui.app.widgets.form.path_field

    monkeypatch.setattr(nst_tui.app.widgets.form.path_field, "CHECK_DELAY", 0.02)


@pytest.fixture(autouse=True)
def fixed_estimates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost estimate under Run sees fixed figures: a CPU at a fixed rate with 16 GB free.

    The real device measurement (a few seconds of VGG19 on the engine thread) would slow
    every app test's first run, and live figures would make what the screen shows vary.
    """
    from nst_engine.cost import estimate, rates

    def profile(setting: str, **options) -> rates.DeviceProfile:
        return rates.DeviceProfile("cpu (test)", "cpu (2 threads)", rates.Timing(0.01, 0.02))

    monkeypatch.setattr(rates, "device_profile", profile)
    monkeypatch.setattr(estimate, "cpu_free_bytes", lambda *args: 16 * 10**9)


@pytest.fixture
def snapshot_app(monkeypatch: pytest.MonkeyPatch, demo_pair: tuple[Path, Path]):
    """An app on the demo pair named relatively, with nothing taken from this machine."""
    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered

    content, style = demo_pair
    # The colours a true-colour terminal gets, whatever this shell says.
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.chdir(content.parent)
    monkeypatch.setattr(NSTApp, "_probe_devices", lambda self: None)
    # The cost estimate at once (its figures are fixed by conftest's fixed_estimates).
    monkeypatch.setattr("nst_tui.app.widgets.run.estimate.PROFILE_DELAY", 0.01)
    # The run's clock does not tick between reports: on a busy machine more than a second can
    # pass between a run message and the picture, and the ETA would count down in it.
    monkeypatch.setattr("nst_tui.app.widgets.run.run_panel.TICK", 3600.0)
    config = RunConfig(content=Path(content.name), style=Path(style.name))
    return NSTApp(Remembered(config), folder=Path("."))

"""Fixtures for the app's tests: a small, fast starting config and helpers to wait on the app.

Runs use random weights at 32 px (the network is not trained, the result is meaningless,
but every step of the machinery runs) unless a test says otherwise.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from app_helpers import LONG_RUN, LONG_RUN_STEP_PAUSE, STEP_PAUSE

from nst_engine.settings.config import OptimizerSettings, RunConfig
from nst_engine.settings.values import Size

TINY_SIZE = 32


@pytest.fixture
def tiny_config(demo_pair: tuple[Path, Path]) -> RunConfig:
    """The demo pair at 32 px, random weights, a few iterations, on the CPU."""
    content, style = demo_pair
    return RunConfig.from_flat(
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


# The app's timers in its tests (seconds): what each waits for is the same, only sooner, so a
# test that waits for it (the devices, the estimate, a path's check, the history's look at the
# runs folder, a queue's or sweep's refresh, the curve's redraw, the file dialog's preview)
# waits for less. The elapsed-time tick is left as it is: each tick repaints the run panel.
QUICK_TIMERS = {
    "nst_tui.app.app.PROBE_DELAY": 0.05,  # 1.0
    "nst_tui.app.widgets.run.estimate.PROFILE_DELAY": 0.01,  # 1.5
    "nst_tui.app.widgets.form.path_field.CHECK_DELAY": 0.02,  # 0.2
    "nst_tui.app.screens.history.POLL_INTERVAL": 0.1,  # 1.0
    "nst_tui.app.screens.queue.REFRESH": 0.1,  # 0.5
    "nst_tui.app.screens.sweep.REFRESH": 0.1,  # 0.5
    "nst_tui.app.widgets.run.loss_plot.REDRAW_INTERVAL": 0.1,  # 1.0
    "nst_tui.app.screens.file_picker.PREVIEW_DELAY": 0.02,  # 0.15
}


# Seconds the test pilot waits for every widget on the screen to handle its pending messages
# (each key press, each pause) before it fails the test; Textual's own 30 failed four app tests
# in one run of tests/app on a machine loaded 15 deep (WaitForScreenTimeout), all green alone.
SCREEN_PATIENCE = 120.0

# The pilot's pause (after each wait, each step a test takes) lasts until the app did nothing
# for one look: Textual looks for 20 ms at a time, just over its screen's update period (1/60
# s), so that an update the screen has pending comes within the look. Here both are shorter,
# the update period still under the look, so that the same holds: a pause took 56 ms on
# average, and 1,259 of them made the quick loop's app tests wait 70 s (idle, on two workers).
# (Work queued before a look ends runs before the look is judged, even on a loaded machine
# where the process waits for a core: asyncio runs what is due first.)
IDLE_LOOK = 0.005  # textual._wait.SLEEP_GRANULARITY: 1 / 50
SCREEN_UPDATE_PERIOD = IDLE_LOOK / 2  # textual.screen.UPDATE_PERIOD: 1 / 60


@pytest.fixture(autouse=True)
def app_under_test(monkeypatch: pytest.MonkeyPatch):
    """Every app test (and one torch thread, as every test: tests/conftest.py): the engine's
    threads at the interface's priority, the app's timers short (QUICK_TIMERS), the pilot
    patient with a busy machine (SCREEN_PATIENCE) and quicker to see the app idle (IDLE_LOOK).

    On this project's small shared machines an engine thread niced below a busy interface made
    a run of four 32 px iterations take 7 s or, on a loaded machine, minutes; the tests check
    behaviour, not speed (the priority itself: test_app_engine_thread.py, which sets
    NST_TUI_ENGINE_NICE itself).
    """
    from textual import _styles_cache
    from textual.pilot import Pilot

    monkeypatch.setenv("NST_TUI_ENGINE_NICE", "0")
    monkeypatch.setattr(Pilot._wait_for_screen, "__defaults__", (SCREEN_PATIENCE,))
    for name, seconds in QUICK_TIMERS.items():
        monkeypatch.setattr(name, seconds)
    shorter_idle_looks(monkeypatch)
    yield
    # Textual (8.x) caches 1,024 calls of this method by widget: each keeps a widget's
    # drawing cache (a few hundred objects) alive after its app ended, and a test process
    # that starts app after app carried 200,000 of them through every full collection. A
    # private part of Textual: where a later one has no such cache, nothing to empty.
    method = getattr(getattr(_styles_cache, "StylesCache", None), "get_inner_outer", None)
    if hasattr(method, "cache_clear"):
        method.cache_clear()


def shorter_idle_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    """IDLE_LOOK and SCREEN_UPDATE_PERIOD, both or neither: private parts of Textual (8.x); a
    later one without them keeps its own (slower) pause."""
    from textual import _wait, screen

    looks = ("SLEEP_GRANULARITY", "SLEEP_IDLE")
    if not all(hasattr(_wait, name) for name in looks) or not hasattr(screen, "UPDATE_PERIOD"):
        return
    monkeypatch.setattr(_wait, "SLEEP_GRANULARITY", IDLE_LOOK)
    monkeypatch.setattr(_wait, "SLEEP_IDLE", IDLE_LOOK / 20)  # CPU that is still "idle"
    monkeypatch.setattr(screen, "UPDATE_PERIOD", SCREEN_UPDATE_PERIOD)


@pytest.fixture(autouse=True)
def engine_runs_are_marked_slow(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """An app test that runs the engine in the app (builds the VGG19 feature extractor on one
    of the app's threads) is marked @pytest.mark.slow, so that `pytest -m "not slow"` stays the
    quick loop; one that is not marked fails at its teardown, saying so. A run made by a
    fixture, on the test's own thread, is not counted."""
    import threading

    from nst_engine.method.features import FeatureExtractor

    built: list[bool] = []
    original = FeatureExtractor.__init__

    def counted(self, *args, **kwargs) -> None:
        if threading.current_thread() is not threading.main_thread():
            built.append(True)
        original(self, *args, **kwargs)

    monkeypatch.setattr(FeatureExtractor, "__init__", counted)
    yield
    if built and request.node.get_closest_marker("slow") is None:
        pytest.fail(f"{request.node.name} runs the engine: mark it @pytest.mark.slow")


@pytest.fixture(autouse=True)
def engine_steps_paced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every engine step in an app test first sleeps: STEP_PAUSE, or LONG_RUN_STEP_PAUSE in
    a scale of LONG_RUN iterations or more (a run a test keeps going, never to its end).

    A step of a 32 px run takes a few ms on one CPU thread: a run that a test needs going
    while it works the screen (5000 iterations: the queue, a resize mid-run, Ctrl+Q's
    question) took a whole core of the machine for the test's length, and sent the interface
    progress at a rate no real run does (a 512 px step on a GPU takes tens of ms), all of it
    CPU the suite paid for nothing the test checks. Tests wait for steps, never for the clock,
    so a slower step changes no outcome. The pause is taken in the scale's step, around the
    Stepper's: a test that replaces the Stepper's step (tests/conftest.py
    `replace_engine_step`, `held_step`) is paced all the same.
    """
    import functools
    import time

    from nst_engine.running.scale import Scale

    real_step = Scale.step

    @functools.wraps(real_step)
    def paced(scale):
        time.sleep(LONG_RUN_STEP_PAUSE if scale.iterations >= LONG_RUN else STEP_PAUSE)
        return real_step(scale)

    monkeypatch.setattr(Scale, "step", paced)


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
    # The run panel's clock stands still: on a busy machine more than a second can pass between
    # a run message and the picture, and the elapsed time and ETA would move in it (a redraw
    # reads the clock again: "1:41 elapsed" against "1:40"). It never ticks either.
    monkeypatch.setattr(
        "nst_tui.app.widgets.run.run_panel.time", SimpleNamespace(monotonic=lambda: 1000.0)
    )
    config = RunConfig.from_flat(content=Path(content.name), style=Path(style.name))
    return NSTApp(Remembered(config), folder=Path("."))

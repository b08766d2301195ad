"""Faults during a run in the app: bad weight files, a loss that turns NaN, CUDA out of memory,
a device that is not there, and the log file. Each ends the run with one line in the run
panel; the app stays up, and the next run in the same session works.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from app_helpers import form_settled, result_text, run_is_off_because, run_is_on, wait_for
from PIL import Image

import nst_engine.running.transfer
from nst_engine.method.weights import random_weights, save_weights_file
from nst_engine.optimise.stepper import Stepper
from nst_engine.store.runlog import log_path
from nst_tui.app.widgets.dropdown import Dropdown


async def run_to_the_end(pilot, timeout: float = 120) -> str:
    """Press Ctrl+R, wait for the run to end; what the run panel says."""
    app = pilot.app
    before = app.current_run_number
    await pilot.press("ctrl+r")
    assert app.current_run_number == before + 1, app.form_state.problem  # a run started
    await wait_for(pilot, lambda: not app.running, timeout=timeout, what="the run")
    await form_settled(pilot)
    return result_text(app)


async def a_good_run_follows(pilot, tmp_path: Path, name: str = "after.png") -> None:
    """A correct run in the same session: it finishes and its image is there."""
    app = pilot.app
    app.main.query_one("#weights", Dropdown).value = "random"
    app.main.query_one("#output").value = str(tmp_path / name)
    await pilot.pause()
    await form_settled(pilot)
    run_is_on(app)
    text = await run_to_the_end(pilot)
    assert text.startswith("Done in"), text
    with Image.open(tmp_path / name) as image:
        image.load()
        assert image.size == (32, 21)


# --- weights ------------------------------------------------------------------------------------


class RunsCode:
    """Unpickling this runs code: it would create `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


def bad_weights(folder: Path, case: str) -> tuple[Path, str]:
    """A weights file for `case` and what the run panel says about it."""
    if case == "missing":
        path = folder / "none.pth"
        return path, f"Weights: weights file '{path}' does not exist"
    if case == "truncated":
        whole = folder / "whole.safetensors"
        save_weights_file(random_weights(0), whole)
        path = folder / "cut.safetensors"
        path.write_bytes(whole.read_bytes()[:5000])
        return path, f"Weights: weights file '{path}' is damaged or not a safetensors file"
    if case == "wrong shape":
        state = dict(random_weights(0).state_dict)
        state["0.weight"] = torch.zeros(32, 3, 3, 3)
        path = folder / "narrow.pth"
        torch.save(state, path)
        return path, "'0.weight' has shape (32, 3, 3, 3) but VGG19 needs (64, 3, 3, 3)"
    if case == "code in the pickle":
        path = folder / "evil.pth"
        torch.save({"0.weight": torch.zeros(64, 3, 3, 3), "x": RunsCode(folder / "marker")}, path)
        return path, (
            f"Weights: weights file '{path}' holds Python objects, not only tensors; refusing "
            "to load it because that could run code"
        )
    raise ValueError(case)


@pytest.mark.slow  # runs the engine
async def test_a_missing_weights_file_is_named_before_a_run(
    make_app, tiny_config, tmp_path
) -> None:
    path, _ = bad_weights(tmp_path, "missing")
    app = make_app(tiny_config.replace(weights=str(path)))  # as remembered in settings.toml
    async with app.run_test() as pilot:
        await form_settled(pilot)
        message = f"weights file '{path}' does not exist"
        run_is_off_because(app, message)
        assert app.main.query_one("#weights_file-field").error == message
        await a_good_run_follows(pilot, tmp_path)


# The form checks that a weights file is there; what is in it, only a run can tell.
@pytest.mark.slow  # runs the engine
@pytest.mark.parametrize("case", ["truncated", "wrong shape", "code in the pickle"])
async def test_a_bad_weights_file_is_named_and_the_next_run_works(
    make_app, tiny_config, tmp_path, monkeypatch, case
) -> None:
    path, message = bad_weights(tmp_path, case)
    if case == "code in the pickle":
        # The app's way to a weights file: `auto` reads NST_TUI_WEIGHTS.
        monkeypatch.setenv("NST_TUI_WEIGHTS", str(path))
        config = tiny_config.replace(weights="auto")
    else:
        config = tiny_config.replace(weights=str(path))  # as remembered in settings.toml
    app = make_app(config)
    async with app.run_test() as pilot:
        await form_settled(pilot)
        output = app.form_state.config.inputs.output
        text = await run_to_the_end(pilot)
        assert message in text and "\n" not in text, text
        assert app.main.panel.has_class("-failed")
        assert app.is_running
        assert not output.exists()
        assert not (tmp_path / "marker").exists()  # the pickled code never ran
        await a_good_run_follows(pilot, tmp_path)


# --- numbers that blow up ------------------------------------------------------------------------


@pytest.mark.slow  # runs the engine
async def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_image(
    make_app, tiny_config, nan_after
) -> None:
    nan_after(good_steps=12)
    app = make_app(tiny_config.replace(iterations=25))
    async with app.run_test() as pilot:
        await form_settled(pilot)
        output = app.form_state.config.inputs.output
        text = await run_to_the_end(pilot)
        kept = output.with_name(f"{output.stem}.partial-10-of-25.png")
        assert text == (
            "Diverged: the loss became NaN or infinite by iteration 20; try a lower learning "
            f"rate (now 2); the last good image (iteration 10) is in {kept}"
        )
        with Image.open(kept) as image:
            image.load()
        assert not output.exists()
        assert app.is_running
        run_is_on(app)


@pytest.mark.slow  # runs the engine
async def test_out_of_memory_gives_advice_and_the_next_run_works(
    make_app, tiny_config, tmp_path, out_of_memory_at
) -> None:
    out_of_memory_at(5)  # the first run's fifth step; later runs are fine
    app = make_app(tiny_config.replace(iterations=20))
    async with app.run_test() as pilot:
        await form_settled(pilot)
        output = app.form_state.config.inputs.output
        text = await run_to_the_end(pilot)
        kept = output.with_name(f"{output.stem}.partial-04-of-20.png")
        assert re.fullmatch(
            r"Device: out of GPU memory at 32x21 \(it needs about [\d.]+ [MG]B\); lower the "
            r"compute size, choose fewer or shallower layers, or a smaller L-BFGS history size; "
            rf"the image so far is in {re.escape(str(kept))}",
            text,
        ), text
        assert kept.is_file() and not output.exists()
        await a_good_run_follows(pilot, tmp_path)


# --- devices ------------------------------------------------------------------------------------


@pytest.mark.slow  # runs the engine
async def test_asking_for_cuda_without_one_says_so_and_offers_the_cpu(make_app) -> None:
    assert not torch.cuda.is_available()
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        device = app.main.query_one("#device", Dropdown)
        found = lambda: any("cpu (" in str(label) for label, _ in device.options)  # noqa: E731
        await wait_for(pilot, found, what="the device probe")
        # Only the devices found are offered; set as a remembered value would be.
        app.main.query_one("#device-field").set_value("cuda")
        await pilot.pause()
        await form_settled(pilot)
        text = await run_to_the_end(pilot)
        assert text == (
            "Device: cuda was asked for, but this machine has no usable CUDA device; "
            "choose cpu (or auto) as the Device"
        )
        assert "cpu" in [value for _, value in device.options]
        device.value = "cpu"
        await pilot.pause()
        await form_settled(pilot)
        text = await run_to_the_end(pilot)
        assert text.startswith("Done in"), text


async def test_a_remembered_device_that_is_not_here_falls_back_to_auto(make_app, tmp_path) -> None:
    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import load_remembered, settings_path

    settings_path().parent.mkdir(parents=True)
    settings_path().write_text('[form]\ndevice = "cuda:1"\nweights = "random"\n', "utf-8")
    remembered = load_remembered()
    assert remembered.config.machine.device == "cuda:1" and remembered.problems == []
    app = NSTApp(remembered, folder=tmp_path)
    async with app.run_test() as pilot:
        device = app.main.query_one("#device", Dropdown)
        await wait_for(pilot, lambda: device.value == "auto", what="the device probe")
        await form_settled(pilot)
        notes = [str(note.message) for note in app._notifications]
        assert any("The device cuda:1" in note and "using auto" in note for note in notes), notes
        assert app.form_state.config.machine.device == "auto"
        assert "cuda:1" not in [value for _, value in device.options]


# --- the log ------------------------------------------------------------------------------------


@pytest.mark.slow  # runs the engine
async def test_a_run_writes_its_settings_device_weights_and_timings_to_the_log(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        text = await run_to_the_end(pilot)
        assert text.startswith("Done in")
    log = log_path().read_text(encoding="utf-8")
    assert "run requested:" in log and "iterations = 4" in log and 'weights = "random"' in log
    assert "Started(device='cpu (" in log and "weights_source='random (seed 0" in log
    assert "Finished(path=" in log and "seconds=" in log and "it/s)" in log


@pytest.mark.slow  # runs the engine
async def test_an_internal_error_puts_its_traceback_in_the_log_and_one_line_on_screen(
    make_app, monkeypatch
) -> None:
    def broken_step(stepper):
        raise RuntimeError("the optimiser exploded")

    monkeypatch.setattr(Stepper, "step", broken_step)
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        text = await run_to_the_end(pilot)
        assert text == (
            "Internal error: RuntimeError: the optimiser exploded. This is a bug in nst-tui, "
            f"not in your settings; its traceback is in {log_path()}"
        )
        assert app.is_running
        run_is_on(app)
    log = log_path().read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: the optimiser exploded" in log
    assert "in broken_step" in log  # the frame where it happened


def test_the_command_line_advice_the_app_rewords_is_what_the_engine_says() -> None:
    """If the engine's wording drifts, the app would show a flag it does not have."""
    from nst_tui.app.wording import APP_ADVICE, for_the_app

    engine = Path(nst_engine.__file__).parent
    sources = "".join(path.read_text(encoding="utf-8") for path in engine.rglob("*.py"))
    for advice in APP_ADVICE:
        assert advice in sources, advice
        assert "--" not in for_the_app(f"something; {advice}")

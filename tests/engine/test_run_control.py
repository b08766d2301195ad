"""Stopping a run: cancelling, closing, diverging, running out of memory, interrupting.
Whatever stops it, the image made so far is kept beside the output and the output itself
is never written half-done."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

from nst_engine.errors import DeviceError, NumericalError
from nst_engine.optimise.stepper import Stepper
from nst_engine.running import scale
from nst_engine.running.events import Cancelled, Finished, Started, Step
from nst_engine.running.images import read_embedded_settings
from nst_engine.running.transfer import run
from nst_engine.settings.config import RunConfig


def pull_steps(events, count: int) -> Step:
    """Pull events until the `count`-th Step (returned, its preview still valid)."""
    for event in events:
        if isinstance(event, Step) and event.index == count:
            return event
    raise AssertionError(f"the run ended before step {count}")


def assert_valid_image(path, size=None) -> np.ndarray:
    with Image.open(path) as image:
        image.load()
        if size is not None:
            assert image.size == size
        return np.asarray(image.convert("RGB"))


def test_cancel_after_some_steps_keeps_the_partial_image_beside_the_output(tiny_config):
    config = tiny_config(iterations=20)
    events = run(config)
    step = pull_steps(events, 3)
    image_after_three = np.asarray(step.preview(48, 32))
    cancelled = events.cancel()
    assert isinstance(cancelled, Cancelled)
    assert cancelled.index == 3
    assert cancelled.partial_path == config.inputs.output.with_name("out.partial-03-of-20.png")
    assert np.array_equal(assert_valid_image(cancelled.partial_path, (48, 32)), image_after_three)
    assert not config.inputs.output.exists()
    settings = read_embedded_settings(cancelled.partial_path)
    assert "partial: stopped after 3 of 20 iterations" in settings
    assert RunConfig.from_toml(settings) == config
    assert events.cancelled == cancelled


def test_the_partial_image_is_saved_at_the_output_size(tiny_config):
    config = tiny_config(iterations=20, output_size="60x40")
    events = run(config)
    pull_steps(events, 2)
    assert_valid_image(events.cancel().partial_path, (60, 40))


def test_cancelling_before_any_step_saves_nothing(tiny_config, tmp_path):
    config = tiny_config(iterations=20)
    events = run(config)
    assert isinstance(next(e for e in events if isinstance(e, Started)), Started)
    cancelled = events.cancel()
    assert cancelled == Cancelled(0, None)
    assert list(tmp_path.iterdir()) == []


def test_closing_through_the_context_manager_also_saves_the_partial(tiny_config):
    config = tiny_config(iterations=20)
    with run(config) as events:
        pull_steps(events, 2)
    assert events.cancelled is not None
    assert events.cancelled.index == 2
    assert events.cancelled.partial_path.name == "out.partial-02-of-20.png"
    assert_valid_image(events.cancelled.partial_path)
    assert not config.inputs.output.exists()


def test_closing_after_finished_saves_no_partial(tiny_config, tmp_path):
    config = tiny_config(iterations=3)
    with run(config) as events:
        for event in events:
            if isinstance(event, Finished):
                break  # a consumer that stops at Finished, without pulling to the end
    assert events.cancelled is None
    assert events.cancel() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_cancelling_a_run_that_ended_returns_none(tiny_config):
    events = run(tiny_config(iterations=2))
    assert isinstance(list(events)[-1], Finished)
    assert events.cancel() is None


def test_a_huge_learning_rate_diverges_into_a_numerical_error_suggesting_a_lower_one(tiny_config):
    config = tiny_config(iterations=10, optimizer={"name": "sgd", "lr": 1e6})
    with pytest.raises(NumericalError) as caught:
        list(run(config))
    assert "try a lower learning rate (now 1e+06)" in caught.value.message
    assert not config.inputs.output.exists()


def test_a_nan_loss_raises_and_keeps_the_last_good_image(tiny_config, nan_after):
    nan_after(good_steps=12)
    config = tiny_config(iterations=25)
    with pytest.raises(NumericalError) as caught:
        list(run(config))
    message = caught.value.message
    assert "the loss became NaN or infinite by iteration 20" in message
    assert "try a lower learning rate" in message
    kept = config.inputs.output.with_name("out.partial-10-of-25.png")
    assert f"the last good image (iteration 10) is in {kept}" in message
    assert_valid_image(kept)
    assert not config.inputs.output.exists()


def test_a_nan_loss_at_the_last_iteration_is_caught(tiny_config, nan_after):
    nan_after(good_steps=4)
    config = tiny_config(iterations=5)
    with pytest.raises(NumericalError, match="by iteration 5"):
        list(run(config))
    assert not config.inputs.output.exists()


def test_an_update_that_makes_the_image_nan_at_a_check_is_never_kept_as_good(
    tiny_config, nan_image_at, tmp_path
):
    # The loss a step reports belongs to the image before its update: only the image's own
    # values tell whether the update kept it finite.
    nan_image_at(10)
    config = tiny_config(iterations=20)
    with pytest.raises(NumericalError) as caught:
        list(run(config))
    assert "by iteration 10" in caught.value.message
    assert "iteration 10) is in" not in caught.value.message
    for path in tmp_path.glob("*.png"):
        assert "partial-10" not in path.name


def test_a_final_update_that_makes_the_image_nan_fails_instead_of_saving_garbage(
    tiny_config, nan_image_at
):
    nan_image_at(5)
    config = tiny_config(iterations=5)
    with pytest.raises(NumericalError, match="by iteration 5"):
        list(run(config))
    assert not config.inputs.output.exists()


def test_out_of_memory_gives_advice_and_keeps_the_image_so_far(
    tiny_config, out_of_memory_at, tmp_path
):
    out_of_memory_at(5)
    config = tiny_config(iterations=20)
    with pytest.raises(DeviceError) as caught:
        list(run(config))
    message = caught.value.message
    assert "out of GPU memory at 48x32 (it needs about " in message
    assert "of it L-BFGS's history); lower the compute size" in message
    kept = config.inputs.output.with_name("out.partial-04-of-20.png")
    assert f"the image so far is in {kept}" in message
    assert_valid_image(kept)
    assert not config.inputs.output.exists()

    # The process is still good for a normal run.
    again = tiny_config(iterations=2, output=tmp_path / "again.png")
    assert isinstance(list(run(again))[-1], Finished)
    assert_valid_image(again.inputs.output)


def test_out_of_memory_while_preparing_gives_advice(tiny_config, monkeypatch):
    def no_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(scale, "loss_for", no_memory)  # the targets of the first scale
    with pytest.raises(DeviceError, match="lower the compute size"):
        list(run(tiny_config()))


def test_out_of_memory_advice_puts_the_largest_part_first(tiny_config, out_of_memory_at):
    # At 512 px with a 100-step history, L-BFGS's history is most of what a run needs.
    out_of_memory_at(1)
    with pytest.raises(DeviceError) as caught:
        list(run(tiny_config(size=512, iterations=200, optimizer={"name": "lbfgs"})))
    message = caught.value.message
    assert re.search(
        r"needs about [\d.]+ [MG]B, [\d.]+ [MG]B of it L-BFGS's history\); a smaller L-BFGS",
        message,
    ), message
    assert "--history-size" in message


def test_an_interrupt_inside_a_step_keeps_the_completed_steps(tiny_config, monkeypatch):
    real_step = Stepper.step
    calls = []

    def step(stepper):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_step(stepper)

    monkeypatch.setattr(Stepper, "step", step)
    config = tiny_config(iterations=20)
    events = run(config)
    with pytest.raises(KeyboardInterrupt):
        list(events)
    assert events.cancelled is not None
    assert events.cancelled.index == 4
    assert events.cancelled.partial_path.name == "out.partial-04-of-20.png"
    assert_valid_image(events.cancelled.partial_path)
    assert not config.inputs.output.exists()


def test_a_partial_image_goes_to_the_rescue_folder_when_the_output_folder_is_gone(
    tiny_config, tmp_path
):
    folder = tmp_path / "vanishing"
    folder.mkdir()
    config = tiny_config(iterations=20, output=folder / "out.png")
    events = run(config)
    pull_steps(events, 2)
    folder.rmdir()
    cancelled = events.cancel()
    assert cancelled.partial_path.parent == tmp_path / "state" / "rescued"
    assert_valid_image(cancelled.partial_path)


def test_cancelling_a_run_that_never_started_says_nothing_was_made(tiny_config, tmp_path):
    events = run(tiny_config(iterations=5))
    assert events.cancel() == Cancelled(0, None)
    assert list(tmp_path.iterdir()) == []

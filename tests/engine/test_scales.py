"""Coarse to fine: the scales a run goes through, what each starts from, stopping in any."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from nst_engine.optimise.stepper import Stepper
from nst_engine.running.events import Finished, Snapshot, Started, Step
from nst_engine.running.tensors import rescale
from nst_engine.running.transfer import run


def test_a_run_goes_through_the_scales_counting_iterations_over_all_of_them(tiny_config):
    config = tiny_config(size=64, min_size=32, scale_iterations=2, iterations=3)
    events, shapes = [], []
    for event in run(config):  # a step's picture is the current one: look before the next
        events.append(event)
        if isinstance(event, Step):
            shapes.append(tuple(event.picture().shape[-2:]))
    started = next(event for event in events if isinstance(event, Started))
    assert started.scale_sizes == ((32, 22), (45, 30), (64, 43))
    assert started.scale_iterations == (2, 2, 3)
    assert started.total == 7 and started.compute_size == (64, 43)
    steps = [event for event in events if isinstance(event, Step)]
    assert [step.index for step in steps] == [1, 2, 3, 4, 5, 6, 7]
    assert [step.scale for step in steps] == [1, 1, 2, 2, 3, 3, 3]
    assert {step.scales for step in steps} == {3}
    assert shapes[::2] == [
        (22, 32),
        (30, 45),
        (43, 64),
        (43, 64),
    ]
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.iterations == 7
    with Image.open(finished.path) as image:
        assert image.size == (64, 43)


def test_each_scale_starts_from_the_last_one_enlarged(tiny_config, monkeypatch):
    starts = []
    real_init = Stepper.__init__

    def init(self, loss_function, image, *rest):
        starts.append(image.detach().clone())
        real_init(self, loss_function, image, *rest)

    monkeypatch.setattr(Stepper, "__init__", init)
    config = tiny_config(size=64, min_size=32, scale_iterations=2, iterations=2)
    ends = {}
    for event in run(config):
        if isinstance(event, Step):
            ends[event.scale] = event.picture().detach().clone()
    assert len(starts) == 3
    for scale in (1, 2):
        height, width = starts[scale].shape[-2:]
        expected = rescale(ends[scale], (width, height))
        assert torch.equal(starts[scale], expected)


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_cancelling_at_any_scale_keeps_the_image_at_the_output_size(tiny_config, scale):
    config = tiny_config(size=64, min_size=32, scale_iterations=3, iterations=3)
    events = run(config)
    for event in events:
        if isinstance(event, Step) and event.scale == scale and event.index % 3 == 2:
            break
    cancelled = events.cancel()
    assert cancelled.index == 3 * (scale - 1) + 2
    assert cancelled.partial_path.name == f"out.partial-{cancelled.index}-of-9.png"
    with Image.open(cancelled.partial_path) as image:
        assert image.size == (64, 43)
    assert not config.inputs.output.exists()


def test_snapshots_are_taken_at_every_scale_at_the_output_size(tiny_config):
    config = tiny_config(size=64, min_size=32, scale_iterations=2, iterations=2, snapshot_every=2)
    snapshots = [event for event in run(config) if isinstance(event, Snapshot)]
    assert [snapshot.index for snapshot in snapshots] == [2, 4]
    for snapshot in snapshots:
        with Image.open(snapshot.path) as image:
            assert image.size == (64, 43)


def test_bf16_on_the_cpu_stays_close_to_float32(tiny_config, tmp_path):
    """The bound: bf16 keeps 8 bits of mantissa, so each activation is off by up to 0.4%.
    After 10 Adam iterations from the content image the losses agree within 2% (measured:
    0.07%), and the pictures differ by less than 0.35 of what the run changed (measured:
    0.25; Adam's steps follow the gradient's sign, which bf16 flips where it is near 0)."""
    results = {}
    for precision in ("fp32", "bf16"):
        config = tiny_config(
            size=64,
            iterations=10,
            init="content",
            precision=precision,
            optimizer={"name": "adam", "lr": 1.0},
            output=tmp_path / f"{precision}.png",
        )
        finished = list(run(config))[-1]
        assert isinstance(finished, Finished)
        with Image.open(finished.path) as image:
            results[precision] = (finished.losses, np.asarray(image, dtype=np.float64))
    (fp32_losses, fp32_pixels), (bf16_losses, bf16_pixels) = results["fp32"], results["bf16"]
    assert abs(bf16_losses["total"] / fp32_losses["total"] - 1) < 0.02
    with Image.open(config.inputs.content) as content:
        start = np.asarray(content.convert("RGB").resize((64, 43), Image.LANCZOS), np.float64)
    changed = np.abs(fp32_pixels - start).mean()
    difference = np.abs(bf16_pixels - fp32_pixels).mean()
    assert 0 < difference < 0.35 * changed  # 0: bf16 did run


@pytest.mark.parametrize(
    ("optimizer", "precision", "device", "bf16", "graph"),
    [
        ("adam", "auto", "cuda", True, True),
        ("lbfgs", "auto", "cuda", False, True),  # bf16 spoils L-BFGS's curvature pairs
        ("lbfgs", "bf16", "cuda", True, True),  # unless asked for
        ("adam", "auto", "cpu", False, False),
        ("adam", "bf16", "cpu", True, False),
    ],
)
def test_auto_switches_per_device_and_optimiser(
    monkeypatch, optimizer, precision, device, bf16, graph
):
    from nst_engine.optimise.stepper import resolve_switches
    from nst_engine.settings.config import RunConfig

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    config = RunConfig.from_dict({"optimizer": {"name": optimizer}, "precision": precision})
    switches = resolve_switches(config, torch.device(device))
    assert (switches.bf16, switches.graph) == (bf16, graph)
    assert switches.channels_last == (device == "cuda")
    off = resolve_switches(config.replace(cuda_graph="off"), torch.device(device))
    assert not off.graph


@pytest.mark.parametrize(("side", "channels_last"), [(128, False), (255, False), (256, True)])
def test_on_the_cpu_channels_last_is_chosen_from_256_px(side, channels_last):
    from nst_engine.optimise.stepper import resolve_switches
    from nst_engine.settings.config import RunConfig

    switches = resolve_switches(RunConfig(), torch.device("cpu"), side)
    assert switches.channels_last == channels_last
    asked = resolve_switches(
        RunConfig.from_flat(memory_format="contiguous"), torch.device("cpu"), side
    )
    assert not asked.channels_last

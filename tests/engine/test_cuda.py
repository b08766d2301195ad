"""The engine on a real CUDA device: no host wait per step (every optimiser, in a CUDA
graph), graph and eager steps alike, the same losses as the CPU, coarse to fine, and a real
out-of-memory that leaves the device usable for the next run.

Skipped where there is no GPU (CI has none); `benchmarks/gpu_check.sh` runs them on one.
"""

from __future__ import annotations

import gc
import re

import pytest
import torch

from nst_engine.devices import available_devices
from nst_engine.errors import DeviceError
from nst_engine.events import Finished, Step
from nst_engine.stepper import GRAPH_WARMUP
from nst_engine.transfer import run

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


@pytest.fixture
def sync_errors():
    """Make any operation that makes the host wait for the GPU raise, while the test asks."""

    class Switch:
        def on(self) -> None:
            torch.cuda.set_sync_debug_mode("error")

        def off(self) -> None:
            torch.cuda.set_sync_debug_mode("default")

    switch = Switch()
    yield switch
    switch.off()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs", "rmsprop", "adadelta", "sgd"])
def test_steps_on_the_gpu_never_make_the_host_wait(tiny_config, sync_errors, optimizer):
    # From step 6 (after the eager warm-up and the graph's capture, which synchronise) to 25:
    # past the finite-loss checks at 10 and 20, whose answers are read back later.
    config = tiny_config(device="cuda", iterations=40, optimizer={"name": optimizer})
    indices = []
    with run(config) as events:
        for event in events:
            if isinstance(event, Step):
                indices.append(event.index)
                if event.index == GRAPH_WARMUP + 2:
                    sync_errors.on()
                if event.index == 25:
                    break
        sync_errors.off()
    assert indices == list(range(1, 26))


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_graph_and_eager_steps_give_the_same_losses(tiny_config, tmp_path, optimizer):
    """The same kernels, launched one by one or replayed: the same losses to float32
    rounding (deterministic cuDNN; L-BFGS amplifies any last-bit difference a little)."""

    def losses(graph: str) -> list[float]:
        config = tiny_config(
            device="cuda",
            iterations=15,
            precision="fp32",
            cuda_graph=graph,
            optimizer={"name": optimizer},
            output=tmp_path / f"{graph}.png",
        )
        return [event.loss_values()["total"] for event in run(config) if isinstance(event, Step)]

    eager, graph = losses("off"), losses("on")
    assert graph == pytest.approx(eager, rel=1e-3)


def test_a_seeded_graph_run_gives_the_same_pixels_twice(tiny_config, tmp_path):
    import numpy as np
    from PIL import Image

    pictures = []
    for name in ("first", "second"):
        config = tiny_config(device="cuda", iterations=20, output=tmp_path / f"{name}.png")
        list(run(config))
        with Image.open(config.output) as image:
            pictures.append(np.asarray(image))
    assert np.array_equal(*pictures)


def test_coarse_to_fine_on_the_gpu(tiny_config):
    config = tiny_config(device="cuda", size=96, min_size=48, scale_iterations=6, iterations=6)
    events = list(run(config))
    steps = [event for event in events if isinstance(event, Step)]
    assert [step.scale for step in steps][::6] == [1, 2, 3]
    assert isinstance(events[-1], Finished)


def test_the_gpu_and_the_cpu_agree_on_the_losses_of_the_starting_image(tiny_config, tmp_path):
    def first_losses(device: str) -> dict[str, float]:
        config = tiny_config(
            device=device, init="content", iterations=1, output=tmp_path / f"{device}.png"
        )
        steps = [event for event in run(config) if isinstance(event, Step)]
        return steps[0].loss_values()

    cpu, gpu = first_losses("cpu"), first_losses("cuda")
    for name in ("content", "style", "tv", "total"):
        # TF32 convolutions on the GPU: agreement to about a percent, not to the last bit.
        assert gpu[name] == pytest.approx(cpu[name], rel=2e-2, abs=1e-12), name


def test_a_real_out_of_memory_gives_advice_and_the_next_run_works(tiny_config, tmp_path):
    # The card is capped at 1.5 GiB for this process: a 2048 px run cannot fit, a 48 px one can.
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(min(1.0, 1.5 * 2**30 / total))
    try:
        list(run(tiny_config(device="cuda", output=tmp_path / "before.png")))
        gc.collect()
        held_before = torch.cuda.memory_allocated()  # the libraries' own workspaces
        big = tiny_config(
            device="cuda",
            size=2048,
            iterations=3,
            output=tmp_path / "big.png",
            content_layers={"relu4_2": 1.0},
            style_layers={"relu1_1": 1.0, "relu5_1": 1.0},
        )
        message = None
        try:
            list(run(big))
        except DeviceError as error:  # as the front ends do: keep the message, drop the error
            message = error.message
        assert message is not None and re.match(
            r"out of GPU memory at \d+x\d+ \(it needs about ", message
        )
        assert not big.output.exists()
        gc.collect()
        assert torch.cuda.memory_allocated() <= held_before  # what the failed run held is freed

        events = list(run(tiny_config(device="cuda", output=tmp_path / "after.png")))
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    assert isinstance(events[-1], Finished)
    assert (tmp_path / "after.png").is_file()


def test_every_gpu_is_offered_with_its_name():
    devices = dict(available_devices())
    for index in range(torch.cuda.device_count()):
        assert devices[f"cuda:{index}"].startswith(f"cuda:{index} (")
        assert torch.cuda.get_device_name(index) in devices[f"cuda:{index}"]

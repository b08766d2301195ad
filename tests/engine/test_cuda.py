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

from nst_engine.cost.devices import available_devices
from nst_engine.errors import DeviceError
from nst_engine.optimise.stepper import GRAPH_WARMUP
from nst_engine.running.events import Finished, Step
from nst_engine.running.transfer import run

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


@pytest.mark.parametrize(
    "optimizer, style_loss",
    [
        ("adam", "gram"),
        ("lbfgs", "gram"),
        ("rmsprop", "gram"),
        ("adadelta", "gram"),
        ("sgd", "gram"),
        # W2's square root by Newton-Schulz on CUDA: no eigenvalues read on the host.
        ("lbfgs", "w2"),
        ("adam", "w2"),
    ],
)
def test_steps_on_the_gpu_never_make_the_host_wait(tiny_config, sync_errors, optimizer, style_loss):
    # From step 6 (after the eager warm-up and the graph's capture, which synchronise) to 25:
    # past the finite-loss checks at 10 and 20, whose answers are read back later.
    config = tiny_config(
        device="cuda", iterations=40, optimizer={"name": optimizer}, style_loss=style_loss
    )
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
        with Image.open(config.inputs.output) as image:
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
        assert not big.inputs.output.exists()
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


# --- capture beside other threads, and after a failure (issue 20, items 1-3) -------------------


def graphed_run(config) -> tuple[list[bool], list[float]]:
    """Each step's `graphing` and total loss, of a run pulled to its end."""
    from nst_engine.running.transfer import run as start

    graphing, totals = [], []
    engine_run = start(config)
    for event in engine_run:
        if isinstance(event, Step):
            graphing.append(engine_run.graphing)
            totals.append(event.loss_values()["total"])
    return graphing, totals


def assert_captured_and_stepping(graphing: list[bool], totals: list[float]) -> None:
    """Replays from the capture on, and they really step: the loss keeps falling."""
    assert all(graphing), graphing
    captured = GRAPH_WARMUP + 1
    assert totals[-1] < totals[captured] < totals[0], totals


@pytest.fixture
def graphs_usable():
    from nst_engine.optimise import capture

    assert capture.graphs_usable(), "an earlier capture of this session failed"
    yield
    assert capture.graphs_usable()


def test_a_capture_beside_a_thread_doing_cuda_syncs(tiny_config, tmp_path, graphs_usable):
    """A recorder's loss reads, the app's previews: syncs and allocations in another thread
    while the run captures (global capture mode would fail or invalidate the capture)."""
    import threading

    stop, errors, syncs = threading.Event(), [], [0]

    def busy() -> None:
        values = torch.ones(4096, device="cuda")
        while not stop.is_set():
            try:
                float((values * 2).sum())  # a sync
                torch.empty(1 << 20, device="cuda")  # the caching allocator
                torch.cuda.synchronize()
                syncs[0] += 1
            except Exception as error:  # noqa: BLE001 (reported by the assertion)
                errors.append(error)
                return

    thread = threading.Thread(target=busy, name="syncs")
    thread.start()
    try:
        config = tiny_config(device="cuda", iterations=30, cuda_graph="on", size=64)
        graphing, totals = graphed_run(config.replace(output=tmp_path / "beside.png"))
    finally:
        stop.set()
        thread.join()
    assert not errors and syncs[0] > 0
    assert_captured_and_stepping(graphing, totals)


def test_two_runs_capturing_in_two_threads_on_one_gpu(tiny_config, tmp_path, graphs_usable):
    """Two jobs of the queue on one device: one capture at a time, each on its own stream."""
    import threading

    outcomes: dict[str, tuple] = {}

    def job(name: str) -> None:
        config = tiny_config(device="cuda", iterations=25, cuda_graph="on", size=64)
        outcomes[name] = graphed_run(config.replace(output=tmp_path / f"{name}.png"))

    threads = [threading.Thread(target=job, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for graphing, totals in outcomes.values():
        assert_captured_and_stepping(graphing, totals)
    assert len(outcomes) == 2


def test_the_device_calibration_racing_a_run(tiny_config, tmp_path, graphs_usable):
    import threading

    from nst_engine.cost import rates

    timings = []
    calibration = threading.Thread(target=lambda: timings.append(rates.measure("cuda")))
    calibration.start()
    config = tiny_config(device="cuda", iterations=25, cuda_graph="on", size=64)
    graphing, totals = graphed_run(config.replace(output=tmp_path / "raced.png"))
    calibration.join()
    assert_captured_and_stepping(graphing, totals)
    assert timings and timings[0].per_gflop > 0


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="one GPU here")
def test_a_run_on_the_second_gpu_captures_and_steps(tiny_config, tmp_path, graphs_usable):
    """With cuda:0 current (as in `nst-tui run --device cuda:1`): torch's one capture
    stream would be cuda:0's, and the graph would come out empty."""
    config = tiny_config(device="cuda:1", iterations=25, cuda_graph="on", size=64)
    graphing, totals = graphed_run(config.replace(output=tmp_path / "second.png"))
    assert_captured_and_stepping(graphing, totals)


def test_a_graph_that_records_nothing_is_taken_for_a_failure(monkeypatch):
    """torch's own warning (an empty graph) is what capture.capturing looks for."""
    from nst_engine.optimise import capture

    monkeypatch.setattr(capture, "_failure", None)
    stream = torch.cuda.Stream()
    on_the_host = torch.zeros(3)
    with (
        pytest.raises(capture.CaptureFailed) as caught,
        capture.capturing(torch.cuda.CUDAGraph(), stream),
    ):
        on_the_host.add_(1)  # no CUDA work: nothing to record
    assert caught.value.ran and not capture.graphs_usable()
    assert torch.cuda.current_stream() == torch.cuda.default_stream()


def test_after_a_failed_capture_the_process_goes_on_eagerly(tmp_path, demo_pair):
    """In a process of its own (a failed capture leaves torch's allocator unsure for the
    rest of the process): a sync inside the capture fails it; the thread gets its stream
    back, the run goes on eagerly to its end, later runs do not capture, and the memory of a
    failed run is given back without torch's empty_cache."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import torch
        from nst_engine.optimise import capture
        from nst_engine.cost import devices
        from nst_engine.optimise import stepper
        from nst_engine.settings.config import RunConfig
        from nst_engine.running.events import Finished
        from nst_engine.running.transfer import run

        real_evaluate = stepper.Stepper._evaluate
        def evaluate_with_a_sync(self):
            losses = real_evaluate(self)
            if torch.cuda.is_current_stream_capturing():
                float(losses["total"])  # not allowed while capturing
            return losses
        stepper.Stepper._evaluate = evaluate_with_a_sync
        def config(name):
            return RunConfig.from_flat(content={str(demo_pair[0])!r}, style={str(demo_pair[1])!r},
                             output={str(tmp_path)!r} + "/" + name, size=48, iterations=8,
                             weights="random", device="cuda", cuda_graph="on")
        events = list(run(config("first.png")))
        assert isinstance(events[-1], Finished), events[-1]
        assert not capture.graphs_usable()
        assert torch.cuda.current_stream() == torch.cuda.default_stream()
        events = list(run(config("second.png")))
        assert isinstance(events[-1], Finished)
        devices.release_memory(torch.device("cuda"))
        print("went on eagerly")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "went on eagerly" in result.stdout
    assert result.stderr.count("CUDA graphs are off") <= 1

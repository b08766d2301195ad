"""CUDA graph capture as process-wide state (issue 20, items 1-3), followed on the CPU with
torch.cuda's calls recorded (tests/engine/fake_cuda.py): each Stepper captures on a stream
of its own, on its image's device, in thread-local mode, one capture at a time in the
process; a run has its device current throughout; a failed capture leaves the thread as it
was, turns graphs off for the process (said once) and keeps the allocator's cache alone."""

from __future__ import annotations

import logging
import threading

import pytest
import torch
from fake_cuda import FakeCuda, small_stepper

from nst_engine.cost import devices
from nst_engine.optimise import capture
from nst_engine.optimise.guard import read_back_later
from nst_engine.optimise.stepper import GRAPH_WARMUP, Stepper, Switches, resolve_switches
from nst_engine.running import transfer
from nst_engine.running.events import Step
from nst_engine.settings.config import RunConfig


@pytest.fixture
def cuda(monkeypatch) -> FakeCuda:
    monkeypatch.setattr(capture, "_failure", None)  # graphs usable, as in a new process
    return FakeCuda().install(monkeypatch)


def make_stepper(optimizer: str = "adam") -> Stepper:
    return small_stepper(optimizer, graph=True)


def losses_of(stepper: Stepper, steps: int) -> list[float]:
    return [float(stepper.step()["total"]) for _ in range(steps)]


# --- item 1: the Stepper's own stream, thread-local mode, the run's device ----------------------


def test_the_capture_gets_the_steppers_own_stream_and_thread_local_mode(cuda):
    first, second = make_stepper(), make_stepper()
    for stepper in (first, second):
        losses_of(stepper, GRAPH_WARMUP + 2)
    assert [c.mode for c in cuda.captures] == ["thread_local", "thread_local"]
    streams = [c.stream for c in cuda.captures]
    assert streams == [first.capture_stream, second.capture_stream]
    assert streams[0] is not streams[1]  # each Stepper's own, never torch's process-wide one
    assert all(stream.device == "cpu" for stream in streams)  # made on the image's device
    assert len(cuda.replays) == 4 and first.graphing and second.graphing  # 2 each


def test_a_run_on_cuda_1_has_cuda_1_current_around_capture_and_replay(
    cuda, monkeypatch, tiny_config
):
    # The run's tensors stay on the CPU; its device, as the run scopes it, is cuda:1.
    monkeypatch.setattr(transfer, "resolve_device", lambda name: torch.device("cpu"))
    real_scope = devices.device_scope
    monkeypatch.setattr(transfer, "device_scope", lambda device: real_scope(torch.device("cuda:1")))
    monkeypatch.setattr(
        transfer, "resolve_switches", lambda *args: Switches(False, False, graph=True)
    )
    seen_at_steps = []
    real_step = Stepper.step
    monkeypatch.setattr(
        Stepper,
        "step",
        lambda stepper: seen_at_steps.append(cuda.current_device_name()) or real_step(stepper),
    )
    events = list(transfer.run(tiny_config(iterations=GRAPH_WARMUP + 3)))
    assert sum(isinstance(event, Step) for event in events) == GRAPH_WARMUP + 3
    assert [c.device for c in cuda.captures] == ["cuda:1"]
    assert [device for device, _ in cuda.replays] == ["cuda:1"] * 3
    assert set(seen_at_steps) == {"cuda:1"}
    assert cuda.current_device_name() == "cuda:0"  # and nothing left current after the run


def test_device_scope_makes_a_cuda_device_current_and_leaves_the_cpu_alone(cuda):
    with devices.device_scope(torch.device("cuda:1")):
        assert cuda.current_device_name() == "cuda:1"
    assert cuda.current_device_name() == "cuda:0"
    with devices.device_scope(torch.device("cpu")):
        assert cuda.current_device_name() == "cuda:0"


def test_the_guard_records_its_event_on_the_images_devices_stream(cuda, monkeypatch):
    monkeypatch.setattr(torch, "empty", lambda *args, pin_memory=False, **kw: torch.zeros(()))
    with devices.device_scope(torch.device("cuda:0")):  # another device is current
        answer, event = read_back_later(torch.tensor(True), torch.device("cuda:1"))
    assert cuda.events == [cuda.current_stream("cuda:1")]
    assert bool(answer)


def test_a_graph_that_captured_nothing_is_an_error_and_the_run_goes_on_eagerly(cuda, caplog):
    cuda.empty = True
    with caplog.at_level(logging.ERROR, logger="nst.engine"):
        with_graph = losses_of(make_stepper("lbfgs"), 8)
    assert len(cuda.captures) == 1 and cuda.replays == []
    assert "captured nothing" in caplog.text
    # The "capture" ran its iteration for real (outside the graph): it counts, once.
    eager = make_stepper("lbfgs")
    eager._graphing = False
    assert with_graph == losses_of(eager, 8)


# --- item 2: beside other threads ---------------------------------------------------------------


def test_two_steppers_capturing_from_two_threads_capture_one_at_a_time(cuda):
    cuda.capture_seconds = 0.2
    steppers = [make_stepper(), make_stepper("lbfgs")]
    ready = threading.Barrier(2)

    def work(stepper: Stepper) -> None:
        losses_of(stepper, GRAPH_WARMUP)
        ready.wait(timeout=30)  # both reach their capture together
        losses_of(stepper, 2)

    threads = [
        threading.Thread(target=work, args=(s,), name=f"job-{n}") for n, s in enumerate(steppers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cuda.captures) == 2 and cuda.most_at_once == 1
    assert {c.thread for c in cuda.captures} == {"job-0", "job-1"}
    assert {id(c.stream) for c in cuda.captures} == {id(s.capture_stream) for s in steppers}
    assert all(stepper.graphing for stepper in steppers)


def test_the_device_calibration_racing_a_run_never_captures_beside_it(cuda, monkeypatch):
    from nst_engine.cost import rates

    cuda.capture_seconds = 0.1
    monkeypatch.setattr(rates, "CALIBRATION_SIDES", (16, 24))
    monkeypatch.setattr(devices, "resolve_device", lambda name: torch.device("cpu"))
    monkeypatch.setattr(
        "nst_engine.optimise.stepper.resolve_switches",
        lambda *args, **kw: Switches(False, False, True),
    )
    calibration = threading.Thread(target=rates.measure, args=("cuda",), name="calibration")
    run_thread = threading.Thread(
        target=lambda: losses_of(make_stepper(), GRAPH_WARMUP + 20), name="run"
    )
    calibration.start()
    run_thread.start()
    calibration.join()
    run_thread.join()
    assert sorted(c.thread for c in cuda.captures) == ["calibration", "calibration", "run"]
    assert cuda.most_at_once == 1
    assert all(c.mode == "thread_local" for c in cuda.captures)


# --- item 3: after a failed capture ------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["lbfgs", "sgd"])
def test_a_failed_capture_goes_on_eagerly_with_the_same_steps(cuda, optimizer):
    cuda.failing = True
    with_graph = losses_of(make_stepper(optimizer), 8)
    assert len(cuda.captures) == 1  # tried once, after the warm-up
    eager = make_stepper(optimizer)
    eager._graphing = False
    assert with_graph == losses_of(eager, 8)


def test_a_failed_capture_gives_the_thread_its_stream_back(cuda):
    cuda.failing = True
    before = cuda.current_stream("cpu")
    stepper = make_stepper()
    losses_of(stepper, GRAPH_WARMUP + 1)
    assert cuda.current_stream("cpu") is before
    assert not stepper.graphing


def test_after_a_failed_capture_graphs_are_off_for_the_process_said_once(cuda, caplog, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args: True)
    config, gpu = RunConfig.from_flat(cuda_graph="on"), torch.device("cuda:0")
    assert resolve_switches(config, gpu).graph
    cuda.failing = True
    with caplog.at_level(logging.WARNING, logger="nst.engine"):
        losses_of(make_stepper(), GRAPH_WARMUP + 2)
        cuda.failing = False
        later = make_stepper()  # a later run in the same process
        losses_of(later, GRAPH_WARMUP + 2)
    assert len(cuda.captures) == 1 and not later.graphing
    assert caplog.text.count("CUDA graphs are off") == 1
    assert not resolve_switches(config, gpu).graph  # and the runs say so as they start


def test_after_a_failed_capture_the_allocators_cache_is_left_alone(cuda, monkeypatch):
    gpu = torch.device("cuda:0")
    devices.release_memory(gpu)
    assert cuda.empty_caches == 1  # as usual: the memory of a failed run goes back
    cuda.failing = True
    losses_of(make_stepper(), GRAPH_WARMUP + 1)
    devices.release_memory(gpu)  # torch would raise here: it still thinks a capture is on
    assert cuda.empty_caches == 1

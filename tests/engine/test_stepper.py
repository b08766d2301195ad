"""The Stepper's optimiser state across machines (issue 20, item 4): a checkpoint carries
torch's `capturable` flag, which belongs to the run that wrote it, not to the one resuming.
(How the Stepper captures and replays: tests/engine/test_capture.py; on a GPU:
tests/engine/test_cuda.py.)"""

from __future__ import annotations

import pytest
import torch
from fake_cuda import small_stepper

from nst_engine.optimise.optimizers import match_capturable
from nst_engine.optimise.stepper import Stepper

CAPTURABLE_OPTIMIZERS = ["adam", "rmsprop", "adadelta"]


def make_stepper(optimizer: str = "adam") -> Stepper:
    return small_stepper(optimizer, graph=False)


def as_a_gpu_run_saves_it(state_dict: dict) -> dict:
    """The state dict of a run with CUDA graphs, as its checkpoint holds it (on the CPU):
    `capturable` set, each step count a float32 tensor."""
    for group in state_dict["param_groups"]:
        group["capturable"] = True
    for state in state_dict["state"].values():
        state["step"] = state["step"].to(torch.float32)
    return state_dict


@pytest.mark.parametrize("optimizer", CAPTURABLE_OPTIMIZERS)
def test_a_gpu_checkpoint_resumes_on_the_cpu_with_the_same_steps(optimizer):
    whole = make_stepper(optimizer)
    losses = [float(whole.step()["total"]) for _ in range(6)]

    stopped = make_stepper(optimizer)
    for _ in range(3):
        stopped.step()
    checkpoint = as_a_gpu_run_saves_it(stopped.optimizer.state_dict())
    resumed = make_stepper(optimizer)
    with torch.no_grad():
        resumed.image.copy_(stopped.image)
    resumed.load_optimizer_state(checkpoint)
    assert resumed.optimizer.param_groups[0]["capturable"] is False
    later = [float(resumed.step()["total"]) for _ in range(3)]  # no AssertionError from torch
    assert later == pytest.approx(losses[3:], rel=1e-6)


@pytest.mark.parametrize("optimizer", CAPTURABLE_OPTIMIZERS)
def test_a_cpu_checkpoint_resumed_for_a_graph_becomes_capturable(optimizer):
    stepper = make_stepper(optimizer)
    stepper.step()
    optimizer_state = stepper.optimizer
    step = optimizer_state.state[stepper.image]["step"]
    assert not optimizer_state.param_groups[0]["capturable"] and step.device.type == "cpu"

    match_capturable(optimizer_state, True)  # as a GPU run with a graph does after loading
    step = optimizer_state.state[stepper.image]["step"]
    assert optimizer_state.param_groups[0]["capturable"] is True
    assert step.device == stepper.image.device and step.dtype == torch.float32

    match_capturable(optimizer_state, False)
    assert optimizer_state.param_groups[0]["capturable"] is False
    assert optimizer_state.state[stepper.image]["step"].device.type == "cpu"


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_optimisers_without_the_flag_are_left_as_they_are(optimizer):
    stepper = make_stepper(optimizer)
    stepper.step()
    before = stepper.optimizer.state_dict()
    match_capturable(stepper.optimizer, True)
    assert "capturable" not in stepper.optimizer.param_groups[0]
    assert stepper.optimizer.state_dict()["state"].keys() == before["state"].keys()

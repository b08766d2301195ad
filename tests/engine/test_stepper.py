"""The Stepper's way through a CUDA graph run, followed on the CPU with torch.cuda's stream and
graph calls replaced (the real capture runs in tests/engine/test_cuda.py on a GPU)."""

from __future__ import annotations

import contextlib

import pytest
import torch

from nst_engine.config import OptimizerSettings
from nst_engine.stepper import GRAPH_WARMUP, Stepper, Switches


class FakeStream:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def wait_stream(self, other) -> None:
        pass


@pytest.fixture
def graphs_that_cannot_capture(monkeypatch):
    """torch.cuda as a Stepper sees it, where capturing fails as with an op graphs forbid."""
    calls = []

    @contextlib.contextmanager
    def failing_graph(graph, *args, **kwargs):
        calls.append("capture")
        raise RuntimeError("operation not permitted when stream is capturing")
        yield  # pragma: no cover

    monkeypatch.setattr(torch.cuda, "Stream", FakeStream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda *args: FakeStream())
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: object())
    monkeypatch.setattr(torch.cuda, "graph", failing_graph)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *args: None)
    return calls


def losses_of_steps(graph: bool, optimizer: str, steps: int = 8) -> list[float]:
    torch.manual_seed(0)
    target = torch.rand(1, 3, 8, 8) * 255
    image = torch.zeros(1, 3, 8, 8, requires_grad=True)

    def loss_function(picture):
        total = (picture - target).pow(2).mean() + picture.diff(dim=-1).abs().mean()
        return {"total": total}

    settings = OptimizerSettings(name=optimizer, lr=1.0)
    stepper = Stepper(loss_function, image, settings, Switches(False, False, graph), steps)
    return [float(stepper.step()["total"]) for _ in range(steps)]


@pytest.mark.parametrize("optimizer", ["lbfgs", "sgd"])
def test_a_failed_capture_goes_on_eagerly_with_the_same_steps(
    graphs_that_cannot_capture, optimizer
):
    with_graph = losses_of_steps(True, optimizer)
    assert graphs_that_cannot_capture == ["capture"]  # tried once, after the warm-up
    assert with_graph == losses_of_steps(False, optimizer)
    assert len(with_graph) > GRAPH_WARMUP + 1

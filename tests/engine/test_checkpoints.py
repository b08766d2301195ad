"""Checkpoints that never stall a big run (issue 20, item 6): L-BFGS's history (2 x history
image-sized vectors: 635 MB at 512 px, 10 GB at 2048 px) is left out of periodic checkpoints
when it is large, and a resume rebuilds it; the checkpoint at a stop keeps it where it fits,
so a stopped run still resumes to the same pixels (tests/engine/test_runs.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from test_runs import stop_after

from nst_engine.optimise.lbfgs import DeviceLBFGS
from nst_engine.running import checkpointing, transfer
from nst_engine.running.events import Finished, Started, Step
from nst_engine.store.runs import RunFolder


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def lbfgs_after(steps: int, history: int = 5) -> tuple[DeviceLBFGS, torch.Tensor]:
    torch.manual_seed(0)
    target = torch.randn(64)
    image = torch.zeros(64, requires_grad=True)
    optimizer = DeviceLBFGS([image], history_size=history)
    for _ in range(steps):
        optimizer.zero_grad()
        ((image - target) ** 2 * torch.linspace(1, 20, 64)).sum().backward()
        optimizer.step()
    return optimizer, image


def test_a_state_without_history_is_small_and_loads_with_an_empty_history():
    optimizer, image = lbfgs_after(8)
    assert optimizer.history_length() == 5
    assert optimizer.history_bytes() == 2 * 6 * 64 * 4  # (history + 1) slots of s and y
    state = optimizer.state_dict(keep_history=False)
    assert "pairs" not in state["state"][0]
    assert state["history"] is False

    again = DeviceLBFGS([image.detach().clone().requires_grad_(True)], history_size=5)
    again.load_state_dict(state)
    assert again.history_length() == 0
    assert again.state[again._param]["pairs"].shape == (12, 64)
    assert int(again.state[again._param]["n_iter"]) == 8  # not a first step again


def test_periodic_checkpoints_leave_a_large_history_out_and_a_resume_rebuilds_it(
    tiny_config, tmp_path, monkeypatch, crash_at, caplog
):
    monkeypatch.setattr(checkpointing, "PERIODIC_HISTORY_BYTES", 0)  # every history is large
    config = tiny_config(iterations=9, checkpoint_every=3)
    folder = RunFolder.create(config, tmp_path / "runs")
    crash_at(8)
    with pytest.raises(RuntimeError):
        list(transfer.run(config, folder, checkpoint_seconds=0.0))
    state = folder.read_checkpoint()
    assert state["completed"] == 6
    assert "pairs" not in state["optimizer"]["state"][0]

    with caplog.at_level("INFO", logger="nst.engine"):
        events = list(transfer.run(folder.config(), folder))
    assert next(e for e in events if isinstance(e, Started)).resumed_from == 6
    assert [e.index for e in events if isinstance(e, Step)] == [7, 8, 9]
    assert isinstance(events[-1], Finished) and math.isfinite(events[-1].losses["total"])
    assert "without L-BFGS's history" in caplog.text


def test_the_checkpoint_at_a_stop_keeps_the_history_where_it_fits(tiny_config, tmp_path):
    config = tiny_config(iterations=8)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_after(config, folder, 4)
    assert "pairs" in folder.read_checkpoint()["optimizer"]["state"][0]


def test_the_checkpoint_at_a_stop_leaves_the_history_out_where_it_does_not_fit(
    tiny_config, tmp_path, monkeypatch
):
    monkeypatch.setattr(checkpointing, "PERIODIC_HISTORY_BYTES", 0)  # every history is large
    monkeypatch.setattr(checkpointing, "room_for_history", lambda folder: 0)  # and none fits
    config = tiny_config(iterations=8)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_after(config, folder, 4)
    state = folder.read_checkpoint()
    assert "pairs" not in state["optimizer"]["state"][0]
    events = list(transfer.run(folder.config(), folder))
    assert isinstance(events[-1], Finished)


def test_small_histories_stay_in_periodic_checkpoints(tmp_path):
    assert checkpointing.keep_history(1 << 20, at_stop=False, folder=tmp_path)
    assert not checkpointing.keep_history(1 << 30, at_stop=False, folder=tmp_path)
    assert checkpointing.keep_history(0, at_stop=False, folder=tmp_path)

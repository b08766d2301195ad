"""A checkpoint is made of its owners' state_dicts (issue 21, item 3): the Stepper, the moving
average and the last good image each give and take their own state, a `Checkpoint` gathers
them with where the run stood, and its file keeps the keys checkpoints had before, so that one
written by an earlier version still resumes. How often periodic checkpoints are written is a
parameter of the run, not a module global. (Resuming whole runs: tests/engine/test_runs.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from fake_cuda import small_stepper
from PIL import Image

from nst_engine.optimise.guard import LastGoodImage
from nst_engine.running import transfer
from nst_engine.running.checkpointing import CHECKPOINT_SECONDS, Checkpoint
from nst_engine.running.events import Finished, Started, Step
from nst_engine.running.tensors import MovingAverage
from nst_engine.store.runs import RunFolder

# The keys of a checkpoint file (format 1) as the run wrote them before checkpoints had a
# type, besides `format` and `settings` that the recorder adds: files already on disks.
FORMAT_1_KEYS = {
    "completed",
    "total",
    "scale",
    "local",
    "image",
    "optimizer",
    "gradient_scale",
    "average",
    "average_kept",
    "last_good",
    "last_good_index",
    "pooling",
    "losses",
    "seconds",
}


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs", "sgd"])
def test_a_stepper_loaded_from_its_state_dict_goes_on_as_the_one_never_stopped(optimizer):
    whole = small_stepper(optimizer, graph=False)
    expected = [whole.step()["total"].item() for _ in range(6)]

    stopped = small_stepper(optimizer, graph=False)
    for _ in range(3):
        stopped.step()
    state = stopped.state_dict()
    resumed = small_stepper(optimizer, graph=False)
    with torch.no_grad():
        resumed.image.copy_(stopped.image)
    resumed.load_state_dict(state)
    assert [resumed.step()["total"].item() for _ in range(3)] == expected[3:]


def test_a_steppers_state_dict_leaves_lbfgs_history_out_when_asked():
    stepper = small_stepper("lbfgs", graph=False)
    for _ in range(3):
        stepper.step()
    assert "pairs" in stepper.state_dict()["optimizer"]["state"][0]
    assert "pairs" not in stepper.state_dict(keep_history=False)["optimizer"]["state"][0]


def test_a_moving_average_loaded_from_its_state_dict_averages_on_the_same_way():
    images = [torch.full((1, 3, 2, 2), float(value)) for value in (10, 30, 50, 70)]
    whole = MovingAverage(images[0], 0.9)
    for image in images:
        whole.update(image)

    stopped = MovingAverage(images[0], 0.9)
    for image in images[:2]:
        stopped.update(image)
    resumed = MovingAverage(images[0], 0.9)
    resumed.load_state_dict(stopped.state_dict())
    for image in images[2:]:
        resumed.update(image)
    assert torch.equal(resumed.value(), whole.value())


def test_the_last_good_image_loaded_from_its_state_dict_is_a_copy_at_its_iteration():
    guard = LastGoodImage(torch.zeros(1, 3, 2, 2))
    assert guard.offer(torch.full((1, 3, 2, 2), 4.0), torch.tensor(1.0), 20) is None
    state = guard.state_dict()
    loaded = LastGoodImage(torch.ones(1, 3, 2, 2))
    loaded.load_state_dict(state)
    state["image"] += 1  # the loaded one keeps its own copy
    assert loaded.index == 20
    assert torch.equal(loaded.image, torch.full((1, 3, 2, 2), 4.0))


def example_checkpoint(average: bool = True) -> Checkpoint:
    return Checkpoint(
        completed=7,
        total=12,
        scale=2,
        local=3,
        image=torch.rand(1, 3, 4, 4),
        stepper={"optimizer": {"state": {}, "param_groups": []}, "gradient_scale": None},
        average={"biased": torch.rand(1, 3, 4, 4), "kept": 0.5} if average else None,
        last_good={"image": torch.rand(1, 3, 4, 4), "index": 5},
        pooling=[torch.tensor(1.5)],
        losses={"total": torch.tensor(2.0)},
        seconds=3.25,
    )


@pytest.mark.parametrize("average", [True, False])
def test_a_checkpoint_is_written_with_the_keys_of_earlier_versions_and_read_back(average):
    checkpoint = example_checkpoint(average)
    state = checkpoint.to_dict()
    assert set(state) == FORMAT_1_KEYS
    again = Checkpoint.from_dict(state)
    assert again.to_dict().keys() == state.keys()
    assert (again.completed, again.total, again.scale, again.local) == (7, 12, 2, 3)
    assert torch.equal(again.last_good["image"], checkpoint.last_good["image"])
    assert again.last_good["index"] == 5 and again.seconds == 3.25
    if average:
        assert again.average["kept"] == 0.5
        assert torch.equal(again.average["biased"], checkpoint.average["biased"])
    else:
        assert again.average is None


def test_the_checkpoint_interval_is_a_parameter_of_the_run(tiny_config, tmp_path):
    assert not hasattr(transfer, "CHECKPOINT_SECONDS")  # no module global to flip
    written: dict[float | None, list[int]] = {}
    for seconds in (0.0, None):
        config = tiny_config(iterations=6, checkpoint_every=2, output=tmp_path / f"{seconds}.png")
        folder = RunFolder.create(config, tmp_path / f"runs-{seconds}")
        options = {} if seconds is None else {"checkpoint_seconds": seconds}
        completed = written.setdefault(seconds, [])
        kinds = []
        with transfer.run(config, folder, **options) as events:
            for event in events:
                kinds.append(type(event))
                state = folder.read_checkpoint() if folder.checkpoint_path.exists() else None
                if state is not None and state["completed"] not in completed:
                    completed.append(state["completed"])
        assert kinds[-1] is Finished
    assert written[0.0] == [2, 4]  # every 2 iterations, the last one (6) needing none
    assert written[None] == []  # at most one per CHECKPOINT_SECONDS: none in a short run
    assert CHECKPOINT_SECONDS == 30.0


# Written by the run loop before checkpoints had a type (main at f71e5fa, torch 2.14.1, CPU):
# OLD_CHECKPOINT_SETTINGS with tiny_config's, a periodic checkpoint at iteration 6 of 10
# (scale 2, its iteration 2): L-BFGS's history, a gradient scale, the moving average, average
# pooling's factors. Made by a copy of that tree running
#   run(config, folder) with CHECKPOINT_SECONDS = 0.0, the file copied at Step 7.
OLD_CHECKPOINT = Path(__file__).parent / "data" / "checkpoint-format-1.pt"
OLD_CHECKPOINT_SETTINGS = dict(
    size=32,
    min_size=24,
    scale_iterations=4,
    iterations=6,
    ema=True,
    pooling="avg",
    checkpoint_every=3,
    optimizer={"name": "lbfgs", "lbfgs": {"history_size": 2}},
)


def test_a_checkpoint_file_of_the_version_before_reads_back_to_the_same_contents():
    state = torch.load(OLD_CHECKPOINT, weights_only=True)
    assert set(state) == FORMAT_1_KEYS | {"format", "settings"}
    again = Checkpoint.from_dict(state).to_dict()
    for key, value in again.items():
        assert _same(value, state[key]), key


def test_a_checkpoint_file_of_the_version_before_resumes_to_the_unstopped_runs_pixels(
    tiny_config, tmp_path
):
    whole = tiny_config(output=tmp_path / "whole.png", **OLD_CHECKPOINT_SETTINGS)
    with transfer.run(whole) as events:
        list(events)
    config = tiny_config(output=tmp_path / "resumed.png", **OLD_CHECKPOINT_SETTINGS)
    folder = RunFolder.create(config, tmp_path / "runs")
    folder.put_checkpoint(OLD_CHECKPOINT.read_bytes())

    with transfer.run(config, folder) as events:
        seen = list(events)

    started = next(event for event in seen if isinstance(event, Started))
    assert started.resumed_from == 6
    assert [event.index for event in seen if isinstance(event, Step)] == [7, 8, 9, 10]
    assert isinstance(seen[-1], Finished) and folder.record().status == "finished"
    # Equal on the torch that wrote the file; another torch's kernels may move a pixel by one.
    # A part of the state lost (the history, the average, the scale) moves them by far more.
    difference = np.abs(_pixels(seen[-1].path) - _pixels(tmp_path / "whole.png"))
    assert difference.max() <= 1


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _same(one, other) -> bool:
    """Whether two checkpoint values are equal: tensors exactly, containers item by item."""
    if isinstance(one, torch.Tensor):
        return isinstance(other, torch.Tensor) and torch.equal(one, other)
    if isinstance(one, dict):
        return one.keys() == other.keys() and all(_same(one[key], other[key]) for key in one)
    if isinstance(one, (list, tuple)):
        return len(one) == len(other) and all(map(_same, one, other))
    return type(one) is type(other) and one == other

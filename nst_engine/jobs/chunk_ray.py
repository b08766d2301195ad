"""A sequence's chunk on a Ray cluster (nst_engine/jobs/chunk_runs.py runs chunks).

A chunk travels as its frame settings, the bytes of its style images and masks, and its
input frames; on a worker (`remote_chunk`, a Ray streaming task) it runs as a plain sequence
in a scratch folder and streams back as it goes: the first frame's Started, progress
(throttled), and each frame made, whose bytes the head writes into the chunk's frames folder
at once. So a stop, or a worker lost, costs each chunk only its frame in progress: started
again, a chunk goes on after its frames there. Those frames do not all travel back out: only
the one the next frame is guided by; the others are empty files on the worker, which a
sequence skips as made (nst_engine/video/sequence.py looks only at whether a frame's file is
there).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nst_engine.errors import DeviceError, NSTError
from nst_engine.jobs.cluster_messages import EngineEvent, StepMade
from nst_engine.store import safe_files

log = logging.getLogger("nst.engine")

PROGRESS_INTERVAL = 0.5  # seconds between a worker's progress messages, at most


@dataclass(frozen=True)
class ChunkFrameStarted:
    number: int
    total: int


@dataclass(frozen=True)
class ChunkStep:
    number: int
    step: StepMade | EngineEvent


@dataclass(frozen=True)
class ChunkFrameMade:
    number: int
    total: int
    seconds: float
    data: bytes  # the frame's PNG


@dataclass(frozen=True)
class ChunkFailed:
    error: NSTError


def cluster_runner(cluster, settings):
    """A chunk runner (nst_engine/jobs/chunk_runs.py) that sends each chunk to `cluster`."""

    def run_there(config, chunk, inputs: Path, frames: Path, slot: str):
        return chunk_on_cluster(cluster, config, settings, inputs, frames)

    return run_there


def chunk_on_cluster(cluster, config, settings, inputs: Path, frames: Path):
    """The chunk whose input frames are in `inputs` run on the cluster, each frame written
    into `frames` as it comes back; its events as a local sequence's (frames made before
    are FrameDone, skipped)."""
    import ray  # installed: the cluster is connected

    from nst_engine.jobs.cluster_executor import files_of  # as a job's files travel
    from nst_engine.video.sequence import FrameDone, FrameEvent, FrameStarted

    input_files = sorted(inputs.iterdir())
    files = files_of(config.replace(content=input_files[0]))
    frames.mkdir(parents=True, exist_ok=True)
    done = _frames_done(frames, len(input_files))
    for number in sorted(done):
        yield FrameDone(number, len(input_files), frames / _name(number), 0.0, skipped=True)
    task = ray.remote(num_returns="streaming", max_retries=0)(remote_chunk)
    resources = {"num_gpus": 1} if cluster.gpus else {"num_cpus": 1}
    sent = [(file.name, file.read_bytes()) for file in input_files]
    stream = task.options(**resources).remote(config.to_toml(), files, sent, done, settings)
    try:
        for reference in stream:
            message = ray.get(reference)
            if isinstance(message, ChunkFailed):
                raise message.error
            if isinstance(message, ChunkFrameStarted):
                yield FrameStarted(message.number, message.total)
            elif isinstance(message, ChunkStep):
                step = message.step
                event = step.event if isinstance(step, EngineEvent) else step.as_step(None)
                yield FrameEvent(message.number, len(input_files), event)
            elif isinstance(message, ChunkFrameMade):
                path = frames / _name(message.number)
                safe_files.write_atomically(path, message.data)
                yield FrameDone(message.number, message.total, path, message.seconds, False)
    except ray.exceptions.RayError as error:
        raise DeviceError(f"a chunk's worker was lost ({type(error).__name__})") from None
    finally:
        try:
            ray.cancel(stream)  # stopped here: the worker stops too
        except Exception as error:  # ended, or the worker gone: nothing to cancel
            log.debug("a chunk's task was not cancelled: %s", error)


def _name(number: int) -> str:
    from nst_engine.video.frames import frame_name

    return frame_name(number)


def _frames_done(frames: Path, total: int) -> dict[int, bytes | None]:
    """The frames of the chunk already made: number -> its bytes when the next frame, still
    to make, is guided by it, else None (it travels as an empty file)."""
    made = [n for n in range(1, total + 1) if (frames / _name(n)).is_file()]
    return {
        n: (frames / _name(n)).read_bytes() if n + 1 not in made and n < total else None
        for n in made
    }


def remote_chunk(
    settings_toml: str,
    files: dict[str, tuple[str, bytes]],
    inputs: list[tuple[str, bytes]],
    done: dict[int, bytes | None],
    sequence_settings,
) -> Iterator[ChunkFrameStarted | ChunkStep | ChunkFrameMade | ChunkFailed]:
    """On a worker: the chunk made in a scratch folder, what it makes streamed back."""
    from nst_engine.jobs.cluster_worker import placed  # as a job's files are placed
    from nst_engine.settings.config import RunConfig
    from nst_engine.video.sequence import run_sequence

    with tempfile.TemporaryDirectory(prefix="nst-chunk-") as scratch:
        root = Path(scratch)
        config = placed(RunConfig.from_toml(settings_toml), files, root)
        source, output = root / "frames-in", root / "frames-out"
        source.mkdir()
        output.mkdir()
        for name, data in inputs:
            (source / name).write_bytes(data)
        for number, data in done.items():
            (output / _name(number)).write_bytes(data or b"")
        try:
            events = run_sequence(config, source, output, sequence_settings)
            yield from _messages(events)
        except NSTError as error:
            yield ChunkFailed(error)


def _messages(events):
    from nst_engine.running.events import Started, Step
    from nst_engine.video.sequence import FrameDone, FrameEvent, FrameStarted

    last = 0.0
    for event in events:
        if isinstance(event, FrameStarted):
            yield ChunkFrameStarted(event.number, event.total)
        elif isinstance(event, FrameDone) and not event.skipped:
            data = event.path.read_bytes()
            yield ChunkFrameMade(event.number, event.total, event.seconds, data)
        elif isinstance(event, FrameEvent) and isinstance(event.event, Started):
            yield ChunkStep(event.number, EngineEvent(event.event))
        elif isinstance(event, FrameEvent) and isinstance(event.event, Step):
            step, now = event.event, time.monotonic()
            if now - last >= PROGRESS_INTERVAL or step.index == step.total:
                last = now
                made = StepMade(step.index, step.total, step.scale, step.scales, {})
                yield ChunkStep(event.number, made)

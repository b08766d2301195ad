"""A sequence in chunks run in parallel: on several local devices (a thread per slot), or on
a Ray cluster (a task per chunk: nst_engine/jobs/chunk_ray.py), then joined by blending the
overlaps (nst_engine/video/chunks.py) into the output as a plain sequence writes it.

Each chunk's finished frames are kept beside the output, in `OUTPUT.chunks/chunk-N/`, as they
are made; started again, the same command goes on after each chunk's frames there. Recorded,
the sequence is one run folder (its run.json's `sequence` says `chunks` and `overlap`, its
frames done count any chunk's), and each chunk run on this machine a sequence folder in it
(`chunk-N/`, nst_engine/video/sequence_record.py), so that `nst-tui resume ID` goes on after
each chunk's frames, the frame in progress from its checkpoint (a chunk on a Ray cluster
makes its frame in progress again from its start). Once the output is written whole, the
chunks' frames are removed.

Events, in order: SequenceRecorded (when recorded); ChunksPlanned; each chunk's sequence events (nst_engine/video/sequence.py)
wrapped in ChunkEvent, chunks interleaved as they run; then SequenceDone for the whole.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nst_engine.settings.config import RunConfig
from nst_engine.store.run_folder import RunFolder
from nst_engine.video.chunks import (
    ChunkRange,
    chunk_ranges,
    chunks_folder,
    frame_sources,
    joined_frame,
)
from nst_engine.video.frames import (
    FrameSource,
    audio_source,
    frame_name,
    is_video_path,
    open_frames,
    output_rate,
    write_frame,
    write_video,
)
from nst_engine.video.sequence import (
    FrameDone,
    SequenceDone,
    SequenceEvent,
    SequenceRecorded,
    check_output,
    frames_folder,
    recorded,
)
from nst_engine.video.sequence_record import (
    chunk_run_folder,
    create_sequence_folder,
    sequence_running,
)
from nst_engine.video.settings import SequenceSettings

# Seconds between a chunk's looks at whether the consumer stopped, while it waits to hand over.
HAND_OVER_POLL = 0.1
# How a chunk runs: (its settings, its range, its input frames folder, its frames folder, its
# slot) -> its sequence's events.
ChunkRunner = Callable[[RunConfig, ChunkRange, Path, Path, str], Iterator[SequenceEvent]]


@dataclass(frozen=True)
class ChunksPlanned:
    """The chunks to run, over `slots` (devices, or the cluster's slots)."""

    ranges: list[ChunkRange]
    slots: list[str]
    folder: Path  # where the chunks' frames are kept until the join


@dataclass(frozen=True)
class ChunkEvent:
    chunk: int  # 1-based
    chunks: int
    event: SequenceEvent


@dataclass(frozen=True)
class _ChunkFailed:
    error: BaseException


class _SlotEnded:
    pass


def run_chunks(
    config: RunConfig,
    source_path: Path,
    output: Path,
    settings: SequenceSettings,
    *,
    slots: list[str],
    runner: ChunkRunner | None = None,
    blend: bool = True,
    folder: RunFolder | None = None,
    record: bool = False,
    root: Path | None = None,
) -> Iterator[SequenceRecorded | ChunksPlanned | ChunkEvent | SequenceDone]:
    """Style `source_path` into `output` as `settings.chunks` chunks overlapping by
    `settings.overlap` frames, run at once on `slots` (device names for the local runner, one
    chunk at a time each; or the cluster's slots with its `runner`), then joined
    (`blend=False`: hard cuts). Closing the generator stops every chunk (each keeps its
    frames done). Recorded as run_sequence is (`record`, or a resume's `folder`): one run
    folder, each chunk run here a sequence folder in it (its frame in progress checkpoints)."""
    source = open_frames(source_path)
    check_output(config, settings, source, output)
    ranges = chunk_ranges(source.count, settings.chunks, settings.overlap)
    if folder is None and record:
        folder = create_sequence_folder(config, source_path, output, settings, source.count, root)
    made = _made(config, settings, source, output, ranges, slots, runner, blend, folder)
    if folder is None:
        return (yield from made)
    with folder.lock():  # held to the end: the record reads `running` only while it is
        sequence_running(folder, source.count)
        yield SequenceRecorded(folder)
        yield from recorded(_counted(made, folder, ranges), folder, output)


def _made(config, settings, source, output, ranges, slots, runner, blend, folder):
    """The chunks made, then joined into the output."""
    work = chunks_folder(output)
    began = time.monotonic()
    yield ChunksPlanned(ranges, slots, work)
    with tempfile.TemporaryDirectory(prefix="nst-chunks-") as scratch:
        inputs = chunk_inputs(source, ranges, Path(scratch))
        run_chunk = runner or _local_runner(settings, folder)
        tasks = [(chunk, inputs[chunk.number], work / f"chunk-{chunk.number}") for chunk in ranges]
        yield from _in_parallel(config, tasks, slots, run_chunk)
    folders = {chunk.number: work / f"chunk-{chunk.number}" for chunk in ranges}
    join(ranges, folders, output, settings.frame_rate, source, blend=blend)
    shutil.rmtree(work, ignore_errors=True)
    yield SequenceDone(output, source.count, time.monotonic() - began)


def _counted(events, folder: RunFolder, ranges: list[ChunkRange]):
    """`events`, with the sequence's frames done (any chunk's) counted in its record."""
    done: set[int] = set()
    for event in events:
        if isinstance(event, ChunkEvent) and isinstance(event.event, FrameDone):
            done.add(ranges[event.chunk - 1].start + event.event.number - 1)
            record = folder.record()
            folder.update(frames_done=len(done), seconds=record.seconds + event.event.seconds)
        yield event


def _local_runner(settings: SequenceSettings, folder: RunFolder | None) -> ChunkRunner:
    def run_here(config: RunConfig, chunk: ChunkRange, inputs: Path, frames: Path, slot: str):
        from nst_engine.video.sequence import run_sequence

        on_slot = config if slot == "auto" else config.replace(device=slot)
        recorded_in = None
        if folder is not None:
            recorded_in = chunk_run_folder(folder, chunk.number, on_slot, chunk.frames)
        return run_sequence(on_slot, inputs, frames, settings, folder=recorded_in)

    return run_here


def chunk_inputs(source: FrameSource, ranges: list[ChunkRange], scratch: Path) -> dict:
    """Each chunk's input frames as a folder of its own (links to a folder's files, or a
    video's frames decoded once), named in order."""
    if source.is_video:
        decoded = scratch / "decoded"
        decoded.mkdir()
        files = [write_frame(image, decoded, n) for n, image in enumerate(source.frames(), 1)]
    else:
        files = list(source.frame_files)
    inputs = {}
    for chunk in ranges:
        folder = scratch / f"chunk-{chunk.number}"
        folder.mkdir()
        for local, file in enumerate(files[chunk.start - 1 : chunk.stop], start=1):
            link = folder / f"{frame_name(local)[:-4]}{file.suffix.lower()}"
            try:
                os.symlink(file.resolve(), link)
            except OSError:  # no links here (some file systems): a copy
                shutil.copyfile(file, link)
        inputs[chunk.number] = folder
    return inputs


def _in_parallel(config, tasks, slots: list[str], run_chunk: ChunkRunner):
    """Each task's events as they come, a thread per slot taking the next chunk; the first
    error stops every chunk and is raised here; closed, every chunk stops. A chunk runs at
    most a few events ahead of the consumer (a Step's tensors change with the next step)."""
    pending = deque(tasks)
    events: queue.Queue = queue.Queue(maxsize=len(slots))
    stop = threading.Event()

    def hand_over(item) -> bool:
        """`item` to the consumer; False when it stopped taking them."""
        while True:
            try:
                events.put(item, timeout=HAND_OVER_POLL)
                return True
            except queue.Full:
                if stop.is_set():
                    return False

    def work(slot: str) -> None:
        while not stop.is_set() and pending:
            try:
                chunk, inputs, frames = pending.popleft()
            except IndexError:  # another slot took the last one meanwhile
                break
            sequence = run_chunk(config, chunk, inputs, frames, slot)
            try:
                with contextlib.closing(sequence):  # closed in this thread: its run stops
                    for event in sequence:
                        if not hand_over(ChunkEvent(chunk.number, len(tasks), event)):
                            break
            except BaseException as error:  # raised again in the consumer's thread
                hand_over(_ChunkFailed(error))
                stop.set()
        hand_over(_SlotEnded())
        # Alive until every chunk ended: a thread that ends leaves its OpenMP workers spinning
        # (libgomp's busy wait), and the chunks still running went ten times slower on the CPU.
        stop.wait()

    threads = [threading.Thread(target=work, args=(slot,), daemon=True) for slot in slots]
    for thread in threads:
        thread.start()
    try:
        ended = 0
        while ended < len(threads):
            item = events.get()
            if isinstance(item, _SlotEnded):
                ended += 1
            elif isinstance(item, _ChunkFailed):
                raise item.error
            else:
                yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def join(
    ranges: list[ChunkRange],
    chunk_frames: dict[int, Path],
    output: Path,
    frame_rate: float | None,
    source: FrameSource,
    *,
    blend: bool = True,
) -> Path:
    """The chunks' frames joined into `output` (a folder of PNG frames, or a video with the
    input video's audio), each frame written whole."""
    frames = frames_folder(output)
    frames.mkdir(parents=True, exist_ok=True)
    made = []
    for number, sources in enumerate(frame_sources(ranges, blend=blend), start=1):
        made.append(write_frame(joined_frame(sources, chunk_frames, frame_name), frames, number))
    if is_video_path(output):
        rate = output_rate(frame_rate, source)
        write_video(made, output, rate, audio_source(frame_rate, source))
        shutil.rmtree(frames)  # its frames are in the video now
    return output

"""Chunks run at once (nst_engine/jobs/chunk_runs.py), with a stand-in for each chunk's
sequence: every frame joined in order, an error in one chunk stops the others and comes out
once, and closing the run stops every chunk."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from nst_engine.errors import NSTError
from nst_engine.jobs.chunk_runs import ChunkEvent, ChunksPlanned, run_chunks
from nst_engine.settings.config import RunConfig
from nst_engine.video.frames import frame_name
from nst_engine.video.sequence import FrameDone, SequenceDone
from nst_engine.video.settings import SequenceSettings

INDEPENDENT = SequenceSettings(guided=False, chunks=2, overlap=2)
CUTS = SequenceSettings(guided=False, chunks=2, overlap=0)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """Six frames, frame n all grey level 10 n."""
    folder = tmp_path / "clip"
    folder.mkdir()
    for number in range(1, 7):
        Image.new("RGB", (8, 6), (10 * number,) * 3).save(folder / f"{number}.png")
    return folder


def copying_runner(stopped: list[int]):
    """Each chunk "styled" by copying its input frames; `stopped`: chunks closed before their
    end."""

    def run(config, chunk, inputs: Path, frames: Path, slot: str):
        frames.mkdir(parents=True, exist_ok=True)
        files = sorted(inputs.iterdir())
        finished = False
        try:
            for number, file in enumerate(files, start=1):
                with Image.open(file) as image:
                    image.save(frames / frame_name(number))
                yield FrameDone(number, len(files), frames / frame_name(number), 0.0, False)
            finished = True
        finally:
            if not finished:
                stopped.append(len(files))

    return run


def config_for(clip: Path) -> RunConfig:
    return RunConfig.from_flat(content=clip, style=clip / "1.png", weights="random")


def test_chunks_on_two_slots_are_joined_into_every_frame_in_order(clip, tmp_path) -> None:
    events = list(
        run_chunks(
            config_for(clip), clip, tmp_path / "out", INDEPENDENT,
            slots=["cpu", "cpu"], runner=copying_runner([]),
        )
    )  # fmt: skip
    assert isinstance(events[0], ChunksPlanned) and isinstance(events[-1], SequenceDone)
    assert sum(isinstance(e, ChunkEvent) for e in events) == 3 + 5  # frames 1-3 and 2-6
    greys = [Image.open(tmp_path / "out" / frame_name(n)).getpixel((0, 0))[0] for n in range(1, 7)]
    assert greys == [10, 20, 30, 40, 50, 60]  # each blend of a frame with itself: the frame
    assert not (tmp_path / "out.chunks").exists()


def test_an_error_in_one_chunk_stops_the_others_and_is_raised_once(clip, tmp_path) -> None:
    stopped: list[int] = []
    copying = copying_runner(stopped)
    both_started = threading.Barrier(2)

    def failing_second(config, chunk, inputs, frames, slot):
        both_started.wait(timeout=10)
        if chunk.number == 2:
            raise NSTError("chunk 2 broke")
        yield from copying(config, chunk, inputs, frames, slot)

    run = run_chunks(
        config_for(clip), clip, tmp_path / "out", CUTS,
        slots=["cpu", "cpu"], runner=failing_second,
    )  # fmt: skip
    with pytest.raises(NSTError, match="chunk 2 broke"):
        list(run)
    assert not (tmp_path / "out").exists()  # nothing joined: the result is not half made
    assert stopped in ([], [3])  # chunk 1 stopped after the frame in progress, or had ended


def test_closing_the_run_stops_every_chunk(clip, tmp_path) -> None:
    stopped: list[int] = []
    run = run_chunks(
        config_for(clip), clip, tmp_path / "out", CUTS,
        slots=["cpu", "cpu"], runner=copying_runner(stopped),
    )  # fmt: skip
    assert isinstance(next(run), ChunksPlanned)
    assert isinstance(next(run), ChunkEvent)
    run.close()
    kept = list((tmp_path / "out.chunks").glob("chunk-*/frame-*.png"))
    assert 1 <= len(kept) < 6 and not (tmp_path / "out").exists()
    assert stopped  # at least the chunk whose frame came was closed before its end


def test_a_slot_thread_lives_until_every_chunk_ended(clip, tmp_path) -> None:
    """A thread that ends leaves its OpenMP workers spinning, which slowed the chunks still
    running on the CPU tenfold: a slot with no chunk left waits for the others."""
    copying = copying_runner([])
    first_ended = threading.Event()
    threads: dict[int, threading.Thread] = {}
    seen_alive: list[bool] = []

    def watched(config, chunk, inputs, frames, slot):
        threads[chunk.number] = threading.current_thread()
        if chunk.number == 2:
            assert first_ended.wait(timeout=10)
            time.sleep(0.2)  # time for chunk 1's thread to end, were it to (nothing to wait on)
            seen_alive.append(threads[1].is_alive())
        yield from copying(config, chunk, inputs, frames, slot)
        if chunk.number == 1:
            first_ended.set()

    run = run_chunks(
        config_for(clip), clip, tmp_path / "out", CUTS, slots=["cpu", "cpu"], runner=watched
    )
    list(run)
    assert seen_alive == [True]

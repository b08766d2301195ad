"""A sequence run: every frame of a video or a folder of frames styled, without flicker.

Ruder, Dosovitskiy and Brox (2016), in its simplest form: the first frame is a normal run;
each later frame starts from the previous frame's result warped by the optical flow between
the two input frames (nst_engine/video/flow.py), with the temporal loss toward that warped
result where the flow is trusted (nst_engine/video/temporal.py) and `frame_iterations`
iterations at the full size (the first frame's coarse to fine, if any, is not repeated).

Each finished frame is written whole into the output folder as it is made (a folder of PNG
frames, or beside a video output a `NAME.frames` folder, encoded into the video at the end
and then removed), so a stop loses at most the frame in progress; started again, the frames
already there are kept and the sequence goes on after them (the next frame is guided by the
last one kept, read back from its file as an uninterrupted run reads it).

Recorded (`record=True`, or a resume's `folder`), the sequence is one run folder and the
frame in progress checkpoints in it (nst_engine/video/sequence_record.py), so that
`nst-tui resume ID` goes on from the last finished frame and from that checkpoint.

Events, in order: SequenceRecorded (when recorded); for each frame a FrameStarted, its run's events as FrameEvent, a FrameDone
(skipped: it was there already); then SequenceDone.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from nst_engine.errors import NSTError, OutputError
from nst_engine.running.events import Cancelled, Event
from nst_engine.running.transfer import run
from nst_engine.settings.config import RunConfig
from nst_engine.settings.table import IMAGE_SUFFIXES
from nst_engine.store.run_folder import RunFolder
from nst_engine.store.run_record import FAILED, FINISHED, STOPPED
from nst_engine.video.flow import consistency_mask, flows, import_cv2, warp
from nst_engine.video.frames import (
    CONTAINERS,
    FrameSource,
    audio_source,
    frame_name,
    import_av,
    is_video_path,
    open_frames,
    output_rate,
    write_frame,
    write_video,
)
from nst_engine.video.sequence_record import (
    create_sequence_folder,
    frame_done,
    frame_run_folder,
    sequence_ended,
    sequence_running,
)
from nst_engine.video.settings import SequenceSettings
from nst_engine.video.temporal import FrameGuide


@dataclass(frozen=True)
class FrameStarted:
    number: int  # 1-based
    total: int


@dataclass(frozen=True)
class FrameEvent:
    """One event of the run of frame `number`."""

    number: int
    total: int
    event: Event


@dataclass(frozen=True)
class FrameDone:
    number: int
    total: int
    path: Path
    seconds: float
    skipped: bool  # it was there from an earlier start: kept, not made again


@dataclass(frozen=True)
class SequenceRecorded:
    """The sequence's run folder (its id is what `nst-tui resume` takes)."""

    folder: RunFolder


@dataclass(frozen=True)
class SequenceDone:
    output: Path
    frames: int
    seconds: float


SequenceEvent = SequenceRecorded | FrameStarted | FrameEvent | FrameDone | SequenceDone


def frames_folder(output: Path) -> Path:
    """Where the finished frames go: the output folder itself, or beside a video output."""
    return output.with_name(output.name + ".frames") if is_video_path(output) else output


def run_sequence(
    config: RunConfig,
    source_path: Path,
    output: Path,
    settings: SequenceSettings | None = None,
    *,
    folder: RunFolder | None = None,
    record: bool = False,
    root: Path | None = None,
    on_stop: Callable[[Cancelled], None] | None = None,
) -> Iterator[SequenceEvent]:
    """Style every frame of `source_path` (a video file or a folder of frames) with `config`
    (its content and output are each frame's), into `output` (a video file or a folder).
    A generator: closing it stops the frame in progress (its run keeps its partial image).
    Recorded in the run folder `folder` (a resume: resume_sequence's), or with `record` in a
    new one in the runs folder `root` (nst_engine/video/sequence_record.py), said first by
    SequenceRecorded. `on_stop` is told what the frame in progress kept when it is closed
    (a closed generator yields nothing more: a run's Cancelled event, for whoever shows it)."""
    settings = settings or SequenceSettings()
    source = open_frames(source_path)
    check_output(config, settings, source, output)
    if folder is None and record:
        folder = create_sequence_folder(config, source_path, output, settings, source.count, root)
    if folder is None:
        return (yield from _made(config, settings, source, output, None, on_stop))
    with folder.lock():  # held to the end: the record reads `running` only while it is
        sequence_running(folder, source.count)
        yield SequenceRecorded(folder)
        made = _made(config, settings, source, output, folder, on_stop)
        yield from recorded(made, folder, output)


def check_output(
    config: RunConfig, settings: SequenceSettings, source: FrameSource, output: Path
) -> None:
    """What is missing or wrong is refused now, not after the first frame or all of them."""
    if output.suffix.lower() in IMAGE_SUFFIXES:
        raise OutputError(
            f"output '{output}' is an image's name; give a video file ({', '.join(CONTAINERS)}) "
            "or a folder for the frames"
        )
    if is_video_path(output):
        import_av(output)
    if settings.guided and source.count > 1:
        import_cv2()
    if is_video_path(output) and output.exists() and not config.inputs.overwrite:
        raise OutputError(
            f"output '{output}' already exists; choose another name or allow overwriting "
            "(--overwrite)"
        )


def recorded(
    events: Generator[SequenceEvent, None, None], folder: RunFolder, output: Path
) -> Iterator[SequenceEvent]:
    """`events`, with each frame done and the sequence's end written to `folder`'s record."""
    with contextlib.closing(events):  # closed first: the frame in progress checkpoints
        try:
            for event in events:
                if isinstance(event, FrameDone):
                    frame_done(folder, event.number, event.seconds)
                elif isinstance(event, SequenceDone):
                    sequence_ended(folder, FINISHED, result=output)
                yield event
        except (GeneratorExit, KeyboardInterrupt):
            events.close()
            sequence_ended(folder, STOPPED)
            raise
        except Exception as error:
            events.close()
            message = error.message if isinstance(error, NSTError) else str(error)
            sequence_ended(folder, FAILED, error=message)
            raise


def _made(
    config: RunConfig,
    settings: SequenceSettings,
    source: FrameSource,
    output: Path,
    folder: RunFolder | None,
    on_stop: Callable[[Cancelled], None] | None = None,
) -> Iterator[SequenceEvent]:
    """The frames made one by one into the output's frames folder, then the video."""
    frames = frames_folder(output)
    try:
        frames.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot make the output folder '{frames}': {error.strerror}") from None
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nst-frames-") as scratch:
        inputs = _input_files(source, Path(scratch))
        made = []
        for number in range(1, len(inputs) + 1):
            frame = _one_frame(config, settings, inputs, number, frames, folder, on_stop)
            made.append((yield from frame))
        if is_video_path(output):
            rate = output_rate(settings.frame_rate, source)
            write_video(made, output, rate, audio_source(settings.frame_rate, source))
            shutil.rmtree(frames)  # its frames are in the video now
    yield SequenceDone(output, source.count, time.monotonic() - began)


def _input_files(source: FrameSource, scratch: Path) -> list[Path]:
    """The input frames as image files: a folder's own, or a video's decoded into `scratch`
    (a run reads its content from a file)."""
    if not source.is_video:
        return list(source.frame_files)
    return [write_frame(image, scratch, n) for n, image in enumerate(source.frames(), start=1)]


def _one_frame(
    config: RunConfig,
    settings: SequenceSettings,
    inputs: list[Path],
    number: int,
    folder: Path,
    recorded_in: RunFolder | None,
    on_stop: Callable[[Cancelled], None] | None = None,
) -> Iterator[SequenceEvent]:
    """Frame `number` made into `folder` (or kept, if there already); returns its path. With
    `recorded_in` (the sequence's run folder), the frame's run checkpoints in a run folder of
    its own there, and goes on from its checkpoint when started again."""
    total = len(inputs)
    path = folder / frame_name(number)
    if path.exists():
        yield FrameDone(number, total, path, 0.0, skipped=True)
        return path
    yield FrameStarted(number, total)
    began = time.monotonic()
    frame_config = config.replace(content=inputs[number - 1], output=path, overwrite=True)
    guide = None
    if settings.guided and number > 1:
        previous = folder / frame_name(number - 1)
        guide = frame_guide(inputs[number - 2], inputs[number - 1], previous, settings)
        frame_config = frame_config.replace(iterations=settings.frame_iterations, min_size=0)
    frame_run = None if recorded_in is None else frame_run_folder(recorded_in, number, frame_config)
    with run(frame_config, frame_run, guide=guide) as events:
        try:
            for event in events:
                yield FrameEvent(number, total, event)
        except GeneratorExit:
            cancelled = events.cancel()  # its image so far kept, its checkpoint written
            if on_stop is not None and cancelled is not None:
                on_stop(cancelled)
            raise
    for partial in folder.glob(f"{path.stem}.partial-*"):  # an earlier start's, now replaced
        partial.unlink(missing_ok=True)
    yield FrameDone(number, total, path, time.monotonic() - began, skipped=False)
    return path


def frame_guide(
    previous_input: Path, current_input: Path, previous_result: Path, settings: SequenceSettings
) -> FrameGuide:
    """The previous result warped onto the current frame by the flow between the two input
    frames (at the result's size), the mask where that warp is trusted, and the weight."""
    with Image.open(previous_result) as result:
        styled = result.convert("RGB")
    with Image.open(previous_input) as before, Image.open(current_input) as now:
        size = styled.size
        before_frame = before.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        current_frame = now.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    backward, forward = flows(before_frame, current_frame)
    warped = warp(np.asarray(styled, dtype=np.float32), backward)
    return FrameGuide.from_arrays(
        warped, consistency_mask(backward, forward), settings.temporal_weight
    )

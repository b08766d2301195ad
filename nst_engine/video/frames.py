"""A sequence's frames in and out: a folder of images, or a video file through PyAV.

Reading: a folder gives its image files sorted by name (anything else in it is left out); a
video file gives its frames decoded in order, with its frame rate. Writing: a folder of PNG
frames, each written whole (nst_engine/store/safe_files.py's write_atomically), or a video
file at the input's frame rate with the input's audio copied over, encoded into the same one
atomic write, so the path holds the whole video or nothing. At another frame rate
(--frame-rate) the video's length changes and the audio's would not: the audio is left out
(`audio_source`; stretching sound is out of scope) and `audio_note` says so.

PyAV (`av`) is in the `video` extra: without it a folder of frames still works, and a video path
is refused in one line that says what to install.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from nst_engine.errors import InputImageError, OutputError
from nst_engine.settings.table import IMAGE_SUFFIXES
from nst_engine.store import safe_files
from nst_engine.video.settings import FOLDER_FRAME_RATE

VIDEO_EXTRA = "pip install 'nst-tui[video]'"
DEFAULT_FRAME_RATE = Fraction(FOLDER_FRAME_RATE)
# The container PyAV writes for each video suffix, and the video codec it gets.
CONTAINERS = {
    ".mp4": ("mp4", "libx264"),
    ".m4v": ("mp4", "libx264"),
    ".mov": ("mov", "libx264"),
    ".mkv": ("matroska", "libx264"),
    ".webm": ("webm", "libvpx-vp9"),
    ".avi": ("avi", "mpeg4"),
}


@dataclass(frozen=True)
class FrameSource:
    """Where a sequence's frames come from: the frame files of a folder, or a video file."""

    path: Path
    frame_files: tuple[Path, ...]  # a folder's frames, in order (empty for a video)
    rate: Fraction | None  # frames per second (None: a folder, which has none)
    count: int
    has_audio: bool = False  # a video with a sound stream

    @property
    def is_video(self) -> bool:
        return not self.path.is_dir()

    def frames(self) -> Iterator[Image.Image]:
        """Each frame, in order, as 8-bit RGB."""
        if not self.is_video:
            for file in self.frame_files:
                with Image.open(file) as image:
                    yield image.convert("RGB")
            return
        av = import_av(self.path)
        with av.open(str(self.path)) as container:
            for frame in container.decode(video=0):
                yield frame.to_image().convert("RGB")


def import_av(path: Path):
    """PyAV, or an error in one line that says how to install it."""
    try:
        import av  # the `video` extra: only when a video file is read or written
    except ImportError:
        raise InputImageError(
            f"'{path}' is a video file; reading and writing video needs PyAV: {VIDEO_EXTRA} "
            "(or give a folder of frames)"
        ) from None
    return av


def is_video_path(path: Path) -> bool:
    """Whether `path` names a video file to write (else: a folder of frames)."""
    return path.suffix.lower() in CONTAINERS


def open_frames(path: Path) -> FrameSource:
    """The frames at `path`: a folder's image files sorted by name, or a video's frames."""
    if not path.exists():
        raise InputImageError(f"input '{path}' does not exist")
    if path.is_dir():
        files = tuple(
            sorted(
                (file for file in path.iterdir() if file.suffix.lower() in IMAGE_SUFFIXES),
                key=lambda file: file.name,
            )
        )
        if not files:
            raise InputImageError(f"input folder '{path}' holds no image files")
        return FrameSource(path, files, None, len(files))
    av = import_av(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputImageError(f"input '{path}' has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            # Containers do not all store a frame count: count by demuxing (no decoding).
            count = sum(1 for packet in container.demux(stream) if packet.size)
            has_audio = bool(container.streams.audio)
    except av.FFmpegError as error:
        raise InputImageError(f"input '{path}' is not a video FFmpeg can read ({error})") from None
    if count == 0:
        raise InputImageError(f"input '{path}' has no frames")
    return FrameSource(path, (), Fraction(rate) if rate else None, count, has_audio)


def output_rate(frame_rate: float | None, source: FrameSource) -> Fraction | None:
    """A video output's frames a second: `frame_rate` when given (--frame-rate), else the
    input video's (None for a folder: write_video's default)."""
    if frame_rate is None:
        return source.rate
    return Fraction(frame_rate).limit_denominator(1001)  # 29.97 -> 2997/100, not a float's


def _same_rate(frame_rate: float | None, source: FrameSource) -> bool:
    """Whether a video output plays at the input's own rate (29.97 given for 30000/1001)."""
    if frame_rate is None or source.rate is None:
        return frame_rate is None
    return abs(frame_rate - float(source.rate)) <= 1e-4 * float(source.rate)


def audio_source(frame_rate: float | None, source: FrameSource) -> Path | None:
    """The input video whose audio a video output gets: the input's, when it has some and
    the output plays at its rate; at another rate none (the video's length changes)."""
    if not source.is_video or not source.has_audio or not _same_rate(frame_rate, source):
        return None
    return source.path


def audio_note(frame_rate: float | None, source: FrameSource) -> str | None:
    """The one line that says the input's audio is left out (None when it is kept)."""
    if not source.is_video or not source.has_audio or _same_rate(frame_rate, source):
        return None
    plays = f"{round(float(source.rate), 2):g} fps" if source.rate else "another rate"
    return (
        f"--frame-rate {frame_rate:g} changes the video's length ({source.path.name} plays at "
        f"{plays}): its audio is left out"
    )


def frame_name(number: int) -> str:
    """The file of frame `number` (1-based) in a folder of frames: sorted by name, in order."""
    return f"frame-{number:05d}.png"


def write_frame(image: Image.Image, folder: Path, number: int) -> Path:
    """Frame `number` written whole into `folder` as PNG (replacing one there)."""
    path = folder / frame_name(number)
    safe_files.write_atomically(path, lambda stream: image.save(stream, format="PNG"))
    return path


def write_video(
    frame_files: list[Path], path: Path, rate: Fraction | None, audio_from: Path | None
) -> Path:
    """The frames encoded into the video file `path` at `rate` frames a second (a folder's
    default when None), with the audio of `audio_from` copied in when it has some; written
    whole or not at all. An existing file is replaced."""
    container_format, codec = CONTAINERS.get(path.suffix.lower(), (None, None))
    if container_format is None:
        raise OutputError(
            f"output '{path}': a video must end in one of {', '.join(CONTAINERS)} "
            "(or give a folder for PNG frames)"
        )
    av = import_av(path)

    def encode(stream: BinaryIO) -> None:
        with contextlib.ExitStack() as stack:
            output = stack.enter_context(av.open(stream, mode="w", format=container_format))
            source = stack.enter_context(av.open(str(audio_from))) if audio_from else None
            audio = source.streams.audio[0] if source and source.streams.audio else None
            video = _video_stream(output, codec, frame_files[0], rate or DEFAULT_FRAME_RATE)
            # Every stream is added before the first packet: the header is written then.
            copied = output.add_stream_from_template(audio) if audio is not None else None
            _encode_frames(av, output, video, frame_files)
            if audio is not None:
                _copy_audio(source, audio, copied, output)

    try:
        safe_files.write_atomically(path, encode)
    except OSError as error:
        raise OutputError(f"could not write '{path}': {error.strerror or error}") from None
    return path


def _video_stream(output, codec: str, first_frame: Path, rate: Fraction):
    with Image.open(first_frame) as first:
        width, height = first.size
    stream = output.add_stream(codec, rate=rate)
    # 4:2:0 video needs even sides: the last row or column of an odd frame is left out.
    stream.width, stream.height = width - width % 2, height - height % 2
    stream.pix_fmt = "yuv420p"
    return stream


def _encode_frames(av, output, stream, frame_files: list[Path]) -> None:
    for file in frame_files:
        with Image.open(file) as image:
            picture = image.convert("RGB").crop((0, 0, stream.width, stream.height))
        for packet in stream.encode(av.VideoFrame.from_image(picture)):
            output.mux(packet)
    for packet in stream.encode():  # what the encoder still holds
        output.mux(packet)


def _copy_audio(source, audio, copied, output) -> None:
    """`source`'s audio stream copied packet by packet (not re-encoded)."""
    for packet in source.demux(audio):
        if packet.dts is None:  # the demuxer's flush packet
            continue
        packet.stream = copied
        output.mux(packet)

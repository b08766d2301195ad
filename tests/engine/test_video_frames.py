"""A sequence's frames in and out: folders of frames, and video files through PyAV."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_engine.errors import InputImageError
from nst_engine.video import frames as frames_module
from nst_engine.video.frames import open_frames, write_frame, write_video


def coloured(number: int, size: tuple[int, int] = (48, 32)) -> Image.Image:
    """A flat frame whose colour says its number (so that order can be checked)."""
    return Image.new("RGB", size, (number * 30, 255 - number * 30, 100))


def make_video(path: Path, count: int, rate: int, audio: bool) -> Path:
    """A tiny H.264 video of `count` coloured frames, with a second of sine tone if `audio`."""
    av = pytest.importorskip("av")
    with av.open(str(path), mode="w") as output:
        video = output.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        sound = output.add_stream("aac", rate=8000) if audio else None
        for number in range(count):
            for packet in video.encode(av.VideoFrame.from_image(coloured(number))):
                output.mux(packet)
        for packet in video.encode():
            output.mux(packet)
        if sound is not None:
            tone = np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(tone[None, :], format="fltp", layout="mono")
            frame.sample_rate = 8000
            for packet in [*sound.encode(frame), *sound.encode()]:
                output.mux(packet)
    return path


def test_a_folder_gives_its_images_sorted_by_name_and_nothing_else(tmp_path: Path) -> None:
    for number in (3, 1, 2):
        coloured(number).save(tmp_path / f"f{number}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    source = open_frames(tmp_path)
    assert source.count == 3 and source.rate is None and not source.is_video
    reds = [image.getpixel((0, 0))[0] for image in source.frames()]
    assert reds == [30, 60, 90]


def test_an_empty_folder_or_a_missing_input_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputImageError, match="holds no image files"):
        open_frames(tmp_path)
    with pytest.raises(InputImageError, match="does not exist"):
        open_frames(tmp_path / "nothing.mp4")


def test_frames_are_written_whole_as_png(tmp_path: Path, atomic_writes: list[Path]) -> None:
    path = write_frame(coloured(2), tmp_path, 7)
    assert path.name == "frame-00007.png" and path in atomic_writes
    assert Image.open(path).getpixel((0, 0)) == (60, 195, 100)


def test_a_video_in_and_out_keeps_its_frame_count_order_rate_and_audio(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    source = open_frames(make_video(tmp_path / "in.mp4", 6, 12, audio=True))
    assert source.is_video and source.count == 6 and source.rate == Fraction(12)
    folder = tmp_path / "frames"
    folder.mkdir()
    files = [write_frame(image, folder, n) for n, image in enumerate(source.frames(), start=1)]
    reds = [Image.open(file).getpixel((10, 10))[0] for file in files]
    assert reds == sorted(reds) and reds[-1] - reds[0] > 100  # decoded in order

    written = write_video(files, tmp_path / "out.mp4", source.rate, audio_from=source.path)
    again = open_frames(written)
    assert again.count == 6 and again.rate == Fraction(12)
    with av.open(str(written)) as container:
        assert len(container.streams.audio) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary


def test_without_pyav_a_video_path_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\0" * 64)
    monkeypatch.setitem(sys.modules, "av", None)  # import av now raises ImportError
    with pytest.raises(InputImageError, match=r"pip install 'nst-tui\[video\]'"):
        open_frames(tmp_path / "clip.mp4")
    coloured(1).save(tmp_path / "a.png")
    assert frames_module.open_frames(tmp_path).count == 1  # a folder still works

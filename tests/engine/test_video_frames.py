"""A sequence's frames in and out: folders of frames, and video files through PyAV."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import pytest
from moving_clips import coloured, make_video
from PIL import Image

from nst_engine.errors import InputImageError
from nst_engine.video import frames as frames_module
from nst_engine.video.frames import open_frames, write_frame, write_video


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

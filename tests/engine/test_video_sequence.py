"""A sequence run (issue 22.2): less flicker than frames run on their own, frames kept in
order as they are made, a stopped sequence goes on after its frames, video in and out."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_quality import load

pytest.importorskip("cv2")

from nst_engine.running.events import Step  # noqa: E402
from nst_engine.video.frames import open_frames  # noqa: E402
from nst_engine.video.sequence import (  # noqa: E402
    FrameDone,
    FrameEvent,
    SequenceDone,
    run_sequence,
)
from nst_engine.video.settings import SequenceSettings  # noqa: E402

FRAMES = 8
SIDE = 48
SHIFT = 2  # the crop window moves this many pixels right per frame


def picture(shared_image) -> Image.Image:
    """A photo from ../shared/images, or else a smooth random texture."""
    try:
        return Image.open(shared_image("chelsea.png")).convert("RGB").reduce(4)
    except pytest.skip.Exception:
        noise = np.random.default_rng(5).random((24, 40, 3)) * 255
        return Image.fromarray(noise.astype(np.uint8)).resize((160, 96), Image.Resampling.BICUBIC)


@pytest.fixture
def moving_crop(tmp_path: Path, shared_image) -> Path:
    """8 frames of 48 px: a window over the photo moving 2 px right per frame."""
    folder = tmp_path / "input"
    folder.mkdir()
    photo = picture(shared_image)
    for number in range(FRAMES):
        left = 20 + SHIFT * number
        photo.crop((left, 20, left + SIDE, 20 + SIDE)).save(folder / f"in-{number:02d}.png")
    return folder


def frame_arrays(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(path), dtype=np.float32) for path in sorted(folder.iterdir())]


def temporal_error(frames: list[np.ndarray]) -> float:
    """The mean change from frame to frame once the known motion is undone."""
    return load("quality").temporal_error(frames, SHIFT)


def run_all(config, source: Path, output: Path, settings: SequenceSettings) -> list:
    return list(run_sequence(config, source, output, settings))


def test_a_guided_sequence_flickers_far_less_than_frames_run_on_their_own(
    tiny_config, moving_crop: Path, tmp_path: Path
) -> None:
    config = tiny_config(size=SIDE, iterations=10)
    guided, alone = tmp_path / "guided", tmp_path / "alone"
    run_all(config, moving_crop, guided, SequenceSettings(frame_iterations=5))
    run_all(config, moving_crop, alone, SequenceSettings(guided=False))
    guided_error = temporal_error(frame_arrays(guided))
    alone_error = temporal_error(frame_arrays(alone))
    print(f"temporal error: guided {guided_error:.2f}, frames on their own {alone_error:.2f}")
    assert guided_error < alone_error / 2

    made = frame_arrays(guided)
    assert [p.name for p in sorted(guided.iterdir())] == [
        f"frame-{n:05d}.png" for n in range(1, FRAMES + 1)
    ]
    inputs = frame_arrays(moving_crop)
    # In order: the first result is nearer the first input than the last, and the other way.
    assert np.abs(made[0] - inputs[0]).mean() < np.abs(made[0] - inputs[-1]).mean()
    assert np.abs(made[-1] - inputs[-1]).mean() < np.abs(made[-1] - inputs[0]).mean()


def test_a_stopped_sequence_goes_on_after_its_frames_and_ends_as_one_never_stopped(
    tiny_config, moving_crop: Path, tmp_path: Path
) -> None:
    config = tiny_config(size=SIDE, iterations=6)
    settings = SequenceSettings(frame_iterations=4)
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    run_all(config, moving_crop, whole, settings)

    events = run_sequence(config, moving_crop, stopped, settings)
    for event in events:
        if isinstance(event, FrameEvent) and event.number == 4 and isinstance(event.event, Step):
            events.close()  # stopped in the middle of frame 4
            break
    assert sorted(p.name for p in stopped.glob("frame-?????.png")) == [
        f"frame-{n:05d}.png" for n in range(1, 4)
    ]
    again = run_all(config, moving_crop, stopped, settings)
    done = [event for event in again if isinstance(event, FrameDone)]
    assert [event.skipped for event in done] == [True] * 3 + [False] * (FRAMES - 3)
    assert isinstance(again[-1], SequenceDone)
    assert sorted(p.name for p in stopped.iterdir()) == sorted(p.name for p in whole.iterdir())
    for mine, theirs in zip(frame_arrays(stopped), frame_arrays(whole), strict=True):
        assert np.array_equal(mine, theirs)


def test_a_video_in_and_out_keeps_its_frames_and_frame_rate(tiny_config, tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    from moving_clips import make_video

    source = make_video(tmp_path / "clip.mp4", 4, 15, audio=True)
    output = tmp_path / "styled.mp4"
    events = run_all(tiny_config(size=32, iterations=2), source, output, SequenceSettings(2))
    assert isinstance(events[-1], SequenceDone) and events[-1].frames == 4
    made = open_frames(output)
    assert made.count == 4 and made.rate == Fraction(15)
    with av.open(str(output)) as container:
        assert len(container.streams.audio) == 1
    assert not (tmp_path / "styled.mp4.frames").exists()  # in the video now

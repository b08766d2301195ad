"""`nst-tui video INPUT STYLE -o OUTPUT`: progress by frame, the output's path on stdout, each
mistake one line; the same command again goes on after the frames done."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from moving_clips import write_moving_texture
from PIL import Image

pytest.importorskip("cv2")

QUICK = (
    "--size", "32", "--iterations", "3", "--frame-iterations", "2", "--weights", "random",
    "--device", "cpu", "--content-layers", "relu2_1=1", "--style-layers", "relu1_1=1,relu2_1=1",
)  # fmt: skip


@pytest.fixture
def frames(work: Path) -> Path:
    """Three 40x32 frames of a texture moving 2 px a frame."""
    return write_moving_texture(work / "clip", 3, (40, 32), seed=1)


def test_a_folder_of_frames_is_styled_frame_by_frame_into_a_folder(
    nst_tui_here, frames: Path, demo_pair, work: Path
) -> None:
    result = nst_tui_here("video", frames, demo_pair[1], "-o", "styled", *QUICK)
    assert result.returncode == 0, result.stderr
    assert "frame 1/3 ..." in result.stderr and "frame 3/3 done" in result.stderr
    assert "weights random" in result.stderr  # said once, when the first frame starts
    assert " s left" in result.stderr  # the time the other frames should take
    assert result.stdout.strip() == "styled"
    assert sorted(p.name for p in (work / "styled").iterdir()) == [
        "frame-00001.png",
        "frame-00002.png",
        "frame-00003.png",
    ]
    again = nst_tui_here("video", frames, demo_pair[1], "-o", "styled", *QUICK)
    assert again.returncode == 0
    assert again.stderr.count("was made before: kept") == 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("video", "clip", "style.png"), "give -o OUTPUT"),
        (("video", "nothing-here", "STYLE", "-o", "out"), "input 'nothing-here' does not exist"),
        (("video", "clip", "no-such-style.png", "-o", "out"), "style image 'no-such-style.png'"),
        (("video", "clip", "STYLE", "-o", "out", "--frame-iterations", "0"), "at least 1"),
        (("video", "clip", "STYLE", "-o", "out.png"), "'out.png' is an image's name"),
    ],
)
def test_each_mistake_is_one_line(
    nst_tui_here, frames: Path, demo_pair, arguments: tuple[str, ...], message: str
) -> None:
    arguments = tuple(str(demo_pair[1]) if word == "STYLE" else word for word in arguments)
    result = nst_tui_here(*arguments)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("source", ["clip.mp4", "clip"])
def test_a_video_without_pyav_says_what_to_install_before_any_frame(
    nst_tui_here, work: Path, frames: Path, demo_pair, monkeypatch: pytest.MonkeyPatch, source
) -> None:
    (work / "clip.mp4").write_bytes(b"\0" * 64)
    monkeypatch.setitem(sys.modules, "av", None)  # import av raises ImportError
    result = nst_tui_here("video", source, demo_pair[1], "-o", "out.mp4", *QUICK)
    assert result.returncode == 2
    assert not (work / "out.mp4.frames").exists() or not any((work / "out.mp4.frames").iterdir())
    assert "pip install 'nst-tui[video]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bug_is_one_line_with_the_log_that_holds_it(
    nst_tui_here, frames: Path, demo_pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nst_engine.video import sequence

    def broken(*arguments, **keywords):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(sequence, "frame_guide", broken)
    result = nst_tui_here("video", frames, demo_pair[1], "-o", "styled", *QUICK)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "ZeroDivisionError: division by zero" in last and "a bug in nst-tui" in last
    assert "Traceback" not in result.stderr


def test_without_opencv_a_sequence_says_what_to_install_before_any_frame(
    nst_tui_here, frames: Path, demo_pair, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 raises ImportError
    result = nst_tui_here("video", frames, demo_pair[1], "-o", "styled", *QUICK)
    assert result.returncode == 2
    assert "needs OpenCV: pip install 'nst-tui[video]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list(work.glob("styled/*.png"))


def stop_after_the_first_frame(monkeypatch: pytest.MonkeyPatch, number: int):
    """The command's events with the signal `number` sent to this process once the first frame
    is done (its handler sets the stop flag, as a real signal's would); the real events."""
    import os

    from nst_engine.video.sequence import FrameDone
    from nst_tui.cli import video_command

    real_events = video_command._events

    def interrupted_after_the_first_frame(*arguments):
        for event in real_events(*arguments):
            yield event
            if isinstance(event, FrameDone) and event.number == 1:
                os.kill(os.getpid(), number)

    monkeypatch.setattr(video_command, "_events", interrupted_after_the_first_frame)
    return real_events


def test_ctrl_c_keeps_the_frames_done_and_the_same_command_goes_on(
    nst_tui_here, frames: Path, demo_pair, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    from nst_tui.cli import video_command

    real_events = stop_after_the_first_frame(monkeypatch, signal.SIGINT)  # as Ctrl+C
    stopped = nst_tui_here("video", frames, demo_pair[1], "-o", "styled", *QUICK)
    assert stopped.returncode == 128 + signal.SIGINT
    assert "stopped; the frames done are in styled" in stopped.stderr
    assert [p.name for p in (work / "styled").glob("frame-?????.png")] == ["frame-00001.png"]

    monkeypatch.setattr(video_command, "_events", real_events)
    again = nst_tui_here("video", frames, demo_pair[1], "-o", "styled", *QUICK)
    assert again.returncode == 0
    assert "frame 1/3 was made before: kept" in again.stderr and "frame 3/3 done" in again.stderr


def test_a_sequence_is_one_run_listed_with_its_frames_and_resumed_by_its_id(
    nst_tui_here, frames: Path, demo_pair, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import signal

    from nst_tui.cli import video_command

    real_events = stop_after_the_first_frame(monkeypatch, signal.SIGHUP)
    stopped = nst_tui_here("video", frames, demo_pair[1], "-o", "styled", *QUICK)
    assert stopped.returncode == 128 + signal.SIGHUP
    [run] = json.loads(nst_tui_here("runs", "--json").stdout)
    assert (run["kind"], run["status"], run["frames_done"], run["frames_total"]) == (
        "sequence", "stopped", 1, 3,
    )  # fmt: skip
    assert f"nst-tui resume {run['id']} goes on" in stopped.stderr
    listed = nst_tui_here("runs").stdout
    assert run["id"] in listed and "1/3 frames" in listed

    monkeypatch.setattr(video_command, "_events", real_events)
    moved = nst_tui_here("resume", run["id"], "--output", "elsewhere")
    assert moved.returncode == 2 and "--output cannot move them" in moved.stderr
    assert len(moved.stderr.strip().splitlines()) == 1
    resumed = nst_tui_here("resume", run["id"])
    assert resumed.returncode == 0, resumed.stderr
    assert "frame 1/3 was made before: kept" in resumed.stderr
    assert "frame 3/3 done" in resumed.stderr
    [run] = json.loads(nst_tui_here("runs", "--json").stdout)
    assert (run["status"], run["frames_done"]) == ("finished", 3)
    assert len(list((work / "styled").glob("frame-?????.png"))) == 3


@pytest.mark.slow
def test_a_sequence_killed_mid_frame_resumes_to_the_same_frames(
    nst_tui_here, frames: Path, demo_pair, work: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import time

    from cli_run import COMMAND, command_environment

    # Periodic checkpoints come at most every 30 s: this frame in progress goes on from its
    # start (tests/engine/test_video_sequence_folder.py resumes one from its checkpoint).
    longer = (*QUICK, "--frame-iterations", "20")
    whole = nst_tui_here("video", frames, demo_pair[1], "-o", "whole", *longer)
    assert whole.returncode == 0, whole.stderr
    arguments = ["video", str(frames), str(demo_pair[1]), "-o", "killed", *longer]
    process = subprocess.Popen([*COMMAND, *arguments], cwd=work, env=command_environment(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    runs = Path(os.environ["NST_TUI_RUNS_DIR"])
    try:
        deadline = time.monotonic() + 120
        # The finished "whole" run has no frame folder left: this one is the killed run's.
        while not (started := [path for path in runs.glob("*/frame-00002/run.json")
                               if '"running"' in path.read_text()]):  # fmt: skip
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    folder = started[0].parent.parent
    assert [p.name for p in (work / "killed").glob("frame-?????.png")] == ["frame-00001.png"]

    resumed = nst_tui_here("resume", folder.name)
    assert resumed.returncode == 0, resumed.stderr
    assert "frame 1/3 was made before: kept" in resumed.stderr
    for name in ("frame-00001.png", "frame-00002.png", "frame-00003.png"):
        mine, theirs = Image.open(work / "killed" / name), Image.open(work / "whole" / name)
        assert np.array_equal(np.asarray(mine), np.asarray(theirs)), name

"""A sequence is one run folder (issue 22.2): its record counts the frames done of total as
they are made, and a resume after a stop or a kill goes on from the last finished frame and
the checkpoint of the frame in progress, ending with the frames of a run never stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from moving_clips import write_moving_texture
from PIL import Image

pytest.importorskip("cv2")

from nst_engine.running.events import Step  # noqa: E402
from nst_engine.store.resume import NotResumable  # noqa: E402
from nst_engine.store.run_record import FINISHED, INTERRUPTED, RUNNING, SEQUENCE, STOPPED  # noqa: E402
from nst_engine.store.runs import list_runs  # noqa: E402
from nst_engine.video.sequence import (  # noqa: E402
    FrameEvent,
    SequenceDone,
    SequenceRecorded,
    run_sequence,
)
from nst_engine.video.sequence_record import frame_folder_path, resume_sequence  # noqa: E402
from nst_engine.video.settings import SequenceSettings  # noqa: E402

FRAMES = 4
SIDE = 32
SETTINGS = SequenceSettings(frame_iterations=6)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """Four 32 px frames of a smooth texture moving 2 px right per frame."""
    return write_moving_texture(tmp_path / "clip", FRAMES, (SIDE, SIDE), seed=3)


def frames_of(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(path)) for path in sorted(folder.glob("frame-*.png"))]


def stop_in_frame(events, number: int, iteration: int) -> None:
    """Pull `events` until frame `number` has made `iteration` iterations, then close it."""
    for event in events:
        step = event.event if isinstance(event, FrameEvent) else None
        if isinstance(step, Step) and event.number == number and step.index == iteration:
            events.close()
            return
    raise AssertionError(f"frame {number} never reached iteration {iteration}")


def test_a_sequence_stopped_mid_frame_resumes_from_its_checkpoint_to_the_same_frames(
    tiny_config, clip: Path, tmp_path: Path
) -> None:
    config = tiny_config(size=SIDE, iterations=8, checkpoint_every=2)
    list(run_sequence(config, clip, tmp_path / "whole", SETTINGS))  # never stopped

    runs, output = tmp_path / "runs", tmp_path / "stopped"
    events = run_sequence(config, clip, output, SETTINGS, record=True, root=runs)
    folder = next(events).folder
    stop_in_frame(events, number=3, iteration=4)

    record = folder.record()
    assert (record.kind, record.status) == (SEQUENCE, STOPPED)
    assert (record.frames_done, record.frames_total) == (2, FRAMES)
    assert record.progress == "2/4 frames"
    assert (frame_folder_path(folder, 3) / "checkpoint.pt").is_file()
    assert [r.id for r in list_runs(runs)] == [folder.id]  # the frame's folder is no run

    config_again, source, output_again, settings = resume_sequence(folder)
    assert (source, output_again, settings) == (clip, output, SETTINGS)
    again = list(run_sequence(config_again, source, output_again, settings, folder=folder))
    first_step = next(e.event for e in again if isinstance(e, FrameEvent) and e.number == 3
                      and isinstance(e.event, Step))  # fmt: skip
    assert first_step.index == 5  # went on after the 4 iterations checkpointed
    assert isinstance(again[-1], SequenceDone)

    record = folder.record()
    assert (record.status, record.frames_done, record.resumed) == (FINISHED, FRAMES, 1)
    assert record.result == str(output)
    assert not frame_folder_path(folder, 3).exists()
    made, whole = frames_of(output), frames_of(tmp_path / "whole")
    assert len(made) == FRAMES
    for mine, theirs in zip(made, whole, strict=True):
        assert np.array_equal(mine, theirs)
    with pytest.raises(NotResumable, match="finished"):
        resume_sequence(folder)


def test_a_killed_sequence_reads_interrupted_and_resumes(
    tiny_config, clip: Path, tmp_path: Path
) -> None:
    config = tiny_config(size=SIDE, iterations=4)
    events = run_sequence(config, clip, tmp_path / "out", SETTINGS, record=True, root=tmp_path)
    recorded = next(events)
    assert isinstance(recorded, SequenceRecorded)
    folder = recorded.folder
    assert folder.record().status == RUNNING
    stop_in_frame(events, number=2, iteration=2)
    # As SIGKILL leaves it: `running`, by a process that is gone.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    folder.update(status=RUNNING, pid=int(gone.stdout), ended=None)
    assert folder.record().status == INTERRUPTED
    list(run_sequence(*resume_sequence(folder), folder=folder))
    record = folder.record()
    assert (record.status, record.frames_done) == (FINISHED, FRAMES)
    assert os.path.isdir(record.result)


def test_a_sequence_is_not_resumed_as_a_single_run(tiny_config, clip: Path, tmp_path: Path):
    from nst_engine.store.resume import resume
    from nst_engine.video.sequence_record import create_sequence_folder

    config = tiny_config(size=SIDE)
    folder = create_sequence_folder(config, clip, tmp_path / "out", SETTINGS, FRAMES, tmp_path)
    with pytest.raises(NotResumable, match=f"sequence of frames: .*nst-tui resume {folder.id}"):
        resume(folder)  # what the app's and a sweep's Resume call

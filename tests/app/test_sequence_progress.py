"""A sequence's progress as the run panel shows it (nst_tui/app/sequence_progress.py): the bar
over every frame's iterations, and the ETA over the frames left, the first frame (more
iterations) counted apart."""

from __future__ import annotations

from pathlib import Path

from nst_tui.app.messages import RunProgress
from nst_tui.app.sequence_progress import SequenceProgress


def report(index: int, total: int, rate: float, time_left: float) -> RunProgress:
    return RunProgress(1, index, total, 1.0, rate, {"total": 1.0}, time_left=time_left)


def test_the_eta_counts_the_frames_left_at_the_later_frames_time_not_the_first_frames() -> None:
    sequence = SequenceProgress(first_iterations=100, later_iterations=10, output=Path("out"))
    sequence.frame_started(1, 1, 4)
    first = sequence.progress(report(50, 100, rate=10.0, time_left=5.0))
    # The frames after the first: their iterations at the speed of the frame running.
    assert first.time_left == 5.0 + 3 * (10 / 10.0)
    assert (first.index, first.total) == (50, 130)
    assert (first.frame, first.frames, first.frame_index, first.frame_total) == (1, 4, 50, 100)

    sequence.frame_done(1, 4, seconds=12.0, path=Path("out/frame-00001.png"), skipped=False)
    sequence.frame_started(1, 2, 4)
    sequence.frame_done(2, 4, seconds=2.0, path=Path("out/frame-00002.png"), skipped=False)
    sequence.frame_started(1, 3, 4)
    third = sequence.progress(report(4, 10, rate=5.0, time_left=1.5))
    # One frame after this one, at the later frames' mean time (the first's 12 s left out).
    assert third.time_left == 1.5 + 1 * 2.0
    assert (third.index, third.total) == (100 + 10 + 4, 130)
    assert sequence.progress(report(4, 10, rate=0.0, time_left=None)).time_left is None

    sequence.frame_done(3, 4, seconds=4.0, path=Path("out/frame-00003.png"), skipped=False)
    sequence.frame_started(1, 4, 4)
    last = sequence.progress(report(9, 10, rate=5.0, time_left=0.2))
    assert last.time_left == 0.2  # the last frame: its own time left only
    done = sequence.finished(1, seconds=20.0)
    assert (done.frames, done.path, done.last_frame) == (
        4,
        Path("out"),
        Path("out/frame-00003.png"),
    )

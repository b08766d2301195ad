"""A sequence in the app (issue 22.2): a video or a folder of frames as the content, run
through the app's queue frame by frame, cancelled, and resumed from the history."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from app_helpers import form_settled, result_text, run_is_off_because, set_text, wait_for
from moving_clips import write_moving_texture
from PIL import Image

from nst_engine.video.settings import SequenceSettings
from nst_tui.app.widgets.run.estimate import EstimateLine

FRAMES = 4
FRAME_ITERATIONS = 10  # each frame's after the first (4)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """Four 32x24 frames of a texture moving 2 px right a frame."""
    return write_moving_texture(tmp_path / "clip", FRAMES, (32, 24), seed=3)


def info_text(app) -> str:
    return str(app.main.query_one("#content-field .path-info").content)


def frames_of(folder: Path) -> list[np.ndarray]:
    """The finished frames (not the partial image a stop keeps of the frame in progress)."""
    paths = sorted(path for path in folder.glob("frame-*.png") if ".partial-" not in path.name)
    return [np.asarray(Image.open(path)) for path in paths]


def counts_line(app) -> str:
    return str(app.main.panel.query_one("#progress-stats").content).split("\n")[0]


async def test_the_content_can_be_a_folder_of_frames_or_a_video(
    make_app, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        assert not app.main.query("#sequence-fields")  # a picture's form: no more widgets
        await set_text(pilot, "#content", str(clip))
        await form_settled(pilot)
        assert info_text(app) == "folder · 4 frames · 32x24"
        assert app.main.query_one("#sequence-fields").display
        assert app.form_state.sequence == SequenceSettings()  # the engine's defaults
        # The time under Run is the sequence's: the first frame's 4 iterations, then 100 each.
        line = app.main.query_one(EstimateLine)
        await wait_for(pilot, lambda: line.result and line.result.seconds, what="the estimate")
        sequence_seconds, line.sequence = line.result.seconds, None
        one_run = line.estimate_for(app.form_state.config).seconds
        assert sequence_seconds == pytest.approx(one_run * (4 + 3 * 100) / 4)
        assert app.form_state.config.inputs.output == tmp_path / "clip-swirl-frames"
        await set_text(pilot, "#frame_iterations", "0")
        run_is_off_because(app, "frame iterations must be")
        await set_text(pilot, "#frame_iterations", "7")
        await set_text(pilot, "#temporal_weight", "5")
        app.main.query_one("#guided").value = "independent"
        await form_settled(pilot)
        assert app.form_state.sequence == SequenceSettings(7, 5.0, guided=False)
        await history_resumes_runs_again_and_loads_a_sequence(pilot, clip)
        await set_text(pilot, "#output", str(tmp_path / "clip.png"))
        run_is_off_because(app, "is an image's name")
        if importlib.util.find_spec("av") is not None:  # the `video` extra
            from nst_engine.video.frames import write_video
            from nst_tui.app.widgets.form.sequence_fields import sequence_output_name

            video = write_video(sorted(clip.glob("*.png")), tmp_path / "clip.mp4", None, None)
            await set_text(pilot, "#output", str(tmp_path / "clip-swirl-frames"))
            await set_text(pilot, "#content", str(video))
            await form_settled(pilot)
            assert info_text(app) == "video · 4 frames · 24 fps · 32x24"
            style = app.main.form.base.inputs.style
            assert sequence_output_name(video, style, tmp_path) == tmp_path / "clip-swirl.mp4"
            monkeypatch.setitem(sys.modules, "av", None)  # as without the `video` extra
        shutil.copy(clip / "0.png", tmp_path / "other.mp4")  # checked by name: PyAV first
        await set_text(pilot, "#content", str(tmp_path / "other.mp4"))
        await form_settled(pilot)
        if sys.modules.get("av", None) is None:
            assert "reading and writing video needs PyAV: pip install" in info_text(app)
        # A picture again: the sequence's fields go, its output is a picture's.
        await set_text(pilot, "#content", str(app.main.form.base.inputs.style))
        await set_text(pilot, "#output", str(tmp_path / "picture.png"))
        assert not app.main.query_one("#sequence-fields").display
        assert app.form_state.sequence is None


async def history_resumes_runs_again_and_loads_a_sequence(pilot, clip: Path) -> None:
    """F4 refuses a sequence in one line; the history's Resume and Again hand a sequence's
    run to the queue as a sequence, with its own settings (the queue stands in here), and
    Load puts them in the form."""
    from nst_engine.store.run_record import STOPPED
    from nst_engine.video.sequence_record import create_sequence_folder
    from nst_tui.app.screens.history import HistoryScreen
    from nst_tui.app.screens.run_actions import resume_frames

    app = pilot.app
    said: list[str] = []
    app.notify = lambda message, **options: said.append(message)
    await pilot.press("f4")
    assert "a sweep compares pictures" in said[-1]
    config = app.form_state.config
    stored = SequenceSettings(9, 2.5, guided=True)  # not the form's
    folder = create_sequence_folder(config, clip, config.inputs.output, stored, FRAMES)
    folder.update(status=STOPPED, frames_done=2)
    calls: list[tuple] = []
    app.enqueue = lambda config, folder=None, **options: calls.append(
        (config, folder, options.get("sequence"))
    )
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="the history")
    await wait_for(pilot, lambda: app.screen.highlighted is not None, what="the sequence's row")
    await pilot.press("r")
    assert calls == [(folder.config(), folder, stored)], said
    assert said[-1] == f"Resuming {folder.id} after frame 2 of 4."
    await pilot.press("a")  # again: a new sequence, to a new output
    config_again, new_folder, settings_again = calls[1]
    assert (new_folder, settings_again) == (None, stored)
    assert config_again.inputs.output == clip.parent / "clip-swirl-frames-2"
    await pilot.press("l")  # its settings into the form: the sequence's own too
    await form_settled(pilot)
    assert app.form_state.sequence == stored
    assert app.main.query_one("#frame_iterations").value == "9"
    # A sequence started in chunks goes on in chunks, which the app's queue does not run:
    # one line saying how, nothing queued (a resume in one go would redo every frame).
    chunked = create_sequence_folder(
        config, clip, clip.parent / "chunked", SequenceSettings(9, 2.5, chunks=2), FRAMES
    )
    chunked.update(status=STOPPED, frames_done=2)
    resume_frames(app, chunked)
    assert len(calls) == 2
    assert said[-1] == (
        f"Run {chunked.id} was made in 2 chunks at once: go on with "
        f"`nst-tui resume {chunked.id} --device DEVICE,DEVICE` (or --cluster ADDRESS)."
    )


@pytest.mark.slow  # runs the engine
async def test_a_sequence_runs_is_cancelled_and_resumes_from_the_history_to_the_same_frames(
    make_app, tiny_config, clip: Path, tmp_path: Path, held_step
) -> None:
    from nst_tui.app.screens.confirm import ConfirmScreen
    from nst_tui.app.screens.history import HistoryScreen

    app = make_app(tiny_config.replace(content=clip, iterations=4, checkpoint_every=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#frame_iterations", str(FRAME_ITERATIONS))
        whole = app.form_state.config.inputs.output
        # The third step of frame 2 (4 steps for frame 1) waits until the question is
        # answered and the terminal resized: the sequence runs meanwhile on any machine.
        answered = held_step(4 + 3)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "frame 2/4 · iteration" in counts_line(app), timeout=120)
        await pilot.press("ctrl+q")  # the question says what a sequence keeps; Esc: go on
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "Its frames done are kept" in app.screen.question
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="go on")
        await pilot.resize_terminal(80, 24)  # a resize while the sequence runs
        assert app.running
        answered.set()
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the sequence")
        assert result_text(app).startswith("Done: 4 frames in ")
        assert str(whole) in result_text(app)
        assert [path.name for path in sorted(whole.iterdir())] == [
            f"frame-0000{number}.png" for number in range(1, FRAMES + 1)
        ]
        assert counts_line(app).startswith(
            f"ETA 0:00 · frame 4/4 · it {FRAME_ITERATIONS}/{FRAME_ITERATIONS} ·"
        )
        # The sizes and device stay said: a later frame's set-up ("preparing…") does not stay.
        assert "NOT TRAINED" in str(app.main.panel.query_one("#run-status").content)
        # The loss curve of the last frame.
        assert max(app.main.panel.curve.iterations) == FRAME_ITERATIONS
        await pilot.resize_terminal(120, 40)

        await form_settled(pilot)
        stopped = app.form_state.config.inputs.output
        assert stopped != whole  # the next run is numbered, as a picture's is
        # The fifth step of frame 3 (4 steps for frame 1, FRAME_ITERATIONS for frame 2) waits
        # for Escape: the stop comes in frame 3 on a machine of any speed.
        escape_pressed = held_step(4 + FRAME_ITERATIONS + 5)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "frame 3/4 · iteration" in counts_line(app), timeout=120)
        await pilot.press("escape")
        escape_pressed.set()
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the stop")
        assert result_text(app).startswith("Cancelled at frame 3/4: 2 frames kept")
        assert str(app.main.preview.query_one("#preview-caption").content).endswith(
            "cancelled at frame 3"
        )
        assert len(frames_of(stopped)) == 2
        # The screen ends on the iteration the frame in progress kept, as a picture's run does.
        partial = next(stopped.glob("frame-00003.partial-*"))
        kept = int(partial.name.split(".partial-")[1].split("-of-")[0])
        assert f"frame 3/4 · iteration {kept}/{FRAME_ITERATIONS} ·" in counts_line(app)

        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
        screen = app.screen
        await wait_for(pilot, lambda: any(r.status == "stopped" for r in screen.shown))
        record = next(r for r in screen.shown if r.status == "stopped")
        assert (record.kind, record.progress) == ("sequence", "2/4 frames")  # one run folder
        screen.table.move_cursor(
            row=[r.status for r in screen.shown].index("stopped"), animate=False
        )
        await pilot.pause()
        await pilot.press("r")
        await wait_for(pilot, lambda: app.running, timeout=60, what="the resume")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the resumed sequence")
        assert result_text(app).startswith("Done: 4 frames in "), result_text(app)
        made = frames_of(stopped)
        assert len(made) == FRAMES
        for mine, theirs in zip(made, frames_of(whole), strict=True):
            assert np.array_equal(mine, theirs)


async def test_a_sequences_settings_are_remembered_between_sessions(
    tiny_config, clip: Path, tmp_path: Path
) -> None:
    """Frame iters, Temporal wt and Frames come back as the app left them, as every field."""
    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered, load_remembered

    remembered = Remembered(tiny_config.replace(content=clip), sequence=SequenceSettings(7, 5.0))
    app = NSTApp(remembered, folder=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        assert app.main.query_one("#frame_iterations").value == "7"
        assert app.main.query_one("#temporal_weight").value == "5"
        app.main.query_one("#guided").value = "independent"
        await set_text(pilot, "#frame_iterations", "8")
        await form_settled(pilot)
        await pilot.press("ctrl+q")
    again = load_remembered()
    assert (again.sequence, again.problems) == (SequenceSettings(8, 5.0, guided=False), [])


def test_the_quit_question_says_what_a_sequence_keeps() -> None:
    """Ctrl+Q during a sequence: its frames done are kept, the frame in progress is
    checkpointed, and Resume goes on; not a picture's "its image so far"."""
    from nst_tui.app.screens.confirm import quit_question

    picture = quit_question(1, 0).question
    assert "its image so far is kept" in picture
    sequence = quit_question(1, 0, sequence=True).question
    assert "image so far" not in sequence
    assert "frames done are kept" in sequence
    assert "frame in progress" in sequence and "checkpoint" in sequence
    assert "Resume in the history" in sequence
    several = quit_question(2, 1, sequence=True).question
    assert "a sequence's frames done" in several


async def test_a_sequences_counts_fit_80_columns_eta_frame_and_iteration_first(make_app) -> None:
    """At 80x24 the counts line of a sequence keeps what matters: the ETA, the frame n/N and
    the frame's iteration, on screen (a compact form where the whole line is cut)."""
    from screen_text import line_of

    from nst_tui.app.messages import RunProgress

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        panel = app.main.panel
        losses = {"content": 1.0, "style": 2.0, "tv": 3.0, "total": 6.0}
        report = RunProgress(1, 327, 1000, 45.0, 1.23, losses, time_left=3725.0)
        panel.progress(replace(report, frame=124, frames=240, frame_index=27, frame_total=100))
        await pilot.pause()
        shown = line_of(app, "#progress-stats")
        assert "ETA 1:02:05 · " in shown and " 124/240 " in shown and " 27/100 " in shown, shown
        await pilot.resize_terminal(160, 40)  # room for the whole line: all of it
        await pilot.pause()
        panel.progress(replace(report, frame=124, frames=240, frame_index=28, frame_total=100))
        await pilot.pause()
        whole = line_of(app, "#progress-stats")  # the elapsed time ticks on: not asked
        assert "ETA 1:02:05 · frame 124/240 · iteration 28/100 · 1.23 it/s · 0:" in whole
        assert whole.rstrip().endswith(" elapsed"), whole

"""Output names in the app: a stopped run keeps its name for its resume, a name typed over it
is warned about, a resume whose name was taken writes the next free one and says so, and a
resume that fails keeps the run stopped and shows why (issue 18, item 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from app_helpers import form_settled, result_text, set_text, wait_for
from textual.widgets import Button, ProgressBar

from nst_engine.store.runs import FINISHED, STOPPED, RunFolder
from nst_tui.app.screens import run_actions


def progress_of(app) -> int:
    return int(app.main.panel.query_one("#progress", ProgressBar).progress)


def all_ended(app) -> bool:
    return bool(app.jobs) and all(not entry.open for entry in app.jobs.values())


def notes_of(app) -> list[str]:
    return [str(note.message) for note in app._notifications]


@pytest.fixture
def stopped_run(stop_run):
    """`stopped_run(config)`: a run of `config` in the test's runs folder, stopped after 2."""

    def make(config) -> RunFolder:
        folder = RunFolder.create(config)
        stop_run(config, folder, 2)
        assert folder.record().status == STOPPED
        return folder

    return make


def output_field_text(app) -> str:
    return app.main.query_one("#output").value


@pytest.mark.slow
async def test_a_stopped_runs_name_is_not_proposed_again_and_its_resume_writes_it(
    make_app, tiny_config, tmp_path: Path, held_step
) -> None:
    # The third step waits for Escape: the run stops before its end on a machine of any
    # speed (at 30 iterations, unheld, it finished first on an idle one), and its resume is
    # three steps (it was 298 of 300, most of the suite's slowest test).
    app = make_app(tiny_config.replace(iterations=6))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        first = Path(output_field_text(app))
        assert first == tmp_path / "rocket-swirl.png"
        escape_pressed = held_step(3)
        await pilot.press("ctrl+r")
        # The first step is shown; the second's progress may be thinned out (ten a second)
        # and the third is held, so nothing later comes until Escape.
        await wait_for(pilot, lambda: progress_of(app) >= 1, timeout=120, what="a step")
        await pilot.press("escape")
        escape_pressed.set()
        await wait_for(pilot, lambda: all_ended(app) and not app.running, what="the stop")
        stopped = app.jobs[1].folder
        partial = Path(stopped.record().partial)
        await form_settled(pilot)
        # Ctrl+R again: a new name; the stopped run keeps its own for its resume.
        assert Path(output_field_text(app)) == tmp_path / "rocket-swirl-2.png"
        await set_text(pilot, "#iterations", "4")  # only its name matters: a short run
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: all_ended(app), timeout=240, what="the second run")
        assert app.jobs[2].folder.record().result == str(tmp_path / "rocket-swirl-2.png")

        run_actions.resume(app, stopped)  # what `r` in the history does
        await wait_for(pilot, lambda: all_ended(app), timeout=240, what="the resume")
        record = stopped.record()
        assert record.status == FINISHED and record.result == str(first)
        assert first.is_file() and not partial.exists()  # its partial went with the result
        assert str(first) in result_text(app)


async def test_a_typed_name_that_a_stopped_run_owns_is_said_under_the_field(
    make_app, tiny_config, tmp_path: Path, stopped_run
) -> None:
    owned = tmp_path / "mine.png"
    stopped = stopped_run(tiny_config.replace(output=owned))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#output", str(owned))
        warning = str(app.main.query_one("#output-warning").content)
        assert f"run {stopped.id} (stopped at 2/4) will write this name when resumed" in warning
        assert app.main.query_one("#output-warning").display
        # A warning, not an error: Run stays on (the stopped run's resume takes another name).
        assert app.form_state.config is not None and app.form_state.config.inputs.output == owned
        assert not app.main.query_one("#run", Button).disabled
        await set_text(pilot, "#output", str(tmp_path / "free.png"))
        assert not app.main.query_one("#output-warning").display


@pytest.mark.slow
async def test_a_resume_whose_name_was_taken_writes_the_next_free_one_and_says_so(
    make_app, tiny_config, tmp_path: Path, stopped_run
) -> None:
    output = tmp_path / "mine.png"
    stopped = stopped_run(tiny_config.replace(output=output))
    output.write_bytes(b"another run's result")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        run_actions.resume(app, stopped)
        await pilot.pause()
        taken = tmp_path / "mine-2.png"
        assert any("mine.png is taken" in note and taken.name in note for note in notes_of(app)), (
            notes_of(app)
        )
        await wait_for(pilot, lambda: all_ended(app), timeout=240, what="the resume")
        assert stopped.record().result == str(taken) and taken.is_file()
        assert output.read_bytes() == b"another run's result"
        assert str(taken) in result_text(app)


@pytest.mark.slow
@pytest.mark.parametrize("queued", [False, True], ids=["at-once", "queued-behind-a-run"])
async def test_a_resume_that_fails_keeps_the_run_stopped_and_shows_why(
    make_app, tiny_config, tmp_path: Path, stopped_run, queued: bool
) -> None:
    content = tmp_path / "content.jpg"
    shutil.copyfile(tiny_config.inputs.content, content)
    stopped = stopped_run(tiny_config.replace(content=content, output=tmp_path / "mine.png"))
    before = stopped.record()
    content.unlink()
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        if queued:
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: progress_of(app) >= 1, timeout=120, what="a step")
        run_actions.resume(app, stopped)
        if queued:
            app.cancel_job(1)  # the run ahead stops: the resume's turn
        await wait_for(pilot, lambda: all_ended(app), timeout=120, what="the resume's end")
        await pilot.pause()
        resumed = app.jobs[max(app.jobs)]
        assert resumed.status == "failed" and "content.jpg" in resumed.error
        # On the main screen's panel, not only in a passing notice: nothing else runs.
        shown = result_text(app)
        assert "content.jpg" in shown and "does not exist" in shown, shown
        assert stopped.record() == before  # stopped, its iterations and partial
        assert stopped.checkpoint_path.is_file()


@pytest.mark.slow
async def test_a_name_that_a_running_run_writes_is_numbered_and_said(
    make_app, tiny_config, tmp_path: Path
) -> None:
    """Another process's run is writing busy.png: Run numbers this one, and says so (the form
    warned before)."""
    import os

    busy = tmp_path / "busy.png"
    running = RunFolder.create(tiny_config.replace(output=busy))
    running.update(status="running", pid=os.getpid(), iterations_done=3, total=30)
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#output", str(busy))
        warning = str(app.main.query_one("#output-warning").content)
        assert f"run {running.id} (running at 3/30) writes this name" in warning
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.jobs[1].config.inputs.output == tmp_path / "busy-2.png"
        assert any("busy.png" in note and "busy-2.png" in note for note in notes_of(app))
        app.cancel_all_jobs()
        await wait_for(pilot, lambda: all_ended(app), timeout=60, what="the stop")


async def test_after_a_restart_a_stopped_runs_name_is_not_proposed(
    make_app, tiny_config, tmp_path: Path, stopped_run
) -> None:
    """Ctrl+Q left a run stopped; the next start proposes another name for the form."""
    stopped_run(tiny_config.replace(output=tmp_path / "rocket-swirl.png"))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        assert Path(output_field_text(app)) == tmp_path / "rocket-swirl-2.png"
        assert not app.main.query_one("#output-warning").display

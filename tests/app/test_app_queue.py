"""The app's queue: runs recorded in run folders, Ctrl+R during a run queues, the queue screen
cancels, and quitting with work queued asks and leaves everything resumable."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import form_settled, wait_for
from textual.widgets import ProgressBar

from nst_engine.store.runs import FINISHED, QUEUED, RUNNING, STOPPED, RunFolder, list_runs
from nst_tui.app.screens.confirm import ConfirmScreen
from nst_tui.app.screens.queue import QueueScreen, QueueTable


def progress_of(app) -> int:
    return int(app.main.panel.query_one("#progress", ProgressBar).progress)


def all_ended(app) -> bool:
    return bool(app.jobs) and all(not entry.open for entry in app.jobs.values())


@pytest.mark.slow  # runs the engine
async def test_two_enqueued_runs_finish_in_order_each_in_its_run_folder(
    make_app, tiny_config, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        first = app.enqueue(tiny_config.replace(output=tmp_path / "first.png"))
        second = app.enqueue(tiny_config.replace(output=tmp_path / "second.png", iterations=3))
        assert first and second and first != second
        assert app.current_run_number == 1  # the first is shown at once; the second waits
        await wait_for(pilot, lambda: all_ended(app), timeout=180, what="both runs")
        await wait_for(pilot, lambda: not app.running, what="the panel's end")
        records = {record.id: record for record in list_runs()}
        assert records[first].status == records[second].status == FINISHED
        assert records[first].iterations_done == 4 and records[second].iterations_done == 3
        # In order: the second started once the first had ended.
        assert records[second].started >= records[first].started
        assert RunFolder(records[first].path).result_path.is_file()
        assert (tmp_path / "first.png").is_file() and (tmp_path / "second.png").is_file()
        assert app.session_results == [
            f"result: {tmp_path / 'first.png'}",
            f"result: {tmp_path / 'second.png'}",
        ]
        assert app.current_run_number == 2  # the screen followed the second run
        assert progress_of(app) == 3


@pytest.mark.slow  # runs the engine
async def test_ctrl_r_during_a_run_queues_and_the_queue_screen_cancels_one(
    make_app, tiny_config
) -> None:
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: progress_of(app) >= 1, timeout=120, what="a step")
        await pilot.press("ctrl+r")  # queued behind the running one
        await pilot.press("ctrl+r")
        # The queue's words are the run folders' (one state, one word).
        assert [entry.status for entry in app.jobs.values()] == [RUNNING, QUEUED, QUEUED]
        assert [entry.folder.record().status for entry in app.jobs.values()][1:] == [QUEUED] * 2
        outputs = [entry.config.inputs.output for entry in app.jobs.values()]
        assert len(set(outputs)) == 3  # each has an output of its own
        assert app.current_run_number == 1 and app.running
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen), what="the queue")
        table = app.screen.query_one(QueueTable)
        await pilot.pause()
        assert table.get_row_at(1)[1] == "queued"  # the State column
        assert "1 running, 2 queued" in str(app.screen.query_one("#queue-title").content)
        table.move_cursor(row=1)
        await pilot.press("x")  # cancel run 2, still queued
        await wait_for(pilot, lambda: app.jobs[2].status == "stopped", what="run 2 dropped")
        assert app.jobs[1].status == "running" and app.jobs[3].status == QUEUED
        # The history says what the queue says: stopped (before it began), not still queued.
        cancelled = RunFolder(app.jobs[2].folder.path).record()
        assert cancelled.status == STOPPED and cancelled.iterations_done == 0
        assert {r.id: r.status for r in list_runs()}[cancelled.id] == STOPPED
        # The totals count nothing of it: run 1's and run 3's 5000 each.
        app.screen._title()
        title = str(app.screen.query_one("#queue-title").content)
        assert title.endswith("/10000 iterations"), title
        await pilot.press("X")  # cancel all: the running one stops, the queued one is dropped
        await wait_for(pilot, lambda: all_ended(app), timeout=60, what="everything stopped")
        assert app.jobs[1].status == "stopped" and app.jobs[3].status == "stopped"
        record = app.jobs[1].folder.record()
        assert record.status == STOPPED and record.resumable
        assert app.jobs[3].folder.record().status == STOPPED
        await pilot.press("escape")
        assert app.screen is app.main


@pytest.mark.slow  # runs the engine
async def test_quitting_with_work_queued_asks_and_leaves_it_resumable(
    make_app, tiny_config
) -> None:
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: progress_of(app) >= 2, timeout=120, what="two steps")
        await pilot.press("ctrl+r")
        running, waiting = app.jobs[1].folder, app.jobs[2].folder
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one(".confirm-question").content)
        assert "1 run is going and 1 is queued" in question, question
        assert "queued" in question and "Resume" in question
        await pilot.press("enter")  # yes
    assert app.return_code == 0
    app.wait_for_engine()
    stopped = running.record()
    assert stopped.status == STOPPED and stopped.resumable and stopped.iterations_done >= 2
    assert (running.path / "checkpoint.pt").is_file()  # the next start resumes from here
    assert waiting.record().status == QUEUED
    assert any(line.startswith("partial (") for line in app.session_results)


@pytest.mark.slow  # runs the engine
async def test_a_job_never_outlives_the_app(make_app, tiny_config) -> None:
    """However the app ends (here a test's end, with no quit action), its jobs stop."""
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: progress_of(app) >= 1, timeout=120, what="a step")
        folder = app.jobs[1].folder
    assert app._queue.wait(30)
    assert folder.record().status == STOPPED


@pytest.mark.slow  # runs the engine
async def test_with_two_devices_two_jobs_run_at_once_and_the_screen_follows_the_chosen_one(
    make_app, tiny_config, monkeypatch
) -> None:
    import nst_engine.jobs.queue

    # Two slots, as on a machine with two CUDA devices (here both the CPU).
    monkeypatch.setattr(nst_engine.jobs.queue, "local_slots", lambda device="auto": ["cpu", "cpu"])
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r", "ctrl+r")
        await wait_for(
            pilot,
            lambda: [entry.status for entry in app.jobs.values()] == ["running", "running"],
            timeout=120,
            what="both running",
        )
        assert app.current_run_number == 1
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen), what="the queue")
        await pilot.pause()
        app.screen.query_one(QueueTable).move_cursor(row=1)
        await pilot.press("enter")  # show run 2 on the main screen
        await wait_for(pilot, lambda: app.screen is app.main, what="back on the main screen")
        assert app.current_run_number == 2 and app.running
        before = app.jobs[2].index
        await wait_for(pilot, lambda: progress_of(app) > before, timeout=60, what="run 2's steps")
        await pilot.press("escape")  # cancels the run shown: run 2; then the screen takes run 1
        await wait_for(pilot, lambda: app.jobs[2].status == "stopped", timeout=60, what="run 2")
        await wait_for(
            pilot, lambda: app.current_run_number == 1 and app.running, what="run 1 shown"
        )
        assert app.jobs[1].status == "running"
        app.cancel_all_jobs()
        await wait_for(pilot, lambda: all_ended(app), timeout=60, what="everything stopped")


@pytest.mark.slow  # runs the engine
async def test_a_stopped_run_enqueued_with_its_folder_resumes_and_finishes(
    make_app, tiny_config, tmp_path: Path
) -> None:
    app = make_app(tiny_config.replace(iterations=60))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: progress_of(app) >= 2, timeout=120, what="two steps")
        await pilot.press("escape")
        await wait_for(pilot, lambda: all_ended(app), timeout=60, what="the stop")
        folder = app.jobs[1].folder
        stopped = folder.record()
        assert stopped.status == STOPPED and stopped.iterations_done >= 2
        job_id = app.enqueue(folder.config(), folder)  # what the history's Resume does
        assert job_id == folder.id
        assert app.jobs[2].resumed and "(resumed)" in app.jobs[2].describe()
        await wait_for(pilot, lambda: all_ended(app), timeout=240, what="the resumed run")
        record = folder.record()
        assert record.status == FINISHED and record.iterations_done == 60
        assert record.resumed == 1
        assert Path(record.result or "").is_file()


@pytest.mark.slow  # runs the engine
async def test_a_run_already_in_the_queue_is_not_queued_twice(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        waiting = RunFolder.create(app.jobs[1].config.replace(output=None))
        assert app.enqueue(waiting.config(), waiting) == waiting.id
        assert app.enqueue(waiting.config(), waiting) == ""  # Resume pressed twice
        assert app.enqueue(app.jobs[1].config, app.jobs[1].folder) == ""  # the running one
        assert len(app.jobs) == 2
        app.cancel_all_jobs()
        await wait_for(pilot, lambda: all_ended(app), timeout=60, what="everything stopped")
        assert waiting.record().status == STOPPED  # cancelled before it began


@pytest.mark.slow  # runs the engine
async def test_queued_names_go_on_from_a_numbered_name(make_app, tiny_config, tmp_path) -> None:
    """`mine-2.png` queued three times: mine-2, mine-3, mine-4 (not mine-2-2)."""
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        for _ in range(3):
            app.enqueue(tiny_config.replace(iterations=5000, output=tmp_path / "mine-2.png"))
        names = [entry.config.inputs.output.name for entry in app.jobs.values()]
        assert names == ["mine-2.png", "mine-3.png", "mine-4.png"]
        app.cancel_all_jobs()
        await wait_for(pilot, lambda: all_ended(app), timeout=60, what="everything stopped")

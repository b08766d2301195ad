"""The history never dies of a damaged run folder: a record of the wrong shape is left out of
the list and named once, and a run whose settings or loss history are not text opens with
what can be shown."""

from __future__ import annotations

import json
import os
from pathlib import Path

from app_helpers import form_settled, wait_for

from nst_engine.store.runs import RunFolder


async def open_history(pilot):
    from nst_tui.app.screens.history import HistoryScreen

    await form_settled(pilot)
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), what="history")
    await pilot.pause()
    return pilot.app.screen


def two_runs(tiny_config, tmp_path: Path) -> tuple[RunFolder, RunFolder]:
    root = Path(os.environ["NST_TUI_RUNS_DIR"])
    good = RunFolder.create(tiny_config.replace(output=tmp_path / "good.png"), root)
    other = RunFolder.create(tiny_config.replace(output=tmp_path / "other.png"), root)
    return good, other


def damage(folder: RunFolder, **fields) -> None:
    data = json.loads((folder.path / "run.json").read_text())
    (folder.path / "run.json").write_text(json.dumps({**data, **fields}))


async def test_a_damaged_record_is_left_out_of_the_history_and_named_once(
    make_app, tiny_config, tmp_path
):
    good, bad = two_runs(tiny_config, tmp_path)
    damage(bad, started="yesterday", summary=[1, 2])
    app = make_app()
    notices: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        real_notify = app.notify

        def notify(message, **options):
            notices.append(message)
            real_notify(message, **options)

        app.notify = notify  # type: ignore[method-assign]
        screen = await open_history(pilot)
        assert [record.id for record in screen.shown] == [good.id]
        # A record changing makes the list read again: the damaged one is not named again.
        good.update(status="stopped")
        await wait_for(pilot, lambda: screen.shown[0].status == "stopped")
        assert app.is_running and app.screen is screen
    named = [notice for notice in notices if bad.id in notice]
    assert len(named) == 1 and "run.json is damaged" in named[0]


async def test_a_run_whose_files_are_not_text_opens_without_ending_the_app(
    make_app, tiny_config, tmp_path
):
    from nst_tui.app.screens.run_view import RunScreen

    _, broken = two_runs(tiny_config, tmp_path)
    (broken.path / "settings.toml").write_bytes(b"\xff\xfe not text")
    broken.losses_path.write_bytes(b'\xff\xfe\n{"iteration": "x", "total": 1}\n')
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_history(pilot)
        row = [record.id for record in screen.shown].index(broken.id)
        screen.table.move_cursor(row=row, animate=False)
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the run")
        await pilot.pause()
        view = app.screen
        assert "not UTF-8 text" in str(view.query_one("#run-view-settings").content)
        assert view.losses.point_count == 0
        await pilot.press("r")  # resume: its settings cannot be read, said in one notice
        await pilot.pause()
        assert app.is_running and app.screen is view

"""Snapshots of every screen but the idle main one (tests/app/test_app_snapshots.py has it):
the main screen during a run with the loss curve, the history (F3), a past run's screen, the
sweep screen (F4), the queue (F5), help (F1) and the file dialog, each at 80x24 and 120x40.

Nothing shown may depend on the machine or the day: the runs are made here with fixed
dates, times and names relative to the current folder, in UTC; the run messages are posted
as the queue's driver would post them. After a deliberate change of a screen, look at the new
pictures (`pytest tests/app/test_app_snapshots_screens.py --snapshot-update`, then open
tests/app/__snapshots__/) before committing them.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from app_helpers import wait_for
from test_app_snapshots import SIZES, a_run_at_iteration_250, settled

from nst_engine.settings.config import OptimizerSettings, RunConfig
from nst_engine.settings.values import Size
from nst_engine.store.runs import FINISHED, STOPPED, RunFolder
from nst_tui.app.messages import RunProgress

STARTED = 1796554800.0  # 2026-12-06 11:00 UTC
RUN_IDS = ("20261206-102000-rocket-swirl", "20261206-104500-rocket-mosaic")


@pytest.fixture
def snapshot_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_pair) -> Path:
    """Two past runs with fixed records (one finished, one stopped), their pictures made
    here from the demo content (the project's own image), and a loss history each."""
    from PIL import Image

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    root = tmp_path / "runs"
    monkeypatch.setenv("NST_TUI_RUNS_DIR", str(root))
    content, style = demo_pair
    base = RunConfig.from_flat(
        content=Path(content.name),
        style=Path(style.name),
        iterations=300,
        size=Size(longest=256),
        optimizer=OptimizerSettings(name="lbfgs", lr=1.0),
    )
    runs = [
        (RUN_IDS[0], base.replace(output=Path("rocket-swirl.png")), FINISHED, 300, 84.0),
        (
            RUN_IDS[1],
            base.replace(style=Path("mosaic.jpg"), output=Path("rocket-mosaic.png")),
            STOPPED,
            120,
            41.0,
        ),
    ]
    with Image.open(content) as opened:
        picture = opened.convert("RGB")
    for number, (name, config, status, done, seconds) in enumerate(runs):
        made = RunFolder.create(config, root)
        made.path.rename(root / name)
        folder = RunFolder(root / name)
        folder.write_settings(config)  # the names as given: no machine's folders in the text
        started = STARTED + 1500 * number
        folder.update(
            id=name,
            status=status,
            started=started,
            ended=started + seconds + 5,
            seconds=seconds,
            iterations_done=done,
            total=300,
            content=str(config.inputs.content),
            styles=tuple(str(path) for path in config.styles),
            output=str(config.inputs.output),
            host="studio",
            pid=None,
        )
        folder.append_losses(
            [
                {
                    "iteration": index,
                    "scale": 1,
                    "seconds": index * seconds / done,
                    "content": 2.0 - 1.5 * index / done,
                    "style": 40.0 / index,
                    "tv": 0.3,
                    "total": 2.3 - 1.5 * index / done + 40.0 / index,
                }
                for index in range(1, done + 1)
            ]
        )
        picture.resize((256, 171)).save(folder.thumbnail_path)
        picture.resize((256, 171)).save(
            folder.result_path if status == FINISHED else folder.partial_path
        )
    return root


async def picture_shown(pilot, selector: str) -> None:
    """Wait until the screen's picture `selector` shows an image read on a thread (at the size
    the screen's layout gave it: the picture is asked for after the layout)."""
    from nst_tui.app.widgets.picture.cells import CellImage

    screen = pilot.app.screen

    def shown() -> bool:  # (the screen may mount the picture after it came)
        found = screen.query(selector)
        return bool(found) and found.first(CellImage).has_picture

    await wait_for(pilot, shown, what=f"the picture {selector}")
    await pilot.pause()


async def the_history(pilot) -> None:
    from nst_tui.app.screens.history import HistoryScreen

    await settled(pilot)
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), what="F3")
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.query_one("#history-table").row_count == 2)
    if not screen.has_class("-narrow"):  # (narrow: the table alone, no thumbnail)
        await picture_shown(pilot, "#history-thumbnail")  # the selected run's


async def a_past_run(pilot) -> None:
    from nst_engine.store.locations import runs_dir
    from nst_tui.app.screens.run_view import RunScreen

    await settled(pilot)
    pilot.app.push_screen(RunScreen(RunFolder(runs_dir() / RUN_IDS[0])))
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunScreen), what="the run")
    await picture_shown(pilot, "#run-view-picture")


async def the_sweep_screen(pilot) -> None:
    from nst_tui.app.screens.sweep import SweepScreen

    await settled(pilot)
    await pilot.press("f4")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SweepScreen), what="F4")
    await pilot.pause()


async def the_queue(pilot) -> None:
    from nst_tui.app.screens.queue import QueueEntry, QueueScreen

    await settled(pilot)
    app = pilot.app
    config = app.form_state.config
    for run_number, (name, status, index) in enumerate(
        [(RUN_IDS[0], "running", 120), (RUN_IDS[1], "queued", 0)], start=1
    ):
        folder = RunFolder(Path("runs") / name)
        app.jobs[run_number] = QueueEntry(run_number, config, folder, status=status, index=index)
    app.jobs[1].total = 200
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen), what="F5")
    await pilot.pause()


async def help_screen(pilot) -> None:
    from textual.widgets import Markdown

    from nst_tui.app.screens.help import HelpScreen

    await settled(pilot)
    await pilot.press("f1")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="F1")
    # Textual's Markdown parses on a thread and mounts its blocks later: on a busy machine the
    # picture was taken before (a scrollbar of another length).
    text = pilot.app.screen.query_one(Markdown)
    # (Its count of lines parsed is set when the last block is mounted.)
    await wait_for(pilot, lambda: text._last_parsed_line > 0, what="the help's text")
    await pilot.pause()


async def the_file_dialog(pilot) -> None:
    """The dialog in a copy of the gallery at a path that is the same on every machine (it
    shows the folder's full path); the fixture's chdir is undone after the test."""
    from nst_tui.app.screens.file_picker import FilePickerScreen

    await settled(pilot)
    gallery = Path.cwd()
    fixed = Path("/tmp/nst-tui-snapshots/styles")
    shutil.copytree(gallery, fixed, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.py*"))
    os.chdir(fixed)
    pilot.app.action_pick_style()
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FilePickerScreen), what="…")
    await picture_shown(pilot, "#picker-image")  # the folder listed, its first image's preview


async def a_run_with_its_loss_curve(pilot) -> None:
    """A run at iteration 250 with 250 points on its loss curve (Ctrl+L shows it at 80x24)."""
    await a_run_at_iteration_250(pilot)
    app = pilot.app
    curve = app.main.panel.curve
    for index in range(1, 251):
        losses = {"content": 9e4 + 4e4 * 250 / index, "style": 3e8 / index**1.5, "tv": 4e3}
        curve.add(index, {**losses, "total": sum(losses.values())})
    app.main.panel.progress(
        RunProgress(1, 250, 600, 100.0, 2.5, losses, scale=3, scales=5)  # the last point
    )
    if not curve.display:
        await pilot.press("ctrl+l")
    curve._draw()
    await pilot.pause()


SCREENS = {
    "history": the_history,
    "past-run": a_past_run,
    "sweep": the_sweep_screen,
    "queue": the_queue,
    "help": help_screen,
    "file-dialog": the_file_dialog,
    "run-with-loss-curve": a_run_with_its_loss_curve,
}


# The file dialog's copies of the gallery share one fixed folder: with `pytest -n 2`, one
# worker makes them, one after another.
HELP_FOLDERS = Path("/tmp/nst-tui-snapshots/help")  # one per size: the sizes may run side by side
SCREEN_PARAMETERS = [
    pytest.param(name, marks=pytest.mark.xdist_group("fixed-folder"))
    if name == "file-dialog"
    else name
    for name in SCREENS
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREEN_PARAMETERS)
def test_each_screen(
    snap_compare, snapshot_app, snapshot_runs, monkeypatch, screen: str, size: str
) -> None:
    if screen == "help":
        # The help names the folders it uses: the same on every machine and under xdist (a
        # test's own folder is longer under `-n 2`, and a longer path wrapped the help's text
        # to another length: a scrollbar of another size in the fresh clone's run).
        fixed = HELP_FOLDERS / size
        shutil.rmtree(fixed, ignore_errors=True)
        for kind in ("config", "state", "runs"):
            monkeypatch.setenv(f"NST_TUI_{kind.upper()}_DIR", str(fixed / kind))
    assert snap_compare(snapshot_app, terminal_size=SIZES[size], run_before=SCREENS[screen])

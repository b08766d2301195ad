"""The sweep screen (F4): the form's settings with one or two varied, run through the app's
queue, each cell a run in the history, the grid written as the cells finish."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_helpers import form_settled, wait_for
from PIL import Image
from textual.widgets import Button, Input

from nst_engine.store.runs import FINISHED, list_runs
from nst_engine.sweeps.sweep import cell_picture
from nst_tui.app.screens.sweep import SweepScreen
from nst_tui.app.widgets.dropdown import Dropdown


async def open_sweep(pilot) -> SweepScreen:
    app = pilot.app
    await form_settled(pilot)
    await pilot.press("f4")
    await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), what="the sweep screen")
    await pilot.pause()
    return app.screen


async def fill(pilot, screen: SweepScreen, selector: str, value: str) -> None:
    widget = screen.query_one(selector)
    widget.value = value
    await pilot.pause()
    await pilot.pause()


def problem(screen: SweepScreen) -> str:
    return str(screen.query_one("#sweep-problem").content)


def start_is_off(screen: SweepScreen) -> bool:
    return screen.query_one("#sweep-start", Button).disabled


@pytest.mark.slow  # runs the engine
async def test_a_2x2_sweep_runs_four_cells_into_the_history_and_a_grid(
    make_app, tiny_config, tmp_path: Path
) -> None:
    app = make_app(tiny_config.replace(iterations=2))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_sweep(pilot)
        assert start_is_off(screen)  # no values yet
        assert "type its values" in problem(screen)
        await fill(pilot, screen, "#sweep-name-1", "style-weight")
        await fill(pilot, screen, "#sweep-values-1", "3,30")
        await fill(pilot, screen, "#sweep-name-2", "tv-weight")
        await fill(pilot, screen, "#sweep-values-2", "0,1")
        grid = tmp_path / "grid.png"
        await fill(pilot, screen, "#sweep-grid", str(grid))
        assert problem(screen).startswith("Ready: 4 run(s), a grid of 2x2 cells"), problem(screen)
        assert not start_is_off(screen)
        await pilot.press("ctrl+r")
        assert screen.sweep is not None and start_is_off(screen)
        assert len(app.jobs) == 4
        await wait_for(
            pilot,
            lambda: all(not entry.open for entry in app.jobs.values()),
            timeout=300,
            what="the four cells",
        )
        await wait_for(
            pilot,
            lambda: "complete" in str(screen.query_one("#preview-caption").content),
            what="the complete grid shown",
        )
        records = [record for record in list_runs() if record.sweep == screen.sweep.id]
        assert len(records) == 4
        assert {record.status for record in records} == {FINISHED}
        assert {record.labels for record in records} == {
            ("style-weight=3", "tv-weight=0"),
            ("style-weight=3", "tv-weight=1"),
            ("style-weight=30", "tv-weight=0"),
            ("style-weight=30", "tv-weight=1"),
        }
        with Image.open(grid) as image:
            assert image.width > 2 * 32 and image.height > 2 * 32
        counts = str(screen.query_one("#sweep-counts").content)
        assert counts.startswith("4 of 4 run(s) ended"), counts
        await pilot.press("escape")
        assert app.screen is app.main


async def test_bad_values_say_one_line_and_start_stays_off(make_app, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_sweep(pilot)
        await fill(pilot, screen, "#sweep-name-1", "lr")
        await fill(pilot, screen, "#sweep-values-1", "0.5,x")
        text = problem(screen)
        assert "lr" in text and "'x'" in text and "\n" not in text, text
        assert start_is_off(screen)
        await pilot.press("ctrl+r")  # refused: nothing queued
        assert not app.jobs
        await fill(pilot, screen, "#sweep-values-1", "0.5,1")
        assert problem(screen).startswith("Ready: 2 run(s)")
        assert not start_is_off(screen)
        # A second setting chosen without values, then the same setting twice.
        await fill(pilot, screen, "#sweep-name-2", "iterations")
        assert "iterations: type its values" in problem(screen) and start_is_off(screen)
        await fill(pilot, screen, "#sweep-name-2", "lr")
        await fill(pilot, screen, "#sweep-values-2", "2,3")
        assert start_is_off(screen) and "\n" not in problem(screen)
        assert screen.query_one("#sweep-values-1", Input).value == "0.5,1"
        assert screen.query_one("#sweep-name-1", Dropdown).value == "lr"


@pytest.mark.slow  # runs the engine
async def test_an_iterations_sweep_is_one_run_whose_snapshots_fill_the_grid(
    make_app, tiny_config, tmp_path: Path
) -> None:
    app = make_app(tiny_config.replace(iterations=2))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_sweep(pilot)
        await fill(pilot, screen, "#sweep-name-1", "iterations")
        await fill(pilot, screen, "#sweep-values-1", "1,2,3")
        await fill(pilot, screen, "#sweep-grid", str(tmp_path / "steps.png"))
        assert problem(screen).startswith("Ready: 1 run(s), a grid of 3 cells"), problem(screen)
        assert "snapshot" in problem(screen)  # the plan's note says how
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.jobs[1].open, timeout=120, what="the run")
        await wait_for(
            pilot,
            lambda: "complete" in str(screen.query_one("#preview-caption").content),
            what="the complete grid shown",
        )
        (record,) = [record for record in list_runs() if record.sweep == screen.sweep.id]
        assert record.status == FINISHED and record.iterations_done == 3
        plan, folders = screen.sweep.plan, screen.sweep.folders
        assert all(cell_picture(plan, cell, folders) is not None for cell in plan.cells)
        assert (tmp_path / "steps.png").is_file()


def test_the_default_grid_name_drops_the_outputs_numbering(tmp_path: Path) -> None:
    """The form's `rocket-swirl-3.png` gives `rocket-swirl-sweep.png`, numbered as itself."""
    from nst_engine.settings.config import RunConfig
    from nst_tui.app.screens.sweep import default_grid_path

    base = RunConfig.from_flat(output=tmp_path / "rocket-swirl-3.png")
    assert default_grid_path(base) == tmp_path / "rocket-swirl-sweep.png"
    (tmp_path / "rocket-swirl-sweep.png").write_bytes(b"an earlier grid")
    assert default_grid_path(base) == tmp_path / "rocket-swirl-sweep-2.png"
    assert default_grid_path(RunConfig.from_flat(output=tmp_path / "trip-2024.png")).name == (
        "trip-2024-sweep.png"
    )


async def test_too_many_values_and_a_runs_folder_that_cannot_be_made_are_one_line(
    make_app, tmp_path: Path, monkeypatch
) -> None:
    """The bounds of `nst-tui sweep` here too: 20,000 values pasted are refused by their
    count; a Start refused for its runs folder leaves no GRID.cells/ and queues nothing."""
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")
    monkeypatch.setenv("NST_TUI_RUNS_DIR", str(tmp_path / "a-file" / "runs"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_sweep(pilot)
        await fill(pilot, screen, "#sweep-name-1", "seed")
        await fill(pilot, screen, "#sweep-values-1", ",".join(map(str, range(20_000))))
        assert problem(screen).startswith("seed: 20000 values, too many") and start_is_off(screen)
        await fill(pilot, screen, "#sweep-values-1", "1,2")
        await fill(pilot, screen, "#sweep-grid", str(tmp_path / "g.png"))
        assert not start_is_off(screen), problem(screen)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "cannot create the runs folder" in problem(screen), problem(screen)
        assert not app.jobs and not (tmp_path / "g.cells").exists()


@pytest.mark.slow
async def test_a_sweep_started_in_the_app_is_resumed_by_the_command_line(
    make_app, tiny_config, tmp_path: Path, monkeypatch, capsys
) -> None:
    """The app's sweep is the engine's Sweep: it saves GRID.cells/sweep.toml, so the cells it
    left queued are run by `nst-tui sweep --resume GRID`, the snapshot cells are copied into
    GRID.cells/, and the grid is drawn as the app drew it (its cell size, its title)."""
    from nst_tui.cli.command import main

    app = make_app(tiny_config.replace(iterations=2))
    grid = tmp_path / "grid.png"
    queued: list = []
    async with app.run_test(size=(120, 40)) as pilot:
        # The app's queue runs nothing here: the cells stay queued for the command line.
        app.enqueue = lambda config, folder=None, **options: queued.append(folder) or folder.id
        screen = await open_sweep(pilot)
        await fill(pilot, screen, "#sweep-name-1", "lr")
        await fill(pilot, screen, "#sweep-values-1", "1,2")
        await fill(pilot, screen, "#sweep-name-2", "iterations")
        await fill(pilot, screen, "#sweep-values-2", "1,2")
        await fill(pilot, screen, "#sweep-grid", str(grid))
        assert problem(screen).startswith("Ready: 2 run(s), a grid of 2x2 cells"), problem(screen)
        await pilot.press("ctrl+r")
        assert len(queued) == 2
        await wait_for(pilot, grid.is_file, what="the app's first grid")
        started_in_the_app = screen.sweep
    assert (tmp_path / "grid.cells" / "sweep.toml").is_file()

    monkeypatch.setenv("NO_COLOR", "1")
    capsys.readouterr()
    assert main(["sweep", "--resume", str(grid)]) == 0
    stderr = capsys.readouterr().err
    assert "resuming: 0 runs finished, 2 to go" in stderr, stderr
    records = [record for record in list_runs() if record.path in {f.path for f in queued}]
    assert {record.status for record in records} == {FINISHED}
    assert {record.iterations_done for record in records} == {2}
    # The grid the command line drew is the one the app's own sweep draws of these runs now.
    assert started_in_the_app.cells_done() == 4
    with Image.open(grid) as image:
        drawn = np.asarray(image.convert("RGB"))
    as_the_app_draws = started_in_the_app.grid_image()
    assert np.array_equal(drawn, np.asarray(as_the_app_draws.convert("RGB")))
    assert sorted(path.name for path in (tmp_path / "grid.cells").glob("*.png")) == [
        "r1c1-lr=1-iterations=1.png",
        "r1c2-lr=1-iterations=2.png",
        "r2c1-lr=2-iterations=1.png",
        "r2c2-lr=2-iterations=2.png",
    ]

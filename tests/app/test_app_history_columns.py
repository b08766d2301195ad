"""The history's table at 80 and 120 columns: the status and iterations always in sight, the
columns chosen by the width there is; a sweep's cells told apart by the values they vary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from screen_text import screen_lines
from test_app_history import open_history

from nst_engine.settings.config import RunConfig
from nst_engine.settings.values import Size
from nst_engine.store.runs import RunFolder

CONTENT = "a-rather-long-holiday-photograph-of-the-harbour.jpg"
STYLE = "the-great-wave-off-kanagawa-by-hokusai.jpg"


def finished(folder: RunFolder, iterations: int, seconds: float) -> RunFolder:
    folder.update(status="finished", iterations_done=iterations, total=iterations, seconds=seconds)
    return folder


@pytest.fixture
def long_named_runs(tmp_path: Path, demo_pair: tuple[Path, Path]) -> Path:
    """Two finished runs of images with long names, and a stopped one (the test's runs folder)."""
    images = tmp_path / "images"
    images.mkdir()
    content, style = images / CONTENT, images / STYLE
    shutil.copy(demo_pair[0], content)
    shutil.copy(demo_pair[1], style)
    root = tmp_path / "runs"
    config = RunConfig.from_flat(
        content=content, style=style, iterations=200, size=Size(longest=512)
    )
    finished(RunFolder.create(config, root), 200, 133.0)
    finished(RunFolder.create(config.replace(iterations=300), root), 300, 2 * 3600 + 65.0)
    RunFolder.create(config, root).update(status="stopped", iterations_done=16, total=200)
    return root


def table_lines(screen) -> list[str]:
    """The painted lines of the history's table, headings first."""
    table = screen.table
    lines = screen_lines(screen.app)
    region = table.region
    return [line[region.x : region.right] for line in lines[region.y : region.bottom]]


def check_status_and_iterations_whole(screen, part: str) -> None:
    """Each run's status and iterations whole; long names cut in the middle."""
    lines = table_lines(screen)
    assert "Status" in lines[0] and "Iter." in lines[0], (part, lines[0])
    body = "\n".join(lines[1:])
    assert body.count("finished") == 2, (part, body)
    assert "stopped" in body, (part, body)
    for iterations in ("200/200", "300/300", "16/200"):
        assert iterations in body, (part, body)
    # Long names are cut in the middle: their starts and ends (the extension) stay.
    for name in (CONTENT, STYLE):
        assert f"{name[:6]}" in body and f"{name[-7:]}" in body, (part, body)


async def test_at_80_columns_status_and_iterations_are_whole_and_what_is_left_out_is_said_under(
    make_app, long_named_runs: Path
) -> None:
    """Both parts in one app (an app start costs more than a part)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot)
        # Each run's status and iterations whole at 80 columns.
        check_status_and_iterations_whole(screen, "status at 80")
        # What the 80-column table leaves out is said under it.
        lines = table_lines(screen)
        assert "Date" in lines[0], ("left out at 80", lines[0])
        screen.table.move_cursor(row=1, animate=False)  # the 300-iteration run
        await pilot.pause()
        shown = "\n".join(screen_lines(app))
        assert "2:01:05" in shown, "left out at 80: the time of the highlighted run"
        assert "lbfgs lr 1 · 512 · sw 10" in shown, "left out at 80: its settings"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_sweeps_cells_show_the_values_they_vary(
    make_app, tiny_config: RunConfig, tmp_path: Path, size: tuple[int, int]
) -> None:
    root = tmp_path / "runs"
    labels = [("iterations=200", "style-weight=1e4"), ("iterations=200", "style-weight=1e5")]
    for cell in labels:
        finished(RunFolder.create(tiny_config, root, sweep="grid", labels=cell), 4, 1.0)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_history(pilot)
        lines = table_lines(screen)
        assert "Settings" in lines[0], lines[0]
        rows = [line for line in lines[1:] if line.strip()]
        assert len(rows) == 2 and rows[0] != rows[1], rows  # told apart, even cut
        assert rows[0].split()[-1] == rows[1].split()[-1]  # by their values, not the time
        assert "1e5" in rows[0] and "1e4" in rows[1], rows
        if size == (120, 40):
            body = "\n".join(rows)
            assert "iterations=200, style-weight=1e4" in body, body


async def test_at_120_columns_status_iterations_time_and_settings_show_and_a_resize_refits(
    make_app, long_named_runs: Path
) -> None:
    """Every part in one app (an app start costs more than a part). After a resize from 120 to
    80 columns with the same columns shown, each one's width is chosen again (before, the
    120-column widths stayed and the last column was cut at the screen's edge)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_history(pilot)
        # Each run's status and iterations whole at 120 columns.
        check_status_and_iterations_whole(screen, "status at 120")
        # The time and the settings at 120 columns.
        lines = table_lines(screen)
        heading = lines[0]
        assert "Time" in heading and "Settings" in heading and "Date" in heading, heading
        body = "\n".join(lines[1:])
        assert "2:13" in body and "2:01:05" in body, body  # 133 s; 2 h 1 min 5 s

        # After a resize the columns are fitted again to the new width.
        for size in [(80, 24), (100, 30), (80, 24)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            table = screen.table
            used = sum(column.get_render_width(table) for column in table.columns.values())
            assert used <= table.size.width, ("resize", size, used, table.size.width)
            heading = table_lines(screen)[0]
            last = list(table.columns.values())[-1].label.plain
            assert last in heading, ("resize", heading)  # the last column's heading whole


def test_a_sequence_shows_its_frames_done_of_total_where_a_run_shows_iterations(
    tmp_path: Path, demo_pair: tuple[Path, Path]
) -> None:
    from nst_tui.app.screens.history_columns import row_texts

    config = RunConfig.from_flat(content=demo_pair[0], style=demo_pair[1], iterations=200)
    run = RunFolder.create(config, tmp_path)
    run.update(status="stopped", iterations_done=16, total=200)
    sequence = RunFolder.create(config.replace(content=tmp_path / "clip"), tmp_path)
    sequence.update(status="stopped", kind="sequence", frames_done=3, frames_total=8)
    assert row_texts(run.record())["iterations"] == "16/200"
    assert row_texts(sequence.record())["iterations"] == "3/8 frames"

"""The progress line of `nst-tui run` in narrow consoles: the ETA and it/s always whole; the
losses, the elapsed time and the bar give way first."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.progress import Progress

TINY = ("--size", "48", "--iterations", "3", "--weights", "random")
ETA = re.compile(r"eta (\d+:\d\d:\d\d|-:--:--)(\s|$)")
SPEED = re.compile(r"(^|\s)\d+\.\d\d it/s(\s|$)")
LOSSES = {"content": 2.21e-07, "style": 5.71e-08, "tv": 0.533}


@pytest.mark.parametrize("columns", [80, 60])
def test_a_piped_run_in_a_narrow_console_prints_the_eta_and_speed_whole(nst_tui_here, columns):
    result = nst_tui_here("run", "--demo", "-o", "out.png", *TINY, columns=columns)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "it/s" in line and "done" not in line]
    assert lines, result.stderr
    for line in lines:
        assert len(line) <= columns, line
        assert "…" not in line, line
        assert "3/3" in line, line
        assert ETA.search(line), line
        assert SPEED.search(line), line
    # The end says the speed the line showed, not the iterations over the whole time.
    shown = SPEED.search(lines[-1]).group(0).strip()
    done = next(line for line in result.stderr.splitlines() if line.startswith("done in"))
    assert f"(3 iterations, {shown} while iterating)" in done, done


def render_line(width: int, completed: int = 5, total: int = 200) -> str:
    """The progress line as a console `width` wide draws it, mid-run at 1.2 it/s (2:42 left)."""
    from nst_tui.cli.progress_line import FittedProgress

    console = Console(file=io.StringIO(), width=width, color_system="truecolor", record=True)
    clock = [100.0]
    progress = FittedProgress(console=console, auto_refresh=False, get_time=lambda: clock[0])
    task = progress.add_task("styling", total=total, speed="", losses=None)
    for index in range(1, completed + 1):
        clock[0] += 1 / 1.2
        progress.update(task, completed=index, speed="1.20 it/s", losses=LOSSES)
    console.print(progress.get_renderable())
    return console.export_text(styles=False).rstrip("\n")


@pytest.mark.parametrize("width", [120, 100, 80, 60, 40])
def test_the_progress_line_keeps_count_speed_and_eta_at_any_width(width):
    line = render_line(width)
    assert "\n" not in line, line
    assert len(line) <= width, line
    assert "5/200" in line and "1.20 it/s" in line, line
    assert re.search(r"eta 0:0\d:\d\d", line), line


def test_the_losses_give_way_before_the_eta_and_the_bar_before_the_losses():
    wide, medium, narrow = render_line(120), render_line(80), render_line(40)
    assert "loss: content 2.21e-07 style 5.71e-08 tv 0.533" in wide and has_bar(wide)
    assert "elapsed" in wide
    assert "loss: content 2.21e-07 style 5.71e-08 tv 0.533" in medium  # all losses at 80
    assert not has_bar(medium)  # the bar went first
    assert "loss" not in narrow


def has_bar(line: str) -> bool:
    return line[:1] in ("━", "╸", "╺")


def test_without_colours_there_is_no_bar():
    from nst_tui.cli.progress_line import FittedProgress

    console = Console(file=io.StringIO(), width=120, color_system=None)
    progress = FittedProgress(console=console, auto_refresh=False)
    progress.add_task("styling", total=10, completed=5, speed="1.00 it/s", losses=LOSSES)
    console.print(progress.get_renderable())
    assert console.file.getvalue().startswith("5/10 1.00 it/s elapsed")


def test_fitted_progress_is_a_rich_progress():
    from nst_tui.cli.progress_line import FittedProgress

    assert issubclass(FittedProgress, Progress)

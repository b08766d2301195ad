"""The progress line of `nst-tui run`, fitted to the console's width.

What a person over SSH looks for comes first and is never cut: the iteration count, the
speed (it/s) and the time left (eta). The rest gives way as the console narrows, in this
order: the bar first, then the elapsed time, then the loss terms (the last term first).
A plain Rich progress table shrinks every column instead and cuts the ETA to `eta 0:0…`.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.progress import Progress, ProgressBar, Task
from rich.table import Table
from rich.text import Text

BAR_WIDTH = 24  # cells of the bar when there is room
BAR_MIN_WIDTH = 6  # narrower than this, the bar says nothing: it goes
LOSS_TERMS = ("content", "style", "tv")


class FittedProgress(Progress):
    """A Rich progress whose tasks are each one line fitted to the width (see the module).

    A task's fields: `speed` (text such as "1.20 it/s"), `losses` (name -> value, or None),
    and optionally `eta` (seconds, or None while unknown) and `scale` (text: "scale 2/5").
    """

    def get_renderables(self) -> Iterable[RenderableType]:
        for task in self.tasks:
            if task.visible:
                yield FittedLine(task)


class FittedLine:
    """One task's progress line; fitted when the console draws it (it knows the width then)."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        task = self.task
        total = int(task.total or 0)
        # The engine's ETA (nst_engine.running.progress: it knows the scales) when given, else Rich's.
        eta = task.fields.get("eta", task.time_remaining)
        scale = task.fields.get("scale")
        essential = (
            f"{int(task.completed)}/{total} {scale + ' ' if scale else ''}"
            f"{task.fields.get('speed') or '-.-- it/s'} eta {_clock(eta)}"
        )
        room = options.max_width - len(essential)
        losses = _fitted_losses(task.fields.get("losses"), room - 1)
        room -= len(losses) + 1 if losses else 0
        elapsed = f"elapsed {_clock(task.finished_time if task.finished else task.elapsed)}"
        if room >= len(elapsed) + 1:
            room -= len(elapsed) + 1
        else:
            elapsed = ""
        words = " ".join(part for part in (_insert_elapsed(essential, elapsed), losses) if part)
        bar_width = min(BAR_WIDTH, room - 1)
        text = Text(words, no_wrap=True, overflow="ellipsis")
        # Without colours (a pipe, NO_COLOR) a bar's unfinished part is blank: no bar then.
        if bar_width < BAR_MIN_WIDTH or console.color_system is None:
            yield text
            return
        line = Table.grid(padding=(0, 1))
        line.add_column(width=bar_width, no_wrap=True)
        line.add_column(no_wrap=True)
        line.add_row(ProgressBar(total=total, completed=task.completed, width=bar_width), text)
        yield line


def _insert_elapsed(essential: str, elapsed: str) -> str:
    """`5/200 1.20 it/s elapsed 0:00:04 eta 0:02:41`: elapsed before the eta, as it reads."""
    if not elapsed:
        return essential
    head, _, eta = essential.rpartition(" eta ")
    return f"{head} {elapsed} eta {eta}"


def _fitted_losses(values: dict[str, float] | None, room: int) -> str:
    """`loss: content 2.21e-07 style 5.71e-08 tv 0.533`, with as many terms as fit in `room`
    cells (whole terms: a cut number would read as another number); "" if none fits."""
    fitted = ""
    text = "loss:"
    for name in LOSS_TERMS:
        if values and name in values:
            text = f"{text} {name} {values[name]:.3g}"
            if len(text) > room:
                break
            fitted = text
    return fitted


def _clock(seconds: float | None) -> str:
    """0:02:41 (as Rich's time columns write it); -:--:-- while unknown."""
    if seconds is None:
        return "-:--:--"
    minutes, whole_seconds = divmod(int(max(seconds, 0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{whole_seconds:02d}"

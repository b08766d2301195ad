"""The run controls and what a run says: Run/Cancel, why Run is off, progress, the result,
and the loss curve (shown from a run's start where the terminal has the rows for it)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, ProgressBar, Static

from nst_tui.app.messages import (
    RunCancelled,
    RunFailed,
    RunFinished,
    RunFrame,
    RunProgress,
    RunStarted,
)
from nst_tui.app.widgets.form.path_text import PathLabel
from nst_tui.app.widgets.lines import show
from nst_tui.app.widgets.run.estimate import EstimateLine
from nst_tui.app.widgets.run.loss_plot import LossPlot

if TYPE_CHECKING:
    from nst_engine.store.runs import RunFolder


def format_duration(seconds: float | None) -> str:
    """`1:05` or `1:02:05`; `--:--` when unknown."""
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def format_losses(losses: dict[str, float]) -> str:
    """`content 1.2e+03 · style 4.5e+05 · tv 6.7`: short, so that all three fit 36 columns."""
    return " · ".join(f"{name} {losses.get(name, 0.0):.2g}" for name in ("content", "style", "tv"))


def format_progress(
    index: int, total: int, rate: float, elapsed: float | None, eta: float | None
) -> str:
    """The counts line, most wanted first: ETA and speed survive a narrow panel (80 columns).

    What matters over SSH is when it ends and how fast it goes; the line is cut from its end
    (DEFAULT_CSS), so the count and the elapsed time give way first.
    """
    speed = f"{rate:.2f} it/s" if rate > 0 else "-- it/s"
    return f"ETA {format_duration(eta)} · {speed} · {index}/{total} · {format_duration(elapsed)} elapsed"


def format_frame_progress(
    report: RunProgress, elapsed: float | None, eta: float | None, width: int = 0
) -> str:
    """A sequence's counts line: its ETA, then the frame and the frame's iterations.

    In `width` columns (0: any) the words shorten until those three fit (80 columns leave
    the panel 35); the line is cut from its end, so the speed and time give way first.
    """
    speed = f"{report.rate:.2f} it/s" if report.rate > 0 else "-- it/s"
    eta_text = f"ETA {format_duration(eta)}"
    frame, iteration = (
        f"{report.frame}/{report.frames}",
        f"{report.frame_index}/{report.frame_total}",
    )
    forms = (
        f"{eta_text} · frame {frame} · iteration {iteration}",
        f"{eta_text} · frame {frame} · it {iteration}",
        f"{eta_text} · f {frame} · it {iteration}",
        f"{eta_text} · f {frame} it {iteration}",
    )
    # Room for what follows to show as " …" at least, rather than an ellipsis on the count.
    form = next((form for form in forms if width == 0 or len(form) + 2 <= width), None)
    if form is None:
        return forms[-1]  # the three alone
    whole = form == forms[0]
    return f"{form} · {speed} · {format_duration(elapsed)}{' elapsed' if whole else ''}"


CURVE_MIN_ROWS = 32  # terminal rows from which the loss curve shows by itself (80x24: hidden)
TICK = 1.0  # seconds between updates of the elapsed time and the ETA between two reports
STOPPING = "Stopping…"


class RunPanel(Vertical):
    """Run button, its reason when off, a status line, the progress bar and the outcome."""

    DEFAULT_CSS = """
    #run-row {
        height: auto;
        margin-top: 1;
    }
    #run {
        min-width: 14;
    }
    #run-reason {
        height: auto;
        color: $text-success;
    }
    RunPanel.-blocked #run-reason {
        color: $text-warning;
    }
    #run-status {
        height: auto;
        max-height: 3;
        color: $text-muted;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #progress {
        width: 1fr;
    }
    #progress Bar {
        width: 1fr;
    }
    #progress-stats {
        height: 2;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #run-result {
        height: auto;
    }
    RunPanel.-failed #run-result {
        color: $text-error;
        text-style: bold;
    }
    """

    _started: RunStarted | None = None  # the current run's start, for its status line
    _scale_shown = 0  # coarse to fine: the scale the status line names
    # The loss curve: None shows it once a run has begun where the terminal is tall enough;
    # True or False is the user's choice (Ctrl+L).
    curve_wanted: bool | None = None
    _curve_begun = False  # a run has begun since the app started: there is a curve to show
    # The run's clock: the elapsed time counts from when the run began (time.monotonic), and
    # ticks every second, between reports too (an iteration can take a minute on a CPU).
    _began_at: float | None = None
    _ticking = False
    _total = 0
    _report: RunProgress | None = None  # the last report shown
    _reported_at = 0.0  # when it came (the ETA counts down from it)

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-row"):
            yield Button("Run  ^R", id="run", variant="success", compact=True)
        yield Static("", id="run-reason", markup=False)
        yield EstimateLine()  # time and memory before Run (nst_tui/app/widgets/run/estimate.py)
        yield Static("", id="run-status", markup=False)
        yield ProgressBar(total=1, id="progress", show_eta=False, show_percentage=True)
        yield Static("", id="progress-stats", markup=False)  # two lines: counts, losses
        yield Static("", id="run-result", markup=False)
        saved = PathLabel(id="run-result-path")  # one line, the file name always in sight
        saved.display = False
        yield saved
        curve = LossPlot(id="loss-plot")
        curve.display = False  # until a run begins: the first screen keeps its layout
        yield curve

    def on_mount(self) -> None:
        self.set_ready("checking the form…")
        self.set_interval(TICK, self._tick)
        self.screen.screen_layout_refresh_signal.subscribe(self, lambda _: self._place_curve())

    # --- the loss curve -----------------------------------------------------------------------

    @property
    def curve(self) -> LossPlot:
        return self.query_one(LossPlot)

    def toggle_curve(self) -> bool:
        """Show or hide the loss curve (the user's choice holds until the app quits)."""
        self.curve_wanted = not self.curve.display
        self._curve_begun = True
        self._place_curve()
        return self.curve.display

    def _place_curve(self) -> None:
        """Show the curve if wanted, or by itself once a run began on a tall terminal."""
        wanted = self.curve_wanted
        if wanted is None:
            wanted = self._curve_begun and self.app.size.height >= CURVE_MIN_ROWS
        if self.curve.display != wanted:
            self.curve.display = wanted

    # --- the button ---------------------------------------------------------------------------

    def set_ready(self, problem: str) -> None:
        """Idle: Run is on when `problem` is empty, else off with the reason beside it."""
        button = self.query_one("#run", Button)
        button.label = "Run  ^R"
        button.variant = "success"
        button.disabled = bool(problem)
        button.tooltip = problem or "Start styling (Ctrl+R)"
        show(
            self.query_one("#run-reason", Static),
            f"Run is off: {problem}" if problem else "Ready: Ctrl+R runs",
        )
        self.set_class(bool(problem), "-blocked")

    def set_stopping(self) -> None:
        """Cancelled: the run finishes its iteration and saves; Run is off until it has."""
        button = self.query_one("#run", Button)
        button.label = STOPPING
        button.variant = "warning"
        button.disabled = True
        button.tooltip = "The run stops after its current iteration, keeping the image so far"
        # One line at 80 columns; the tooltip says the image is kept.
        self.query_one("#run-reason", Static).update("Stopping after this iteration…")
        self.set_class(False, "-blocked")

    def set_running(self) -> None:
        button = self.query_one("#run", Button)
        button.label = "Cancel  Esc"
        button.variant = "error"
        button.disabled = False
        button.tooltip = "Stop after this iteration, keeping the image so far (Escape)"
        self.query_one("#run-reason", Static).update("Running: Escape cancels")
        self.set_class(False, "-blocked")

    @property
    def run_button(self) -> Button:
        return self.query_one("#run", Button)

    # --- what the run says --------------------------------------------------------------------

    def status(self, text: str) -> None:
        self.query_one("#run-status", Static).update(text)

    def start(self, total: int, folder: RunFolder | None = None) -> None:
        """A run begins (or the panel follows another one): `folder`'s loss history so far,
        if given, starts the curve (a resumed run, or a job followed mid-run)."""
        self.set_class(False, "-failed")
        self._started = None
        self._began_at, self._report, self._total, self._ticking = None, None, total, True
        self.status("starting…")
        self.query_one("#progress", ProgressBar).update(total=total, progress=0)
        self.query_one("#progress-stats", Static).update("")
        self.query_one("#run-result", Static).update("")
        self._result_path("", "")
        self._curve_begun = True
        if folder is not None:
            self.curve.show_history(folder.losses())  # JSON lines: no tensors here
        else:
            self.curve.clear()
        self._place_curve()

    def _result_path(self, prefix: str, path: object) -> None:
        label = self.query_one("#run-result-path", PathLabel)
        label.update(str(path), prefix)
        label.display = bool(str(path))

    def began(self) -> None:
        """The run the panel follows has begun (it was waiting until now): its clock starts."""
        if self._began_at is None:
            self._began_at = time.monotonic()
            self._show_counts()

    def _elapsed(self) -> float | None:
        return None if self._began_at is None else time.monotonic() - self._began_at

    def _tick(self) -> None:
        """Every second between reports (none for a second: a slow iteration, the start)."""
        quiet = time.monotonic() - self._reported_at >= TICK
        if self._ticking and self._began_at is not None and quiet:
            self._show_counts()

    def _show_counts(self) -> None:
        """The counts line (and the losses under it) with the elapsed time and ETA of now."""
        report = self._report
        if report is None:
            text = format_progress(0, self._total, 0.0, self._elapsed(), None)
        else:
            eta = report.eta
            if eta is not None and self._ticking:  # counts down between two reports
                eta = max(0.0, eta - (time.monotonic() - self._reported_at))
            if report.frames:
                width = self.query_one("#progress-stats", Static).content_region.width
                text = format_frame_progress(report, self._elapsed(), eta, width)
            else:
                text = format_progress(
                    report.index, report.total, report.rate, self._elapsed(), eta
                )
            text += "\n" + format_losses(report.losses)
        # Two lines whatever they say (DEFAULT_CSS), in one widget: one repaint and no layout
        # pass, ten times a second.
        self.query_one("#progress-stats", Static).update(text, layout=False)

    def _stop_clock(self) -> None:
        if self._ticking:
            self._show_counts()  # the time it ended at
            self._ticking = False

    def started(self, message: RunStarted) -> None:
        self._started = message
        self._scale_shown = 1
        self._show_run_status(1, max(1, len(message.scale_sizes)))
        self.query_one("#progress", ProgressBar).update(total=message.total, progress=0)

    def _show_run_status(self, scale: int, scales: int) -> None:
        """What runs where: the sizes, the device, the weights, and the run's notes.

        One line each, cut at the panel's edge (DEFAULT_CSS): the sizes first, the weights'
        description last, so that a narrow panel still shows what runs where. Coarse to fine
        puts the scale and its size first: the counts line below has no room left for it at
        80 columns (ETA and speed fill it).
        """
        message = self._started
        if message is None:
            return
        width, height = message.compute_size
        if 1 <= scale < scales and len(message.scale_sizes) == scales:
            width, height = message.scale_sizes[scale - 1]
        output = message.output_size
        sizes = f"{width}x{height}"
        if scale == scales and output != message.compute_size:
            sizes += f" → {output[0]}x{output[1]}"
        if scales > 1:
            sizes = f"scale {scale} of {scales} · {sizes}"
        text = f"{sizes} · {message.device} · weights {message.weights_source}"
        for note in message.notes:
            text += f"\nnote: {note}"
        self.status(text)
        self.query_one("#run-status", Static).tooltip = text

    def progress(self, message: RunProgress) -> None:
        if message.scales > 1 and message.scale != self._scale_shown:
            self._scale_shown = message.scale
            self._show_run_status(message.scale, message.scales)
        self.query_one("#progress", ProgressBar).update(total=message.total, progress=message.index)
        self._report, self._reported_at = message, time.monotonic()
        if self._began_at is None:  # a run followed mid-way: its clock from the engine's
            self._began_at = self._reported_at - message.elapsed
        self._show_counts()
        self.curve.add(message.frame_index or message.index, message.losses)

    def frame_started(self, message: RunFrame) -> None:
        """A sequence's next frame: the loss curve follows it from its first iteration."""
        self.curve.clear()

    def finished(self, message: RunFinished) -> None:
        """The result line: the time on the run's clock, and the speed as shown while it ran.

        The speed is the iterations' own (ProgressReporter: from each scale's second
        iteration on), not the iterations over the whole time: that counted the setting up
        too (weights, targets, the first step; for Adam, importing torch._dynamo), and gave
        "0.15 it/s" at the end of a run that showed "0.32 it/s" while running.
        """
        self._stop_clock()
        elapsed = self._elapsed()
        took = format_duration(message.seconds if elapsed is None else elapsed)
        if message.frames:
            text = f"Done: {message.frames} frames in {took} → {message.path.name}"
            self.query_one("#run-result", Static).update(text)
            self._result_path("Saved: ", message.path)
            return
        rate = self._report.rate if self._report is not None else 0.0
        speed = f"; {rate:.2f} it/s while iterating" if rate > 0 else ""
        text = f"Done in {took} ({message.iterations} iterations{speed})."
        for note in message.notes:
            text += f"\nnote: {note}"
        self.query_one("#run-result", Static).update(text)  # the status keeps the run's notes
        self._result_path("Saved: ", message.path)

    def cancelled(self, message: RunCancelled) -> None:
        self._stop_clock()
        if message.frames:
            text = (
                f"Cancelled at frame {message.index + 1}/{message.frames}: {message.index} "
                "frames kept; Resume in the history (F3) goes on."
            )
        elif message.partial_path is None:
            text = "Cancelled before the first iteration; nothing to keep."
        else:
            text = f"Cancelled after {message.index} iterations."
        self.query_one("#run-result", Static).update(text)
        self._result_path("Kept: ", message.partial_path or "")
        self.status("cancelled")

    def failed(self, message: RunFailed) -> None:
        self._stop_clock()
        self.set_class(True, "-failed")
        self.query_one("#run-result", Static).update(f"{message.title}: {message.text}")
        self.status("failed")

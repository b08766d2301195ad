"""The sweep screen (F4): the form's settings with one or two of them varied, run as a queue,
composed into a comparison grid that fills in as the cells finish.

The form's current settings are the base. Choose a setting and type its values
(comma-separated), optionally a second one (the first then makes the rows, the second the
columns), and the grid's path. Everything is checked as it is typed, through the engine's own
parsers (nst_engine/sweeps/plan.py): a bad name or value is one line under the fields and
Start stays off. Start makes the engine's Sweep (nst_engine/sweeps/sweep.py: a run folder per
job, each cell a run in the history labelled with its values, and GRID.cells/sweep.toml, so
that `nst-tui sweep --resume GRID` can go on with it) and puts its jobs in the app's queue.
The Sweep's grid is drawn again, in a thread of its own, whenever a cell's picture may have
come (the app keeps it by the sweep's id, so leaving this screen does not stop it), and
shown here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, ProgressBar, Static

from nst_engine.errors import NSTError
from nst_engine.settings.config import RunConfig
from nst_tui.app.screens.queue import ENDED, QueueTable, overall_progress
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.keys_footer import KeysFooter
from nst_tui.app.widgets.picture.preview import PreviewPane

if TYPE_CHECKING:
    from nst_engine.sweeps.plan import SweepPlan
    from nst_engine.sweeps.sweep import Sweep
    from nst_tui.app.session import Session

REFRESH = 0.5  # seconds between two looks at the sweep's jobs and grid
DEFAULT_SETTING = "style-weight"
NO_SECOND = "none"  # the second setting's "not used" choice


def default_grid_path(base: RunConfig) -> Path:
    """`NAME-sweep.png` beside the form's output `NAME.png` (`NAME-3.png` too: the grid is
    not that run's third), numbered as itself, never an existing file."""
    from nst_engine.running.outputs import free_output_path, unnumbered_stem

    output = base.inputs.output or Path.cwd() / "result.png"
    return free_output_path(output.with_name(f"{unnumbered_stem(output)}-sweep.png"))


def missing_field(first: tuple[str, str], second: tuple[str, str] | None, grid: str) -> str:
    """What is still to be typed (a hint, not an error), or ""."""
    for name, values in (first, second) if second else (first,):
        if not values.strip():
            return f"{name}: type its values, comma-separated (e.g. 1,10,100)"
    if not grid.strip():
        return "give the grid's path (e.g. grid.png)"
    return ""


def plan_from(
    base: RunConfig, first: tuple[str, str], second: tuple[str, str] | None, grid: str
) -> SweepPlan:
    """The sweep the fields describe; a ConfigError (one line) for anything wrong."""
    from nst_engine.errors import ConfigError
    from nst_engine.running.outputs import check_output_path
    from nst_engine.sweeps.plan import parse_vary, plan_sweep

    missing = missing_field(first, second, grid)
    if missing:
        raise ConfigError(missing)
    axes = [
        parse_vary(f"{name}={values}") for name, values in ((first, second) if second else (first,))
    ]
    path = Path(grid.strip()).expanduser()
    if not path.is_absolute():
        path = (base.inputs.output.parent if base.inputs.output else Path.cwd()) / path
    check_output_path(path)
    return plan_sweep(base.replace(output=path, overwrite=False), axes)


class SweepScreen(Screen):
    """Vary one or two settings of the form's, run them, watch the grid fill in."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="sweep.back"),
        Binding("ctrl+r", "start", "Start", priority=True, id="sweep.start"),
    ]

    def __init__(self, base: RunConfig) -> None:
        super().__init__(id="sweep")
        self.base = base
        self.plan: SweepPlan | None = None  # what the fields describe, when they are right
        self.sweep: Sweep | None = None  # once started
        self._shown_version = 0

    @property
    def nst_app(self) -> Session:
        return cast("Session", self.app)

    def compose(self) -> ComposeResult:
        from nst_engine.sweeps.plan import sweep_names, sweep_title

        names = [(name, name) for name in sweep_names()]
        with Vertical(id="sweep-form"):
            yield Static(
                f"Sweep of the form's settings: {sweep_title(self.base)}",
                id="sweep-title",
                markup=False,
            )
            with Horizontal(classes="sweep-row"):
                yield Label("Vary", classes="sweep-label")
                yield Dropdown(names, value=DEFAULT_SETTING, allow_blank=False, id="sweep-name-1")
                yield Input(placeholder="values, e.g. 3,10,30", id="sweep-values-1", compact=True)
            with Horizontal(classes="sweep-row"):
                yield Label("and", classes="sweep-label")
                yield Dropdown(
                    [(NO_SECOND, NO_SECOND), *names],
                    value=NO_SECOND,
                    allow_blank=False,
                    id="sweep-name-2",
                )
                yield Input(
                    placeholder="values (rows: the first, columns: this)",
                    id="sweep-values-2",
                    compact=True,
                )
            with Horizontal(classes="sweep-row"):
                yield Label("Grid", classes="sweep-label")
                yield Input(str(default_grid_path(self.base)), id="sweep-grid", compact=True)
            yield Static("", id="sweep-problem", markup=False)
            with Horizontal(classes="sweep-row"):
                yield Button(
                    "Start  ^R", id="sweep-start", variant="success", compact=True, disabled=True
                )
                yield Button("Back  Esc", id="sweep-back", compact=True)
        yield ProgressBar(total=1, id="sweep-progress", show_eta=False, show_percentage=True)
        yield Static("", id="sweep-counts", markup=False)
        with Horizontal(id="sweep-body"):
            yield QueueTable(self._entries, id="sweep-jobs")
            yield PreviewPane(id="sweep-preview")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#sweep-values-1", Input).focus()
        self.query_one("#sweep-preview", PreviewPane).caption("The grid appears here once started.")
        self._check()
        self.set_interval(REFRESH, self._follow)

    # --- the fields -----------------------------------------------------------------------------

    @on(Input.Changed)
    @on(Dropdown.Changed)
    def _changed(self) -> None:
        if self.sweep is None:
            self._check()

    def _fields(self) -> tuple[tuple[str, str], tuple[str, str] | None, str]:
        first = (
            str(self.query_one("#sweep-name-1", Dropdown).value),
            self.query_one("#sweep-values-1", Input).value,
        )
        second_name = str(self.query_one("#sweep-name-2", Dropdown).value)
        second_values = self.query_one("#sweep-values-2", Input).value
        second = None if second_name == NO_SECOND else (second_name, second_values)
        return first, second, self.query_one("#sweep-grid", Input).value

    def _check(self) -> None:
        """Plan the sweep from the fields: what it will run, or the one line that is wrong
        (a field still empty is a hint of what to type, not an error)."""
        first, second, grid = self._fields()
        missing = missing_field(first, second, grid)
        if missing:
            self.plan = None
            self._problem("", hint=missing)
            return
        try:
            self.plan = plan_from(self.base, first, second, grid)
        except NSTError as error:
            self.plan = None
            self._problem(error.message)
            return
        plan = self.plan
        self.query_one("#sweep-title", Static).update(f"Sweep: {plan.title}")
        shape = (
            f"{len(plan.rows)}x{len(plan.columns)}"
            if len(plan.axes) > 1
            else f"{len(plan.columns)}"
        )
        text = f"Ready: {len(plan.jobs)} run(s), a grid of {shape} cells → {plan.grid}"
        for note in plan.notes:
            text += f"\nnote: {note}"
        self._problem("", text)

    def _problem(self, problem: str, ready: str = "", hint: str = "") -> None:
        """One line under the fields: a `problem` (error colour), else `ready` or a `hint`."""
        line = self.query_one("#sweep-problem", Static)
        line.update(problem or ready or hint)
        line.set_class(bool(problem), "-problem")
        blocked = bool(problem or hint) or self.sweep is not None
        self.query_one("#sweep-start", Button).disabled = blocked

    # --- starting and following -------------------------------------------------------------

    @on(Button.Pressed, "#sweep-start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#sweep-back")
    def _back_pressed(self) -> None:
        self.action_back()

    def action_start(self) -> None:
        """The engine's Sweep (its run folders and record), its jobs in the app's queue; the
        grid drawn at once (all cells waiting) and again as they finish."""
        from nst_engine.sweeps.sweep import Sweep

        if self.sweep is not None:
            return
        self._check()
        if self.plan is None:
            self.app.bell()
            return
        try:
            sweep = Sweep.start(self.plan)
        except NSTError as error:
            self._problem(error.message)
            return
        self.sweep = sweep
        self.nst_app.sweeps[sweep.id] = sweep.grid  # the queue asks it to draw as cells come
        for job in sweep.jobs():
            self.nst_app.enqueue(
                job.config, job.folder, sweep=sweep.id, labels=sweep.labels(job.id)
            )
        for field in self.query("#sweep-form Input, #sweep-form Dropdown"):
            field.disabled = True
        self._problem(
            "", f"Started: {len(sweep.folders)} run(s) queued; the grid fills in at {sweep.path}"
        )
        sweep.grid.request()
        self.query_one("#sweep-jobs", QueueTable).focus()

    def _entries(self) -> list:
        if self.sweep is None:
            return []
        return [entry for entry in self.nst_app.jobs.values() if entry.sweep == self.sweep.id]

    def _follow(self) -> None:
        """Progress per job and overall; the grid again when a new one was written."""
        if self.sweep is None:
            return
        grid = self.sweep.grid
        entries = self._entries()
        done, total = overall_progress(entries)
        self.query_one("#sweep-progress", ProgressBar).update(total=max(total, 1), progress=done)
        ended = sum(entry.status in ENDED for entry in entries)
        failed = sum(entry.status == "failed" for entry in entries)
        counts = f"{ended} of {len(entries)} run(s) ended · {done}/{total} iterations"
        if failed:
            counts += f" · {failed} failed"
        if grid.error:
            counts += f" · grid not written: {grid.error}"
        self.query_one("#sweep-counts", Static).update(counts)
        if grid.version != self._shown_version:
            self._shown_version = grid.version
            preview = self.query_one("#sweep-preview", PreviewPane)
            preview.show_file(grid.path)
            state = "complete" if ended == len(entries) else "filling in"
            preview.caption(f"Grid ({state}): {grid.path}")

    def action_back(self) -> None:
        """Back to the form; a started sweep goes on (its grid too): F5 shows the queue."""
        if self.sweep is not None and any(entry.open for entry in self._entries()):
            self.notify(f"The sweep goes on; its grid: {self.sweep.path}", timeout=5)
        self.dismiss()

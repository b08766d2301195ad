"""A sweep's plan: one or two settings varied over given values, as jobs and grid cells.

    axes = [parse_vary("style-weight=3,10,30"), parse_vary("style-scale=0.5,1,2")]
    plan = plan_sweep(base, axes)     # base.inputs.output is the grid's path
    plan.jobs                         # what to run (SweepJob: a config and its labels)
    plan.cells                        # where each picture goes, from which job (and iteration)

A setting is named as its `nst-tui run` flag without the dashes (`lr`, `style-weight`,
`style-scale`, `optimizer`, `preset`, `style`, ...; `sweep_names()` lists them). A layer's
weight is the layer's name: `relu4_1` for that style layer's weight (added when the layer
is not used yet; 0 turns it off), `content.relu4_2` for a content layer's. Under the
normalised loss layer weights are shares: relu4_1=2 among four others at 1 gives it a third.

The first axis makes the grid's rows, the second its columns (one axis: one row). Each cell
is a run, recorded in the history, except along `iterations`: there one run goes to the
largest value and keeps a snapshot at each other value (its iterations so far are the same
as a shorter run's), unless coarse to fine is on (min_size > 0: a shorter run has its scales
elsewhere), where each value runs on its own. A `preset` value gives the cell what the
preset carries (nst_engine/settings/table.py: all but the images and the output), as
`nst-tui run --preset` does: print's size and iterations too.

The plan is run by a `Sweep` (nst_engine/sweeps/sweep.py), saved and found again by
nst_engine/sweeps/saved.py. No torch here: the command line checks a whole sweep before
anything heavy loads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nst_engine.errors import ConfigError
from nst_engine.settings.config import RunConfig
from nst_engine.sweeps.sweep_settings import (  # noqa: F401 (sweep_names and apply_setting re-exported)
    FIRST,
    apply_setting,
    canonical_name,
    sweep_names,
    value_label,
    value_text,
)

MAX_CELLS = 64
MAX_AXES = 2
# A grid cell's longest side, px. 64 cells of 1024 px make a grid of about 200 MB in memory;
# the cells' full images are in GRID.cells/ whatever the grid shows.
MIN_CELL_SIZE, MAX_CELL_SIZE = 16, 1024


@dataclass(frozen=True)
class Axis:
    name: str  # as `sweep_names()` spells it, or a layer: `relu4_1`, `content.relu4_2`
    values: tuple[str, ...]


@dataclass(frozen=True)
class SweepJob:
    config: RunConfig
    labels: tuple[str, ...]  # e.g. ("style-weight=3", "style-scale=0.5")


@dataclass(frozen=True)
class Cell:
    row: int  # 0-based
    column: int
    labels: tuple[str, ...]
    job: int  # index in plan.jobs
    iteration: int | None  # the job's snapshot at this iteration (None: its result)


@dataclass(frozen=True)
class SweepPlan:
    axes: tuple[Axis, ...]
    rows: tuple[str, ...]  # row labels (the first axis's values); ("",) with one axis
    columns: tuple[str, ...]  # column labels (the last axis's values)
    cells: tuple[Cell, ...]  # row by row
    jobs: tuple[SweepJob, ...]
    notes: tuple[str, ...] = ()  # how the plan was made, for people (e.g. why no snapshots)
    title: str = ""  # content, style and the settings every cell shares
    grid: Path | None = None  # where the grid goes (the base's output)
    base: RunConfig | None = None  # what every cell starts from

    @property
    def row_title(self) -> str:
        return self.axes[0].name if len(self.axes) > 1 else ""

    @property
    def column_title(self) -> str:
        return self.axes[-1].name

    @property
    def cells_folder(self) -> Path | None:
        """Where the jobs' own outputs go: `GRID.cells/` beside the grid."""
        return self.grid.with_suffix(".cells") if self.grid else None


def parse_vary(text: str) -> Axis:
    """`lr=0.5,1,2` as an Axis; a ConfigError (one line) for bad syntax or an unknown name.
    The values are checked by plan_sweep, against the base they apply to."""
    name, equals, rest = text.partition("=")
    if not equals or not name.strip():
        raise ConfigError(f"a sweep setting is NAME=V1,V2,... (e.g. lr=0.5,1,2), got '{text}'")
    name = canonical_name(name)
    values = tuple(value.strip() for value in rest.split(","))
    return make_axis(name, values)


def make_axis(name: str, values: Sequence[object]) -> Axis:
    """An Axis from a name and values (text, or numbers from a TOML file), checked for form."""
    name = canonical_name(name)
    # The count first: 100,000 values must be refused at once, not after a look at each.
    if len(values) > MAX_CELLS:
        raise ConfigError(
            f"{name}: {len(values)} values, too many for a sweep (at most {MAX_CELLS} cells)"
        )
    texts = tuple(value_text(value) for value in values)
    if not texts or texts == ("",):
        raise ConfigError(f"{name}: no values given (e.g. {name}=V1,V2)")
    if "" in texts:
        raise ConfigError(f"{name}: an empty value in {','.join(texts)}")
    seen: set[str] = set()
    for text in texts:
        if text in seen:
            raise ConfigError(f"{name}: {text} is given twice")
        seen.add(text)
    return Axis(name, texts)


def parse_cell_size(value: object, name: str = "--cell-size") -> int:
    """A grid cell's size in px, within bounds (one line otherwise)."""
    from nst_engine.settings.values import parse_int

    size = parse_int(name, value, MIN_CELL_SIZE)
    if size > MAX_CELL_SIZE:
        raise ConfigError(f"{name} must be at most {MAX_CELL_SIZE}, got {size}")
    return size


# --- planning ---------------------------------------------------------------------------------


def plan_sweep(
    base: RunConfig, axes: Sequence[Axis | str], *, looks: Mapping[str, RunConfig] | None = None
) -> SweepPlan:
    """The jobs and cells of a sweep of `base` (whose output is the grid's path) over one or
    two axes (an Axis, or its text: `"lr=0.5,1,2"`). Every value is applied now: a bad one is
    a ConfigError before anything runs. `looks`: what a preset value stands for, where not the
    preset alone (apply_setting)."""
    axes = tuple(_as_axis(axis) for axis in axes)
    _check_axes(axes)
    if base.inputs.output is None:
        raise ConfigError("no output path for the grid given (-o GRID.png)")
    draft = _Draft(base, axes, base.inputs.output.with_suffix(".cells"))
    for row, row_value in enumerate(draft.rows):
        for column, column_value in enumerate(draft.columns):
            settings = [(axes[-1].name, column_value)]
            if len(axes) > 1:
                settings.insert(0, (axes[0].name, row_value))
            draft.add_cell(row, column, settings, _cell_config(base, settings, looks))
    return draft.plan()


def _as_axis(axis: Axis | str) -> Axis:
    if isinstance(axis, str):
        return parse_vary(axis)
    return Axis(canonical_name(axis.name), tuple(axis.values))


COARSE_TO_FINE_NOTE = (
    "coarse to fine is on (min_size > 0): each iterations value runs on its "
    "own, as a shorter run spends its iterations at other scales"
)


@dataclass
class _Draft:
    """A plan as it is made, cell by cell: its jobs, cells and notes so far."""

    base: RunConfig
    axes: tuple[Axis, ...]
    cells_folder: Path  # where the jobs' pictures go
    jobs: list[SweepJob] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Along `iterations`: the other axis's value -> the job that runs its iterations.
    shared: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> tuple[str, ...]:
        return self.axes[0].values if len(self.axes) > 1 else ("",)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.axes[-1].values

    @property
    def iterations(self) -> Axis | None:
        return next((axis for axis in self.axes if axis.name == "iterations"), None)

    def add_cell(
        self, row: int, column: int, settings: list[tuple[str, str]], config: RunConfig
    ) -> None:
        """The cell at (`row`, `column`) made with `settings` (`config`): a run of its own,
        or along `iterations` a snapshot of the run that goes to the largest value."""
        labels = tuple(f"{name}={value_label(name, value)}" for name, value in settings)
        iterations = self.iterations
        if iterations is not None and config.plan.min_size > 0 and not self.notes:
            self.notes.append(COARSE_TO_FINE_NOTE)
        if iterations is None or config.plan.min_size > 0:
            job = self._add_job(config, (row, column), labels, labels)
            self.cells.append(Cell(row, column, labels, job, None))
            return
        other = next((value for name, value in settings if name != "iterations"), "")
        if other not in self.shared:
            self.shared[other] = self._add_iterations_run(config, (row, column), labels, iterations)
        largest = max(int(value) for value in iterations.values)
        at = None if config.plan.iterations == largest else config.plan.iterations
        self.cells.append(Cell(row, column, labels, self.shared[other], at))

    def _add_iterations_run(
        self,
        config: RunConfig,
        place: tuple[int, int],
        labels: tuple[str, ...],
        iterations: Axis,
    ) -> int:
        """One run to the largest of the `iterations` values, with a snapshot at each of the
        others, for the cell at `place` and those beside it along `iterations`; its file is
        named as the largest value's cell. The job's index."""
        values = [int(value) for value in iterations.values]
        largest = max(values)
        step = math.gcd(
            *values,
            *([self.base.recording.snapshot_every] if self.base.recording.snapshot_every else []),
        )
        at_largest = iterations.values[values.index(largest)]
        if iterations is self.axes[-1]:
            place = (place[0], self.columns.index(at_largest))
        else:
            place = (self.rows.index(at_largest), place[1])
        final = tuple(_with_iterations(label, str(largest)) for label in labels)
        every = ",".join(iterations.values)
        job_labels = tuple(_with_iterations(label, every) for label in labels)
        job = config.replace(iterations=largest, snapshot_every=step)
        index = self._add_job(job, place, final, job_labels)
        if not any(note.startswith("iterations:") for note in self.notes):
            self.notes.append(
                f"iterations: one run to {largest} iterations for each "
                f"{'sweep' if len(self.axes) == 1 else 'value of the other setting'}, "
                f"a snapshot every {step}; each cell is the snapshot at its value"
            )
        return index

    def _add_job(
        self,
        config: RunConfig,
        place: tuple[int, int],
        file_labels: tuple[str, ...],
        labels: tuple[str, ...],
    ) -> int:
        """A job for `config` whose picture is named for the cell at `place`; its index."""
        output = cell_output_path(self.cells_folder, *place, file_labels)
        self.jobs.append(SweepJob(_job_config(config, output), labels))
        return len(self.jobs) - 1

    def plan(self) -> SweepPlan:
        first, last = self.axes[0].name, self.axes[-1].name
        rows = tuple(value_label(first, value) for value in self.rows) if first != last else ("",)
        varied = {axis.name for axis in self.axes}
        return SweepPlan(
            self.axes,
            rows,
            tuple(value_label(last, value) for value in self.columns),
            tuple(self.cells),
            tuple(self.jobs),
            tuple(self.notes),
            sweep_title(self.base, varied),
            self.base.inputs.output,
            self.base,
        )


def _with_iterations(label: str, value: str) -> str:
    return f"iterations={value}" if label.startswith("iterations=") else label


def _check_axes(axes: tuple[Axis, ...]) -> None:
    if not axes:
        raise ConfigError("a sweep needs one or two settings to vary (NAME=V1,V2,...), got none")
    if len(axes) > MAX_AXES:
        names = ", ".join(axis.name for axis in axes)
        raise ConfigError(
            f"a sweep varies one or two settings (the grid's rows and columns), got "
            f"{len(axes)}: {names}"
        )
    names = [axis.name for axis in axes]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{name} is varied twice; give each setting once")
    if {"style-scale", "style-size"} <= set(names):
        raise ConfigError(
            "style-scale and style-size are two ways to say one thing: vary one of them"
        )
    cells = math.prod(len(axis.values) for axis in axes)
    if cells > MAX_CELLS:
        sizes = " x ".join(str(len(axis.values)) for axis in axes)
        raise ConfigError(f"a sweep of {sizes} = {cells} cells is too large (at most {MAX_CELLS})")


def _cell_config(
    base: RunConfig, settings: list[tuple[str, str]], looks: Mapping[str, RunConfig] | None
) -> RunConfig:
    """`base` with the cell's values; a preset, style or content first (each replaces much)."""
    ordered = sorted(settings, key=lambda pair: pair[0] not in FIRST)
    config = base
    for name, value in ordered:
        config = apply_setting(config, name, value, looks=looks)
    return config


def _job_config(config: RunConfig, output: Path) -> RunConfig:
    return config.replace(output=output, overwrite=False)


def cell_output_path(folder: Path, row: int, column: int, labels: tuple[str, ...]) -> Path:
    """`GRID.cells/r1c2-lr=1.png` (row and column from 0), never an existing file's name."""
    from nst_engine.running.outputs import unique_path

    return unique_path(cell_file(folder, row, column, labels))


def cell_file(folder: Path, row: int, column: int, labels: tuple[str, ...]) -> Path:
    """A cell's own name in `folder`, `r1c2-lr=1.png`, whether or not a file has it."""
    words = re.sub(r"[^A-Za-z0-9=.,+_-]+", "_", "-".join(labels))[:80]
    return folder / f"r{row + 1}c{column + 1}-{words}.png"


def sweep_title(base: RunConfig, varied: Collection[str] = ()) -> str:
    """`astronaut in the style of mosaic · 128 px, 100 iterations, L-BFGS lr 1, style weight 10, ...`: the
    images and the settings every cell shares (the varied ones left out)."""
    from nst_engine.settings.gallery import gallery_name_of

    def name(path: Path | None) -> str:
        return (gallery_name_of(path) or path.stem) if path else "?"

    styles = " + ".join(name(path) for path in base.styles)
    images = f"{name(base.inputs.content)} in the style of {styles}"
    if "content" in varied:
        images = f"in the style of {styles}"
    if "style" in varied:
        images = name(base.inputs.content)
    parts = []
    shared = [
        ("size", f"{base.plan.size} px"),
        (
            "iterations",
            f"{base.plan.iterations} iteration{'' if base.plan.iterations == 1 else 's'}",
        ),
        (
            "optimizer",
            base.plan.optimizer.label
            + ("" if "lr" in varied else f" lr {base.plan.optimizer.lr:g}"),
        ),
        ("style-weight", f"style weight {base.look.style_weight:g}"),
        ("tv-weight", f"TV weight {base.look.tv_weight:g}"),
        ("style-scale", f"style scale {base.look.style_scale:g}" if base.look.style_scale else ""),
        (
            "preserve-color",
            f"colour {base.look.preserve_color}" if base.look.preserve_color != "off" else "",
        ),
    ]
    if "preset" in varied:  # each cell has its preset's settings, its size and iterations too
        shared = []
    for setting, text in shared:
        if setting not in varied and text:
            parts.append(text)
    return f"{images} · {', '.join(parts)}"

"""Sweeps: one or two settings varied over given values, run as jobs, shown as a grid.

    axes = [parse_vary("style-weight=3,10,30"), parse_vary("style-scale=0.5,1,2")]
    plan = plan_sweep(base, axes)     # base.output is the grid's path
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
elsewhere), where each value runs on its own. A `preset` value gives the cell the preset's
look and keeps the base's images, sizes (coarse to fine included), iterations, device,
seed, weights, speed switches and output.

No torch here: the command line checks a whole sweep before anything heavy loads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from nst_engine.store.runs import RunFolder

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
    base: RunConfig, axes: Sequence[Axis], *, looks: Mapping[str, RunConfig] | None = None
) -> SweepPlan:
    """The jobs and cells of a sweep of `base` (whose output is the grid's path) over one or
    two axes. Every value is applied now: a bad one is a ConfigError before anything runs.
    `looks`: what a preset value stands for, where not the preset alone (apply_setting)."""
    axes = tuple(Axis(canonical_name(axis.name), tuple(axis.values)) for axis in axes)
    _check_axes(axes)
    if base.output is None:
        raise ConfigError("no output path for the grid given (-o GRID.png)")
    rows = axes[0].values if len(axes) > 1 else ("",)
    columns = axes[-1].values
    cells_folder = base.output.with_suffix(".cells")
    iterations = next((axis for axis in axes if axis.name == "iterations"), None)
    jobs: list[SweepJob] = []
    cells: list[Cell] = []
    notes: list[str] = []
    shared: dict[str, int] = {}  # the other axis's value -> the job that runs its iterations
    for row, row_value in enumerate(rows):
        for column, column_value in enumerate(columns):
            settings = [(axes[-1].name, column_value)]
            if len(axes) > 1:
                settings.insert(0, (axes[0].name, row_value))
            config = _cell_config(base, settings, looks)
            labels = tuple(f"{name}={value_label(name, value)}" for name, value in settings)
            if iterations is not None and config.min_size > 0 and not notes:
                notes.append(
                    "coarse to fine is on (min_size > 0): each iterations value runs on its "
                    "own, as a shorter run spends its iterations at other scales"
                )
            if iterations is None or config.min_size > 0:
                output = cell_output_path(cells_folder, row, column, labels)
                jobs.append(SweepJob(_job_config(config, output), labels))
                cells.append(Cell(row, column, labels, len(jobs) - 1, None))
                continue
            # One run to the largest value, with a snapshot at each of the others.
            values = [int(value) for value in iterations.values]
            largest = max(values)
            other = next((value for name, value in settings if name != "iterations"), "")
            if other not in shared:
                step = math.gcd(*values, *([base.snapshot_every] if base.snapshot_every else []))
                at_largest = iterations.values[values.index(largest)]
                place = (
                    (row, columns.index(at_largest))
                    if iterations is axes[-1]
                    else (rows.index(at_largest), column)
                )
                final = tuple(_with_iterations(label, str(largest)) for label in labels)
                job = config.replace(iterations=largest, snapshot_every=step)
                output = cell_output_path(cells_folder, *place, final)
                every = ",".join(iterations.values)
                job_labels = tuple(_with_iterations(label, every) for label in labels)
                jobs.append(SweepJob(_job_config(job, output), job_labels))
                shared[other] = len(jobs) - 1
                if not any(note.startswith("iterations:") for note in notes):
                    notes.append(
                        f"iterations: one run to {largest} iterations for each "
                        f"{'sweep' if len(axes) == 1 else 'value of the other setting'}, "
                        f"a snapshot every {step}; each cell is the snapshot at its value"
                    )
            at = None if config.iterations == largest else config.iterations
            cells.append(Cell(row, column, labels, shared[other], at))
    varied = {axis.name for axis in axes}
    return SweepPlan(
        axes,
        tuple(value_label(axes[0].name, value) for value in rows) if len(axes) > 1 else ("",),
        tuple(value_label(axes[-1].name, value) for value in columns),
        tuple(cells),
        tuple(jobs),
        tuple(notes),
        sweep_title(base, varied),
        base.output,
        base,
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

    words = re.sub(r"[^A-Za-z0-9=.,+_-]+", "_", "-".join(labels))[:80]
    return unique_path(folder / f"r{row + 1}c{column + 1}-{words}.png")


def sweep_title(base: RunConfig, varied: Collection[str] = ()) -> str:
    """`astronaut in the style of mosaic · 128 px, 100 iterations, L-BFGS lr 1, style weight 10, ...`: the
    images and the settings every cell shares (the varied ones left out)."""
    from nst_engine.settings.gallery import gallery_name_of

    def name(path: Path | None) -> str:
        return (gallery_name_of(path) or path.stem) if path else "?"

    styles = " + ".join(name(path) for path in base.styles)
    images = f"{name(base.content)} in the style of {styles}"
    if "content" in varied:
        images = f"in the style of {styles}"
    if "style" in varied:
        images = name(base.content)
    parts = []
    shared = [
        ("size", f"{base.size} px"),
        ("iterations", f"{base.iterations} iteration{'' if base.iterations == 1 else 's'}"),
        (
            "optimizer",
            base.optimizer.label + ("" if "lr" in varied else f" lr {base.optimizer.lr:g}"),
        ),
        ("style-weight", f"style weight {base.style_weight:g}"),
        ("tv-weight", f"TV weight {base.tv_weight:g}"),
        ("style-scale", f"style scale {base.style_scale:g}" if base.style_scale else ""),
        ("preserve-color", f"colour {base.preserve_color}" if base.preserve_color != "off" else ""),
    ]
    if "preset" in varied:  # each cell has its preset's look: only the frame is shared
        shared = shared[:2]
    for setting, text in shared:
        if setting not in varied and text:
            parts.append(text)
    return f"{images} · {', '.join(parts)}"


def create_run_folders(plan: SweepPlan, root: Path | None = None) -> list[RunFolder]:
    """The cells folder beside the grid, and a run folder per job (status `queued`, labelled
    with its cell's values, all sharing one sweep id), in plan.jobs' order."""
    import time

    from nst_engine.errors import OutputError
    from nst_engine.store.runs import RunFolder

    if plan.cells_folder is not None:
        try:
            plan.cells_folder.mkdir(exist_ok=True)
        except OSError as error:
            raise OutputError(
                f"cannot create '{plan.cells_folder}' for the cells' images: "
                f"{error.strerror or error}"
            ) from None
    stem = plan.grid.stem if plan.grid else "sweep"
    sweep_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}"
    folders: list[RunFolder] = []
    try:
        for job in plan.jobs:
            folders.append(RunFolder.create(job.config, root, sweep=sweep_id, labels=job.labels))
    except BaseException:
        discard_sweep(plan, folders)
        raise
    return folders


def discard_sweep(plan: SweepPlan, folders: Sequence[RunFolder]) -> None:
    """Undo create_run_folders for a sweep refused before it ran: its run folders, and the
    cells folder if nothing else is in it (what cannot be removed is left, quietly)."""
    import contextlib

    from nst_engine.errors import NSTError
    from nst_engine.store.runs import delete_run

    for folder in folders:
        with contextlib.suppress(NSTError, OSError):
            delete_run(folder)
    if plan.cells_folder is not None:
        with contextlib.suppress(OSError):
            plan.cells_folder.rmdir()  # only when empty: never another sweep's pictures


SWEEP_FILE = "sweep.toml"  # in the cells folder: what `nst-tui sweep --resume` reads


def save_sweep(plan: SweepPlan, folders: Sequence[RunFolder], cell_size: int) -> Path:
    """Write what the sweep is (base settings, axes, its run folders in job order) into
    GRID.cells/sweep.toml, so that a stopped sweep can go on and its grid be made again."""
    from nst_engine.errors import OutputError
    from nst_engine.settings.toml_text import dumps
    from nst_engine.store.safe_files import write_atomically

    assert plan.cells_folder is not None and plan.base is not None
    data = {
        "sweep": folders[0].record().sweep or "",
        "grid": str(plan.grid),
        "cell_size": cell_size,
        "runs": [str(folder.path) for folder in folders],
        "vary": {axis.name: list(axis.values) for axis in plan.axes},
        "base": plan.base.to_dict(),
    }
    path = plan.cells_folder / SWEEP_FILE
    try:
        write_atomically(path, dumps(data).encode())  # never through a planted link
    except OSError as error:
        raise OutputError(f"could not write '{path}': {error.strerror or error}") from None
    return path


def load_sweep(path: Path) -> tuple[SweepPlan, list[RunFolder], int]:
    """A saved sweep (GRID.cells/sweep.toml): its plan, its run folders and cell size."""
    from nst_engine.settings.config import read_toml_file
    from nst_engine.store.runs import RunFolder

    data = read_toml_file(path, "sweep record")
    try:
        base = RunConfig.from_dict(data["base"], source=f"sweep record '{path}'")
        axes = [Axis(name, tuple(values)) for name, values in data["vary"].items()]
        folders = [RunFolder(Path(folder)) for folder in data["runs"]]
        cell_size = parse_cell_size(data["cell_size"], f"the cell size in '{path}'")
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigError(f"'{path}' is not a sweep record nst-tui wrote") from None
    for folder in folders:
        folder.record()  # a folder deleted since: say which, in one line
    _check_grid_beside(base.output, path)
    plan = plan_sweep(base, axes)
    if len(plan.jobs) != len(folders):
        raise ConfigError(f"'{path}' names {len(folders)} runs for {len(plan.jobs)} jobs")
    return plan, folders, cell_size


def _check_grid_beside(grid: Path | None, record: Path) -> None:
    """The grid a sweep record names must be the one its cells folder belongs to (GRID.png
    for GRID.cells/sweep.toml): a record edited to name another file would have `--resume`
    write the grid over it."""
    import os

    cells = Path(os.path.abspath(record)).parent
    if grid is None or Path(os.path.abspath(grid)).with_suffix(".cells") != cells:
        raise ConfigError(
            f"'{record}' names its grid '{grid}', not one beside {cells.name}; refusing to "
            "write there"
        )


# --- the pictures of a running or finished sweep ----------------------------------------------


def cell_picture(plan: SweepPlan, cell: Cell, folders: Sequence[RunFolder]) -> Path | None:
    """The cell's image once there is one: its job's result, or the snapshot at its iteration."""
    folder = folders[cell.job]
    if cell.iteration is None:
        return folder.result_path if folder.result_path.is_file() else None
    return folder.snapshots().get(cell.iteration)


def cell_state(plan: SweepPlan, cell: Cell, folders: Sequence[RunFolder]) -> str:
    """A word for a cell without a picture: queued, running, stopped, failed."""
    from nst_engine.store.runs import FINISHED, INTERRUPTED

    status = folders[cell.job].record().status
    if status == FINISHED:  # finished, yet no picture: a snapshot that could not be saved
        return "missing"
    return "stopped" if status == INTERRUPTED else status


def render_grid(plan: SweepPlan, folders: Sequence[RunFolder], cell_size: int = 192):
    """The sweep's grid as it stands: finished cells' pictures, a word for the others."""
    from nst_engine.sweeps.grid import compose_grid

    pictures: list[list[Path | str]] = [[""] * len(plan.columns) for _ in plan.rows]
    for cell in plan.cells:
        picture = cell_picture(plan, cell, folders)
        pictures[cell.row][cell.column] = (
            picture if picture is not None else cell_state(plan, cell, folders)
        )
    return compose_grid(
        pictures,
        plan.rows if any(plan.rows) else [],
        plan.columns,
        title=plan.title,
        row_title=plan.row_title,
        column_title=plan.column_title,
        cell_size=cell_size,
    )


def write_grid(
    plan: SweepPlan, folders: Sequence[RunFolder], path: Path, cell_size: int = 192
) -> Path:
    """Write the grid as it stands to `path`, atomically (a viewer never sees half a grid)."""
    from nst_engine.running.images import save_image

    note = f"# nst-tui sweep: {plan.title}"
    return save_image(render_grid(plan, folders, cell_size), path, note, overwrite=True)


def read_sweep_file(path: Path) -> tuple[dict[str, Any], list[Axis]]:
    """A sweep file: a `[vary]` table (`lr = [0.5, 1, 2]`, in order: rows, then columns) and
    run settings as in settings.toml (plus `preset`); the settings and the axes."""
    from nst_engine.settings.config import read_toml_file

    data = read_toml_file(path, "sweep file")
    vary = data.pop("vary", None)
    if not isinstance(vary, dict) or not vary:
        raise ConfigError(
            f"sweep file '{path}' has no [vary] table (e.g. [vary] then lr = [0.5, 1, 2])"
        )
    axes = []
    for name, values in vary.items():
        if isinstance(values, str):
            values = values.split(",")
        if not isinstance(values, list):
            raise ConfigError(
                f"sweep file '{path}': vary.{name} must be a list of values, got {values!r}"
            )
        try:
            axes.append(make_axis(name, values))
        except ConfigError as error:
            raise ConfigError(f"sweep file '{path}': {error.message}") from None
    return data, axes

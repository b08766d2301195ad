"""A sweep on disk: its run folders (one per job, sharing a sweep id), its record
GRID.cells/sweep.toml (what it is, so that a stopped sweep can go on, from the command line or
the app), and finding that record again from a grid's path or a sweep's id.

The `Sweep` (nst_engine/sweeps/sweep.py) calls these; cheap to import (no torch).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_engine.errors import ConfigError
from nst_engine.settings.config import RunConfig
from nst_engine.sweeps.plan import Axis, SweepPlan, make_axis, parse_cell_size, plan_sweep

if TYPE_CHECKING:
    from nst_engine.store.runs import RunFolder

SWEEP_FILE = "sweep.toml"  # in the cells folder: what `nst-tui sweep --resume` reads


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
    _check_grid_beside(base.inputs.output, path)
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


def find_sweep(text: str, root: Path | str | None = None) -> Path:
    """The sweep record of a grid (`grid.png`), its cells folder, the record itself, or a sweep
    id (or its start) among the runs in `root` (None: the default runs folder)."""
    from nst_engine.store.runs import list_runs, shorten

    path = Path(text).expanduser()
    if _is_file(path) and path.suffix == ".toml":
        return path
    folder = path if path.suffix == ".cells" else _cells_of(path)
    if folder is not None and _is_file(folder / SWEEP_FILE):
        return folder / SWEEP_FILE
    for record in list_runs(Path(root) if root else None):
        if record.sweep and record.sweep.startswith(text) and record.output:
            candidate = Path(record.output).parent / SWEEP_FILE
            if candidate.is_file():
                return candidate
    raise ConfigError(
        f"no sweep '{shorten(text)}' found: give its grid's path or its id (`nst-tui runs "
        "--json` shows each run's sweep)"
    )


def _is_file(path: Path) -> bool:
    """False too for what cannot be a path (too long a name for the system, a NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _cells_of(path: Path) -> Path | None:
    try:
        return path.with_suffix(".cells")
    except ValueError:  # no name to put a suffix on (`/`, `.`)
        return None


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

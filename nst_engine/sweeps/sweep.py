"""A sweep as the engine runs it, for the command line and the app alike: its plan, its run
folders and record (made and saved together), its jobs for a queue, and its grid drawn again
as the cells come.

    sweep = Sweep.start(plan_sweep(base, ["lr=0.5,1,2"]))  # run folders + GRID.cells/sweep.toml
    sweep = Sweep.find("grid.png")                         # a saved one (either face's), to go on
    for job in sweep.jobs():                               # what is left to run, in plan order
        queue.submit(job)
    ...                                                    # as the queue's items come:
    if sweep.changes_grid(item):
        sweep.draw()                                       # or sweep.grid.request(): in a thread
    sweep.draw()                                           # at the end

Drawing copies the cells taken from an iterations run's snapshots beside the others in
GRID.cells/ (never over a file), then writes the grid, atomically, with a word for each cell
without a picture yet (queued, running, stopped, failed). How the plan is made:
nst_engine/sweeps/plan.py; how it is saved and found: nst_engine/sweeps/saved.py. Cheap to
import (no torch): the command line checks a whole sweep before anything heavy loads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from nst_engine.errors import InternalError, NSTError
from nst_engine.sweeps.plan import Cell, SweepPlan

if TYPE_CHECKING:
    from nst_engine.jobs.queue import Job, JobEnded, JobEvent
    from nst_engine.store.runs import RunFolder

# A grid cell's longest side, px, unless asked otherwise (the command line's --cell-size).
DEFAULT_CELL_SIZE = 256

log = logging.getLogger("nst.engine")


class Sweep:
    """A sweep's plan, its run folders (one per job, in plan.jobs' order, sharing a sweep id)
    and its grid. `start` makes a new one; `load` and `find` a saved one, whose jobs resume."""

    def __init__(
        self,
        plan: SweepPlan,
        folders: Sequence[RunFolder],
        cell_size: int = DEFAULT_CELL_SIZE,
        *,
        resuming: bool = False,
    ) -> None:
        self.plan = plan
        self.folders = list(folders)
        self.cell_size = cell_size
        self.resuming = resuming  # saved before: its unfinished runs go on from their folders
        self.id = self.folders[0].record().sweep or self.folders[0].id
        self.path = cast(Path, plan.grid)  # the grid
        self.grid = SweepGrid(self)
        self._numbers = {folder.id: number for number, folder in enumerate(self.folders)}
        self._copied: set[Cell] = set()  # snapshot cells copied into GRID.cells/ already

    @classmethod
    def start(
        cls, plan: SweepPlan, cell_size: int = DEFAULT_CELL_SIZE, root: Path | None = None
    ) -> Sweep:
        """A new sweep of `plan`: its cells folder, a `queued` run folder per job (in `root`,
        None: the default runs folder) and its record GRID.cells/sweep.toml, so that either
        front end can resume it. Nothing is left behind if any of these cannot be made."""
        from nst_engine.sweeps.saved import create_run_folders, discard_sweep, save_sweep

        folders = create_run_folders(plan, root)
        try:
            save_sweep(plan, folders, cell_size)
        except BaseException:
            discard_sweep(plan, folders)  # a sweep that could not be resumed does not start
            raise
        return cls(plan, folders, cell_size)

    @classmethod
    def load(cls, record: Path) -> Sweep:
        """The sweep saved in `record` (GRID.cells/sweep.toml), to go on with."""
        from nst_engine.sweeps.saved import load_sweep

        plan, folders, cell_size = load_sweep(record)
        return cls(plan, folders, cell_size, resuming=True)

    @classmethod
    def find(cls, text: str, root: Path | str | None = None) -> Sweep:
        """The saved sweep that `text` names: its grid, its cells folder, its record, or its
        id (or the id's start) among the runs in `root`."""
        from nst_engine.sweeps.saved import find_sweep

        return cls.load(find_sweep(text, root))

    # --- what runs -----------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """What is left to run, as jobs for the engine's queue, in plan order: every job of a
        new sweep; of a saved one, the runs not finished, each resumed from its folder (a
        stopped one from its checkpoint). NotResumable, before any is touched, when one cannot
        be (still running)."""
        from nst_engine.jobs.queue import Job
        from nst_engine.store.resume import NotResumable, resumable, resume
        from nst_engine.store.runs import FINISHED

        if not self.resuming:
            pairs = zip(self.plan.jobs, self.folders, strict=True)
            return [Job(folder.id, job.config, folder) for job, folder in pairs]
        left = [folder for folder in self.folders if folder.record().status != FINISHED]
        for folder in left:
            reason = resumable(folder)
            if reason is not None:
                raise NotResumable(reason)
        return [resume(folder).job for folder in left]

    def labels(self, job_id: str) -> tuple[str, ...]:
        """The values of the job's cell, e.g. ("lr=1", "style-weight=100")."""
        return self.plan.jobs[self._numbers[job_id]].labels

    def label(self, job_id: str) -> str:
        return ", ".join(self.labels(job_id))

    def resumable_runs(self) -> list[RunFolder]:
        """The runs that `Sweep.find(...).jobs()` would take up again (all but the finished)."""
        from nst_engine.store.resume import resumable

        return [folder for folder in self.folders if resumable(folder) is None]

    # --- the grid ------------------------------------------------------------------------------

    def changes_grid(self, item: JobEvent | JobEnded) -> bool:
        """Whether the grid changes with this item of the queue: a job began (its cells say
        running), took a snapshot that is a cell's picture, or ended."""
        from nst_engine.jobs.queue import JobEnded
        from nst_engine.running.events import Snapshot, Started

        if isinstance(item, JobEnded) or isinstance(item.event, Started):
            return True
        if not isinstance(item.event, Snapshot):
            return False
        number = self._numbers.get(item.job_id)
        return any(
            cell.job == number and cell.iteration == item.event.index for cell in self.plan.cells
        )

    def cells_done(self) -> int:
        """How many cells have their picture."""
        return sum(
            cell_picture(self.plan, cell, self.folders) is not None for cell in self.plan.cells
        )

    def grid_image(self):
        """The grid as it stands, as a picture (PIL), not written anywhere."""
        return render_grid(self.plan, self.folders, self.cell_size)

    def draw(self) -> Path:
        """The grid as it stands, written again to its path (atomically: a viewer never sees
        half a grid), after the snapshot cells that came are copied into GRID.cells/. An
        NSTError (one line) or OSError if the grid cannot be written."""
        self._copy_snapshot_cells()
        return write_grid(self.plan, self.folders, self.path, self.cell_size)

    def _copy_snapshot_cells(self) -> None:
        """Put the cells taken from snapshots beside the others in GRID.cells/, each once:
        never over a file, and not again where an earlier draw (or session) put it."""
        import contextlib
        import filecmp

        from nst_engine.running.outputs import unique_path
        from nst_engine.store.safe_files import write_atomically
        from nst_engine.sweeps.plan import cell_file

        folder = self.plan.cells_folder
        for cell in self.plan.cells:
            if folder is None or cell.iteration is None or cell in self._copied:
                continue
            picture = cell_picture(self.plan, cell, self.folders)
            if picture is None:
                continue
            self._copied.add(cell)
            target = cell_file(folder, cell.row, cell.column, cell.labels)
            with contextlib.suppress(OSError):
                if target.is_file() and filecmp.cmp(picture, target, shallow=False):
                    continue  # copied by a run of this sweep before it was resumed
                write_atomically(unique_path(target), picture.read_bytes(), replace=False)


class SweepGrid:
    """A sweep's grid drawn again in a thread of its own each time it is asked to, for a front
    end that must not wait for Pillow: at most one drawing at a time, the last request always
    honoured. `version` counts the drawings; `error` says why the last one failed, if it did."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.path = sweep.path
        self.version = 0
        self.error = ""
        self._lock = threading.Lock()
        self._dirty = False
        self._writing = False

    def request(self) -> None:
        """Draw the grid as it stands now (soon, in a thread of its own)."""
        with self._lock:
            self._dirty = True
            if self._writing:
                return
            self._writing = True
        threading.Thread(target=self._draw_loop, name="nst-sweep-grid", daemon=True).start()

    def _draw_loop(self) -> None:
        while True:
            with self._lock:
                if not self._dirty:
                    self._writing = False
                    return
                self._dirty = False
            try:
                self.sweep.draw()
                self.error = ""
                self.version += 1
            except NSTError as error:
                self.error = error.message
            except Exception as error:  # a bug: logged with its traceback, one line to show
                log.exception("drawing the grid of sweep %s failed", self.sweep.id)
                self.error = InternalError.of(error).message


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


def render_grid(plan: SweepPlan, folders: Sequence[RunFolder], cell_size: int = DEFAULT_CELL_SIZE):
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
    plan: SweepPlan, folders: Sequence[RunFolder], path: Path, cell_size: int = DEFAULT_CELL_SIZE
) -> Path:
    """Write the grid as it stands to `path`, atomically (a viewer never sees half a grid)."""
    from nst_engine.running.images import save_image

    note = f"# nst-tui sweep: {plan.title}"
    return save_image(render_grid(plan, folders, cell_size), path, note, overwrite=True)

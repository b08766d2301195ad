"""How `nst-tui sweep` (nst_tui/cli/sweep_command.py) runs a planned sweep: its jobs through a JobQueue, progress on stderr
(a bar per running cell and one for the cells, on a terminal; a line per event always), the
grid written again whenever a cell's picture comes, and the exit status.
"""

from __future__ import annotations

import contextlib
import signal

from nst_engine.errors import ConfigError, InternalError, NSTError


def drive_sweep(
    plan,
    folders,
    cell_size: int,
    slots: list[str] | None = None,
    *,
    resume: bool = False,
    cluster=None,
) -> int:
    """Run the plan's jobs (in `folders`) through a job queue with a progress display on
    stderr, writing the grid as cells come; the exit status. `resume`: the folders' runs
    that have not finished go on (from their checkpoints), with their own settings.
    `cluster`: a connected Ray cluster (nst_engine/jobs/cluster.py) whose slots run the jobs."""
    # torch (through the engine) and Rich load only now that the sweep is known to be good.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nst_engine.jobs.queue import Job, JobEnded, JobQueue, LocalExecutor, local_slots
    from nst_tui.cli.headless import StopRequest

    console = Console(stderr=True)
    if not console.is_terminal:
        console.soft_wrap = True  # a log file: each message whole on one line
    jobs = [
        Job(folder.id, folder.config() if resume else job.config, folder)
        for job, folder in zip(plan.jobs, folders, strict=True)
    ]
    sweep = _SweepView(plan, folders, jobs, cell_size, console)
    to_run = sweep.take_up(jobs) if resume else jobs
    executor = LocalExecutor
    if cluster is not None:
        slots, executor = slots or cluster.slots(), cluster.executor
        for note in cluster.notes:
            _say(console, f"note: {note}")
    slots = slots or local_slots(plan.jobs[0].config.device)
    _say(console, f"sweep {folders[0].record().sweep}: {plan.title}")
    runs = "1 run" if len(jobs) == 1 else f"{len(jobs)} runs"
    where = f"on {', '.join(slots)} at once" if len(slots) > 1 else "one at a time"
    _say(console, f"{len(plan.cells)} cells, {runs}, {where}")
    if resume:
        _say(console, f"resuming: {len(jobs) - len(to_run)} runs finished, {len(to_run)} to go")
    for note in plan.notes:
        _say(console, f"note: {note}")
    sweep.write_grid()
    _say(console, f"grid: {plan.grid} (filled in as the cells finish)")
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    sweep.progress = progress
    sweep.overall = progress.add_task("cells", total=len(plan.cells))
    sweep.refresh()
    stopped_by = None
    try:
        with StopRequest() as stop, JobQueue(slots, executor) as queue, progress:
            for job in to_run:
                queue.submit(job)
            try:
                while len(sweep.outcomes) < len(jobs):
                    if stop.signal_name is not None and stopped_by is None:
                        stopped_by = stop.signal_name
                        _say(console, "stopping: the running cell keeps its image so far")
                        queue.cancel_all()
                    item = queue.next_event(timeout=0.2)
                    if isinstance(item, JobEnded):
                        sweep.ended(item)
                    elif item is not None:
                        sweep.event(item)
            except KeyboardInterrupt:  # a second Ctrl+C: stop now (closing the queue waits
                stopped_by = "SIGINT"  # for the running iteration, which keeps its image)
    except KeyboardInterrupt:  # yet another while the queue closes: leave without waiting
        stopped_by = "SIGINT"
    return sweep.finish(stopped_by)


class _SweepView:
    """What the sweep command shows and writes as its jobs' events come."""

    def __init__(self, plan, folders, jobs, cell_size: int, console) -> None:
        self.plan, self.folders, self.jobs = plan, folders, jobs
        self.cell_size, self.console = cell_size, console
        self.index = {job.id: number for number, job in enumerate(jobs)}
        self.outcomes: dict[str, object] = {}
        self.progress = None
        self.overall = None
        self.tasks: dict[str, int] = {}
        self.grid_failed = False
        self.notes_said: set[str] = set()

    def take_up(self, jobs):
        """The jobs a resumed sweep runs: all but the finished (counted done already)."""
        from nst_engine.jobs.queue import JobEnded
        from nst_engine.store.runs import FINISHED, RUNNING

        to_run = []
        for job in jobs:
            status = job.folder.record().status
            if status == RUNNING:
                raise ConfigError(f"run '{job.id}' of this sweep is still running; stop it first")
            if status == FINISHED:
                self.outcomes[job.id] = JobEnded(job.id, FINISHED)
            else:
                to_run.append(job)
        return to_run

    def label(self, job_id: str) -> str:
        return ", ".join(self.plan.jobs[self.index[job_id]].labels)

    def say(self, text: str) -> None:
        _say(self.console, text)

    def write_grid(self) -> None:
        from nst_engine.sweeps.sweep import write_grid

        try:
            write_grid(self.plan, self.folders, self.plan.grid, self.cell_size)
        except (NSTError, OSError) as error:
            if not self.grid_failed:
                self.say(f"warning: the grid could not be written: {error}")
            self.grid_failed = True

    def refresh(self) -> None:
        """Write the grid, and count the cells that have their picture."""
        from nst_engine.sweeps.sweep import cell_picture

        self.write_grid()
        if self.progress is not None:
            done = sum(
                cell_picture(self.plan, cell, self.folders) is not None for cell in self.plan.cells
            )
            self.progress.update(self.overall, completed=done)

    def event(self, item) -> None:
        from nst_engine.running.events import Cancelled, Finished, Snapshot, Started, Step

        event, job_id = item.event, item.job_id
        if isinstance(event, Started):
            folder = self.jobs[self.index[job_id]].folder
            resumed = f", resuming after {event.resumed_from}" if event.resumed_from else ""
            self.say(f"{self.label(job_id)}: run {folder.id} on {event.device}{resumed}")
            for note in event.notes:
                if note not in self.notes_said:  # the same for every cell: say it once
                    self.notes_said.add(note)
                    self.say(f"note: {note}")
            self.tasks[job_id] = self.progress.add_task(
                self.label(job_id), total=event.total, completed=event.resumed_from
            )
            self.refresh()  # its cells now say "running"
        elif isinstance(event, Step) and job_id in self.tasks:
            self.progress.update(self.tasks[job_id], completed=event.index)
        elif isinstance(event, Snapshot):
            number = self.index[job_id]
            if any(c.job == number and c.iteration == event.index for c in self.plan.cells):
                self.refresh()
        elif isinstance(event, Finished):
            self.say(f"{self.label(job_id)}: done in {event.seconds:.1f} s: {event.path}")
        elif isinstance(event, Cancelled):
            where = f"; the image so far is in {event.partial_path}" if event.partial_path else ""
            self.say(f"{self.label(job_id)}: stopped after {event.index} iterations{where}")

    def ended(self, item) -> None:
        self.outcomes[item.job_id] = item
        if item.job_id in self.tasks:
            self.progress.remove_task(self.tasks.pop(item.job_id))
        if item.status == "failed":
            self.say(f"{self.label(item.job_id)}: failed: {item.error.message}")
        self.refresh()

    def finish(self, stopped_by: str | None) -> int:
        """Write the last grid, say how it went, print the grid's path; the exit status."""
        copy_snapshot_cells(self.plan, self.folders)
        self.write_grid()
        statuses = [getattr(self.outcomes.get(job.id), "status", "stopped") for job in self.jobs]
        finished = statuses.count("finished")
        self.say(f"{finished} of {len(self.jobs)} runs finished; grid: {self.plan.grid}")
        resumable = [
            job.id
            for job, status in zip(self.jobs, statuses, strict=True)
            if status != "finished" and job.folder.record().resumable
        ]
        if stopped_by is not None and resumable:
            self.say(f"to go on: nst-tui sweep --resume {self.plan.grid}")
        with contextlib.suppress(OSError, ValueError):
            print(self.plan.grid)  # stdout: the grid's path, for scripts
        if stopped_by is not None:
            return 128 + int(getattr(signal, stopped_by, signal.SIGINT))
        errors = [o.error for o in self.outcomes.values() if getattr(o, "error", None)]
        if any(isinstance(error, InternalError) for error in errors):
            return 1
        return 2 if errors else 0


def copy_snapshot_cells(plan, folders) -> None:
    """Put the cells taken from snapshots beside the others in GRID.cells/ (never over a file)."""
    from nst_engine.store import safe_files
    from nst_engine.sweeps.sweep import cell_output_path, cell_picture

    if plan.cells_folder is None:
        return
    for cell in plan.cells:
        picture = cell_picture(plan, cell, folders) if cell.iteration is not None else None
        if picture is not None:
            target = cell_output_path(plan.cells_folder, cell.row, cell.column, cell.labels)
            with contextlib.suppress(OSError):
                safe_files.write_atomically(target, picture.read_bytes(), replace=False)


def _say(console, text: str) -> None:
    """A line on stderr, as written (file and setting names may hold Rich's [brackets])."""
    from rich.markup import escape

    from nst_tui.cli.headless import _say as say_unless_gone

    say_unless_gone(console, escape(text))

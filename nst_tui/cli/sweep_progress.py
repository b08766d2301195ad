"""How `nst-tui sweep` (nst_tui/cli/sweep_command.py) shows an engine Sweep as it runs: its
jobs through a JobQueue, progress on stderr (a bar per running cell and one for the cells, on a
terminal; a line per event always), the grid drawn again by the Sweep whenever a cell's
picture comes, and the exit status.
"""

from __future__ import annotations

import contextlib
import signal

from nst_engine.errors import InternalError, NSTError


def drive_sweep(sweep, jobs, slots: list[str] | None = None, *, cluster=None) -> int:
    """Run `jobs` (`sweep.jobs()`: all of a new sweep's, the unfinished of a resumed one)
    through a job queue with a progress display on stderr, the grid drawn as cells come; the
    exit status. `cluster`: a connected Ray cluster (nst_engine/jobs/cluster.py) whose slots
    run the jobs."""
    # torch (through the engine) and Rich load only now that the sweep is known to be good.
    from rich.console import Console

    from nst_engine.jobs.queue import LocalExecutor, local_slots

    console = Console(stderr=True)
    if not console.is_terminal:
        console.soft_wrap = True  # a log file: each message whole on one line
    view = _SweepView(sweep, console)
    executor = LocalExecutor
    if cluster is not None:
        slots, executor = slots or cluster.slots(), cluster.executor
        for note in cluster.notes:
            _say(console, f"note: {note}")
    slots = slots or local_slots(sweep.plan.jobs[0].config.machine.device)
    _introduce(console, sweep, jobs, slots)
    view.draw()
    _say(console, f"grid: {sweep.path} (filled in as the cells finish)")
    view.progress = _progress_bars(console)
    view.overall = view.progress.add_task("cells", total=len(sweep.plan.cells))
    view.refresh()
    return view.finish(_run_jobs(view, jobs, slots, executor))


def _introduce(console, sweep, jobs, slots: list[str]) -> None:
    """Say what the sweep is: its title, cells, runs and where they run, its notes."""
    plan = sweep.plan
    _say(console, f"sweep {sweep.id}: {plan.title}")
    total = len(sweep.folders)
    runs = "1 run" if total == 1 else f"{total} runs"
    where = f"on {', '.join(slots)} at once" if len(slots) > 1 else "one at a time"
    _say(console, f"{len(plan.cells)} cells, {runs}, {where}")
    if sweep.resuming:
        _say(console, f"resuming: {total - len(jobs)} runs finished, {len(jobs)} to go")
    for note in plan.notes:
        _say(console, f"note: {note}")


def _progress_bars(console):
    """A bar per running cell and one for the cells, on a terminal (none in a log file)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def _run_jobs(view: _SweepView, jobs, slots: list[str], executor) -> str | None:
    """Run `jobs` through a job queue, showing their events in `view`, until all have ended
    or a signal stops them; the name of that signal (None when all ran)."""
    from nst_engine.jobs.queue import JobEnded, JobQueue
    from nst_tui.cli.stop_signals import StopRequest

    stopped_by = None
    try:
        with StopRequest() as stop, JobQueue(slots, executor) as queue, view.progress:
            for job in jobs:
                queue.submit(job)
            try:
                while len(view.ended) < len(jobs):
                    if stop.signal_name is not None and stopped_by is None:
                        stopped_by = stop.signal_name
                        view.say("stopping: the running cell keeps its image so far")
                        queue.cancel_all()
                    item = queue.next_event(timeout=0.2)
                    if isinstance(item, JobEnded):
                        view.ended_job(item)
                    elif item is not None:
                        view.event(item)
            except KeyboardInterrupt:  # a second Ctrl+C: stop now (closing the queue waits
                stopped_by = "SIGINT"  # for the running iteration, which keeps its image)
    except KeyboardInterrupt:  # yet another while the queue closes: leave without waiting
        stopped_by = "SIGINT"
    return stopped_by


class _SweepView:
    """What the sweep command shows as its jobs' events come (the Sweep draws the grid)."""

    def __init__(self, sweep, console) -> None:
        self.sweep, self.console = sweep, console
        self.ended: dict[str, object] = {}  # job id -> its JobEnded, for the jobs run here
        self.progress = None
        self.overall = None
        self.tasks: dict[str, int] = {}
        self.grid_failed = False
        self.notes_said: set[str] = set()

    def say(self, text: str) -> None:
        _say(self.console, text)

    def draw(self) -> None:
        try:
            self.sweep.draw()
        except (NSTError, OSError) as error:
            if not self.grid_failed:
                self.say(f"warning: the grid could not be written: {error}")
            self.grid_failed = True

    def refresh(self) -> None:
        """Draw the grid, and count the cells that have their picture."""
        self.draw()
        if self.progress is not None:
            self.progress.update(self.overall, completed=self.sweep.cells_done())

    def event(self, item) -> None:
        from nst_engine.running.events import Cancelled, Finished, Started, Step

        event, job_id = item.event, item.job_id
        label = self.sweep.label(job_id)
        if isinstance(event, Started):
            resumed = f", resuming after {event.resumed_from}" if event.resumed_from else ""
            self.say(f"{label}: run {job_id} on {event.device}{resumed}")
            for note in event.notes:
                if note not in self.notes_said:  # the same for every cell: say it once
                    self.notes_said.add(note)
                    self.say(f"note: {note}")
            self.tasks[job_id] = self.progress.add_task(
                label, total=event.total, completed=event.resumed_from
            )
        elif isinstance(event, Step) and job_id in self.tasks:
            self.progress.update(self.tasks[job_id], completed=event.index)
        elif isinstance(event, Finished):
            self.say(f"{label}: done in {event.seconds:.1f} s: {event.path}")
        elif isinstance(event, Cancelled):
            where = f"; the image so far is in {event.partial_path}" if event.partial_path else ""
            self.say(f"{label}: stopped after {event.index} iterations{where}")
        if self.sweep.changes_grid(item):
            self.refresh()

    def ended_job(self, item) -> None:
        self.ended[item.job_id] = item
        if item.job_id in self.tasks:
            self.progress.remove_task(self.tasks.pop(item.job_id))
        if item.status == "failed":
            self.say(f"{self.sweep.label(item.job_id)}: failed: {item.error.message}")
        self.refresh()

    def finish(self, stopped_by: str | None) -> int:
        """Draw the last grid, say how it went, print the grid's path; the exit status."""
        from nst_engine.store.runs import FINISHED

        self.draw()
        sweep = self.sweep
        finished = sum(folder.record().status == FINISHED for folder in sweep.folders)
        self.say(f"{finished} of {len(sweep.folders)} runs finished; grid: {sweep.path}")
        if stopped_by is not None and sweep.resumable_runs():
            self.say(f"to go on: nst-tui sweep --resume {sweep.path}")
        with contextlib.suppress(OSError, ValueError):
            print(sweep.path)  # stdout: the grid's path, for scripts
        if stopped_by is not None:
            return 128 + int(getattr(signal, stopped_by, signal.SIGINT))
        errors = [o.error for o in self.ended.values() if getattr(o, "error", None)]
        if any(isinstance(error, InternalError) for error in errors):
            return 1
        return 2 if errors else 0


def _say(console, text: str) -> None:
    """A line on stderr, as written (file and setting names may hold Rich's [brackets])."""
    from rich.markup import escape

    from nst_tui.cli.headless import _say as say_unless_gone

    say_unless_gone(console, escape(text))

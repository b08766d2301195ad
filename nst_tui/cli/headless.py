"""`nst-tui run` and `nst-tui resume`: one run with a Rich progress bar, recorded in its run
folder; Ctrl+C, SIGTERM and SIGHUP stop it cleanly, with a checkpoint to resume from.

The first Ctrl+C (or a dropped SSH session's SIGHUP, or SIGTERM) asks the run to stop: it
stops after the current iteration and keeps the image made so far beside the output. A
second Ctrl+C interrupts at once (the engine still saves the last checked image).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Container
from pathlib import Path

from nst_engine.errors import InternalError, NSTError
from nst_tui.cli.stop_signals import StopRequest


def run_headless(arguments: argparse.Namespace) -> int:
    from nst_engine.running.preflight import check_startable
    from nst_engine.store.runlog import setup_logging
    from nst_tui.cli.run_options import config_from_arguments

    setup_logging()
    config = config_from_arguments(arguments)
    # Every mistake that needs no torch, refused before torch loads (seconds) and before a
    # run folder is made (a refused command is no failed run in the history).
    check_startable(config)
    return _execute(config, arguments, None, _owned_name_notes(config, arguments))


def _owned_name_notes(config, arguments: argparse.Namespace) -> tuple[str, ...]:
    """A name given with -o that a running run will write is refused; one that a stopped run
    owns is taken with a note (that run's resume will write the next free name)."""
    from nst_engine.store.output_owners import check_not_being_written, owned_name_note

    if not arguments.output or config.inputs.overwrite:
        return ()
    check_not_being_written(config.inputs.output, arguments.runs_dir)
    note = owned_name_note(config.inputs.output, arguments.runs_dir)
    return (
        (f"{note}; this run takes it, and that one will write the next free name",) if note else ()
    )


def resume_headless(arguments: argparse.Namespace) -> int:
    """`nst-tui resume ID|PATH`: a stopped, failed or interrupted run goes on from its
    checkpoint (from the start if it had none), in its folder, to its output (the next free
    name if that was taken since; --output chooses one). Whether it can is the engine's
    answer (nst_engine/store/resume.py), the same as the app's."""
    from nst_engine.store.resume import resume
    from nst_engine.store.run_record import SEQUENCE
    from nst_engine.store.runlog import setup_logging
    from nst_engine.store.runs import find_run

    setup_logging()
    folder = find_run(arguments.run, arguments.runs_dir)
    if folder.record().kind == SEQUENCE:  # a video's frames: `nst-tui video`'s progress
        from nst_tui.cli.video_command import resume_video

        return resume_video(folder, arguments)
    # Its lock, held until the run ends: a second resume of it is refused here, before
    # either touches its settings or output.
    with folder.lock():
        output = Path(arguments.output) if arguments.output else None
        resumed = resume(folder, output, device=getattr(arguments, "device", None))
        notes = (resumed.note,) if resumed.note else ()
        return _execute(resumed.config, arguments, folder, notes)


def _execute(config, arguments: argparse.Namespace, folder, notes: tuple[str, ...] = ()) -> int:
    """Run `config` with a progress bar, recorded in `folder` (None: a new run folder);
    `notes` are said when it starts."""
    # torch and Rich load only now that the arguments are known to be good.
    from rich.console import Console

    from nst_engine.cost.devices import resolve_device
    from nst_engine.running.transfer import check_ready, run

    console = Console(stderr=True)
    if not console.is_terminal:
        # A log file or a pipe: keep each message on one line (a path folded at 80 columns
        # cannot be copied or parsed).
        console.soft_wrap = True
    address = getattr(arguments, "cluster", None)
    if address is None:
        _check_memory(config, arguments, console)  # a cluster's memory is not this machine's
    else:
        check_ready(config)
        try:
            return _execute_on_cluster(config, arguments, folder, address, console, notes)
        except InternalError as error:  # a bug on the cluster's worker, or here
            return _report_bug(console, error)
    events = None
    said: set[str] = set()
    try:
        if folder is None:
            # What needs torch to refuse is refused before a run folder is made too (a
            # refused command is no run in the history).
            check_ready(config)
            resolve_device(config.machine.device)
            said = _load_weights(config, console)
            folder = _new_folder(config, arguments, console)
        with StopRequest() as stop, run(config, folder) as events:
            return _drive(events, stop, console, said, notes)
    except NSTError:
        raise
    except KeyboardInterrupt:
        return _report_stopped(console, events and events.cancelled, "SIGINT", folder)
    except Exception as error:  # a bug: short line here, traceback in the log
        return _report_bug(console, InternalError.of(error))


def _report_bug(console, error: InternalError) -> int:
    """A bug, said as one (one line, the log that holds its traceback); exit status 1."""
    from rich.markup import escape

    from nst_engine.store.runlog import log_path

    log = error.log or log_path()
    text = f"[red]nst-tui: {escape(error.message)}[/] (a bug in nst-tui; details in {log})"
    _say(console, text)
    return 1


def _load_weights(config, console) -> set[str]:
    """Load the run's weights now: a file that holds no weights is refused before the run
    folder is made. The run then takes them from memory (load_weights keeps the last set).
    Returns the status line said here, which the run's own need not repeat."""
    from nst_engine.method.weights import load_weights

    status = "loading VGG19 weights"
    if console.is_terminal:
        console.print(f"[dim]{status}...[/]")
    load_weights(config.look.weights, config.plan.seed)
    return {status}


def _execute_on_cluster(config, arguments, folder, address: str, console, notes) -> int:
    """The run as one job on a Ray cluster, with the same progress bar and stop signals; the
    cluster is checked before a run folder is made."""
    from nst_engine.jobs.cluster import connect
    from nst_engine.jobs.queue import Job, JobQueue
    from nst_engine.store.runs import RunFolder

    if console.is_terminal:
        console.print(f"[dim]connecting to the Ray cluster at {address}...[/]")
    try:
        cluster = connect(address, config.machine.device)
    except KeyboardInterrupt:
        _say(console, stopped_connecting(address))
        return 128 + signal.SIGINT
    try:
        if folder is None:  # what comes back needs one: no warning-and-go-on here
            folder = RunFolder.create(config, getattr(arguments, "runs_dir", None))
        for note in cluster.notes:
            _say(console, f"[yellow]note:[/] {note}")
        with StopRequest() as stop, JobQueue(cluster.slots()[:1], cluster.executor) as queue:
            job = Job(folder.id, config, folder)
            queue.submit(job)
            return _drive(QueuedRun(queue, job), stop, console, notes=notes)
    finally:
        cluster.close()


def stopped_connecting(address: str) -> str:
    """What Ctrl+C while a Ray cluster is asked says (nothing has started yet)."""
    return f"stopped (interrupted) while connecting to the Ray cluster at {address}; nothing was started"


class QueuedRun:
    """One job of a JobQueue seen as a run: its engine events; `cancel()` stops it (the
    worker keeps its partial image and a checkpoint) and returns its Cancelled."""

    def __init__(self, queue, job) -> None:
        self.queue = queue
        self.job = job
        self.config = job.config
        self.folder = job.folder
        self.cancelled = None

    def __iter__(self):
        from nst_engine.jobs.queue import FAILED, JobEnded
        from nst_engine.running.events import Cancelled

        for item in self.queue.events():
            if isinstance(item, JobEnded):
                if item.status == FAILED and item.error is not None:
                    raise item.error
                return
            if isinstance(item.event, Cancelled):
                self.cancelled = item.event
            yield item.event

    def cancel(self):
        from nst_engine.jobs.queue import JobEnded
        from nst_engine.running.events import Cancelled

        self.queue.cancel(self.job.id)
        for item in self.queue.events():
            if isinstance(item, JobEnded):
                break
            if isinstance(item.event, Cancelled):
                self.cancelled = item.event
        return self.cancelled


def _new_folder(config, arguments: argparse.Namespace, console):
    """A run folder for `config`; None (with a warning) when the runs folder cannot take it:
    the run goes on without one rather than not at all."""
    from nst_engine.store.runs import RunFolder

    try:
        return RunFolder.create(config, getattr(arguments, "runs_dir", None))
    except NSTError as error:
        _say(
            console,
            f"[yellow]nst-tui: warning:[/] {error.message}; running without a run folder "
            "(no history, no resume; --runs-dir or NST_TUI_RUNS_DIR choose another place)",
        )
        return None


def _check_memory(config, arguments: argparse.Namespace, console) -> None:
    """Refuse a run estimated to need more memory than is free, unless --force (then warn)."""
    from nst_engine.cost.rates import memory_warning
    from nst_engine.errors import DeviceError

    warning = memory_warning(config)
    if warning is None:
        return
    if not getattr(arguments, "force", False):
        raise DeviceError(f"{warning}; lower --size, or add --force to run anyway")
    _say(console, f"[yellow]nst-tui: warning:[/] {warning}; running anyway (--force)")


def _drive(
    events,
    stop: StopRequest,
    console,
    said: Container[str] = frozenset(),
    notes: tuple[str, ...] = (),
) -> int:
    """Show the run's events (a status line in `said` was shown already; `notes`, about its
    output's name, are said when it starts) until it ends."""
    from nst_engine.running.events import Finished, Snapshot, Started, Status, Step
    from nst_engine.running.progress import ProgressReporter
    from nst_tui.cli.progress_line import FittedProgress

    # One line fitted to the width: count, it/s and ETA always whole (see progress_line).
    progress = FittedProgress(console=console)
    task = None
    reporter = ProgressReporter()
    shown_rate = 0.0  # the last speed the progress line showed
    try:
        for event in events:
            if stop.signal_name is not None:
                stop.settle()
                _stop(progress)
                return _report_stopped(console, events.cancel(), stop.signal_name, events.folder)
            if isinstance(event, Status):
                # Only for people watching: on a pipe, a bad input stays one line (the error).
                if console.is_terminal and event.text not in said:
                    console.print(f"[dim]{event.text}...[/]")
            elif isinstance(event, Started):
                _print_started(console, event, events.config, events.folder, notes)
                reporter.start(event)
                task = progress.add_task(
                    "styling", total=event.total, speed="", losses=None, scale="", eta=None
                )
                progress.start()
            elif isinstance(event, Step):
                report = reporter.offer(event)  # None: not yet time for one
                if report is not None:
                    shown_rate = report.rate
                    _show_step(progress, task, report)
            elif isinstance(event, Snapshot):
                progress.console.print(f"snapshot at iteration {event.index}: {event.path}")
            elif isinstance(event, Finished):
                progress.update(task, completed=event.iterations)
                _stop(progress)
                _say_finished(console, event, shown_rate)
    finally:
        _stop(progress)
    return 0


def _show_step(progress, task, report) -> None:
    """Put a progress reporter's `report` on the progress line."""
    progress.update(
        task,
        completed=report.index,
        speed=f"{report.rate:.2f} it/s",
        losses=report.losses,
        scale=f"scale {report.scale}/{report.scales}" if report.scales > 1 else "",
        eta=report.eta,
    )


def _say_finished(console, event, shown_rate: float) -> None:
    for note in event.notes:
        _say(console, f"[yellow]note:[/] {note}")
    # The speed the progress line showed (from each scale's second iteration), not the
    # iterations over the whole time, which counts setting up too.
    speed = f", {shown_rate:.2f} it/s while iterating" if shown_rate > 0 else ""
    _say(console, f"done in {event.seconds:.1f} s ({event.iterations} iterations{speed})")
    print(event.path)  # stdout: the result's path, for scripts


def _stop(progress) -> None:
    """Stop the progress display once, and only if it started: Rich's stop() prints an empty
    line on a pipe at each call (a bad input must stay one line on stderr)."""
    if progress.live.is_started:
        progress.stop()


def _print_started(console, event, config, folder=None, notes: tuple[str, ...] = ()) -> None:
    if folder is not None:
        console.print(f"run {folder.id}: {folder.path}", markup=False, highlight=False)
    for note in notes:  # about its output's name
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if event.resumed_from:
        console.print(f"resuming after iteration {event.resumed_from} of {event.total}")
    width, height = event.compute_size
    console.print(
        f"device [bold]{event.device}[/], weights [bold]{event.weights_source}[/], "
        f"computing at {width}x{height}, saving at {event.output_size[0]}x{event.output_size[1]}"
    )
    if len(config.styles) > 1 or config.inputs.style_masks:
        console.print(f"styles: {describe_styles(config)}", markup=False, highlight=False)
    if len(event.scale_sizes) > 1:
        sides = " → ".join(str(max(size)) for size in event.scale_sizes)
        console.print(f"coarse to fine: {len(event.scale_sizes)} scales, {sides} px")
    for note in event.notes:
        console.print(f"[yellow]note:[/] {note}")


def describe_styles(config) -> str:
    """The style images with their shares of the blend, and where masked their masks:
    `a.jpg (0.7) + b.jpg (0.3)`, `a.jpg (0.5) in sky.png + b.jpg (0.5) in rest.png`."""
    masks = [f" in {mask.name}" for mask in config.inputs.style_masks] or [""] * len(config.styles)
    return " + ".join(
        f"{path.name} ({share:.2g}){mask}"
        for path, share, mask in zip(config.styles, config.blend, masks, strict=True)
    )


def _report_stopped(console, cancelled, signal_name: str, folder=None) -> int:
    reason = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "connection lost"}.get(
        signal_name, signal_name
    )
    if cancelled is None or cancelled.partial_path is None:
        _say(console, f"stopped ({reason}) before the first iteration; nothing to keep")
    else:
        _say(
            console,
            f"stopped ({reason}) after {cancelled.index} iterations; "
            f"the image so far is in {cancelled.partial_path}",
        )
    if folder is not None and folder.checkpoint_path.is_file():
        _say(console, f"to go on from there: nst-tui resume {folder.id}")
    return 128 + int(getattr(signal, signal_name, signal.SIGINT))


def _say(console, text: str) -> None:
    """Print, unless the terminal is gone (SIGHUP from a dropped SSH session)."""
    with contextlib.suppress(OSError, ValueError):
        console.print(text)
        sys.stderr.flush()

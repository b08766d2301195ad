"""nst_engine: neural style transfer (Gatys, Ecker and Bethge) as a generator of events.

The public face. Each name is imported where it lives when first used: importing the package
loads no torch (nor do `record`, `resume`, the queue, `Sweep` or `connect` until a run starts).

    run(config: RunConfig, folder: RunFolder | None = None, *,
        checkpoint_seconds: float = 30.0, guide: FrameGuide | None = None) -> Run
        The run as a generator of events (Started, Step, Snapshot, Finished, Cancelled).
        Close it to stop (what must be saved is saved first); `Run.cancel()` stops it after
        its iteration and keeps the image so far. Recorded in `folder` if given (at most
        one periodic checkpoint per `checkpoint_seconds`), and resumed from the folder's
        checkpoint if it holds one. `guide`: a frame of a sequence's start and temporal
        loss (nst_engine/video/: run_sequence makes them).
    record(config: RunConfig, root: Path | None = None, *, sweep: str | None = None,
           labels: Iterable[str] = ()) -> RunFolder
        A new run folder for `config` (status queued) in `root` (None: the user's runs
        folder): its settings, record, log, snapshots and checkpoint go there.
    resume(folder: RunFolder | str | Path, output: Path | None = None, *,
           device: str | None = None, root: Path | None = None) -> Resumption
        A run made ready to go on (`.config`, `.folder`, `.note`, `.job`): NotResumable, one
        line, if it cannot be; `resumable(folder) -> str | None` says why not without trying.
    JobQueue(slots: Sequence[str] | None = None, executor=LocalExecutor)
        Runs Job(id, config, folder)s over this machine's devices (or a cluster's slots):
        `submit(job)`, `events()` (each job's events tagged with its id, then JobEnded),
        `cancel(job_id)`, `close()`.
    Sweep.start(plan: SweepPlan, cell_size: int = 256, root: Path | None = None) -> Sweep
    Sweep.find(text: str, root: Path | str | None = None) -> Sweep
        A sweep's run folders and record (GRID.cells/sweep.toml), its `jobs()` for a queue,
        and its grid drawn again as cells come (`draw()`); `plan_sweep(base: RunConfig,
        axes: Sequence[Axis | str]) -> SweepPlan` makes the plan ("lr=0.5,1,2": one axis).
    connect(address: str, device: str = "auto", *, cpus: int | None = None,
            check_versions: bool = True) -> Cluster
        A Ray cluster (`local` starts one here): `JobQueue(cluster.slots(), cluster.executor)`
        runs the jobs there. Needs the `cluster` extra.
    RunConfig, NSTError: the settings of a run; the one-line errors (kinds in nst_engine.errors).

For example, a run recorded in the history, and a sweep, on this machine:

    config = RunConfig.from_flat(content=Path("photo.jpg"), style=Path("mosaic"), output=Path("out.png"))
    for event in run(config, record(config)):
        ...
    sweep = Sweep.start(plan_sweep(config.replace(output=Path("grid.png")), ["lr=0.5,1"]))
    with JobQueue() as queue:
        for job in sweep.jobs():
            queue.submit(job)
        for item in queue.events():
            if sweep.changes_grid(item):
                sweep.draw()
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder

__version__ = "0.1.0"

_LAZY = {
    "run": "nst_engine.running.transfer",
    "Run": "nst_engine.running.transfer",
    "RunConfig": "nst_engine.settings.config",
    "NSTError": "nst_engine.errors",
    "resume": "nst_engine.store.resume",
    "resumable": "nst_engine.store.resume",
    "Resumption": "nst_engine.store.resume",
    "NotResumable": "nst_engine.store.resume",
    "RunFolder": "nst_engine.store.runs",
    "JobQueue": "nst_engine.jobs.queue",
    "Job": "nst_engine.jobs.queue",
    "Sweep": "nst_engine.sweeps.sweep",
    "plan_sweep": "nst_engine.sweeps.plan",
    "connect": "nst_engine.jobs.cluster",
}

__all__ = ["__version__", "record", *_LAZY]


def record(
    config: RunConfig,
    root: Path | None = None,
    *,
    sweep: str | None = None,
    labels: Iterable[str] = (),
) -> RunFolder:
    """A new run folder for `config` (status queued) in `root` (None: the user's runs folder),
    for `run(config, folder)` to record the run in; `sweep` and `labels` name a sweep's cell."""
    from nst_engine.store.runs import RunFolder

    return RunFolder.create(config, root, sweep=sweep, labels=labels)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nst_engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

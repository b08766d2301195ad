"""Whether a run can be resumed, decided in one place, and its resume made ready: what
`nst-tui resume`, the history's Resume, `nst-tui sweep --resume` and a sweep's jobs all ask.

    reason = resumable(folder)         # None, or one line saying why not
    resumed = resume(folder)           # NotResumable (that line), or what to go on with
    for event in run(resumed.config, resumed.folder): ...   # or queue.submit(resumed.job)

A run can be resumed unless it finished (nothing is left to do: run it again) or it is
still running (here or in another process: stop it first). A queued run starts from the
top; a stopped, failed or interrupted one goes on from its checkpoint (from the top if it
has none). Another process that has just begun to resume it holds its lock: taking the lock
(`folder.lock()`, or the run itself) refuses with RunBusy's own line. Cheap to import: no
torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nst_engine.errors import ConfigError
from nst_engine.store.run_record import FINISHED, RUNNING, SEQUENCE

if TYPE_CHECKING:
    from nst_engine.jobs.queue import Job
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.run_record import RunRecord
    from nst_engine.store.runs import RunFolder


class NotResumable(ConfigError):
    """The run cannot be resumed; the message says why (resumable()'s line)."""


@dataclass(frozen=True)
class Resumption:
    """A run made ready to go on: its folder, and its own settings with the output settled."""

    folder: RunFolder
    config: RunConfig
    note: str = ""  # on its output for people (taken since, so it writes another), or ""
    from_iteration: int = 0  # the iterations its record had done when it was resumed

    @property
    def job(self) -> Job:
        """The resume as a job for the engine's queue (nst_engine/jobs/queue.py)."""
        from nst_engine.jobs.queue import Job

        return Job(self.folder.id, self.config, self.folder)


def not_resumable_reason(record: RunRecord) -> str | None:
    """Why the run `record` describes cannot be resumed (one line), or None when it can."""
    if record.resumable:
        return None
    if record.status == FINISHED:
        return (
            f"run '{record.id}' finished ({record.result}); nothing to resume (run it again: "
            f"its settings are in {record.path / 'settings.toml'})"
        )
    if record.status == RUNNING:
        where = f" (process {record.pid} on {record.host})" if record.pid else ""
        return f"run '{record.id}' is still running{where}; stop it first"
    return f"run '{record.id}' is {record.status}: it cannot be resumed"


def resumable(folder: RunFolder) -> str | None:
    """Why `folder`'s run cannot be resumed (one line), or None when it can. A record that
    cannot be read is a ConfigError of its own (run.json damaged, ...)."""
    return not_resumable_reason(folder.record())


def resume(
    folder: RunFolder | str | Path,
    output: Path | None = None,
    *,
    device: str | None = None,
    root: Path | None = None,
) -> Resumption:
    """Make `folder`'s run ready to go on: NotResumable (resumable()'s line) if it cannot.
    `folder`: a RunFolder, or a run's id (or its start) or folder's path, found in `root`
    (None: the default runs folder). It writes to its own output, or to `output` if given,
    or to the next free name if its own was taken since (the note says so; the change is
    written to its settings and record). `device` replaces the run's own. To keep another
    process from resuming it at the same time, hold `folder.lock()` until its run ends."""
    from nst_engine.store.output_owners import resume_output
    from nst_engine.store.runs import RunFolder, find_run

    if not isinstance(folder, RunFolder):
        folder = find_run(str(folder), root)
    record = folder.record()
    reason = not_resumable_reason(record)
    if reason is not None:
        raise NotResumable(reason)
    if record.kind == SEQUENCE:  # its frames: nst_engine/video/sequence_record.py
        raise NotResumable(
            f"run '{record.id}' is a sequence of frames: resume it with "
            f"`nst-tui resume {record.id}`"
        )
    if device:
        from nst_engine.settings.values import parse_device

        device = parse_device(device)  # refused before the run's output is changed
    config, note = resume_output(folder, Path(output) if output is not None else None)
    if device:
        config = config.replace(device=device)
    return Resumption(folder, config, note, record.iterations_done)

"""The worker's side of a job on a Ray cluster (nst_engine/jobs/cluster.py sends it).

`remote_job` runs one job in a scratch run folder on a Ray worker and yields, as a Ray
streaming task, what the job makes: progress (throttled), a small preview now and then,
snapshots, checkpoints as they are written, loss-history rows, and at the end the result
(or the partial image and checkpoint of a cancelled job) and the run's log. It polls the
cluster's control actor between iterations to learn whether its job was cancelled.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nst_engine.errors import InternalError, NSTError
from nst_engine.jobs.cluster_messages import (
    CheckpointWritten,
    EngineEvent,
    JobCancelled,
    JobFailed,
    JobFinished,
    LossRows,
    OnNode,
    SnapshotTaken,
    StepMade,
    WorkerMessage,
)
from nst_engine.store import safe_files

log = logging.getLogger("nst.engine")

PROGRESS_INTERVAL = 0.1  # seconds between progress messages from a worker
PREVIEW_INTERVAL = 1.0  # ... and between preview pictures
PREVIEW_SIDE = 256  # longest side of a streamed preview, px
CANCEL_POLL = 0.3  # seconds between a worker's looks at whether its job was cancelled


def remote_job(
    job_id: str,
    settings: str,
    files: dict[str, tuple[str, bytes]],
    checkpoint: bytes | None,
    control,
    checkpoint_seconds: float,
) -> Iterator[WorkerMessage]:
    """Run one job in a scratch folder on this worker, yielding what it makes (a Ray streaming
    task). `files`: setting -> (file name, bytes) of each image the settings name;
    `checkpoint_seconds`: the least time between two periodic checkpoints."""
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder

    yield OnNode(socket.gethostname(), os.getpid())
    with tempfile.TemporaryDirectory(prefix="nst-job-") as scratch:
        root = Path(scratch)
        config = placed(RunConfig.from_toml(settings), files, root)
        folder = RunFolder.create(config, root / "runs")
        if checkpoint is not None:
            folder.put_checkpoint(checkpoint)
        sender = _Sender(folder)
        try:
            yield from _run(job_id, config, folder, control, sender, checkpoint_seconds)
        except NSTError as error:
            yield from sender.new_losses()
            yield JobFailed(error, _text(folder.log_path))
        except Exception as error:  # a bug on the worker: its traceback goes back in the log
            log.exception("job %s failed with an internal error", job_id)
            host = socket.gethostname()
            yield JobFailed(InternalError.of(error, host), _log_with_traceback(folder, host))


def _run(
    job_id: str, config, folder, control, sender: _Sender, checkpoint_seconds: float
) -> Iterator[WorkerMessage]:
    """The job's run, what it makes as messages, until it finished or was cancelled (asked
    of the cluster's control actor every CANCEL_POLL seconds)."""
    import ray

    from nst_engine.running import transfer
    from nst_engine.running.events import Cancelled, Finished

    engine_run = transfer.run(config, folder, checkpoint_seconds=checkpoint_seconds)
    last_poll = 0.0
    for event in engine_run:
        now = time.monotonic()
        if isinstance(event, Finished):
            yield from sender.new_losses()
            yield JobFinished(event, event.path.read_bytes(), _text(folder.log_path))
            return
        yield from sender.messages_of(event, now)
        yield from sender.new_checkpoint()
        if now - last_poll >= CANCEL_POLL:
            last_poll = now
            if ray.get(control.cancelled.remote(job_id)):
                cancelled = engine_run.cancel() or Cancelled(0, None)
                yield from sender.new_losses()
                yield JobCancelled(
                    cancelled.index,
                    cancelled.partial_path.read_bytes() if cancelled.partial_path else None,
                    _bytes_if_any(folder.checkpoint_path),
                    _text(folder.log_path),
                )
                return


class _Sender:
    """The messages of one job's events, and what was sent so far: progress and previews
    (throttled), loss-history rows, the checkpoint when it changes."""

    def __init__(self, folder) -> None:
        self.folder = folder
        self.losses_sent = 0  # loss-history rows sent
        self.checkpoint_stamp = _stamp(folder.checkpoint_path)
        self.last_progress = self.last_preview = 0.0

    def messages_of(self, event, now: float) -> Iterator[WorkerMessage]:
        from nst_engine.running.events import Snapshot, Started, Status, Step

        if isinstance(event, Step):
            step = self._step(event, now)
            if step is not None:
                yield step
        elif isinstance(event, Snapshot):
            yield SnapshotTaken(event.index, event.path.read_bytes())
        elif isinstance(event, Status | Started):
            yield EngineEvent(event)

    def _step(self, step, now: float) -> StepMade | None:
        """The step's progress, unless some went out just now (the last step's always)."""
        last = step.index == step.total
        if not last and now - self.last_progress < PROGRESS_INTERVAL:
            return None
        preview = None
        if last or now - self.last_preview >= PREVIEW_INTERVAL:
            preview = _png(step.preview(PREVIEW_SIDE, PREVIEW_SIDE))
            self.last_preview = now
        self.last_progress = now
        losses = step.loss_values()
        return StepMade(step.index, step.total, step.scale, step.scales, losses, preview)

    def new_checkpoint(self) -> Iterator[WorkerMessage]:
        """The checkpoint, if the run wrote it since it was last sent (the loss rows first)."""
        stamp = _stamp(self.folder.checkpoint_path)
        if stamp == self.checkpoint_stamp:
            return
        self.checkpoint_stamp = stamp
        yield from self.new_losses()
        completed = self.folder.record().iterations_done  # the recorder's
        yield CheckpointWritten(self.folder.checkpoint_path.read_bytes(), completed)

    def new_losses(self) -> Iterator[WorkerMessage]:
        """The loss-history rows written since the last that were sent."""
        rows = self.folder.losses()
        if len(rows) > self.losses_sent:
            yield LossRows(rows[self.losses_sent :])
        self.losses_sent = max(self.losses_sent, len(rows))


def placed(config, files: dict[str, tuple[str, bytes]], root: Path):
    """The settings with their images written under `root` and named there."""
    inputs = root / "inputs"
    inputs.mkdir()
    paths: dict[str, Path] = {}
    for key, (name, data) in files.items():
        path = inputs / f"{key}-{name}"
        safe_files.write_atomically(path, data, replace=False)
        paths[key] = path
    changes: dict[str, Any] = {
        "content": paths["content"],
        "style": paths["style"],
        "extra_styles": tuple(paths[f"style{n}"] for n in range(2, len(config.styles) + 1)),
        "style_masks": tuple(
            paths[f"mask{n}"] for n in range(1, len(config.inputs.style_masks) + 1)
        ),
        "output": root / f"result{config.inputs.output.suffix if config.inputs.output else '.png'}",
        "overwrite": True,
    }
    if "init" in paths:
        changes["init"] = str(paths["init"])
    return config.replace(**changes)


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _bytes_if_any(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _log_with_traceback(folder, host: str) -> str:
    """The run's log, with the traceback of the bug being handled when the run did not log
    it (the bug was outside the run loop, which logs its own): the log that comes back is
    where the front end sends people to read it."""
    text = _text(folder.log_path)
    if "Traceback (most recent call last)" in text:
        return text
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}{when} internal error on {host}, outside the run:\n{traceback.format_exc()}"


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _png(picture) -> bytes:
    stream = io.BytesIO()
    picture.save(stream, format="PNG")
    return stream.getvalue()

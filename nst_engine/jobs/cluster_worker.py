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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nst_engine.errors import NSTError
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
) -> Iterator[dict[str, Any]]:
    """Run one job in a scratch folder on this worker, yielding what it makes (a Ray streaming
    task). `files`: setting -> (file name, bytes) of each image the settings name;
    `checkpoint_seconds`: the least time between two periodic checkpoints."""
    import ray

    from nst_engine.running import transfer
    from nst_engine.running.events import Cancelled, Finished, Snapshot, Started, Status, Step
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder

    yield {"type": "node", "node": socket.gethostname(), "pid": os.getpid()}
    with tempfile.TemporaryDirectory(prefix="nst-job-") as scratch:
        root = Path(scratch)
        config = RunConfig.from_toml(settings)
        config = _placed(config, files, root)
        folder = RunFolder.create(config, root / "runs")
        if checkpoint is not None:
            folder.put_checkpoint(checkpoint)
        checkpoint_stamp = _stamp(folder.checkpoint_path)
        losses_sent = 0
        last_progress = last_preview = last_poll = 0.0
        try:
            engine_run = transfer.run(config, folder, checkpoint_seconds=checkpoint_seconds)
            for event in engine_run:
                now = time.monotonic()
                if isinstance(event, Step):
                    last = event.index == event.total
                    if last or now - last_progress >= PROGRESS_INTERVAL:
                        message = {
                            "type": "step",
                            "index": event.index,
                            "total": event.total,
                            "scale": event.scale,
                            "scales": event.scales,
                            "losses": event.loss_values(),
                        }
                        if last or now - last_preview >= PREVIEW_INTERVAL:
                            message["preview"] = _png(event.preview(PREVIEW_SIDE, PREVIEW_SIDE))
                            last_preview = now
                        last_progress = now
                        yield message
                elif isinstance(event, Snapshot):
                    yield {
                        "type": "snapshot",
                        "index": event.index,
                        "data": event.path.read_bytes(),
                    }
                elif isinstance(event, Finished):
                    losses_sent = yield from _new_losses(folder, losses_sent)
                    yield {
                        "type": "finished",
                        "event": event,
                        "data": event.path.read_bytes(),
                        "log": _text(folder.log_path),
                    }
                    return
                elif isinstance(event, Status | Started):
                    yield {"type": "event", "event": event}
                stamp = _stamp(folder.checkpoint_path)
                if stamp != checkpoint_stamp:
                    checkpoint_stamp = stamp
                    losses_sent = yield from _new_losses(folder, losses_sent)
                    yield {
                        "type": "checkpoint",
                        "data": folder.checkpoint_path.read_bytes(),
                        "completed": folder.record().iterations_done,  # the recorder's
                    }
                if now - last_poll >= CANCEL_POLL:
                    last_poll = now
                    if ray.get(control.cancelled.remote(job_id)):
                        cancelled = engine_run.cancel() or Cancelled(0, None)
                        losses_sent = yield from _new_losses(folder, losses_sent)
                        yield {
                            "type": "cancelled",
                            "index": cancelled.index,
                            "data": cancelled.partial_path.read_bytes()
                            if cancelled.partial_path
                            else None,
                            "checkpoint": folder.checkpoint_path.read_bytes()
                            if folder.checkpoint_path.is_file()
                            else None,
                            "log": _text(folder.log_path),
                        }
                        return
        except NSTError as error:
            yield from _new_losses(folder, losses_sent)
            yield {"type": "failed", "message": error.message, "log": _text(folder.log_path)}
        except Exception as error:  # a bug on the worker: its traceback in the log sent back
            log.exception("job %s failed with an internal error", job_id)
            yield {
                "type": "failed",
                "message": f"internal error on {socket.gethostname()}: "
                f"{type(error).__name__}: {error}",
                "log": _text(folder.log_path),
            }


def _placed(config, files: dict[str, tuple[str, bytes]], root: Path):
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
        "output": root / f"result{config.output.suffix if config.output else '.png'}",
        "overwrite": True,
    }
    if "init" in paths:
        changes["init"] = str(paths["init"])
    return config.replace(**changes)


def _new_losses(folder, sent: int):
    """Yield the loss-history rows written since `sent` rows; the new count."""
    rows = folder.losses()
    if len(rows) > sent:
        yield {"type": "losses", "rows": rows[sent:]}
    return max(sent, len(rows))


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _png(picture) -> bytes:
    stream = io.BytesIO()
    picture.save(stream, format="PNG")
    return stream.getvalue()

"""What a run writes into its run folder while it runs (nst_engine/store/run_folder.py says what is where).

The run loop (nst_engine/running/transfer.py) tells a `Recorder` what happens; the recorder keeps
run.json's status, the loss history, the run's log and the pictures up to date. Reading the
losses costs a device sync on a GPU, so each iteration's terms are stacked on the device and
read back together every LOSS_FLUSH iterations (and whenever the run stops).

A folder that cannot take what the run writes (the disk filled up, the folder was deleted, a
link was planted in it) is logged, once for each kind of file, and never the run's failure:
the run goes on to its output, a stop still saves its partial image beside the output, and
the run's Finished event carries one note saying what the folder is missing.

While it runs, the recorder holds the folder's lock (nst_engine/store/run_lock.py): a second
process that would run the same run is refused, and the history knows the run is alive.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from nst_engine.errors import NSTError
from nst_engine.running.checkpoint_settings import settings_fingerprint
from nst_engine.store import run_lock, runs, safe_files
from nst_engine.store.run_folder import THUMBNAIL_SIZE
from nst_engine.store.runs import RunFolder

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig

log = logging.getLogger("nst.engine")

LOSS_FLUSH = 50  # iterations between two writes of the loss history
CHECKPOINT_FORMAT = 1


class _ThisThread(logging.Filter):
    """Only the records of one thread: the run's (several runs may share the process)."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread


class _RunLog(logging.StreamHandler):
    """run.log: the run thread's records. A folder that stops taking them (full, gone) ends
    the copy at the first failure, said once through `failed(error)`; logging's own handling
    would print a traceback on stderr for every record after."""

    def __init__(self, stream, failed: Callable[[BaseException], None]) -> None:
        super().__init__(stream)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.addFilter(_ThisThread())
        self._failed = failed
        self.broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        error = sys.exc_info()[1]
        self.broken = True  # first: the warning below comes through this handler too
        self._close_stream()
        if error is not None:
            self._failed(error)

    def close(self) -> None:
        self._close_stream()
        super().close()

    def _close_stream(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # its last buffered bytes may not fit
            self.stream.close()


class Recorder:
    """Writes one run's folder: status, loss history, log, result, thumbnail, checkpoint.
    `config`: the run's settings, kept in its checkpoints so that a resume with other
    settings is refused (None: a cluster's mirror, which writes no checkpoint of its own)."""

    def __init__(self, folder: RunFolder, config: RunConfig | None = None) -> None:
        self.folder = folder
        self.settings = None if config is None else settings_fingerprint(config)
        self._rows: list[tuple[int, int, float, torch.Tensor]] = []
        self._names: tuple[str, ...] = ()
        self._handler: _RunLog | None = None
        self._locked = False
        self._problems: dict[str, str] = {}  # what the folder could not take -> why

    # --- beginning and end --------------------------------------------------------------------

    def begin(self) -> None:
        """Take the folder for this run: its lock (ConfigError if another process runs it),
        what killed writes left removed, its log attached."""
        run_lock.take(self.folder.path, self.folder.id)
        self._locked = True
        self.folder.remove_temporaries()
        self.attach_log()

    def end(self) -> None:
        """The run is over (its record written): the log detached, the lock given back."""
        self.detach_log()
        if self._locked:
            self._locked = False
            run_lock.release(self.folder.path)

    # --- what the folder could not take -------------------------------------------------------

    def problem(self, what: str, error: BaseException) -> None:
        """`what` could not be written: logged the first time, never the run's failure."""
        if what in self._problems:
            return
        reason = getattr(error, "message", None) or getattr(error, "strerror", None) or error
        self._problems[what] = str(reason)
        log.warning(
            "could not write %s in %s: %s (the run goes on)", what, self.folder.path, reason
        )

    def notes(self) -> tuple[str, ...]:
        """One note for people on what the run folder is missing (none if nothing)."""
        if not self._problems:
            return ()
        whats = ", ".join(self._problems)
        reason = next(iter(self._problems.values()))
        return (
            f"the run folder {self.folder.path} could not take {whats} ({reason}); the result "
            "is whole, but the run's history there is not",
        )

    @contextlib.contextmanager
    def _quietly(self, what: str) -> Iterator[None]:
        """A write the folder could not take is a problem noted, never the run's failure."""
        try:
            yield
        except (OSError, ValueError, NSTError) as error:
            self.problem(what, error)

    # --- the log ------------------------------------------------------------------------------

    def attach_log(self) -> None:
        """Copy this thread's "nst" log records into the folder's run.log (never through a
        link planted at its name)."""
        try:
            stream = safe_files.open_for_append(self.folder.log_path)
        except OSError as error:
            self.problem("the run's log", error)
            return
        handler = _RunLog(stream, lambda error: self.problem("the run's log", error))
        logger = logging.getLogger("nst")
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
        self._handler = handler

    def detach_log(self) -> None:
        if self._handler is not None:
            logging.getLogger("nst").removeHandler(self._handler)
            self._handler.close()
            self._handler = None

    # --- status -------------------------------------------------------------------------------

    def _update(self, **changes: Any) -> None:
        """Change run.json; a folder that cannot take it (gone, disk full) is a problem noted,
        never the run's failure: the result still goes where the user asked."""
        with self._quietly(runs.RUN_FILE):
            self.folder.update(**changes)

    def stored(self) -> runs.RunRecord | None:
        """The record as it is now (None if it cannot be read)."""
        try:
            return self.folder._stored_record()
        except (OSError, ValueError, TypeError):
            return None

    def restore(self, record: runs.RunRecord) -> None:
        """Put `record` back, as it was before this run began (nothing it made is kept)."""
        self._rows = []
        with self._quietly(runs.RUN_FILE):
            self.folder.write_record(record)

    def running(self, total: int, resumed_from: int) -> None:
        """The run begins after `resumed_from` iterations (its history after them dropped:
        the run makes them again)."""
        with self._quietly("the loss history"):
            self.folder.keep_losses_until(resumed_from)
        try:
            record = self.folder._stored_record()
        except (OSError, ValueError):
            return
        self._update(
            status=runs.RUNNING,
            pid=os.getpid(),
            host=socket.gethostname(),
            total=total,
            iterations_done=resumed_from,
            resumed=record.resumed + (1 if resumed_from or record.status != runs.QUEUED else 0),
            error=None,
            ended=None,
        )

    def finished(self, path: Path, seconds: float, iterations: int) -> None:
        self.flush()
        self._copy_result(path)
        self.folder.remove_checkpoint()
        self._remove_partials(path)
        self._update(
            status=runs.FINISHED,
            result=os.path.abspath(path),
            partial=None,
            partials=(),
            seconds=seconds,
            iterations_done=iterations,
            ended=time.time(),
        )

    def stopped(self, index: int, partial: Path | None, seconds: float) -> None:
        self.flush()
        if partial is not None:
            self._copy_picture(partial, self.folder.partial_path)
        self._update(
            status=runs.STOPPED,
            seconds=seconds,
            iterations_done=index,
            ended=time.time(),
            **self._with_partial(partial),
        )

    def failed(self, message: str, index: int, seconds: float, partial: Path | None) -> None:
        self.flush()
        if partial is not None:
            self._copy_picture(partial, self.folder.partial_path)
        self._update(
            status=runs.FAILED,
            error=message,
            seconds=seconds,
            iterations_done=index,
            ended=time.time(),
            **self._with_partial(partial),
        )

    def _with_partial(self, partial: Path | None) -> dict[str, Any]:
        """The record's fields for a stop that kept `partial` (the latest, and every one)."""
        if partial is None:
            return {"partial": None}
        path = os.path.abspath(partial)
        kept = self.stored()
        earlier = kept.partials if kept is not None else ()
        return {"partial": path, "partials": (*(p for p in earlier if p != path), path)}

    def _remove_partials(self, result: Path) -> None:
        """Once the result is saved, the images this run's stops left beside the output go:
        only those its record names, never another run's of a similar name; and only beside
        the result or in the rescue folder, wherever a crafted record may say they are."""
        from nst_engine.store.locations import rescue_dir

        record = self.stored()
        if record is None:
            return
        folders = {Path(os.path.abspath(result)).parent, Path(os.path.abspath(rescue_dir()))}
        for name in {*record.partials, *([record.partial] if record.partial else [])}:
            path = Path(os.path.abspath(name))
            if ".partial-" in path.name and path.parent in folders:
                with self._quietly(f"the partial image {path}"):
                    path.unlink(missing_ok=True)

    # --- the loss history ---------------------------------------------------------------------

    def step(self, index: int, scale: int, seconds: float, losses: dict[str, torch.Tensor]) -> None:
        """Note iteration `index`'s loss terms (device tensors; copied, not read)."""
        names = tuple(losses)
        if names != self._names:
            self.flush()
            self._names = names
        self._rows.append((index, scale, seconds, torch.stack([losses[n] for n in names])))
        if len(self._rows) >= LOSS_FLUSH:
            self.flush()

    def flush(self) -> None:
        """Write the noted iterations to the history (one device read for all of them)."""
        if not self._rows:
            return
        values = torch.stack([row[3] for row in self._rows]).float().cpu().tolist()
        lines = []
        for (index, scale, seconds, _), terms in zip(self._rows, values, strict=True):
            row: dict[str, Any] = {"iteration": index, "scale": scale, "seconds": round(seconds, 4)}
            row.update(zip(self._names, terms, strict=True))
            lines.append(row)
        self._rows = []
        with self._quietly("the loss history"):
            self.folder.append_losses(lines)
        # The history (and `nst-tui runs`) see how far a run got at each flush.
        last = lines[-1]
        self._update(iterations_done=last["iteration"], seconds=last["seconds"])

    # --- the checkpoint -----------------------------------------------------------------------

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Write the checkpoint (and the history up to it, so that the two agree), with the
        settings it was made with. One the folder cannot take (full: torch's RuntimeError
        too) is a problem noted; the previous checkpoint stays whole."""
        self.flush()
        state = {"format": CHECKPOINT_FORMAT, **_to_cpu(state)}
        if self.settings is not None:
            state["settings"] = self.settings
        try:
            self.folder.write_checkpoint(state)
        except (OSError, NSTError) as error:
            self.problem("the checkpoint", error)
            return
        self._update(iterations_done=state["completed"], seconds=state["seconds"])

    # --- pictures -----------------------------------------------------------------------------

    def snapshot(self, save: Callable[[Path], Path], index: int, total: int) -> Path | None:
        """`save(path)` a snapshot into the folder's snapshots; its path, or None when the
        folder cannot take it (a problem noted; the run goes on)."""
        with self._quietly("snapshots"):
            self.folder.snapshots_folder()
            return save(self.folder.snapshot_path(index, total))
        return None

    def _copy_result(self, path: Path) -> None:
        self._copy_picture(path, self.folder.result_path)
        with self._quietly("the partial picture"):
            self.folder.partial_path.unlink(missing_ok=True)

    def _copy_picture(self, source: Path, target: Path) -> None:
        """`source` (the user's output, a partial) as `target` in the folder, and the thumbnail."""
        with self._quietly(f"a copy of {source.name}"):
            from PIL import Image

            from nst_engine.running.images import save_image

            if source.suffix.lower() == ".png":
                data = source.read_bytes()
                safe_files.write_atomically(target, data)
                picture = Image.open(io.BytesIO(data))
            else:
                picture = Image.open(source)
                save_image(picture.convert("RGB"), target, overwrite=True)
            with picture:
                small = picture.convert("RGB")
                small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
                save_image(small, self.folder.thumbnail_path, overwrite=True)


def _to_cpu(value: Any) -> Any:
    """A checkpoint's state with every tensor copied to the CPU (for torch.save)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(item) for item in value)
    return value

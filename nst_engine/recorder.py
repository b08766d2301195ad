"""What a run writes into its run folder while it runs (nst_engine/runs.py says what is where).

The run loop (nst_engine/transfer.py) tells a `Recorder` what happens; the recorder keeps
run.json's status, the loss history, the run's log and the pictures up to date. Reading the
losses costs a device sync on a GPU, so each iteration's terms are stacked on the device and
read back together every LOSS_FLUSH iterations (and whenever the run stops).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from nst_engine import runs
from nst_engine.errors import NSTError
from nst_engine.runs import RunFolder

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


class Recorder:
    """Writes one run's folder: status, loss history, log, result, thumbnail."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder
        self._rows: list[tuple[int, int, float, torch.Tensor]] = []
        self._names: tuple[str, ...] = ()
        self._handler: logging.Handler | None = None

    # --- the log ------------------------------------------------------------------------------

    def attach_log(self) -> None:
        """Copy this thread's "nst" log records into the folder's run.log."""
        try:
            handler = logging.FileHandler(self.folder.log_path, encoding="utf-8")
        except OSError:
            return
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(_ThisThread())
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
        """Change run.json; a folder that cannot take it (gone, disk full) is logged, never
        the run's failure: the result still goes where the user asked."""
        try:
            self.folder.update(**changes)
        except (OSError, ValueError, NSTError) as error:
            log.warning("could not update %s: %s", self.folder.path / runs.RUN_FILE, error)

    def stored(self) -> runs.RunRecord | None:
        """The record as it is now (None if it cannot be read)."""
        try:
            return self.folder._stored_record()
        except (OSError, ValueError, TypeError):
            return None

    def restore(self, record: runs.RunRecord) -> None:
        """Put `record` back, as it was before this run began (nothing it made is kept)."""
        self._rows = []
        try:
            self.folder.write_record(record)
        except (OSError, NSTError) as error:
            log.warning("could not restore %s: %s", self.folder.path / runs.RUN_FILE, error)

    def running(self, total: int, resumed_from: int) -> None:
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
        self._remove_partials()
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

    def _remove_partials(self) -> None:
        """Once the result is saved, the images this run's stops left beside the output go:
        only those its record names, never another run's of a similar name."""
        record = self.stored()
        if record is None:
            return
        for name in {*record.partials, *([record.partial] if record.partial else [])}:
            path = Path(name)
            if ".partial-" in path.name:  # a partial's name, whatever a record may say
                with _quietly(f"the partial image {path}"):
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
        try:
            self.folder.append_losses(lines)
        except (OSError, ValueError) as error:
            log.warning("could not write the loss history: %s", error)
        # The history (and `nst-tui runs`) see how far a run got at each flush.
        last = lines[-1]
        self._update(iterations_done=last["iteration"], seconds=last["seconds"])

    # --- the checkpoint -----------------------------------------------------------------------

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Write the checkpoint (and the history up to it, so that the two agree)."""
        self.flush()
        state = {"format": CHECKPOINT_FORMAT, **_to_cpu(state)}
        try:
            self.folder.write_checkpoint(state)
        except OSError as error:
            log.warning("could not write the checkpoint: %s", error)
            return
        self._update(iterations_done=state["completed"], seconds=state["seconds"])

    # --- pictures -----------------------------------------------------------------------------

    def _copy_result(self, path: Path) -> None:
        self._copy_picture(path, self.folder.result_path)
        with _quietly("the partial picture"):
            self.folder.partial_path.unlink(missing_ok=True)

    def _copy_picture(self, source: Path, target: Path) -> None:
        """`source` (the user's output, a partial) as `target` in the folder, and the thumbnail."""
        with _quietly(f"a copy of {source} in the run folder"):
            from PIL import Image

            from nst_engine.images import save_image

            if source.suffix.lower() == ".png":
                temporary = target.with_name(f".{target.name}.tmp")
                shutil.copyfile(source, temporary)
                os.replace(temporary, target)
                picture = Image.open(target)
            else:
                picture = Image.open(source)
                save_image(picture.convert("RGB"), target, overwrite=True)
            with picture:
                small = picture.convert("RGB")
                small.thumbnail((runs.THUMBNAIL_SIZE, runs.THUMBNAIL_SIZE))
                save_image(small, self.folder.thumbnail_path, overwrite=True)


@dataclass
class _quietly:
    """A picture the folder could not take is logged, never the run's failure."""

    what: str

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is not None and isinstance(error, (OSError, ValueError, NSTError)):
            log.warning("could not write %s: %s", self.what, error)
            return True
        return False


def _to_cpu(value: Any) -> Any:
    """A checkpoint's state with every tensor copied to the CPU (for torch.save)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(item) for item in value)
    return value

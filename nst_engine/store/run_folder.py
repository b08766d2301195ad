"""Run folders: every run's settings, loss history, snapshots, result, log and checkpoint.

Each run gets a folder in the runs folder (locations.runs_dir(): the user data folder's
`runs`, or NST_TUI_RUNS_DIR, or `--runs-dir`), named by when it started and what it styles:

    20261128-031502-astronaut-mosaic/
        run.json        what the history lists: status, dates, images, progress (rewritten
                        atomically at each change)
        settings.toml   the run's full settings (RunConfig.to_toml)
        losses.jsonl    one line per iteration: iteration, scale, seconds, each loss term
        run.log         this run's part of the log
        checkpoint.pt   image, optimiser state and scale, written atomically every
                        `checkpoint_every` iterations and when the run stops; removed when it ends
        snapshots/      step-050.png ...
        result.png      the final image (also written where the user asked), or partial.png
        thumbnail.png   a small picture for the history
        run.lock        locked by the process that runs it (nst_engine/store/run_lock.py)

Every file is written through nst_engine/store/safe_files.py: whole or not at all, and never
through a link planted at its name; files are read back only if they are regular files of a
sane size. A damaged record is refused with what is wrong (nst_engine/store/run_record.py).

Only the engine writes these (nst_engine/running/transfer.py through `RunFolder`); the app and the
command line read, resume and delete them through it, and list them through
nst_engine/store/runs.py. Cheap to import: no torch (the checkpoint's functions import it when
called).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_engine.errors import ConfigError, NSTError, OutputError
from nst_engine.store import output_index, run_lock, safe_files
from nst_engine.store.loss_history import history_text, read_history
from nst_engine.store.new_run import absolute_paths, make_run_folder
from nst_engine.store.run_record import (
    FINISHED,
    INTERRUPTED,
    QUEUED,
    RECORD_LIMIT,
    RUN_FILE,
    RUNNING,
    STOPPED,
    RunRecord,
    queued_record,
    read_record,
)

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig

SETTINGS_FILE = "settings.toml"
LOSSES_FILE = "losses.jsonl"
LOG_FILE = "run.log"
CHECKPOINT_FILE = "checkpoint.pt"
SNAPSHOTS = "snapshots"
RESULT_FILE = "result.png"
PARTIAL_FILE = "partial.png"
THUMBNAIL_FILE = "thumbnail.png"
THUMBNAIL_SIZE = 192  # longest side, px


class RunFolder:
    """One run's folder: where the engine writes, and what the history reads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunFolder) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def id(self) -> str:
        return self.path.name

    # --- creating -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        config: RunConfig,
        root: Path | None = None,
        *,
        sweep: str | None = None,
        labels: Iterable[str] = (),
    ) -> RunFolder:
        """A new folder for `config`'s run, with its settings and a `queued` record (the
        engine marks it `running` when it starts; a run never started can be resumed)."""
        folder = cls(make_run_folder(config, root))
        config = absolute_paths(config)
        folder.write_settings(config)
        record = queued_record(folder.path, config, sweep=sweep, labels=labels)
        folder.write_record(record)
        output_index.claim(folder.path, record.output)  # its name is taken from now on
        return folder

    def write_settings(self, config: RunConfig) -> None:
        _write_atomically(self.path / SETTINGS_FILE, config.to_toml().encode())

    # --- the record ---------------------------------------------------------------------------

    def record(self) -> RunRecord:
        """run.json as a record; a `running` one whose process is gone reads as interrupted.
        ConfigError if it cannot be read or is damaged (saying how)."""
        try:
            record = self._stored_record()
        except FileNotFoundError:
            raise ConfigError(f"'{self.path}' is not a run folder (no {RUN_FILE})") from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise ConfigError(f"run '{self.id}': {RUN_FILE} cannot be read ({reason})") from None
        except ValueError as error:
            raise ConfigError(f"run '{self.id}': {RUN_FILE} is damaged ({error})") from None
        if record.status == RUNNING and not run_lock.still_running(
            self.path, record.pid, record.host
        ):
            record = replace(record, status=INTERRUPTED)
        return record

    def write_record(self, record: RunRecord) -> None:
        text = json.dumps(record.stored_form(), indent=1)
        _write_atomically(self.path / RUN_FILE, text.encode())
        if record.status == FINISHED:
            output_index.release(self.path)  # its output is written: the name is no more its

    def update(self, **changes: Any) -> RunRecord:
        """Change fields of run.json (atomically); the new record."""
        record = replace(self._stored_record(), **changes)
        self.write_record(record)
        return record

    def _stored_record(self) -> RunRecord:
        """The record as written (a `running` one stays `running`); unknown keys are ignored.
        OSError if it cannot be read, ValueError (saying what) if it is damaged."""
        return read_record(self.path)

    def stop_before_start(self) -> None:
        """A queued run was cancelled before it began: `stopped` at 0 (resumable from the
        start). A run stopped before, waiting for its resume, stays as it was."""
        with contextlib.suppress(OSError, ValueError, TypeError, NSTError):
            if self._stored_record().status == QUEUED:
                self.update(status=STOPPED, ended=time.time())

    def config(self) -> RunConfig:
        """The run's settings, as it was started."""
        from nst_engine.settings.config import RunConfig

        path = self.path / SETTINGS_FILE
        return RunConfig.from_toml(self.settings_text(), source=str(path))

    def settings_text(self) -> str:
        """settings.toml as text; ConfigError if it is missing, not a file, or not text."""
        path = self.path / SETTINGS_FILE
        try:
            data = safe_files.read_regular(path, RECORD_LIMIT)
        except FileNotFoundError:
            raise ConfigError(f"run '{self.id}' has no settings ({path} is missing)") from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise ConfigError(f"run '{self.id}': its settings cannot be read ({reason})") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"run '{self.id}': {path} is not UTF-8 text") from None

    # --- files --------------------------------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_FILE

    @property
    def losses_path(self) -> Path:
        return self.path / LOSSES_FILE

    @property
    def log_path(self) -> Path:
        return self.path / LOG_FILE

    @property
    def result_path(self) -> Path:
        return self.path / RESULT_FILE

    @property
    def partial_path(self) -> Path:
        return self.path / PARTIAL_FILE

    @property
    def thumbnail_path(self) -> Path:
        return self.path / THUMBNAIL_FILE

    @property
    def snapshots_dir(self) -> Path:
        return self.path / SNAPSHOTS

    def snapshot_path(self, index: int, total: int) -> Path:
        return self.snapshots_dir / f"step-{index:0{len(str(total))}d}.png"

    def snapshots(self) -> dict[int, Path]:
        """The snapshots taken so far, by iteration."""
        found = {}
        if safe_files.is_link(self.snapshots_dir):
            return found  # planted: what it points to is not this run's
        for path in sorted(self.snapshots_dir.glob("step-*.png")):
            match = re.fullmatch(r"step-(\d+)\.png", path.name)
            if match:
                found[int(match.group(1))] = path
        return found

    def snapshots_folder(self) -> Path:
        """The snapshots' folder, made if needed; OSError if it cannot be (the run folder is
        gone, or `snapshots` is a file or a link: never written through)."""
        try:
            self.snapshots_dir.mkdir()
        except FileExistsError:
            if safe_files.is_link(self.snapshots_dir) or not self.snapshots_dir.is_dir():
                raise OSError(
                    errno.EEXIST, f"{self.snapshots_dir} is not a folder of this run"
                ) from None
        return self.snapshots_dir

    def picture(self) -> Path | None:
        """The best picture of the run there is: result, partial, last snapshot; or None."""
        for path in (self.result_path, self.partial_path):
            if path.is_file():
                return path
        snapshots = self.snapshots()
        return snapshots[max(snapshots)] if snapshots else None

    # --- the loss history ---------------------------------------------------------------------

    def append_losses(self, rows: list[dict[str, float]]) -> None:
        """Add rows to the loss history (one JSON object per line, flushed); OSError if the
        folder cannot take them."""
        if rows:
            self._append(self.losses_path, history_text(rows))

    def append_log(self, text: str) -> None:
        """Add `text` to the run's log (what a cluster's worker logged); OSError as above."""
        if text:
            self._append(self.log_path, text)

    def _append(self, path: Path, text: str) -> None:
        with safe_files.open_for_append(path) as stream:  # never through a planted link
            stream.write(text)
            stream.flush()

    def losses(self) -> list[dict[str, float]]:
        """The loss history, oldest first; a line torn by a crash, or damaged, is left out."""
        return read_history(self.losses_path)

    def keep_losses_until(self, iteration: int) -> None:
        """Drop the history's rows after `iteration` (those a resumed run will make again)."""
        rows = [row for row in self.losses() if row["iteration"] <= iteration]
        _write_atomically(self.losses_path, history_text(rows).encode())

    # --- the checkpoint -----------------------------------------------------------------------

    def write_checkpoint(self, state: dict[str, Any]) -> None:
        """Save `state` (tensors on the CPU) as the checkpoint, atomically: a run killed while
        writing keeps the previous checkpoint whole. OutputError if it cannot be written (a
        full disk: torch reports it as a RuntimeError in the middle of the file)."""
        import torch

        try:
            safe_files.write_atomically(
                self.checkpoint_path, lambda stream: torch.save(state, stream)
            )
        except (OSError, RuntimeError) as error:
            raise _not_written(self.checkpoint_path, error) from None

    def put_checkpoint(self, data: bytes) -> None:
        """A checkpoint already serialised (one that came back from a cluster's worker), put
        in place as atomically as write_checkpoint's."""
        _write_atomically(self.checkpoint_path, data)

    def read_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint, or None when there is none; ConfigError (one line) for one
        that is not a checkpoint, whatever it holds (a folder, a link, a malicious pickle)."""
        path = self.checkpoint_path
        if not os.path.lexists(path):
            return None
        start_again = f"delete {path} to start the run again from the beginning"
        try:
            stream = safe_files.open_regular(path)
        except OSError:
            raise ConfigError(
                f"the checkpoint of run '{self.id}' is not a file; {start_again}"
            ) from None
        import warnings

        import torch

        try:
            with stream, warnings.catch_warnings():
                # torch warns of pickle protocols it does not expect: the refusal says it all.
                warnings.simplefilter("ignore")
                state = torch.load(stream, map_location="cpu", weights_only=True)
            if not isinstance(state, dict):
                raise TypeError("not a table")
        except Exception as error:  # a file that is not a checkpoint: say so, once
            raise ConfigError(
                f"the checkpoint of run '{self.id}' cannot be read ({type(error).__name__}); "
                f"{start_again}"
            ) from None
        return state

    def remove_checkpoint(self) -> None:
        with contextlib.suppress(OSError):
            self.checkpoint_path.unlink(missing_ok=True)
        for leftover in self.path.glob(f".{CHECKPOINT_FILE}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()

    # --- who runs it --------------------------------------------------------------------------

    def lock(self):
        """A context that holds the run's lock (nst_engine/store/run_lock.py): ConfigError at once if
        another process runs it."""
        return run_lock.holding(self.path, self.id)

    def remove_temporaries(self) -> None:
        """Delete what writes killed in the middle left (`.run.json.*.tmp` ...). Only while
        holding the lock: then no other process writes here."""
        safe_files.remove_temporaries(self.path)
        if not safe_files.is_link(self.snapshots_dir):
            safe_files.remove_temporaries(self.snapshots_dir)


# --- helpers----------------------------------------------------------------------------------


def _write_atomically(path: Path, data: bytes) -> None:
    """`data` as `path`, atomically and through no link (nst_engine/store/safe_files.py); an
    OutputError saying what went wrong."""
    try:
        safe_files.write_atomically(path, data)
    except OSError as error:
        raise _not_written(path, error) from None


def _not_written(path: Path, error: Exception) -> OutputError:
    """`could not write '...': No space left on device` (a RuntimeError of torch's: its first
    line)."""
    if isinstance(error, OSError):
        reason = error.strerror or str(error)
    else:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return OutputError(f"could not write '{path}': {reason}")

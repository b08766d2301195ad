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
command line list, read, resume and delete them through this module. Cheap to import: no
torch (the checkpoint's functions import it when called).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_engine.errors import ConfigError, NSTError, OutputError
from nst_engine.store import locations, output_owners, run_lock, safe_files
from nst_engine.store.run_record import (  # noqa: F401 (where the rest of the code takes them from)
    FAILED,
    FINISHED,
    INTERRUPTED,
    QUEUED,
    RESUMABLE,
    RUNNING,
    STATUSES,
    STOPPED,
    RunRecord,
    iso_time,
    record_from_json,
    summarise,
)

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig

RUN_FILE = "run.json"
SETTINGS_FILE = "settings.toml"
LOSSES_FILE = "losses.jsonl"
LOG_FILE = "run.log"
CHECKPOINT_FILE = "checkpoint.pt"
SNAPSHOTS = "snapshots"
RESULT_FILE = "result.png"
PARTIAL_FILE = "partial.png"
THUMBNAIL_FILE = "thumbnail.png"
THUMBNAIL_SIZE = 192  # longest side, px

# Largest files the store reads back (a planted link or a huge file must not eat the memory).
RECORD_LIMIT = 1 << 20  # run.json, settings.toml
LOSSES_LIMIT = 256 << 20  # about two million iterations' rows


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
        root = Path(root) if root is not None else locations.runs_dir()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(
                f"cannot create the runs folder '{root}': {error.strerror or error}"
            ) from None
        stem = time.strftime("%Y%m%d-%H%M%S") + "-" + _slug(config)
        for attempt in range(100):
            name = stem if attempt == 0 else f"{stem}-{attempt + 1}"
            try:
                (root / name).mkdir()
                break
            except FileExistsError:
                continue
            except OSError as error:
                raise OutputError(
                    f"cannot create a run folder in '{root}': {error.strerror or error}"
                ) from None
        else:  # pragma: no cover - a hundred runs in one second with the same names
            name = f"{stem}-{secrets.token_hex(3)}"
            (root / name).mkdir()
        folder = cls(root / name)
        config = absolute_paths(config)
        folder.write_settings(config)
        record = RunRecord(
            id=name,
            path=folder.path,
            status=QUEUED,
            started=time.time(),
            content=str(config.content or ""),
            styles=tuple(str(style) for style in config.styles),
            output=str(config.output or ""),
            total=0,
            summary=summarise(config),
            host=socket.gethostname(),
            sweep=sweep,
            labels=tuple(labels),
        )
        folder.write_record(record)
        output_owners.claim(folder.path, record.output)  # its name is taken from now on
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
            output_owners.release(self.path)  # its output is written: the name is no more its

    def update(self, **changes: Any) -> RunRecord:
        """Change fields of run.json (atomically); the new record."""
        record = replace(self._stored_record(), **changes)
        self.write_record(record)
        return record

    def _stored_record(self) -> RunRecord:
        """The record as written (a `running` one stays `running`); unknown keys are ignored.
        OSError if it cannot be read, ValueError (saying what) if it is damaged."""
        text = safe_files.read_regular(self.path / RUN_FILE, RECORD_LIMIT)
        try:
            data = json.loads(text.decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError("it is not UTF-8 text") from None
        except ValueError:
            raise ValueError("it is not JSON") from None
        return record_from_json(data, self.path)

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
            text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
            self._append(self.losses_path, text)

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
        try:
            data = safe_files.read_regular(self.losses_path, LOSSES_LIMIT)
        except OSError:
            return []
        rows = []
        for line in data.splitlines():
            with contextlib.suppress(ValueError):
                row = json.loads(line.decode("utf-8"))
                if _is_loss_row(row):
                    rows.append(row)
        return rows

    def keep_losses_until(self, iteration: int) -> None:
        """Drop the history's rows after `iteration` (those a resumed run will make again)."""
        rows = [row for row in self.losses() if row["iteration"] <= iteration]
        text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
        _write_atomically(self.losses_path, text.encode())

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


# --- the runs folder --------------------------------------------------------------------------


def runs_root(root: Path | None = None) -> Path:
    return Path(root) if root is not None else locations.runs_dir()


def run_folders(root: Path | None = None) -> Iterator[RunFolder]:
    """Every folder in the runs folder that has a record (in name order: oldest first); a
    link planted there is no run folder (what it points to is not this runs folder's)."""
    root = runs_root(root)
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False) and (path / RUN_FILE).is_file():
                yield RunFolder(path)


def list_runs(root: Path | None = None, damaged: list[str] | None = None) -> list[RunRecord]:
    """The runs' records, newest first. A folder whose record cannot be read, or is damaged,
    is left out; `damaged`, if given, gets a line for each (`ID: what is wrong`)."""
    records = []
    for folder in run_folders(root):
        try:
            records.append(folder.record())
        except ConfigError as error:
            if damaged is not None:
                damaged.append(error.message)
    return sorted(records, key=lambda record: (record.started, record.id), reverse=True)


def filter_runs(
    records: Iterable[RunRecord], text: str = "", status: str | None = None
) -> list[RunRecord]:
    """The records whose id, images, labels or settings contain `text` (any case), and
    whose status is `status` (None: any)."""
    words = text.lower().split()
    kept = []
    for record in records:
        if status and record.status != status:
            continue
        haystack = " ".join(
            [
                record.id,
                record.content_name,
                record.style_names,
                record.status,
                *record.labels,
                *(f"{key}={value}" for key, value in record.summary.items()),
            ]
        ).lower()
        if all(word in haystack for word in words):
            kept.append(record)
    return kept


def find_run(text: str, root: Path | None = None) -> RunFolder:
    """The run that `text` names: a run folder's path, its id, or the start of one id."""
    if _is_run_folder(Path(text).expanduser()):
        return RunFolder(Path(text).expanduser())
    folders = list(run_folders(root))
    exact = [folder for folder in folders if folder.id == text]
    if exact:
        return exact[0]
    matches = [folder for folder in folders if folder.id.startswith(text)] if text else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(
            f"no run '{shorten(text)}' in {runs_root(root)} (`nst-tui runs` lists them; a "
            "run folder's path works too)"
        )
    names = ", ".join(folder.id for folder in matches[:3])
    raise ConfigError(
        f"'{text}' names {len(matches)} runs ({names}{', ...' if len(matches) > 3 else ''}); "
        "give more of the id"
    )


def _is_run_folder(path: Path) -> bool:
    """Whether `path` is a folder with a record; False for what cannot be a path at all (a
    name too long for the system, a NUL character)."""
    try:
        return (path / RUN_FILE).is_file()
    except (OSError, ValueError):
        return False


def shorten(text: str, most: int = 80) -> str:
    """`text`, or its start and end around `...` when longer than `most` characters (an id
    of thousands of characters in a one-line error)."""
    if len(text) <= most:
        return text
    return f"{text[: most // 2]}...{text[-(most // 2 - 3) :]}"


def delete_run(folder: RunFolder) -> None:
    """Remove a run's folder and everything in it (not the result where the user asked)."""
    if folder.record().status == RUNNING:
        raise ConfigError(f"run '{folder.id}' is still running; stop it first")
    try:
        shutil.rmtree(folder.path)
    except OSError as error:
        raise OutputError(f"could not delete '{folder.path}': {error.strerror or error}") from None
    output_owners.release(folder.path)


def absolute_paths(config: RunConfig) -> RunConfig:
    """`config` with its files named from the root, so that a run resumes from any folder."""
    from nst_engine.settings.config import INITS, WEIGHT_SOURCES

    def absolute(path: Path | None) -> Path | None:
        return None if path is None else Path(os.path.abspath(path.expanduser()))

    changes: dict[str, Any] = {
        "content": absolute(config.content),
        "style": absolute(config.style),
        "output": absolute(config.output),
        "extra_styles": tuple(Path(os.path.abspath(path)) for path in config.extra_styles),
    }
    if config.init not in INITS:
        changes["init"] = os.path.abspath(config.init)
    if config.weights not in WEIGHT_SOURCES:
        changes["weights"] = os.path.abspath(Path(config.weights).expanduser())
    return config.replace(**changes)


# --- helpers ----------------------------------------------------------------------------------


def _slug(config: RunConfig) -> str:
    """`astronaut-mosaic`: the content's and first style's names, safe for a folder name."""
    names = [Path(path).stem for path in (config.content, config.style) if path]
    text = "-".join(names) or "run"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60].strip("._-") or "run"


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


def _is_loss_row(row: Any) -> bool:
    """A row of the loss history: an iteration (a count) and numbers (NaN included: a run
    that diverged recorded it)."""
    return (
        isinstance(row, dict)
        and isinstance(row.get("iteration"), int)
        and not isinstance(row["iteration"], bool)
        and all(
            isinstance(value, (int, float)) and not isinstance(value, bool)
            for value in row.values()
        )
    )

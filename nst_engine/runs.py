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

Only the engine writes these (nst_engine/transfer.py through `RunFolder`); the app and the
command line list, read, resume and delete them through this module. Cheap to import: no
torch (the checkpoint's functions import it when called).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_engine import locations, output_owners
from nst_engine.errors import ConfigError, NSTError, OutputError

if TYPE_CHECKING:
    from nst_engine.config import RunConfig

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

# What run.json's status can be. `queued`: made, never started (a sweep's later cells).
# `interrupted` is never written: it is what a `running` record reads as once the process
# that wrote it is gone (power cut, SIGKILL, a crash).
QUEUED, RUNNING, FINISHED, STOPPED, FAILED, INTERRUPTED = (
    "queued",
    "running",
    "finished",
    "stopped",
    "failed",
    "interrupted",
)
STATUSES = (QUEUED, RUNNING, FINISHED, STOPPED, FAILED, INTERRUPTED)
# What `nst-tui resume` and the history's Resume take up (a queued run starts from the top).
RESUMABLE = (QUEUED, STOPPED, FAILED, INTERRUPTED)


@dataclass(frozen=True)
class RunRecord:
    """One run as the history lists it (run.json, with `interrupted` worked out)."""

    id: str
    path: Path
    status: str
    started: float  # seconds since the epoch
    content: str = ""  # path of the content image
    styles: tuple[str, ...] = ()
    output: str = ""  # where the user asked for the result
    result: str | None = None  # the result's path once finished (normally `output`)
    partial: str | None = None  # a stopped run's image beside the output
    partials: tuple[str, ...] = ()  # every partial its stops made (removed once it finishes)
    ended: float | None = None
    seconds: float = 0.0  # optimisation time, resumed parts added up
    iterations_done: int = 0
    total: int = 0
    # A few settings worth a column: optimizer, lr, size, style_weight, preset, device.
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    pid: int | None = None
    host: str = ""
    sweep: str | None = None  # the sweep this run is a cell of (its id), if any
    labels: tuple[str, ...] = ()  # the cell's values, e.g. ("lr=1", "style-weight=100")
    resumed: int = 0  # how many times it was resumed

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE

    @property
    def content_name(self) -> str:
        return Path(self.content).name if self.content else ""

    @property
    def style_names(self) -> str:
        return " + ".join(Path(style).name for style in self.styles)

    def to_json(self) -> dict[str, Any]:
        """What `nst-tui runs --json` prints for this run."""
        data = asdict(self)
        data["path"] = str(self.path)
        data["styles"] = list(self.styles)
        data["labels"] = list(self.labels)
        data["partials"] = list(self.partials)
        data["started_iso"] = _iso(self.started)
        data["ended_iso"] = _iso(self.ended) if self.ended else None
        data["resumable"] = self.resumable
        return data


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
        """run.json as a record; a `running` one whose process is gone reads as interrupted."""
        try:
            record = self._stored_record()
        except (OSError, ValueError, TypeError) as error:
            raise ConfigError(f"'{self.path}' is not a run folder (no readable {RUN_FILE})") from (
                error
            )
        if record.status == RUNNING and not _alive(record.pid, record.host):
            record = replace(record, status=INTERRUPTED)
        return record

    def write_record(self, record: RunRecord) -> None:
        data = asdict(record)
        data["path"] = str(record.path)
        _write_atomically(self.path / RUN_FILE, json.dumps(data, indent=1).encode())
        if record.status == FINISHED:
            output_owners.release(self.path)  # its output is written: the name is no more its

    def update(self, **changes: Any) -> RunRecord:
        """Change fields of run.json (atomically); the new record."""
        record = replace(self._stored_record(), **changes)
        self.write_record(record)
        return record

    def _stored_record(self) -> RunRecord:
        """The record as written (a `running` one stays `running`); unknown keys are ignored."""
        data = json.loads((self.path / RUN_FILE).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{RUN_FILE} holds no record")
        known = {name for name in RunRecord.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in known}
        values.update(path=self.path, id=self.path.name)
        for name in ("styles", "labels", "partials"):
            values[name] = tuple(values.get(name) or ())
        return RunRecord(**values)

    def stop_before_start(self) -> None:
        """A queued run was cancelled before it began: `stopped` at 0 (resumable from the
        start). A run stopped before, waiting for its resume, stays as it was."""
        with contextlib.suppress(OSError, ValueError, TypeError, NSTError):
            if self._stored_record().status == QUEUED:
                self.update(status=STOPPED, ended=time.time())

    def config(self) -> RunConfig:
        """The run's settings, as it was started."""
        from nst_engine.config import RunConfig

        path = self.path / SETTINGS_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise ConfigError(f"run '{self.id}' has no settings ({path} is missing)") from None
        return RunConfig.from_toml(text, source=str(path))

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
        for path in sorted(self.snapshots_dir.glob("step-*.png")):
            match = re.fullmatch(r"step-(\d+)\.png", path.name)
            if match:
                found[int(match.group(1))] = path
        return found

    def picture(self) -> Path | None:
        """The best picture of the run there is: result, partial, last snapshot; or None."""
        for path in (self.result_path, self.partial_path):
            if path.is_file():
                return path
        snapshots = self.snapshots()
        return snapshots[max(snapshots)] if snapshots else None

    # --- the loss history ---------------------------------------------------------------------

    def append_losses(self, rows: list[dict[str, float]]) -> None:
        """Add rows to the loss history (one JSON object per line, flushed)."""
        if not rows:
            return
        text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
        with open(self.losses_path, "a", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()

    def losses(self) -> list[dict[str, float]]:
        """The loss history, oldest first; a line torn by a crash is left out."""
        try:
            lines = self.losses_path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        rows = []
        for line in lines:
            with contextlib.suppress(ValueError):
                row = json.loads(line)
                if isinstance(row, dict) and "iteration" in row:
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
        writing keeps the previous checkpoint whole."""
        import torch

        temporary = self.path / f".{CHECKPOINT_FILE}.{secrets.token_hex(4)}.tmp"
        try:
            with open(temporary, "xb") as stream:
                torch.save(state, stream)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.checkpoint_path)
            _sync_folder(self.path)
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)

    def put_checkpoint(self, data: bytes) -> None:
        """A checkpoint already serialised (one that came back from a cluster's worker), put
        in place as atomically as write_checkpoint's."""
        _write_atomically(self.checkpoint_path, data)
        _sync_folder(self.path)

    def read_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint, or None when there is none."""
        if not self.checkpoint_path.is_file():
            return None
        import torch

        try:
            return torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        except Exception as error:  # a file that is not a checkpoint: say so, once
            raise ConfigError(
                f"the checkpoint of run '{self.id}' cannot be read ({type(error).__name__}); "
                f"delete {self.checkpoint_path} to start the run again from the beginning"
            ) from None

    def remove_checkpoint(self) -> None:
        with contextlib.suppress(OSError):
            self.checkpoint_path.unlink(missing_ok=True)
        for leftover in self.path.glob(f".{CHECKPOINT_FILE}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()


# --- the runs folder --------------------------------------------------------------------------


def runs_root(root: Path | None = None) -> Path:
    return Path(root) if root is not None else locations.runs_dir()


def run_folders(root: Path | None = None) -> Iterator[RunFolder]:
    """Every folder in the runs folder that has a record (in name order: oldest first)."""
    root = runs_root(root)
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if path.is_dir() and (path / RUN_FILE).is_file():
            yield RunFolder(path)


def list_runs(root: Path | None = None) -> list[RunRecord]:
    """The runs' records, newest first; a folder whose record cannot be read is left out."""
    records = []
    for folder in run_folders(root):
        with contextlib.suppress(ConfigError, TypeError):
            records.append(folder.record())
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
    candidate = Path(text).expanduser()
    if (candidate / RUN_FILE).is_file():
        return RunFolder(candidate)
    folders = list(run_folders(root))
    exact = [folder for folder in folders if folder.id == text]
    if exact:
        return exact[0]
    matches = [folder for folder in folders if folder.id.startswith(text)] if text else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(
            f"no run '{text}' in {runs_root(root)} (`nst-tui runs` lists them; a run "
            "folder's path works too)"
        )
    names = ", ".join(folder.id for folder in matches[:3])
    raise ConfigError(
        f"'{text}' names {len(matches)} runs ({names}{', ...' if len(matches) > 3 else ''}); "
        "give more of the id"
    )


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
    from nst_engine.config import INITS, WEIGHT_SOURCES

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


def summarise(config: RunConfig) -> dict[str, Any]:
    """The settings the history shows in its columns."""
    from nst_engine.values import Size

    size: Size = config.size
    return {
        "optimizer": config.optimizer.name,
        "lr": config.optimizer.lr,
        "iterations": config.iterations,
        "size": str(size),
        "style_weight": config.style_weight,
        "tv_weight": config.tv_weight,
        "style_scale": config.style_scale,
        "preserve_color": config.preserve_color,
        "device": config.device,
        "seed": config.seed,
    }


# --- helpers ----------------------------------------------------------------------------------


def _slug(config: RunConfig) -> str:
    """`astronaut-mosaic`: the content's and first style's names, safe for a folder name."""
    names = [Path(path).stem for path in (config.content, config.style) if path]
    text = "-".join(names) or "run"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60].strip("._-") or "run"


def _alive(pid: int | None, host: str) -> bool:
    """Whether process `pid` on `host` may still be running (another host: assume so)."""
    if pid is None:
        return False
    if host and host != socket.gethostname():
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(seconds))


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"could not write '{path}': {error.strerror or error}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def _sync_folder(path: Path) -> None:
    """Make a rename in `path` survive a power cut (where the platform allows)."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

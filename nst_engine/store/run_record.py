"""A run's record (run.json) as the history lists it, its reading and its checking when read.

run.json may be damaged or crafted by hand: a `started` that is text, or 1e300, a `summary`
that is a list, a pid of 30 digits. Each would break whatever shows the record (the history,
`nst-tui runs`), so a record is checked field by field when read, and one of the wrong shape
is refused with what is wrong (the listing leaves it out and names it) rather than let
through. Cheap to import: no torch.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_engine.store import safe_files

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig

RUN_FILE = "run.json"
RECORD_LIMIT = 1 << 20  # the largest run.json (or settings.toml) read back: 1 MiB

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
KINDS = (RUN, SEQUENCE) = ("run", "sequence")

# Times a record may hold: from 1970 to about the year 5000 (time.localtime and strftime
# fail beyond).
LATEST_TIME = 1e11
LARGEST_PID = 2**31 - 1
# The summary's values the history formats as numbers.
SUMMARY_NUMBERS = ("lr", "iterations", "style_weight", "tv_weight", "style_scale", "seed")


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
    # "run", or "sequence": a video's frames (nst_engine/video/sequence_record.py), whose
    # progress is frames done of total and whose `sequence` holds its SequenceSettings.
    kind: str = "run"
    frames_done: int = 0
    frames_total: int = 0
    sequence: dict[str, Any] = field(default_factory=dict)

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE

    @property
    def progress(self) -> str:
        """What it has done of its total: "3/8 frames" for a sequence, "50/100" for a run."""
        if self.kind == SEQUENCE:
            return f"{self.frames_done}/{self.frames_total} frames"
        return f"{self.iterations_done}/{self.total or self.summary.get('iterations', '?')}"

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
        data["started_iso"] = iso_time(self.started)
        data["ended_iso"] = iso_time(self.ended) if self.ended else None
        data["resumable"] = self.resumable
        return data

    def stored_form(self) -> dict[str, Any]:
        """What run.json holds for this record."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def record_from_json(data: Any, path: Path) -> RunRecord:
    """The record that run.json's `data` holds for the folder `path`; ValueError saying what
    is wrong if a field has the wrong type or an impossible value. Unknown keys are ignored."""
    if not isinstance(data, dict):
        raise ValueError("it holds no record")
    known = set(RunRecord.__dataclass_fields__)
    values = {key: value for key, value in data.items() if key in known}
    values.update(path=path, id=path.name)
    for name in ("styles", "labels", "partials"):
        values[name] = tuple(_texts(values.get(name) or (), name))
    for name, check in _CHECKS.items():
        if name in values:
            values[name] = check(values[name], name)
    if "status" not in values or "started" not in values:
        raise ValueError("it has no status or no start time")
    return RunRecord(**values)


def read_record(folder: Path) -> RunRecord:
    """The record in `folder`'s run.json as written (a `running` one stays `running`: whether
    its process is gone is the run folder's question). OSError if it cannot be read,
    ValueError (saying what) if it is damaged."""
    text = safe_files.read_regular(folder / RUN_FILE, RECORD_LIMIT)
    try:
        data = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    except ValueError:
        raise ValueError("it is not JSON") from None
    return record_from_json(data, folder)


def record_folders(root: Path) -> Iterator[Path]:
    """Every folder in `root` that has a record (in name order: oldest first); a link planted
    there is no run folder (what it points to is not this runs folder's)."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False) and (path / RUN_FILE).is_file():
                yield path


def queued_record(
    folder: Path, config: RunConfig, *, sweep: str | None = None, labels: Iterable[str] = ()
) -> RunRecord:
    """The record of a run just made in `folder`: queued, nothing done yet."""
    return RunRecord(
        id=folder.name,
        path=folder,
        status=QUEUED,
        started=time.time(),
        content=str(config.inputs.content or ""),
        styles=tuple(str(style) for style in config.styles),
        output=str(config.inputs.output or ""),
        total=0,
        summary=summarise(config),
        host=socket.gethostname(),
        sweep=sweep,
        labels=tuple(labels),
    )


def iso_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(seconds))


def summarise(config: RunConfig) -> dict[str, Any]:
    """The settings the history shows in its columns (the record's `summary`)."""
    from nst_engine.settings.values import Size

    size: Size = config.plan.size
    return {
        "optimizer": config.plan.optimizer.name,
        "lr": config.plan.optimizer.lr,
        "iterations": config.plan.iterations,
        "size": str(size),
        "style_weight": config.look.style_weight,
        "tv_weight": config.look.tv_weight,
        "style_scale": config.look.style_scale,
        "preserve_color": config.look.preserve_color,
        "device": config.machine.device,
        "seed": config.plan.seed,
    }


# --- the checks, one per field -----------------------------------------------------------------


def _wrong(name: str, value: Any, expected: str) -> ValueError:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return ValueError(f"its {name} is {shown}, not {expected}")


def _status(value: Any, name: str) -> str:
    if value not in STATUSES:
        raise _wrong(name, value, "a status (" + ", ".join(STATUSES) + ")")
    return value


def _time(value: Any, name: str) -> float:
    if not _is_number(value) or not 0 <= value < LATEST_TIME:
        raise _wrong(name, value, "a time")
    return float(value)


def _optional_time(value: Any, name: str) -> float | None:
    return None if value is None else _time(value, name)


def _seconds(value: Any, name: str) -> float:
    if not _is_number(value) or not 0 <= value < LATEST_TIME:
        raise _wrong(name, value, "a number of seconds")
    return float(value)


def _count(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
        raise _wrong(name, value, "a count")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise _wrong(name, value, "text")
    return value


def _optional_text(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _pid(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= LARGEST_PID:
        raise _wrong(name, value, "a process id")
    return value


def _summary(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong(name, value, "a table of settings")
    for key, item in value.items():
        if key in SUMMARY_NUMBERS and item is not None and not _is_number(item):
            raise _wrong(f"{name}'s {key}", item, "a number")
        if not isinstance(item, (str, int, float, bool, type(None))):
            raise _wrong(f"{name}'s {key}", item, "a value")
    if "optimizer" in value and not _is_number(value.get("lr")):
        raise _wrong(f"{name}'s lr", value.get("lr"), "a number")
    return value


def _kind(value: Any, name: str) -> str:
    if value not in KINDS:
        raise _wrong(name, value, "a kind (" + ", ".join(KINDS) + ")")
    return value


def _sequence(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(
        isinstance(item, bool) or _is_number(item) for item in value.values()
    ):
        raise _wrong(name, value, "a table of numbers")
    return value


def _texts(value: Any, name: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise _wrong(name, value, "a list of texts")
    return list(value)


def _is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer of hundreds of digits
        return False


_CHECKS = {
    "status": _status,
    "started": _time,
    "ended": _optional_time,
    "seconds": _seconds,
    "content": _text,
    "output": _text,
    "result": _optional_text,
    "partial": _optional_text,
    "iterations_done": _count,
    "total": _count,
    "resumed": _count,
    "summary": _summary,
    "error": _optional_text,
    "pid": _pid,
    "host": _text,
    "sweep": _optional_text,
    "kind": _kind,
    "frames_done": _count,
    "frames_total": _count,
    "sequence": _sequence,
}

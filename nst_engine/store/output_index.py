"""The index of the output names that runs own: `.outputs/` in the runs folder.

A run that has not finished (queued, running, stopped, failed, interrupted) will still write
its output. The index holds one small file per such run, named by its id and holding its
output's path; written when the run folder is made (and when a resume moves the run to another
name), removed when the run finishes or is deleted (nst_engine/store/run_folder.py). Asking
which names are owned reads those few files, and nothing at all while the index folder has not
changed, never every run.json (benchmarks/output_names.py: 2,000 run folders). A runs folder
made by an earlier version is indexed once, the first time it is asked. What the owners'
names mean for a new run or a resume is nst_engine/store/output_owners.py's.

Cheap to import: no torch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import threading
from pathlib import Path

from nst_engine.errors import NSTError
from nst_engine.store import locations, safe_files
from nst_engine.store.run_record import FINISHED, RUN_FILE, read_record, record_folders

log = logging.getLogger("nst.engine")

INDEX = ".outputs"  # in the runs folder (no run.json: never listed as a run)

# The index as last read, by runs folder: (the index folder's mtime, output -> owners' ids).
_read: dict[Path, tuple[int, dict[Path, tuple[str, ...]]]] = {}
_lock = threading.Lock()  # the app reads it from several threads


def claim(folder_path: Path, output: str | Path | None) -> None:
    """Note in the index that the run in `folder_path` will write `output`."""
    if not output:
        release(folder_path)
        return
    index = folder_path.parent / INDEX
    try:
        index.mkdir(exist_ok=True)
        safe_files.write_atomically(index / folder_path.name, str(output).encode())
    except (OSError, NSTError) as error:  # the run goes on; its name may be proposed again
        log.warning("could not note the output of %s: %s", folder_path.name, error)
    _forget(folder_path.parent)


def release(folder_path: Path) -> None:
    """The run in `folder_path` writes no more (finished, or deleted)."""
    with contextlib.suppress(OSError):
        (folder_path.parent / INDEX / folder_path.name).unlink(missing_ok=True)
    _forget(folder_path.parent)


def _forget(root: Path) -> None:
    """Read the index again next time (its folder's time may not have moved: a coarse clock)."""
    with _lock:
        _read.pop(Path(os.path.abspath(root)), None)


def owned_outputs(root: Path | None = None) -> dict[Path, tuple[str, ...]]:
    """The outputs that unfinished runs of the runs folder `root` own, each with its owners'
    ids (oldest first; two own one name when a name was typed over a stopped run's)."""
    root = Path(os.path.abspath(locations.runs_root(root)))
    index = root / INDEX
    try:
        stamp = index.stat().st_mtime_ns
    except FileNotFoundError:
        if not _make_index(root):
            return {}
        stamp = index.stat().st_mtime_ns
    except OSError:
        return {}
    with _lock:
        known = _read.get(root)
    if known is not None and known[0] == stamp:
        return dict(known[1])
    owned: dict[Path, list[str]] = {}
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(index), key=lambda entry: entry.name):
            if entry.name.startswith(".") or not (root / entry.name / RUN_FILE).is_file():
                continue  # a write in progress, or a run folder removed by hand
            with contextlib.suppress(OSError, ValueError):
                text = Path(entry.path).read_text(encoding="utf-8").strip()
                if text:
                    owned.setdefault(Path(text), []).append(entry.name)
    result = {path: tuple(ids) for path, ids in owned.items()}
    with _lock:
        _read[root] = (stamp, result)
    return dict(result)


def _make_index(root: Path) -> bool:
    """Index a runs folder that has none yet (made by an earlier version): every run folder
    read once. Built aside and renamed into place, so that a reader never sees half of it."""
    if not root.is_dir():
        return False
    building = root / f".{INDEX}.{secrets.token_hex(4)}.tmp"
    try:
        building.mkdir()
        for folder in record_folders(root):
            with contextlib.suppress(ValueError, TypeError, OSError):  # a damaged record
                record = read_record(folder)
                if record.status != FINISHED and record.output:
                    # The folder's names are made durable once, below, not for each file.
                    safe_files.write_atomically(
                        building / folder.name, record.output.encode(), sync_folder=False
                    )
        safe_files.sync(building)
        os.rename(building, root / INDEX)
        safe_files.sync(root)
    except OSError:  # read-only, or another process made it first
        shutil.rmtree(building, ignore_errors=True)
    return (root / INDEX).is_dir()

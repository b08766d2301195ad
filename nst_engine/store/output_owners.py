"""Output names that runs own: a run that has not finished (queued, running, stopped, failed,
interrupted) will still write its output, so no other run is proposed that name, a name typed
over it is warned about, and its resume writes the next free name if the old one was taken.

The runs folder keeps an index of them, `.outputs/`: one small file per unfinished run,
named by its id and holding its output's path; written when the run folder is made (and when
a resume moves the run to another name), removed when the run finishes or is deleted. Proposing
a name reads those few files, and nothing at all while the index folder has not changed, never
every run.json (benchmarks/output_names.py: 2,000 run folders). A runs folder made by an
earlier version is indexed once, the first time it is asked.

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
from typing import TYPE_CHECKING

from nst_engine.errors import ConfigError, NSTError, OutputError
from nst_engine.store import safe_files

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder, RunRecord

log = logging.getLogger("nst.engine")

INDEX = ".outputs"  # in the runs folder (no run.json: never listed as a run)

# The index as last read, by runs folder: (the index folder's mtime, output -> owners' ids).
_read: dict[Path, tuple[int, dict[Path, tuple[str, ...]]]] = {}
_lock = threading.Lock()  # the app reads it from several threads


def claim(folder_path: Path, output: str | Path | None) -> None:
    """Note in the index that the run in `folder_path` will write `output`."""
    from nst_engine.store.runs import _write_atomically

    if not output:
        release(folder_path)
        return
    index = folder_path.parent / INDEX
    try:
        index.mkdir(exist_ok=True)
        _write_atomically(index / folder_path.name, str(output).encode())
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
    from nst_engine.store.runs import RUN_FILE, runs_root

    root = Path(os.path.abspath(runs_root(root)))
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
    from nst_engine.store.runs import FINISHED, run_folders

    if not root.is_dir():
        return False
    building = root / f".{INDEX}.{secrets.token_hex(4)}.tmp"
    try:
        building.mkdir()
        for folder in run_folders(root):
            with contextlib.suppress(ConfigError, TypeError, OSError):
                record = folder.record()
                if record.status != FINISHED and record.output:
                    # The folder's names are made durable once, below, not for each file.
                    safe_files.write_atomically(
                        building / folder.id, record.output.encode(), sync_folder=False
                    )
        safe_files.sync(building)
        os.rename(building, root / INDEX)
        safe_files.sync(root)
    except OSError:  # read-only, or another process made it first
        shutil.rmtree(building, ignore_errors=True)
    return (root / INDEX).is_dir()


def owner_of(path: Path, root: Path | None = None, exclude: str | None = None) -> RunRecord | None:
    """The unfinished run (other than `exclude`, a run id) that will write `path`, read from
    its record (the newest, if two do); None if no run owns the name."""
    from nst_engine.store.runs import FINISHED, RunFolder, runs_root

    target = Path(os.path.abspath(Path(path).expanduser()))
    owners = [run_id for run_id in owned_outputs(root).get(target, ()) if run_id != exclude]
    for run_id in reversed(owners):
        folder = RunFolder(runs_root(root) / run_id)
        try:
            record = folder.record()
        except ConfigError:
            continue
        if record.status == FINISHED:
            release(folder.path)  # it finished but did not say so in the index (killed then)
        elif Path(record.output) == target:
            return record
    return None


def describe_owner(record: RunRecord) -> str:
    """`run 20261206-101500-rocket-swirl (stopped at 10/30)`."""
    if record.total and record.status != "queued":
        return f"run {record.id} ({record.status} at {record.iterations_done}/{record.total})"
    return f"run {record.id} ({record.status})"


def owned_name_note(path: Path, root: Path | None = None, exclude: str | None = None) -> str:
    """What to say of a name chosen by hand that an unfinished run owns ("" if none does):
    which run, how far it got, and when it will write the name."""
    owner = owner_of(path, root, exclude)
    return "" if owner is None else owner_note(owner)


def owner_note(owner: RunRecord) -> str:
    """`run ID (stopped at 10/30) will write this name when resumed`, or `... writes this name`."""
    if owner.status == "running":
        return f"{describe_owner(owner)} writes this name"
    return f"{describe_owner(owner)} will write this name when resumed"


def check_not_being_written(path: Path, root: Path | None = None, exclude: str | None = None):
    """Refuse a name that a running run will write when it ends (the second to end could not)."""
    owner = owner_of(path, root, exclude)
    if owner is not None and owner.status == "running":
        raise OutputError(
            f"output '{path}' is the name {describe_owner(owner)} is writing; choose another name"
        )


def free_output(path: Path, root: Path | None = None, exclude: str | None = None) -> Path:
    """`path`, or its next free number: no file, and no unfinished run but `exclude` owns it."""
    from nst_engine.running.outputs import free_output_path

    taken = {
        output
        for output, owners in owned_outputs(root).items()
        if any(run_id != exclude for run_id in owners)
    }
    return free_output_path(path, taken)


def resume_output(folder: RunFolder, requested: Path | None = None) -> tuple[RunConfig, str]:
    """The settings to resume `folder`'s run with, and a note ("" if none) on its output:
    `requested` (checked as a new run's), or its own output, unless that exists by now or
    another unfinished run owns it: then the next free name. A change of name is written to
    the run's settings and record, so that it owns its new name from now on."""
    from nst_engine.running.outputs import check_output_path

    config = folder.config()
    own = config.output
    root = folder.path.parent
    if requested is not None:
        output = Path(os.path.abspath(Path(requested).expanduser()))
        check_output_path(output, advice="")  # `resume` has no --overwrite
        check_not_being_written(output, root, exclude=folder.id)
        note = owned_name_note(output, root, exclude=folder.id)
    elif own is None:
        return config, ""
    else:
        output = free_output(own, root, exclude=folder.id)
        if output == own:
            return config, ""
        owner = owner_of(own, root, exclude=folder.id)
        why = (
            f"{describe_owner(owner)} will write it" if owner else "a file of that name exists now"
        )
        note = f"its output {own.name} is taken ({why}), so it writes {output}"
    if output != own:
        config = config.replace(output=output)
        folder.write_settings(config)
        folder.update(output=str(output))
        claim(folder.path, output)
    return config, note

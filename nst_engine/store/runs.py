"""The runs folder: every run's folder listed, filtered, found by its id, deleted.

One run's folder, what it holds and how it is written, is `RunFolder`
(nst_engine/store/run_folder.py); a run's record, `RunRecord` (nst_engine/store/run_record.py).
The rest of the code takes both, and the statuses, from here. Cheap to import: no torch.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from nst_engine.errors import ConfigError, OutputError
from nst_engine.store import output_index
from nst_engine.store.locations import runs_root
from nst_engine.store.run_folder import RunFolder
from nst_engine.store.run_record import (  # noqa: F401 (where the rest of the code takes them from)
    FAILED,
    FINISHED,
    INTERRUPTED,
    QUEUED,
    RESUMABLE,
    RUN_FILE,
    RUNNING,
    STATUSES,
    STOPPED,
    RunRecord,
    iso_time,
    record_folders,
    record_from_json,
    summarise,
)


def run_folders(root: Path | None = None) -> Iterator[RunFolder]:
    """Every folder in the runs folder that has a record (in name order: oldest first); a
    link planted there is no run folder (what it points to is not this runs folder's)."""
    return (RunFolder(path) for path in record_folders(runs_root(root)))


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
    output_index.release(folder.path)

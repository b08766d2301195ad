"""Output names that runs own: a run that has not finished (queued, running, stopped, failed,
interrupted) will still write its output, so no other run is proposed that name, a name typed
over it is warned about, and its resume writes the next free name if the old one was taken.

Which names are owned comes from the runs folder's index (nst_engine/store/output_index.py);
here, what that means for a name: who owns it, what to say of it, which name to take instead.

Cheap to import: no torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from nst_engine.errors import ConfigError, OutputError
from nst_engine.running.outputs import check_output_path, free_output_path
from nst_engine.store.locations import runs_root
from nst_engine.store.output_index import claim, owned_outputs, release
from nst_engine.store.run_folder import RunFolder
from nst_engine.store.run_record import FINISHED, RunRecord

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig


def owner_of(path: Path, root: Path | None = None, exclude: str | None = None) -> RunRecord | None:
    """The unfinished run (other than `exclude`, a run id) that will write `path`, read from
    its record (the newest, if two do); None if no run owns the name."""
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
    config = folder.config()
    own = config.inputs.output
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

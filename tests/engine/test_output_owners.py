"""Output names that runs own: a run that has not finished will still write its output, so no
other run is proposed that name; numbering a numbered name goes on from its number."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nst_engine.running.outputs import default_output_path, free_output_path, unique_path
from nst_engine.settings.config import RunConfig
from nst_engine.store.output_index import INDEX, owned_outputs
from nst_engine.store.output_owners import owner_of
from nst_engine.store.runs import FINISHED, STOPPED, RunFolder, delete_run


def test_numbering_a_numbered_name_goes_on_from_its_number(tmp_path):
    (tmp_path / "mine.png").write_bytes(b"x")
    assert free_output_path(tmp_path / "mine.png") == tmp_path / "mine-2.png"
    (tmp_path / "mine-2.png").write_bytes(b"x")
    assert free_output_path(tmp_path / "mine-2.png") == tmp_path / "mine-3.png"
    assert free_output_path(tmp_path / "mine.png") == tmp_path / "mine-3.png"
    # A number that is part of the name (a year, a zero-padded count) is not a numbering.
    (tmp_path / "trip-2024.png").write_bytes(b"x")
    assert free_output_path(tmp_path / "trip-2024.png") == tmp_path / "trip-2024-2.png"
    (tmp_path / "scan-07.png").write_bytes(b"x")
    assert free_output_path(tmp_path / "scan-07.png") == tmp_path / "scan-07-2.png"
    # A name not taken stays as it is, numbered or not.
    assert free_output_path(tmp_path / "mine-9.png") == tmp_path / "mine-9.png"
    # Names that `taken` holds count as taken, as files do.
    assert free_output_path(tmp_path / "new.png", {tmp_path / "new.png"}) == tmp_path / "new-2.png"
    # Partial and snapshot names end in numbers of their own: numbered plainly, as before.
    (tmp_path / "out.partial-10-of-30.png").write_bytes(b"x")
    assert unique_path(tmp_path / "out.partial-10-of-30.png").name == "out.partial-10-of-30-2.png"


def _config(tmp_path: Path, output: Path) -> RunConfig:
    return RunConfig.from_flat(
        content=tmp_path / "rocket.jpg", style=tmp_path / "swirl.jpg", output=output
    )


def test_a_stopped_queued_or_running_run_owns_its_output_name(tmp_path):
    root = tmp_path / "runs"
    images = tmp_path / "images"
    content, style = images / "rocket.jpg", images / "swirl.jpg"
    proposed = default_output_path(content, style, tmp_path, runs_root=root)
    assert proposed == tmp_path / "rocket-swirl.png"

    folder = RunFolder.create(_config(tmp_path, proposed), root)  # queued
    assert (
        default_output_path(content, style, tmp_path, runs_root=root).name == "rocket-swirl-2.png"
    )
    assert owned_outputs(root) == {proposed: (folder.id,)}
    for status in ("running", STOPPED, "failed"):
        folder.update(status=status)
        assert owner_of(proposed, root).id == folder.id
        assert default_output_path(content, style, tmp_path, runs_root=root) != proposed

    # Its name is free again once it has finished (here its result was deleted since)...
    folder.update(status=FINISHED)
    assert owner_of(proposed, root) is None
    assert default_output_path(content, style, tmp_path, runs_root=root) == proposed
    # ...or once it is deleted.
    second = RunFolder.create(_config(tmp_path, proposed), root)
    folder.update(status=STOPPED)
    assert owner_of(proposed, root).id == second.id
    delete_run(second)
    assert owner_of(proposed, root) is None


def test_a_runs_folder_made_before_the_index_is_indexed_once(tmp_path):
    root = tmp_path / "runs"
    output = tmp_path / "old.png"
    stopped = RunFolder.create(_config(tmp_path, output), root)
    stopped.update(status=STOPPED)
    finished = RunFolder.create(_config(tmp_path, tmp_path / "done.png"), root)
    finished.update(status=FINISHED)
    shutil.rmtree(root / INDEX)  # as a runs folder of an earlier version
    assert owned_outputs(root) == {output: (stopped.id,)}
    assert (root / INDEX).is_dir()


def test_an_owner_whose_folder_was_removed_by_hand_owns_nothing(tmp_path):
    root = tmp_path / "runs"
    output = tmp_path / "gone.png"
    folder = RunFolder.create(_config(tmp_path, output), root)
    shutil.rmtree(folder.path)
    assert owner_of(output, root) is None
    assert output not in owned_outputs(root)


def test_proposing_a_name_reads_no_run_record_once_the_index_is_there(tmp_path, monkeypatch):
    """Cheap with thousands of runs: the index, not every run.json (benchmarks/output_names.py
    measures it with 2,000 run folders)."""
    root = tmp_path / "runs"
    for number in range(30):
        folder = RunFolder.create(_config(tmp_path, tmp_path / f"old-{number}.png"), root)
        folder.update(status=FINISHED if number % 3 else STOPPED)
    owned_outputs(root)  # the index is made (and remembered) here

    def no_reading(self):
        raise AssertionError(f"read {self.path}'s record to propose a name")

    monkeypatch.setattr(RunFolder, "_stored_record", no_reading)
    monkeypatch.setattr(RunFolder, "record", no_reading)
    proposed = default_output_path(Path("old.jpg"), Path("x.jpg"), tmp_path, runs_root=root)
    assert proposed == tmp_path / "old-x.png"
    assert len(owned_outputs(root)) == 10


@pytest.mark.parametrize("status", ["queued", STOPPED])
def test_owner_of_says_which_run_owns_a_name_and_how_far_it_got(tmp_path, status):
    from nst_engine.store.output_owners import describe_owner

    root = tmp_path / "runs"
    output = tmp_path / "mine.png"
    folder = RunFolder.create(_config(tmp_path, output), root)
    folder.update(status=status, iterations_done=10 if status == STOPPED else 0, total=30)
    owner = owner_of(output, root)
    assert owner is not None and owner.id == folder.id
    expected = "stopped at 10/30" if status == STOPPED else "queued"
    assert describe_owner(owner) == f"run {folder.id} ({expected})"
    assert owner_of(output, root, exclude=folder.id) is None

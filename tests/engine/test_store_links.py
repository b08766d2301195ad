"""A crafted run folder (handed over, or with links planted in it) never makes a run write
outside the folder or its output: no file the store writes is opened through a link, and a
sweep record cannot send the grid anywhere but beside its cells folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nst_engine.errors import ConfigError
from nst_engine.running import transfer
from nst_engine.running.events import Finished
from nst_engine.store.runs import RunFolder, list_runs

SECRET = "export PATH=$HOME/bin:$PATH\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file of the user's that a planted link points to (think ~/.bashrc)."""
    path = tmp_path / "bashrc"
    path.write_text(SECRET)
    return path


def finish(config, folder: RunFolder) -> Finished:
    with transfer.run(config, folder) as events:
        finished = list(events)[-1]
    assert isinstance(finished, Finished)
    return finished


@pytest.mark.parametrize("name", ["run.log", "losses.jsonl"])
def test_a_file_linked_in_the_folder_is_never_appended_to(tiny_config, tmp_path, victim, name):
    """run.log planted before the run opens it; losses.jsonl while the run goes (the run
    rewrites the history whole when it begins, which replaces a link planted earlier)."""
    from nst_engine.running.events import Step

    config = tiny_config(iterations=3, content=tmp_path / "$(touch pwned).png")
    (tmp_path / "$(touch pwned).png").write_bytes(config.inputs.style.read_bytes())
    folder = RunFolder.create(config, tmp_path / "runs")
    planted = folder.path / name

    def plant() -> None:
        planted.unlink(missing_ok=True)
        planted.symlink_to(victim)

    if name == "run.log":
        plant()
    with transfer.run(config, folder) as events:
        for event in events:
            if name == "losses.jsonl" and isinstance(event, Step) and event.index == 1:
                plant()
    assert isinstance(event, Finished) and config.inputs.output.is_file()
    assert victim.read_text() == SECRET
    assert event.notes and str(folder.path) in event.notes[0]


def test_a_snapshots_folder_linked_elsewhere_gets_no_snapshot(tiny_config, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = tiny_config(iterations=4, snapshot_every=2)
    folder = RunFolder.create(config, tmp_path / "runs")
    folder.snapshots_dir.symlink_to(elsewhere, target_is_directory=True)

    finished = finish(config, folder)
    assert list(elsewhere.iterdir()) == []
    assert "snapshots" in finished.notes[0]
    assert folder.snapshots() == {}


def test_pictures_copied_into_the_folder_follow_no_planted_temporary(
    tiny_config, tmp_path, victim, stop_run
):
    """`.partial.png.tmp` and the like: the fixed temporary names of an earlier version,
    planted as links to another file."""
    config = tiny_config(iterations=6)
    folder = RunFolder.create(config, tmp_path / "runs")
    for name in (".partial.png.tmp", ".result.png.tmp", ".thumbnail.png.tmp"):
        (folder.path / name).symlink_to(victim)
    stop_run(config, folder, 2)
    finish(folder.config(), folder)  # resumed to the end: result.png copied in
    assert victim.read_text() == SECRET
    for picture in (folder.result_path, folder.thumbnail_path):
        assert picture.is_file() and not picture.is_symlink()


def test_files_replaced_whole_replace_a_planted_link_not_its_target(tiny_config, tmp_path, victim):
    from dataclasses import replace

    folder = RunFolder.create(tiny_config(), tmp_path / "runs")
    record = folder.record()
    for path in (folder.path / "run.json", folder.path / "settings.toml", folder.checkpoint_path):
        path.unlink(missing_ok=True)
        path.symlink_to(victim)
    folder.write_checkpoint({"completed": 1})
    folder.write_record(replace(record, status="stopped"))
    folder.write_settings(tiny_config())
    assert victim.read_text() == SECRET
    assert folder.record().status == "stopped" and folder.read_checkpoint() == {"completed": 1}
    assert folder.config() == tiny_config()


def test_a_record_or_settings_read_through_a_link_is_refused(tiny_config, tmp_path, victim):
    root = tmp_path / "runs"
    folder = RunFolder.create(tiny_config(), root)
    settings = folder.path / "settings.toml"
    settings.unlink()
    settings.symlink_to(victim)
    with pytest.raises(ConfigError, match="its settings cannot be read"):
        folder.config()
    record = folder.path / "run.json"
    record.rename(tmp_path / "elsewhere.json")
    record.symlink_to(tmp_path / "elsewhere.json")
    damaged: list[str] = []
    assert list_runs(root, damaged) == [] and len(damaged) == 1


def test_a_run_folder_that_is_a_link_is_not_listed(tiny_config, tmp_path):
    root = tmp_path / "runs"
    planted = RunFolder.create(tiny_config(), tmp_path / "somewhere")
    root.mkdir()
    os.symlink(planted.path, root / planted.id, target_is_directory=True)
    assert list_runs(root) == []


def test_a_sweep_record_cannot_send_the_grid_over_another_file(tmp_path, victim):
    from nst_engine.settings.config import RunConfig
    from nst_engine.settings.gallery import demo_pair
    from nst_engine.sweeps.plan import parse_vary, plan_sweep
    from nst_engine.sweeps.saved import create_run_folders, load_sweep, save_sweep

    content, style = demo_pair()
    base = RunConfig.from_flat(content=content, style=style, output=tmp_path / "grid.png", size=32)
    plan = plan_sweep(base, [parse_vary("style-weight=1,2")])
    folders = create_run_folders(plan, tmp_path / "runs")
    record = save_sweep(plan, folders, 64)
    assert load_sweep(record)[0].grid == tmp_path / "grid.png"  # as made: taken

    photo = tmp_path / "holiday.png"
    photo.write_bytes(b"my photo")
    text = record.read_text().replace(str(tmp_path / "grid.png"), str(photo))
    record.write_text(text)
    with pytest.raises(ConfigError, match="refusing to write there"):
        load_sweep(record)
    assert photo.read_bytes() == b"my photo"


def test_a_crafted_record_cannot_have_a_finished_run_delete_files_elsewhere(
    tiny_config, tmp_path, stop_run
):
    from dataclasses import replace

    elsewhere = tmp_path / "documents"
    elsewhere.mkdir()
    precious = elsewhere / "thesis.partial-1-of-2.png"
    precious.write_bytes(b"not a partial of this run")
    config = tiny_config(iterations=4)
    folder = RunFolder.create(config, tmp_path / "runs")
    own = stop_run(config, folder, 2).partial_path
    record = folder.record()
    folder.write_record(replace(record, partials=(*record.partials, str(precious))))
    finish(folder.config(), folder)
    assert precious.read_bytes() == b"not a partial of this run"
    assert not own.exists()  # its own partial, beside its output, went as before

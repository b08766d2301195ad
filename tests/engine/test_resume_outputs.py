"""Resuming a stopped run: its output name, a resume that fails, its partial images."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nst_engine.errors import InputImageError, OutputError
from nst_engine.running import transfer
from nst_engine.running.events import Finished, Started
from nst_engine.store.output_owners import owner_of, resume_output
from nst_engine.store.runs import STOPPED, RunFolder


def finish(config, folder) -> list:
    with transfer.run(config, folder) as events:
        return list(events)


def test_a_resume_whose_output_was_taken_writes_the_next_free_name_and_says_so(
    tiny_config, tmp_path, stop_run
):
    config = tiny_config(iterations=6)
    root = tmp_path / "runs"
    folder = RunFolder.create(config, root)
    stop_run(config, folder, 2)
    assert owner_of(config.inputs.output, root).id == folder.id
    config.inputs.output.write_bytes(b"another run's result")  # what a second run did meanwhile

    resumed, note = resume_output(folder)
    taken = tmp_path / "out-2.png"
    assert resumed.inputs.output == taken
    assert "out.png is taken" in note and str(taken) in note
    # The run owns its new name from now on, in its record and its settings.
    assert folder.record().output == str(taken) and folder.config().inputs.output == taken
    assert owner_of(taken, root).id == folder.id

    events = finish(resumed, folder)
    assert isinstance(events[-1], Finished) and events[-1].path == taken
    assert config.inputs.output.read_bytes() == b"another run's result"  # never overwritten
    record = folder.record()
    assert record.status == "finished" and record.result == str(taken)


def test_a_resume_keeps_its_name_when_it_is_free_and_another_can_be_chosen(
    tiny_config, tmp_path, stop_run
):
    config = tiny_config(iterations=6)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 2)
    assert resume_output(folder) == (folder.config(), "")

    chosen = tmp_path / "chosen.png"
    resumed, _ = resume_output(folder, chosen)
    assert resumed.inputs.output == chosen and folder.record().output == str(chosen)

    config.inputs.output.write_bytes(b"x")
    with pytest.raises(OutputError) as refused:
        resume_output(folder, config.inputs.output)
    assert "already exists" in refused.value.message
    assert "--overwrite" not in refused.value.message  # `resume` has no such flag


def test_a_resume_that_fails_leaves_the_record_as_it_was(tiny_config, tmp_path, stop_run):
    content = tmp_path / "content.jpg"
    shutil.copyfile(tiny_config().inputs.content, content)
    config = tiny_config(iterations=6, content=content)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 2)
    before = folder.record()
    assert before.status == STOPPED and before.partial and before.iterations_done == 2

    content.unlink()
    with pytest.raises(InputImageError):
        finish(folder.config(), folder)
    assert folder.record() == before  # stopped, its iterations, its partial
    assert folder.checkpoint_path.is_file() and Path(before.partial).is_file()


def test_a_resume_stopped_before_its_first_iteration_leaves_the_record_as_it_was(
    tiny_config, tmp_path, stop_run
):
    config = tiny_config(iterations=6)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 3)
    before = folder.record()
    with transfer.run(folder.config(), folder) as events:
        for event in events:
            if isinstance(event, Started):
                events.cancel()
                break
    assert folder.record() == before
    assert folder.checkpoint_path.is_file()


def test_a_finished_resume_removes_the_partials_of_its_own_stops_only(
    tiny_config, tmp_path, stop_run
):
    config = tiny_config(iterations=6)
    folder = RunFolder.create(config, tmp_path / "runs")
    first = stop_run(config, folder, 2).partial_path
    second = stop_run(folder.config(), folder, 4).partial_path
    assert first.is_file() and second.is_file() and first != second
    # Another run's partial of the same name pattern (a name typed over this run's).
    stranger = tmp_path / "out.partial-3-of-6.png"
    stranger.write_bytes(b"not this run's")

    events = finish(folder.config(), folder)
    assert isinstance(events[-1], Finished)
    assert not first.exists() and not second.exists()
    assert stranger.exists()
    record = folder.record()
    assert record.partial is None and record.partials == ()
    assert config.inputs.output.is_file()

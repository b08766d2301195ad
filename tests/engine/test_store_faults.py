"""A runs folder that fills up or vanishes during a run never costs the run: everything the
store writes (checkpoint, losses, run.json, log, snapshots, pictures) degrades to one warning
and the run goes on to its output; a stop still saves its partial beside the output.

The full disk is injected: torch.save fails as torch does when ENOSPC strikes in the middle
of a file (a RuntimeError), and every fsync of a file in the run folder fails with ENOSPC
(each whole-file write there is flushed with one), as do appends to the loss history and
the run's log.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil

import pytest
import torch

from nst_engine.errors import ConfigError
from nst_engine.running import transfer
from nst_engine.running.events import Finished, Snapshot, Step
from nst_engine.store.runs import RunFolder

TORCH_FULL = "[enforce fail at inline_container.cc:672] unexpected pos 2368 vs 2256"


def full_disk_for_checkpoints(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """torch.save fails as torch does on a full disk; the list counts the attempts."""
    attempts: list[int] = []

    def save(state, stream, *args, **kwargs):
        attempts.append(1)
        stream.write(b"PK half a checkpoint")
        raise RuntimeError(TORCH_FULL)

    monkeypatch.setattr(torch, "save", save)
    return attempts


def full_folder(monkeypatch: pytest.MonkeyPatch, folder: RunFolder) -> None:
    """The run folder takes nothing more: whole-file writes fail at their fsync, the loss
    history's appends fail, the checkpoint fails inside torch.save."""
    real_fsync = os.fsync
    inside = str(folder.path) + os.sep

    def fsync(descriptor: int) -> None:
        with_name = os.readlink(f"/proc/self/fd/{descriptor}")
        if with_name.startswith(inside):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    def append_losses(self, rows):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(RunFolder, "append_losses", append_losses)
    full_disk_for_checkpoints(monkeypatch)


class FullStream:
    """A run log's stream on a full disk: nothing can be written, flushed or closed."""

    name = "run.log on a full disk"

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    flush = close = lambda self: self.write("")


def fill_the_run_log(folder: RunFolder) -> None:
    """Make the run's log handler (attached by now) write to a full disk."""
    for handler in logging.getLogger("nst").handlers:
        stream = getattr(handler, "stream", None)
        if stream is not None and _file_of(stream) == str(folder.log_path):
            handler.stream = FullStream()
            return
    raise AssertionError("the run's log handler is not attached")


def _file_of(stream) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{stream.fileno()}")
    except (OSError, ValueError, AttributeError):
        return ""


@pytest.fixture
def every_checkpoint() -> dict[str, float]:
    """The run's options for a checkpoint each `checkpoint_every` iterations, however quick."""
    return {"checkpoint_seconds": 0.0}


def warnings_about(caplog: pytest.LogCaptureFixture, what: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and f"could not write {what}" in record.getMessage()
    ]


def test_a_checkpoint_that_fills_the_disk_is_one_warning_and_the_run_goes_on(
    tiny_config, tmp_path, monkeypatch, every_checkpoint, caplog
):
    attempts = full_disk_for_checkpoints(monkeypatch)
    config = tiny_config(iterations=6, checkpoint_every=2)
    folder = RunFolder.create(config, tmp_path / "runs")
    with transfer.run(config, folder, **every_checkpoint) as events:
        finished = list(events)[-1]

    assert len(attempts) == 2  # at iterations 2 and 4 (none at the last)
    assert isinstance(finished, Finished) and config.inputs.output.is_file()
    assert folder.record().status == "finished"
    assert len(warnings_about(caplog, "the checkpoint")) == 1
    [note] = finished.notes
    assert "the checkpoint" in note and "unexpected pos" in note
    assert not list(folder.path.glob(".*.tmp"))  # the torn temporaries went


def test_a_full_runs_folder_loses_nothing_but_its_own_records(
    tiny_config, tmp_path, monkeypatch, every_checkpoint, caplog, capsys
):
    config = tiny_config(iterations=6, checkpoint_every=2, snapshot_every=2)
    folder = RunFolder.create(config, tmp_path / "runs")
    events_seen = []
    with transfer.run(config, folder, **every_checkpoint) as events:
        for event in events:
            events_seen.append(event)
            if isinstance(event, Step) and event.index == 1:
                full_folder(monkeypatch, folder)
                fill_the_run_log(folder)

    assert isinstance(event, Finished) and config.inputs.output.is_file()
    assert not [e for e in events_seen if isinstance(e, Snapshot)]  # none could be saved
    for what in ("snapshots", "the checkpoint", "the loss history", "run.json", "the run's log"):
        assert len(warnings_about(caplog, what)) == 1, (what, caplog.text)
    assert len(event.notes) == 1 and str(folder.path) in event.notes[0]
    assert "Logging error" not in capsys.readouterr().err


def test_a_stop_whose_checkpoint_fills_the_disk_still_keeps_its_partial(
    tiny_config, tmp_path, monkeypatch, stop_run
):
    full_disk_for_checkpoints(monkeypatch)
    config = tiny_config(iterations=20)
    folder = RunFolder.create(config, tmp_path / "runs")
    cancelled = stop_run(config, folder, 3)

    assert cancelled.index == 3 and cancelled.partial_path.is_file()
    assert cancelled.partial_path.parent == config.inputs.output.parent
    record = folder.record()
    assert record.status == "stopped" and record.partial == str(cancelled.partial_path)
    assert not folder.checkpoint_path.exists()


@pytest.mark.parametrize("when", ["before", "during"])
def test_a_run_folder_deleted_under_a_run_with_snapshots_and_checkpoints_still_delivers(
    tiny_config, tmp_path, every_checkpoint, when
):
    config = tiny_config(iterations=6, snapshot_every=2, checkpoint_every=2)
    folder = RunFolder.create(config, tmp_path / "runs")
    if when == "before":
        shutil.rmtree(folder.path)
    with transfer.run(config, folder, **every_checkpoint) as events:
        for event in events:
            if when == "during" and isinstance(event, Step) and event.index == 1:
                shutil.rmtree(folder.path)
    assert isinstance(event, Finished) and config.inputs.output.is_file()
    assert event.notes and "snapshots" in event.notes[0]
    assert not folder.path.exists()


def test_a_failing_run_log_prints_no_tracebacks_and_the_run_ends_well(
    tiny_config, tmp_path, capsys, caplog
):
    config = tiny_config(iterations=4)
    folder = RunFolder.create(config, tmp_path / "runs")
    with transfer.run(config, folder) as events:
        for event in events:
            if isinstance(event, Step) and event.index == 1:
                fill_the_run_log(folder)
                for number in range(200):  # a log that goes on being written to
                    logging.getLogger("nst.engine").info("line %d", number)
    assert isinstance(event, Finished) and config.inputs.output.is_file()
    assert "Logging error" not in capsys.readouterr().err
    assert len(warnings_about(caplog, "the run's log")) == 1
    assert folder.record().status == "finished"


def test_a_file_named_snapshots_in_the_folder_costs_only_the_snapshots(tiny_config, tmp_path):
    config = tiny_config(iterations=4, snapshot_every=2)
    folder = RunFolder.create(config, tmp_path / "runs")
    folder.snapshots_dir.write_text("not a folder")
    with transfer.run(config, folder) as events:
        finished = list(events)[-1]
    assert isinstance(finished, Finished) and config.inputs.output.is_file()
    assert folder.snapshots_dir.read_text() == "not a folder"
    assert "snapshots" in finished.notes[0]
    assert folder.snapshots() == {}


def test_a_checkpoint_replaced_by_a_folder_is_refused_not_started_over(
    tiny_config, tmp_path, stop_run
):
    config = tiny_config(iterations=8)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 3)
    folder.checkpoint_path.unlink()
    folder.checkpoint_path.mkdir()
    refusal = pytest.raises(ConfigError, match="checkpoint of run .* is not a file; delete")
    with refusal, transfer.run(folder.config(), folder) as events:
        list(events)
    record = folder.record()
    assert record.status == "stopped" and record.iterations_done == 3  # left as it was


def test_a_malicious_pickle_as_checkpoint_is_refused_without_a_warning(tmp_path, tiny_config):
    import pickle
    import warnings

    folder = RunFolder.create(tiny_config(), tmp_path / "runs")

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    folder.checkpoint_path.write_bytes(pickle.dumps(Payload(), protocol=4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigError, match="cannot be read"):
            folder.read_checkpoint()
    assert [str(warning.message) for warning in caught] == []
    assert not (tmp_path / "ran").exists()


def test_a_checkpoint_that_holds_no_table_is_refused_in_one_line(tmp_path, tiny_config):
    folder = RunFolder.create(tiny_config(), tmp_path / "runs")
    torch.save([1, 2, 3], folder.checkpoint_path)
    with pytest.raises(ConfigError, match="cannot be read"):
        folder.read_checkpoint()

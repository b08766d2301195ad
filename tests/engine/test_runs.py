"""Run folders: what a run writes there, checkpoints, and resuming to the same pixels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nst_engine.errors import ConfigError
from nst_engine.running import transfer
from nst_engine.running.events import Cancelled, Finished, Snapshot, Started, Step
from nst_engine.settings.config import RunConfig
from nst_engine.store.runs import RunFolder, delete_run, filter_runs, find_run, list_runs


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def finish(config: RunConfig, folder: RunFolder | None = None, **options) -> list:
    with transfer.run(config, folder, **options) as events:
        return list(events)


def stop_after(config: RunConfig, folder: RunFolder, iterations: int) -> Cancelled:
    """Run until `iterations` are done, then cancel (as Escape or a first Ctrl+C does)."""
    with transfer.run(config, folder) as events:
        for event in events:
            if isinstance(event, Step) and event.index == iterations:
                cancelled = events.cancel()
                assert cancelled is not None
                return cancelled
    raise AssertionError("the run ended before it was stopped")


def test_a_finished_run_leaves_its_settings_losses_log_snapshots_and_result(tiny_config, tmp_path):
    config = tiny_config(iterations=6, snapshot_every=3)
    folder = RunFolder.create(config, tmp_path / "runs")
    assert folder.record().status == "queued"
    events = finish(config, folder)

    finished = events[-1]
    assert isinstance(finished, Finished)
    record = folder.record()
    assert record.status == "finished"
    assert (record.iterations_done, record.total) == (6, 6)
    assert record.result == str(config.inputs.output) and config.inputs.output.is_file()
    assert record.seconds > 0 and record.ended >= record.started
    assert RunConfig.from_toml((folder.path / "settings.toml").read_text()) == config
    # The loss history: one row per iteration, every term, in order.
    rows = folder.losses()
    assert [row["iteration"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert set(rows[0]) >= {"iteration", "scale", "seconds", "content", "style", "tv", "total"}
    assert rows[-1]["total"] == pytest.approx(finished.losses["total"], rel=1e-6)
    assert all(
        later["seconds"] >= earlier["seconds"]
        for earlier, later in zip(rows, rows[1:], strict=False)
    )
    # Snapshots go to the folder (not beside the output), announced where they are.
    snapshots = [event.path for event in events if isinstance(event, Snapshot)]
    assert snapshots == [folder.snapshot_path(3, 6)]
    assert folder.snapshots() == {3: folder.snapshot_path(3, 6)}
    assert not list(tmp_path.glob("out.step-*"))
    # The result twice (where asked, and in the folder), a thumbnail, the run's own log.
    assert np.array_equal(pixels(folder.result_path), pixels(config.inputs.output))
    with Image.open(folder.thumbnail_path) as thumbnail:
        assert max(thumbnail.size) <= 192
    log = folder.log_path.read_text()
    assert "run requested" in log and "finished" in log.lower()
    assert not folder.checkpoint_path.exists()  # a finished run needs none
    assert folder.picture() == folder.result_path


@pytest.mark.parametrize(
    "changes, stop_at",
    [
        # L-BFGS (its device history), coarse to fine (stopped in the second of two scales),
        # the moving average, calibrated average pooling.
        (dict(iterations=6, min_size=32, scale_iterations=4, pooling="avg"), 7),
        # Stopped on the last iteration of the first scale.
        (dict(iterations=4, min_size=32, scale_iterations=3), 3),
        # Adam, with its moments and step count.
        (dict(iterations=8, optimizer={"name": "adam", "lr": 5.0}, ema=False), 5),
    ],
    ids=["lbfgs-two-scales-avg-pool", "at-a-scale-boundary", "adam"],
)
def test_a_resumed_run_ends_with_the_same_pixels_as_one_never_stopped(
    tiny_config, tmp_path, changes, stop_at
):
    whole = tiny_config(output=tmp_path / "whole.png", **changes)
    finish(whole)

    config = tiny_config(output=tmp_path / "stopped.png", **changes)
    folder = RunFolder.create(config, tmp_path / "runs")
    cancelled = stop_after(config, folder, stop_at)
    assert cancelled.index == stop_at and cancelled.partial_path.is_file()
    record = folder.record()
    assert record.status == "stopped" and record.resumable
    assert record.iterations_done == stop_at and folder.checkpoint_path.is_file()

    # Resumed from the folder alone, as `nst-tui resume` does in a new process.
    events = finish(folder.config(), folder)
    started = next(event for event in events if isinstance(event, Started))
    assert started.resumed_from == stop_at
    steps = [event.index for event in events if isinstance(event, Step)]
    assert steps[0] == stop_at + 1 and steps[-1] == started.total
    assert isinstance(events[-1], Finished)
    assert np.array_equal(pixels(tmp_path / "stopped.png"), pixels(tmp_path / "whole.png"))
    # The history has each iteration once, the stopped part and the resumed part.
    assert [row["iteration"] for row in folder.losses()] == list(range(1, started.total + 1))
    record = folder.record()
    assert record.status == "finished" and record.resumed == 1
    assert not folder.checkpoint_path.exists()


def test_periodic_checkpoints_let_a_crashed_run_go_on_from_the_last_one(
    tiny_config, tmp_path, monkeypatch, crash_at
):
    whole = tiny_config(output=tmp_path / "whole.png", iterations=9)
    finish(whole)

    config = tiny_config(output=tmp_path / "crashed.png", iterations=9, checkpoint_every=3)
    folder = RunFolder.create(config, tmp_path / "runs")

    crash_at(8)
    with pytest.raises(RuntimeError):
        finish(config, folder, checkpoint_seconds=0.0)
    record = folder.record()
    assert record.status == "failed" and "the driver fell over" in record.error
    state = folder.read_checkpoint()
    assert state["completed"] == 6  # the last periodic checkpoint (iteration 8 never ended)

    # (crash_at counts steps on: the resumed run's never reach number 8 again)
    events = finish(folder.config(), folder)
    assert next(e for e in events if isinstance(e, Started)).resumed_from == 6
    assert np.array_equal(pixels(tmp_path / "crashed.png"), pixels(tmp_path / "whole.png"))
    assert [row["iteration"] for row in folder.losses()] == list(range(1, 10))


@pytest.mark.slow  # imports torch in a new process
def test_a_checkpoint_killed_while_written_leaves_the_previous_one_whole(tmp_path):
    """A process killed in the middle of writing a checkpoint (os._exit from inside the
    write, as SIGKILL or a power cut would stop it) leaves the previous checkpoint readable."""
    folder = RunFolder.create(
        RunConfig.from_flat(content="a.png", style="b.png", output="o.png"), tmp_path
    )
    script = textwrap.dedent(
        f"""
        import os, torch
        from nst_engine.store.runs import RunFolder
        folder = RunFolder({str(folder.path)!r})
        folder.write_checkpoint({{"completed": 1, "image": torch.ones(3, 64, 64)}})
        real_save = torch.save
        def dying_save(state, stream):
            stream.write(b"half a checkpoint")
            stream.flush()
            os._exit(9)
        torch.save = dying_save
        folder.write_checkpoint({{"completed": 2, "image": torch.zeros(3, 64, 64)}})
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == 9, result.stderr.decode()
    state = folder.read_checkpoint()
    assert state["completed"] == 1 and torch.equal(state["image"], torch.ones(3, 64, 64))
    leftovers = list(folder.path.glob(".checkpoint.pt.*.tmp"))
    assert leftovers  # the torn write stayed a temporary, never the checkpoint
    folder.remove_checkpoint()
    assert not folder.checkpoint_path.exists() and not list(folder.path.glob(".checkpoint*"))


def test_a_checkpoint_of_other_settings_is_refused_in_one_line(tiny_config, tmp_path):
    config = tiny_config(iterations=6)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_after(config, folder, 2)
    folder.write_settings(config.replace(iterations=9))
    with pytest.raises(ConfigError, match="was made with other settings"):
        finish(folder.config(), folder)


def test_a_run_whose_process_is_gone_reads_as_interrupted(tiny_config, tmp_path):
    folder = RunFolder.create(tiny_config(), tmp_path / "runs")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    folder.update(status="running", pid=child.pid)
    record = folder.record()
    assert record.status == "interrupted" and record.resumable
    folder.update(pid=os.getpid())
    assert folder.record().status == "running" and not folder.record().resumable


def test_bad_input_marks_the_run_failed_with_its_message(tiny_config, tmp_path):
    config = tiny_config(content=tmp_path / "missing.png")
    folder = RunFolder.create(config, tmp_path / "runs")
    with pytest.raises(Exception, match="missing.png"):
        finish(config, folder)
    record = folder.record()
    assert record.status == "failed" and "missing.png" in record.error


def test_runs_are_listed_newest_first_filtered_found_and_deleted(tiny_config, tmp_path):
    root = tmp_path / "runs"
    first = RunFolder.create(tiny_config(), root)
    first.update(started=1000.0, status="finished")
    second = RunFolder.create(tiny_config(optimizer={"name": "adam", "lr": 2.0}), root)
    second.update(started=2000.0, status="stopped", labels=["lr=2"])
    (root / "not-a-run").mkdir()
    (root / "broken").mkdir()
    (root / "broken" / "run.json").write_text("{torn")

    records = list_runs(root)
    assert [record.id for record in records] == [second.id, first.id]
    assert [r.id for r in filter_runs(records, "adam")] == [second.id]
    assert [r.id for r in filter_runs(records, "LR=2")] == [second.id]
    assert [r.id for r in filter_runs(records, status="finished")] == [first.id]
    assert filter_runs(records, "no-such-thing") == []
    assert records[0].to_json()["status"] == "stopped"
    json.dumps([record.to_json() for record in records])  # what `nst-tui runs --json` prints

    assert find_run(second.id, root) == second
    assert find_run(str(first.path), root) == first
    with pytest.raises(ConfigError, match="names 2 runs"):
        find_run(first.id[:4], root)
    with pytest.raises(ConfigError, match="no run 'zzz'"):
        find_run("zzz", root)

    second.update(status="running", pid=os.getpid())
    with pytest.raises(ConfigError, match="still running"):
        delete_run(second)
    delete_run(first)
    assert not first.path.exists()
    assert [record.id for record in list_runs(root)] == [second.id]


def test_a_run_whose_folder_vanishes_still_delivers_its_result(tiny_config, tmp_path):
    import shutil

    config = tiny_config(iterations=4)
    folder = RunFolder.create(config, tmp_path / "runs")
    with transfer.run(config, folder) as events:
        for event in events:
            if isinstance(event, Step) and event.index == 1:
                shutil.rmtree(folder.path)
    assert isinstance(event, Finished) and config.inputs.output.is_file()
    assert not folder.path.exists()

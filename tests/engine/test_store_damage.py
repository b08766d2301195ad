"""One damaged run folder never breaks the others, nor the command that reads it: a record of
the wrong shape is left out and named, settings and loss histories that are not text are
refused in one line or skipped, settings edited after a stop are refused before the resume
builds anything, and a settings file that is a FIFO or a link to /dev/zero never hangs."""

from __future__ import annotations

import json
import os
import threading

import pytest

from nst_engine.errors import ConfigError
from nst_engine.running import transfer
from nst_engine.running.events import Finished, Started
from nst_engine.settings.config import RunConfig
from nst_engine.store.runs import RunFolder, list_runs


def damage_record(folder: RunFolder, **fields) -> None:
    data = json.loads((folder.path / "run.json").read_text())
    data.update(fields)
    (folder.path / "run.json").write_text(json.dumps(data))


DAMAGES = {
    "started-text": {"started": "yesterday"},
    "started-1e300": {"started": 1e300},
    "started-nan": {"started": float("nan")},
    "seconds-text": {"seconds": "long"},
    "summary-list": {"summary": [1, 2]},
    "summary-lr-text": {"summary": {"optimizer": "adam", "lr": "fast"}},
    "pid-huge": {"status": "running", "pid": 10**30},
    "styles-text": {"styles": "mosaic.jpg"},
    "status-unknown": {"status": "exploded"},
    "iterations-float": {"iterations_done": 2.5},
    "not-a-table": None,
}


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_a_record_of_the_wrong_shape_is_left_out_and_named(tiny_config, tmp_path, damage):
    root = tmp_path / "runs"
    good = RunFolder.create(tiny_config(), root)
    bad = RunFolder.create(tiny_config(output=tmp_path / "other.png"), root)
    if DAMAGES[damage] is None:
        (bad.path / "run.json").write_text("[1, 2, 3]")
    else:
        damage_record(bad, **DAMAGES[damage])

    damaged: list[str] = []
    records = list_runs(root, damaged)
    assert [record.id for record in records] == [good.id]
    json.dumps([record.to_json() for record in records])  # what `runs --json` prints
    [named] = damaged
    assert bad.id in named and "run.json" in named
    with pytest.raises(ConfigError, match="run.json is damaged"):
        bad.record()


def test_settings_that_are_not_text_are_refused_in_one_line(tiny_config, tmp_path):
    folder = RunFolder.create(tiny_config(), tmp_path / "runs")
    (folder.path / "settings.toml").write_bytes(b"size = \xff\xfe 48\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        folder.config()
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        folder.settings_text()


def test_a_loss_history_with_damaged_lines_keeps_the_good_ones(tiny_config, tmp_path):
    folder = RunFolder.create(tiny_config(), tmp_path / "runs")
    folder.losses_path.write_bytes(
        b'{"iteration": 1, "total": 2.0}\n'
        b'{"iteration": "x", "total": 1.0}\n'
        b"\xff\xfe not text\n"
        b'{"iteration": 2, "total": "high"}\n'
        b'{"iteration": true, "total": 1.0}\n'
        b'{"iteration": 3, "total": NaN}\n'
        b'{"iteration": 4, "tot'
    )
    rows = folder.losses()
    assert [row["iteration"] for row in rows] == [1, 3]
    folder.keep_losses_until(2)  # what a resume does first
    assert [row["iteration"] for row in folder.losses()] == [1]


def test_a_resume_goes_on_over_a_loss_history_that_is_not_text(tiny_config, tmp_path, stop_run):
    config = tiny_config(iterations=6)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 3)
    with open(folder.losses_path, "ab") as stream:
        stream.write(b'\xff\xfe{"iteration": "x"}\n{"iteration": "x"}\n')
    with transfer.run(folder.config(), folder) as events:
        finished = list(events)[-1]
    assert isinstance(finished, Finished)
    assert [row["iteration"] for row in folder.losses()] == [1, 2, 3, 4, 5, 6]


def edit(config: RunConfig, change: str) -> RunConfig:
    """`config` as settings.toml would hold it after an edit by hand."""
    if change == "size":
        return config.replace(size=config.plan.size.__class__(longest=40))
    if change == "optimizer":
        return RunConfig.from_dict({"optimizer": {"name": "adam"}}, base=config)
    if change == "pooling":
        return config.replace(pooling="avg")
    if change == "layer-weight":
        return config.replace(style_layers={"relu1_1": 1.0, "relu2_1": 1.0, "relu3_1": 0.0})
    if change == "history-size":
        return RunConfig.from_dict({"optimizer": {"lbfgs": {"history_size": 7}}}, base=config)
    raise AssertionError(change)


@pytest.mark.parametrize("change", ["size", "optimizer", "pooling", "layer-weight", "history-size"])
def test_settings_edited_after_a_stop_are_refused_as_other_settings(
    tiny_config, tmp_path, stop_run, change
):
    config = tiny_config(iterations=8)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 3)
    folder.write_settings(edit(config, change))

    refused = pytest.raises(ConfigError, match="was made with other settings")
    with refused as refusal, transfer.run(folder.config(), folder) as events:
        list(events)
    assert "delete" in refusal.value.message and "\n" not in refusal.value.message
    record = folder.record()
    assert record.status == "stopped" and record.iterations_done == 3  # as it was
    assert folder.checkpoint_path.is_file()


def test_a_resume_may_change_where_its_files_are_and_on_what_device(
    tiny_config, tmp_path, stop_run
):
    config = tiny_config(iterations=6)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 3)
    moved_content = tmp_path / "moved" / config.inputs.content.name  # the photos moved since
    moved_content.parent.mkdir()
    moved_content.write_bytes(config.inputs.content.read_bytes())
    moved = folder.config().replace(
        content=moved_content,
        output=tmp_path / "elsewhere.png",
        device="cpu",
        snapshot_every=2,
        overwrite=True,
    )
    with transfer.run(moved, folder) as events:
        seen = list(events)
    assert next(e for e in seen if isinstance(e, Started)).resumed_from == 3
    assert isinstance(seen[-1], Finished) and (tmp_path / "elsewhere.png").is_file()


def finishes_within(seconds: float, call) -> tuple[bool, BaseException | None]:
    """Run `call()` in a thread: whether it ended within `seconds`, and what it raised."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 (reported to the test)
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive(), outcome[0] if outcome else None)


def test_settings_that_are_a_fifo_are_refused_at_once(tiny_config, tmp_path):
    folder = RunFolder.create(tiny_config(), tmp_path / "runs")
    settings = folder.path / "settings.toml"
    settings.unlink()
    os.mkfifo(settings)
    try:
        ended, raised = finishes_within(10, folder.config)
    finally:  # a reader still blocked in open() (the old code) gets its end of file
        descriptor = os.open(settings, os.O_WRONLY | os.O_NONBLOCK) if not ended else None
        if descriptor is not None:
            os.close(descriptor)
    assert ended, "reading a FIFO as settings hung"
    assert isinstance(raised, ConfigError) and "cannot be read" in raised.message


def test_settings_linked_to_dev_zero_are_refused_at_once(tiny_config, tmp_path):
    folder = RunFolder.create(tiny_config(), tmp_path / "runs")
    settings = folder.path / "settings.toml"
    settings.unlink()
    settings.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="its settings cannot be read"):
        folder.config()

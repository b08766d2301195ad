"""One vocabulary (issue 21.4): a run's `run_id` is its id in the store (its folder's name,
what `nst-tui resume ID` takes, a queue job's `job_id`); the app's own number for a run this
session ("Run 3") is its `run_number`, in the run messages and the queue's entries alike."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from nst_engine.settings.config import RunConfig
from nst_engine.store.run_folder import RunFolder
from nst_tui.app import messages
from nst_tui.app.screens.queue import QueueEntry


def test_the_run_messages_carry_the_apps_run_number_not_a_run_id() -> None:
    kinds = [
        kind
        for kind in vars(messages).values()
        if isinstance(kind, type) and issubclass(kind, messages.RunMessage)
    ]
    assert len(kinds) > 5
    for kind in kinds:
        names = [item.name for item in fields(kind)]
        assert names[0] == "run_number" and "run_id" not in names, kind.__name__


def test_a_queue_entry_has_its_run_number_and_the_stores_id_as_its_job_id(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "20261206-102000-rocket-swirl")
    entry = QueueEntry(3, RunConfig(), folder)
    assert entry.run_number == 3 and not hasattr(entry, "run_id")
    assert entry.job_id == "20261206-102000-rocket-swirl"

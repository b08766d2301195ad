"""A bug is shown as a bug, whichever machine it happened on: an internal error of a job on a
Ray cluster reaches the app as an `InternalError` (not as an ordinary one-line error), and
the app says it is a bug and where its traceback is."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import form_settled, result_text, wait_for
from cluster_in_process import InProcessCluster

import nst_engine.running.transfer
from nst_engine.store.runs import list_runs

pytest.importorskip("ray", reason="the cluster extra (Ray) is not installed")


@pytest.fixture
def broken_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the engine: the run fails with an exception no person could have caused."""

    def broken(config, folder=None, *, checkpoint_seconds=30.0):
        raise ZeroDivisionError("a bug on the worker")

    monkeypatch.setattr(nst_engine.running.transfer, "run", broken)


async def test_an_internal_error_of_a_cluster_job_is_shown_as_a_bug(
    tiny_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken_engine
) -> None:
    import socket

    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered

    monkeypatch.chdir(tmp_path)
    app = NSTApp(Remembered(tiny_config), folder=tmp_path, cluster=InProcessCluster())
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.jobs and not app.running, what="the job's end")
        text = result_text(app)
    [record] = list_runs()
    host = socket.gethostname()
    assert text.startswith(f"Internal error: ZeroDivisionError: a bug on the worker (on {host})")
    assert "This is a bug in nst-tui" in text and str(record.path / "run.log") in text
    assert "\n" not in text.strip()
    assert record.status == "failed"
    assert record.error == f"internal error on {host}: ZeroDivisionError: a bug on the worker"
    # The traceback came back from the worker into the run's log.
    logged = (record.path / "run.log").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in logged and "in broken" in logged

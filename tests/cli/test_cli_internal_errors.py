"""A bug in a run, said as one on the command line: one line naming it an internal error and
the log that holds its traceback, exit status 1 (not 2, a person's mistake), whether the run
was here or a job on a Ray cluster."""

from __future__ import annotations

import socket

import pytest

import nst_engine.running.transfer

TINY = ("run", "--demo", "--size", "48", "--weights", "random", "-o", "out.png")


@pytest.fixture
def broken_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the engine: the run fails with an exception no person could have caused."""

    def broken(config, folder=None, *, checkpoint_seconds=30.0):
        raise ZeroDivisionError("a bug in the engine")

    monkeypatch.setattr(nst_engine.running.transfer, "run", broken)


def the_one_line(result) -> str:
    lines = result.stderr.strip("\n").splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_bug_in_a_run_here_is_one_line_with_the_log_and_status_1(nst_tui_here, broken_engine):
    from nst_engine.store.runlog import log_path

    result = nst_tui_here(*TINY)
    assert result.returncode == 1, result.stderr
    assert the_one_line(result) == (
        "nst-tui: internal error: ZeroDivisionError: a bug in the engine "
        f"(a bug in nst-tui; details in {log_path()})"
    )


def test_a_bug_in_a_cluster_job_is_one_line_with_the_runs_log_and_status_1(
    nst_tui_here, broken_engine, monkeypatch: pytest.MonkeyPatch
):
    pytest.importorskip("ray", reason="the cluster extra (Ray) is not installed")
    from cluster_in_process import InProcessCluster

    from nst_engine.jobs import cluster
    from nst_engine.store.runs import list_runs

    monkeypatch.setattr(cluster, "connect", lambda address, device="auto": InProcessCluster())
    result = nst_tui_here(*TINY, "--cluster", "local")
    assert result.returncode == 1, result.stderr
    [record] = list_runs()
    host = socket.gethostname()
    assert the_one_line(result) == (
        f"nst-tui: internal error on {host}: ZeroDivisionError: a bug in the engine "
        f"(a bug in nst-tui; details in {record.path / 'run.log'})"
    )


def test_a_sweep_whose_cells_hit_a_bug_ends_with_status_1(sweep, broken_engine):
    result = sweep("astronaut", "mosaic", "--vary", "lr=1,2", "--size", "32", "--weights", "random")
    assert result.returncode == 1, result.stderr
    assert "internal error: ZeroDivisionError: a bug in the engine" in result.stderr

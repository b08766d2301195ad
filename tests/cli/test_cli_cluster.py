"""`--cluster` on the command line: one-line errors before anything starts, and a run on a
local Ray instance recorded here as if it had run here."""

from __future__ import annotations

import json
import sys

import pytest
from cli_run import assert_one_line_error

TINY = ("--size", "48", "--weights", "random")


def test_without_ray_cluster_says_how_to_install_it(nst_tui_here, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    result = nst_tui_here("run", "--demo", *TINY, "--cluster", "local")
    assert_one_line_error(result, "--cluster needs Ray", "pip install 'nst-tui[cluster]'")


def test_an_unreachable_cluster_fails_before_anything_starts(nst_tui_here, work):
    pytest.importorskip("ray")
    result = nst_tui_here("run", "--demo", *TINY, "--cluster", "127.0.0.1:9", "-o", "x.png")
    assert_one_line_error(result, "cannot reach the Ray cluster at 127.0.0.1:9")
    assert json.loads(nst_tui_here("runs", "--json").stdout) == []  # no run folder was made
    assert_one_line_error(nst_tui_here("run", "--demo", "--cluster", "nowhere"), "is not local")


def test_a_run_on_a_local_ray_comes_back_into_its_run_folder(nst_tui_here, work):
    pytest.importorskip("ray")
    result = nst_tui_here("run", "--demo", *TINY, "--iterations", "3", "--cluster", "local")
    assert result.returncode == 0, result.stderr
    assert "has no GPU: each job runs on a CPU" in result.stderr
    [run] = json.loads(nst_tui_here("runs", "--json").stdout)
    assert run["status"] == "finished" and run["iterations_done"] == 3
    assert result.stdout.strip() == run["result"] == str(work / "rocket-swirl.png")

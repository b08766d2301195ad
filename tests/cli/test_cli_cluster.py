"""`--cluster` on the command line: one-line errors before anything starts, and a run on a
local Ray instance recorded here as if it had run here."""

from __future__ import annotations

import json
import sys

import pytest
from cli_run import assert_one_line_error

TINY = ("--size", "48", "--weights", "random")


@pytest.fixture
def tiny_run(demo_pair, work):
    """`tiny_run(stopped_after=n)`: a run folder of a 48 px run stopped after n iterations."""

    def make(stopped_after: int):
        from nst_engine.running.events import Step
        from nst_engine.running.transfer import run
        from nst_engine.settings.config import RunConfig
        from nst_engine.store.runs import RunFolder

        content, style = demo_pair
        config = RunConfig.from_flat(
            content=content,
            style=style,
            output=work / "out.png",
            size=48,
            iterations=20,
            weights="random",
            device="cpu",
        )
        folder = RunFolder.create(config)
        with run(config, folder) as events:
            for event in events:
                if isinstance(event, Step) and event.index == stopped_after:
                    events.cancel()
        return folder

    return make


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


def test_an_http_server_as_cluster_is_one_line_at_once_and_ray_client_is_refused(
    nst_tui_here, work
):
    """Something that listens but is not Ray: Ray itself would retry for ever, deaf to
    Ctrl+C. ray:// (Ray Client) cannot carry a job: refused, saying what to give."""
    pytest.importorskip("ray")
    import http.server
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *arguments) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    try:
        result = nst_tui_here("run", "--demo", *TINY, "--cluster", address, "-o", "x.png")
    finally:
        server.shutdown()
        server.server_close()
    assert_one_line_error(result, f"at {address}", "not a Ray head node (an HTTP server)")
    assert json.loads(nst_tui_here("runs", "--json").stdout) == []  # no run folder was made
    result = nst_tui_here("run", "--demo", *TINY, "--cluster", "ray://127.0.0.1:10001")
    assert_one_line_error(result, "Ray Client (ray://)", "HOST:PORT")


@pytest.mark.parametrize(
    "command",
    [
        ("run", "--demo", *TINY, "-o", "x.png"),
        ("sweep", "--demo", "--vary", "lr=1,2", *TINY, "-o", "x.png"),
        (),  # the app: before it opens
    ],
)
def test_ctrl_c_while_connecting_is_one_line_and_exit_130(nst_tui_here, monkeypatch, command):
    """Ctrl+C while the cluster is asked (the address answers slowly): stopped, no traceback,
    nothing made."""
    pytest.importorskip("ray")
    from nst_engine.jobs import cluster

    def interrupted(address):
        raise KeyboardInterrupt

    monkeypatch.setattr(cluster, "_probe", interrupted)
    result = nst_tui_here(*command, "--cluster", "gpu1:6379")
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == (1 if command else 2), lines  # the app says first where it connects
    line = lines[-1]
    assert "stopped (interrupted) while connecting to the Ray cluster at gpu1:6379" in line
    assert json.loads(nst_tui_here("runs", "--json").stdout) == []


@pytest.mark.slow  # starts Ray and runs the engine
def test_a_run_on_a_local_ray_comes_back_into_its_run_folder(nst_tui_here, work, ray_cluster):
    pytest.importorskip("ray")
    result = nst_tui_here("run", "--demo", *TINY, "--iterations", "3", "--cluster", "local")
    assert result.returncode == 0, result.stderr
    assert "has no GPU: each job runs on a CPU" in result.stderr
    [run] = json.loads(nst_tui_here("runs", "--json").stdout)
    assert run["status"] == "finished" and run["iterations_done"] == 3
    assert result.stdout.strip() == run["result"] == str(work / "rocket-swirl.png")


def test_resume_on_an_unreachable_cluster_leaves_the_run_as_it_was(nst_tui_here, tiny_run):
    pytest.importorskip("ray")
    folder = tiny_run(stopped_after=2)
    result = nst_tui_here("resume", folder.id, "--cluster", "127.0.0.1:9")
    assert_one_line_error(result, "cannot reach the Ray cluster")
    assert folder.record().status == "stopped" and folder.checkpoint_path.is_file()


@pytest.mark.slow  # starts Ray and runs the engine
def test_a_sweep_on_a_local_ray_gives_the_grid_of_the_local_sweep(nst_tui_here, work, ray_cluster):
    """Each cell runs where Ray puts it, with the seed of its settings: the same pictures."""
    pytest.importorskip("ray")
    import numpy as np
    import torch
    from PIL import Image

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a Ray worker runs (one CPU per task)
    try:
        vary = ("--vary", "lr=0.5,1", "--vary", "tv-weight=0.1,1", "--iterations", "3")
        here = nst_tui_here("sweep", "--demo", *TINY, *vary, "-o", "here.png")
        assert here.returncode == 0, here.stderr
        there = nst_tui_here(
            "sweep", "--demo", *TINY, *vary, "-o", "there.png", "--cluster", "local"
        )
        assert there.returncode == 0, there.stderr
    finally:
        torch.set_num_threads(threads)
    assert "has no GPU" in there.stderr
    with Image.open(work / "here.png") as a, Image.open(work / "there.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    runs = json.loads(nst_tui_here("runs", "--json", "--status", "finished").stdout)
    assert len(runs) == 8

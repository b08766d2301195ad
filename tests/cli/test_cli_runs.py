"""`nst-tui runs` and `nst-tui resume`: every run has a folder, and a stopped run goes on."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
from cli_run import assert_one_line_error, signal_when
from PIL import Image

from nst_engine.store.resume import resumable
from nst_engine.store.runs import RunFolder

TINY = ("--size", "48", "--weights", "random")


def listed(nst_tui_here, *arguments) -> list[dict]:
    result = nst_tui_here("runs", "--json", *arguments)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_run_gets_a_folder_that_runs_lists(nst_tui_here, work):
    result = nst_tui_here("run", "--demo", *TINY, "--iterations", "3", "-o", "one.png")
    assert result.returncode == 0, result.stderr
    [run] = listed(nst_tui_here)
    assert run["status"] == "finished" and run["iterations_done"] == run["total"] == 3
    assert run["result"] == str(work / "one.png") and run["content"].endswith("rocket.jpg")
    assert f"run {run['id']}: {run['path']}" in result.stderr
    text = nst_tui_here("runs").stdout
    assert run["id"] in text and "finished" in text and "rocket.jpg ← swirl.jpg" in text
    assert listed(nst_tui_here, "--status", "stopped") == []
    assert listed(nst_tui_here, "rocket", "swirl")[0]["id"] == run["id"]


def test_resume_refuses_what_it_cannot_resume_in_one_line(nst_tui_here):
    nst_tui_here("run", "--demo", *TINY, "--iterations", "2", "-o", "done.png")
    [run] = listed(nst_tui_here)
    error = nst_tui_here("resume", run["id"])
    # The engine's words, the same as the history's Resume says (nst_engine/store/resume.py).
    reason = resumable(RunFolder(Path(run["path"])))
    assert assert_one_line_error(error) == f"nst-tui: error: {reason}"
    assert f"run '{run['id']}' finished" in reason and "nothing to resume" in reason
    assert_one_line_error(nst_tui_here("resume", "nothing-like-it"), "no run 'nothing-like-it'")
    assert_one_line_error(nst_tui_here("runs", "--status", "lost"), "--status must be one of")


@pytest.mark.slow  # a real process (imports torch) to receive the signal
def test_sighup_mid_run_then_resume_finishes_it_with_the_same_pixels(
    work, nst_tui_here, one_torch_thread
):
    """A dropped SSH session (SIGHUP) stops the run with a checkpoint; `nst-tui resume ID`
    finishes it, and the result is what the run would have made uninterrupted."""
    arguments = ["--demo", *TINY, "--iterations", "40", "--snapshot-every", "1"]
    process = signal_when(
        ["run", *arguments, "-o", "stopped.png"], work, "snapshot at iteration 3:", signal.SIGHUP
    )
    stderr = process.stderr
    assert process.returncode == 129, stderr
    [run] = listed(nst_tui_here)
    assert run["status"] == "stopped" and run["resumable"], run
    assert f"to go on from there: nst-tui resume {run['id']}\n" in stderr
    assert not (work / "stopped.png").exists()

    resumed = nst_tui_here("resume", run["id"][:15])
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after iteration {run['iterations_done']} of 40" in resumed.stderr
    assert resumed.stdout.strip() == str(work / "stopped.png")
    [run] = listed(nst_tui_here)
    assert run["status"] == "finished" and run["iterations_done"] == 40

    # The same run, never stopped, in this process too: the same pixels.
    whole = nst_tui_here("run", *arguments, "-o", "whole.png")
    assert whole.returncode == 0, whole.stderr
    with Image.open(work / "stopped.png") as a, Image.open(work / "whole.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.fixture
def stopped_run(stop_run, demo_pair):
    """`stopped_run(work, output=...)`: a run of the demo pair stopped after 2 of 6 (as Ctrl+C
    leaves one), in the test's runs folder."""
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder

    def make(work, output: str = "mine.png") -> RunFolder:
        content, style = demo_pair
        config = RunConfig.from_flat(
            content=content,
            style=style,
            output=work / output,
            size=48,
            iterations=6,
            weights="random",
            device="cpu",
        )
        folder = RunFolder.create(config)
        stop_run(config, folder, 2)
        assert folder.record().status == "stopped"
        return folder

    return make


def test_a_stopped_runs_name_is_not_proposed_and_a_run_that_takes_it_says_so(
    nst_tui_here, work, stopped_run
):
    stopped = stopped_run(work, output="rocket-swirl.png")
    proposed = nst_tui_here("run", "--demo", *TINY, "--iterations", "2")
    assert proposed.returncode == 0, proposed.stderr
    assert proposed.stdout.strip() == str(work / "rocket-swirl-2.png")

    taken = nst_tui_here("run", "--demo", *TINY, "--iterations", "2", "-o", "rocket-swirl.png")
    assert taken.returncode == 0, taken.stderr
    assert f"run {stopped.id} (stopped at 2/6) will write this name when resumed" in taken.stderr


def test_resume_after_its_output_was_taken_writes_the_next_free_name_and_says_so(
    nst_tui_here, work, stopped_run
):
    stopped = stopped_run(work)
    (work / "mine.png").write_bytes(b"another run's result")

    resumed = nst_tui_here("resume", stopped.id)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == str(work / "mine-2.png")
    assert "its output mine.png is taken" in resumed.stderr
    assert f"so it writes {work / 'mine-2.png'}" in resumed.stderr
    assert (work / "mine.png").read_bytes() == b"another run's result"
    [run] = listed(nst_tui_here)
    assert run["status"] == "finished" and run["result"] == str(work / "mine-2.png")


def test_resume_output_chooses_the_name_and_advises_only_its_own_flags(
    nst_tui_here, work, stopped_run
):
    stopped = stopped_run(work)
    (work / "there.png").write_bytes(b"x")
    refused = nst_tui_here("resume", stopped.id, "--output", "there.png")
    line = assert_one_line_error(refused, "there.png' already exists", "choose another name")
    assert "--overwrite" not in line
    assert stopped.record().status == "stopped" and stopped.record().iterations_done == 2

    chosen = nst_tui_here("resume", stopped.id, "--output", "chosen.png")
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.strip() == str(work / "chosen.png")
    assert not (work / "mine.png").exists()


def test_run_refuses_a_name_that_a_running_run_is_writing_in_one_line(nst_tui_here, work):
    """Two runs ending on one name: the second could not write it; refused at once instead."""
    import os

    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder

    running = RunFolder.create(RunConfig.from_flat(output=work / "busy.png"))
    running.update(status="running", pid=os.getpid(), iterations_done=3, total=30)
    refused = nst_tui_here("run", "--demo", *TINY, "-o", "busy.png")
    assert_one_line_error(refused, f"run {running.id} (running at 3/30)", "choose another name")

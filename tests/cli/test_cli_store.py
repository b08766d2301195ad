"""The run store seen from the command line: damaged records are named once and listing goes
on, a damaged folder is one line, two resumes of one run never both run, a full disk at a
stop keeps exit 143 and the partial, and a second Ctrl+C while the process ends keeps 130."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from cli_run import COMMAND, assert_one_line_error, command_environment

TINY = ("--demo", "--size", "48", "--weights", "random")


def recorded_runs(nst_tui_here) -> list[dict]:
    result = nst_tui_here("runs", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def a_stopped_run(nst_tui_here, monkeypatch, work, iterations: int = 8, stop_at: int = 2):
    """`nst-tui run` stopped by SIGTERM after `stop_at` iterations (sent by the engine's own
    step, in this process); its record as `runs --json` gives it."""
    from nst_engine.optimise.stepper import Stepper

    real_step = Stepper.step
    steps = []

    def step(stepper):
        steps.append(1)
        if len(steps) == stop_at:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_step(stepper)

    with monkeypatch.context() as patch:
        patch.setattr(Stepper, "step", step)
        result = nst_tui_here("run", *TINY, "--iterations", str(iterations), "-o", "out.png")
    [run] = recorded_runs(nst_tui_here)
    return result, run


def test_runs_lists_the_good_runs_and_names_a_damaged_one_once(nst_tui_here, work, tmp_path):
    assert nst_tui_here("run", *TINY, "--iterations", "2", "-o", "good.png").returncode == 0
    assert nst_tui_here("run", *TINY, "--iterations", "2", "-o", "bad.png").returncode == 0
    runs = recorded_runs(nst_tui_here)
    bad = next(run for run in runs if run["output"].endswith("bad.png"))
    record = json.loads((tmp_path / "runs" / bad["id"] / "run.json").read_text())
    record["started"] = "yesterday"
    (tmp_path / "runs" / bad["id"] / "run.json").write_text(json.dumps(record))

    for arguments in (("runs",), ("runs", "--json")):
        result = nst_tui_here(*arguments)
        assert result.returncode == 0 and "Traceback" not in result.stderr
        [warning] = result.stderr.strip().splitlines()
        assert warning.startswith("nst-tui: warning: left out run") and bad["id"] in warning
        assert "started" in warning
    [listed] = recorded_runs(nst_tui_here)
    assert listed["output"].endswith("good.png")


def test_resuming_a_run_whose_settings_are_not_text_is_one_line(
    nst_tui_here, monkeypatch, work, tmp_path
):
    result, run = a_stopped_run(nst_tui_here, monkeypatch, work)
    assert result.returncode == 143, result.stderr
    (tmp_path / "runs" / run["id"] / "settings.toml").write_bytes(b"\xff\xfe size = 48")
    assert_one_line_error(nst_tui_here("resume", run["id"]), run["id"], "not UTF-8 text")


def test_a_second_resume_of_a_run_is_refused_while_the_first_runs(
    nst_tui_here, monkeypatch, work, tmp_path
):
    _, run = a_stopped_run(nst_tui_here, monkeypatch, work)
    folder = tmp_path / "runs" / run["id"]
    settings = (folder / "settings.toml").read_bytes()
    holder = subprocess.Popen(  # the first resume, as far as the lock goes
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; d = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(d, fcntl.LOCK_EX); os.write(d, f'{os.getpid()}'.encode()); "
            "print('held', flush=True); sys.stdin.read()",
            str(folder / "run.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        (work / "out.png").write_bytes(b"taken since")  # a resume would move to out-2.png
        error = nst_tui_here("resume", run["id"])
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert_one_line_error(error, f"already being resumed by process {holder.pid}")
    assert (folder / "settings.toml").read_bytes() == settings  # nothing touched
    assert recorded_runs(nst_tui_here)[0]["status"] == "stopped"


def test_sigterm_on_a_full_disk_exits_143_with_the_partial_and_a_stopped_record(
    nst_tui_here, monkeypatch, work
):
    def full(state, stream, *args, **kwargs):  # torch on a full disk, mid-file
        stream.write(b"PK")
        raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full)
    result, run = a_stopped_run(nst_tui_here, monkeypatch, work, iterations=20, stop_at=3)

    assert result.returncode == 143, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    [partial] = work.glob("out.partial-*-of-20.png")
    assert f"stopped (terminated) after 3 iterations; the image so far is in {partial.name}" in (
        result.stderr
    )
    assert run["status"] == "stopped" and run["partial"] == str(partial)
    assert not (work / "out.png").exists()


def test_a_full_runs_folder_loses_no_result_on_the_command_line(nst_tui_here, monkeypatch, work):
    from nst_engine.store import recorder

    def refuse(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(recorder.RunFolder, "append_losses", refuse)
    monkeypatch.setattr(recorder.RunFolder, "snapshots_folder", refuse)
    result = nst_tui_here(
        "run", *TINY, "--iterations", "4", "--snapshot-every", "2", "-o", "kept.png"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "kept.png" and (work / "kept.png").is_file()
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: the run folder")]
    assert len(notes) == 1 and "snapshots" in notes[0] and "loss history" in notes[0]


@pytest.mark.slow  # imports torch in a new process
def test_a_second_ctrl_c_while_the_process_ends_still_exits_130(work):
    """The first Ctrl+C stops the run; the process then takes a second or two to end
    (torch's teardown). A Ctrl+C pressed then must not make it die by SIGINT (-2). A real
    process: what is tested is how the process itself ends."""
    process = subprocess.Popen(
        [*COMMAND, "run", *TINY, "--iterations", "2000", "--snapshot-every", "1", "-o", "o.png"],
        cwd=work,
        env=command_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stderr:
            if line.startswith("snapshot at iteration 2:"):
                process.send_signal(signal.SIGINT)
            if line.startswith("to go on from there"):
                break
        # Ctrl+C again and again while it ends, until it has ended.
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            process.send_signal(signal.SIGINT)
            time.sleep(0.05)
        process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130


def test_a_malicious_checkpoint_is_one_line_and_never_runs(nst_tui_here, work, tmp_path):
    import pickle

    nst_tui_here("run", *TINY, "--iterations", "2", "-o", "x.png")
    [run] = recorded_runs(nst_tui_here)
    folder = tmp_path / "runs" / run["id"]
    record = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**record, "status": "stopped"}))

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    (folder / "checkpoint.pt").write_bytes(pickle.dumps(Payload(), protocol=4))
    # In this process: were the checkpoint unpickled, the payload would run here, and show.
    assert_one_line_error(nst_tui_here("resume", run["id"]), "checkpoint", "cannot be read")
    assert not (tmp_path / "ran").exists()


def test_stop_request_stops_then_interrupts_once_then_ignores_signals():
    """In process: the first Ctrl+C asks, the second interrupts once, later ones change
    nothing (the process ending after a stop must not die by SIGINT)."""
    from nst_tui.cli.stop_signals import StopRequest

    previous = signal.getsignal(signal.SIGINT)
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.signal_name == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # ignored: no exception
    assert signal.getsignal(signal.SIGINT) is previous  # tests do not shield their process
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        stop.settle()
        os.kill(os.getpid(), signal.SIGINT)  # being reported: ignored
        assert stop.signal_name == "SIGTERM"

"""One answer to "can this run be resumed?" (nst_engine/store/resume.py), one line per reason,
and the engine's public face (nst_engine/__init__.py): what the front ends call."""

from __future__ import annotations

import inspect
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import nst_engine
from nst_engine.store.resume import NotResumable, resumable, resume
from nst_engine.store.runs import RunFolder


def mark_running(folder: RunFolder) -> None:
    """The record of a run this process runs now (its pid is alive: it reads as running)."""
    folder.update(status="running", pid=os.getpid(), host=socket.gethostname())


def test_queued_stopped_failed_and_interrupted_runs_resume(tmp_path: Path, tiny_config) -> None:
    root = tmp_path / "runs"
    folder = RunFolder.create(tiny_config(), root)
    assert resumable(folder) is None  # queued: it starts from the top
    resumed = resume(folder.id, root=root)  # found by its id, as `nst-tui resume ID` does
    assert resumed.folder == folder and resumed.config == folder.config()
    assert resumed.note == "" and resumed.from_iteration == 0
    assert (resumed.job.id, resumed.job.folder) == (folder.id, folder)
    for status in ("stopped", "failed"):
        folder.update(status=status, iterations_done=3)
        assert resumable(folder) is None
        assert resume(folder, device="CPU").config.machine.device == "cpu"
    folder.update(status="running", pid=None, host=socket.gethostname())  # its process is gone
    assert folder.record().status == "interrupted" and resumable(folder) is None


def test_a_finished_or_running_run_is_refused_with_one_line_saying_why(
    tmp_path: Path, tiny_config
) -> None:
    folder = RunFolder.create(tiny_config(), tmp_path / "runs")
    folder.update(status="finished", result=str(tmp_path / "out.png"))
    finished = resumable(folder)
    assert finished == (
        f"run '{folder.id}' finished ({tmp_path / 'out.png'}); nothing to resume (run it "
        f"again: its settings are in {folder.path / 'settings.toml'})"
    )
    with pytest.raises(NotResumable) as refusal:
        resume(folder)
    assert refusal.value.message == finished
    mark_running(folder)
    running = resumable(folder)
    assert running == (
        f"run '{folder.id}' is still running (process {os.getpid()} on "
        f"{socket.gethostname()}); stop it first"
    )
    with pytest.raises(NotResumable) as refusal:
        resume(folder, tmp_path / "elsewhere.png")
    assert refusal.value.message == running
    assert folder.config().inputs.output == tmp_path / "out.png"  # refused before anything changed


def test_a_bad_device_is_refused_before_the_runs_output_changes(
    tmp_path: Path, tiny_config
) -> None:
    from nst_engine.errors import ConfigError

    folder = RunFolder.create(tiny_config(), tmp_path / "runs")
    (tmp_path / "out.png").write_bytes(b"taken since")  # a resume would write out-2.png
    with pytest.raises(ConfigError, match="device"):
        resume(folder, device="tpu")
    assert folder.config().inputs.output == tmp_path / "out.png"
    resumed = resume(folder)
    assert (
        resumed.config.inputs.output == tmp_path / "out-2.png"
        and "out.png is taken" in resumed.note
    )


def test_the_public_face_is_one_documented_signature_each() -> None:
    """run, record, resume, the queue, sweeps and connect, each named in the package's
    docstring with the signature it has."""
    from nst_engine.jobs.cluster import connect
    from nst_engine.jobs.queue import JobQueue
    from nst_engine.running.transfer import run
    from nst_engine.sweeps.sweep import Sweep

    assert nst_engine.run is run and nst_engine.resume is resume
    assert nst_engine.JobQueue is JobQueue and nst_engine.Sweep is Sweep
    assert nst_engine.connect is connect
    assert {"RunConfig", "NSTError", "Run", "record", "plan_sweep"} <= set(nst_engine.__all__)
    documented = inspect.getdoc(nst_engine)
    for name, function in [
        ("run", run),
        ("record", nst_engine.record),
        ("resume", resume),
        ("connect", connect),
        ("Sweep.start", Sweep.start),
        ("Sweep.find", Sweep.find),
    ]:
        parameters = list(inspect.signature(function).parameters)
        parameters = [name for name in parameters if name not in ("self", "cls")]
        assert documented_parameters(documented, name) == parameters, name


def documented_parameters(text: str, name: str) -> list[str]:
    """The parameter names of `name(...)` as the docstring `text` writes its signature."""
    inside = text[text.index(f"    {name}(") :].split("(", 1)[1].split(")")[0]
    parts = (part.strip().strip("*").strip() for part in inside.split(","))
    return [part.split(":")[0].split("=")[0].strip() for part in parts if part]


def test_importing_the_public_face_loads_no_torch() -> None:
    names = "record resume resumable JobQueue Job Sweep plan_sweep connect RunConfig NSTError"
    script = (
        "import sys, nst_engine\n"
        f"for name in {names.split()!r}: getattr(nst_engine, name)\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"

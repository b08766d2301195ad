"""Who runs a run: the lock its process holds on its folder (run.lock) decides, not a pid that
an unrelated process may have by now; a second process that would run it is refused at once.
Ids of thousands of characters are one line, and what writes killed in the middle left in a
folder goes when the run is next taken up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from nst_engine.errors import ConfigError
from nst_engine.running import transfer
from nst_engine.running.events import Finished
from nst_engine.store.runs import RunFolder, find_run

# Another process that runs the run, as far as the lock goes: run.lock locked (flock), its
# pid in it, held until the test closes its input.
HOLDER = """
import fcntl, os, sys
descriptor = os.open(os.path.join(sys.argv[1], "run.lock"), os.O_RDWR | os.O_CREAT)
fcntl.flock(descriptor, fcntl.LOCK_EX)
os.ftruncate(descriptor, 0)  # as a run's own lock does: a longer pid before would stay behind
os.write(descriptor, f"{os.getpid()}\\n".encode())
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def held_elsewhere() -> Iterator:
    """`held_elsewhere(folder)`: another process takes the folder's lock and keeps it for the
    rest of the test; its process id."""
    holders: list[subprocess.Popen] = []

    def hold(folder: RunFolder) -> int:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(folder.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        holders.append(process)
        assert process.stdout.readline() == "held\n"
        return process.pid

    yield hold
    for process in holders:
        process.stdin.close()
        process.wait(timeout=30)


def test_a_run_another_process_runs_is_refused_at_once(
    tiny_config, tmp_path, stop_run, held_elsewhere
):
    config = tiny_config(iterations=6)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 2)
    pid = held_elsewhere(folder)

    with (
        pytest.raises(ConfigError, match=f"already being resumed by process {pid}"),
        transfer.run(folder.config(), folder) as events,
    ):
        list(events)
    record = folder.record()
    assert record.status == "stopped" and record.iterations_done == 2  # untouched
    assert folder.checkpoint_path.is_file()


def test_the_lock_not_the_pid_says_whether_a_run_still_runs(
    tiny_config, tmp_path, stop_run, held_elsewhere
):
    config = tiny_config(iterations=6)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 2)  # run.lock made, and released when it stopped
    # The pid it recorded now belongs to an unrelated, living process (this test's parent).
    folder.update(status="running", pid=os.getppid())
    assert folder.record().status == "interrupted" and folder.record().resumable
    # A process that holds the lock runs it, whatever pid the record names.
    held_elsewhere(folder)
    folder.update(pid=2**22 + 12345)
    assert folder.record().status == "running"


def test_a_run_holds_its_lock_while_it_runs_and_gives_it_back(tiny_config, tmp_path):
    from nst_engine.running.events import Step
    from nst_engine.store.run_lock import is_held

    config = tiny_config(iterations=3)
    folder = RunFolder.create(config, tmp_path / "runs")
    assert is_held(folder.path) is None  # never run: no lock file
    with transfer.run(config, folder) as events:
        for event in events:
            if isinstance(event, Step):
                assert is_held(folder.path) is True
                assert folder.record().status == "running"
    assert isinstance(event, Finished)
    assert is_held(folder.path) is False


def test_what_killed_writes_left_goes_when_the_run_is_taken_up_again(
    tiny_config, tmp_path, stop_run
):
    config = tiny_config(iterations=5)
    folder = RunFolder.create(config, tmp_path / "runs")
    stop_run(config, folder, 2)
    leftovers = [
        folder.path / ".run.json.0badf00d.tmp",
        folder.path / ".checkpoint.pt.deadbeef.tmp",
        folder.path / ".settings.toml.12345678.tmp",
    ]
    for path in leftovers:
        path.write_text("torn")
    with transfer.run(folder.config(), folder) as events:
        assert isinstance(list(events)[-1], Finished)
    assert not [path for path in leftovers if path.exists()]


@pytest.mark.parametrize("text", ["a" * 5000, "x/" * 3000, "bad\0id"], ids=["long", "deep", "nul"])
def test_an_id_that_cannot_be_a_path_is_no_run_in_one_line(tmp_path, tiny_config, text):
    from nst_engine.sweeps.saved import find_sweep

    root = tmp_path / "runs"
    RunFolder.create(tiny_config(), root)
    with pytest.raises(ConfigError, match="no run '") as refusal:
        find_run(text, root)
    assert len(refusal.value.message) < 300
    with pytest.raises(ConfigError, match="no sweep '"):
        find_sweep(text, str(root))

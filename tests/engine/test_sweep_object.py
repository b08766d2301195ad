"""The engine's Sweep (nst_engine/sweeps/sweep.py), what both front ends run: started, it
saves its record; found again, its jobs are the runs left to do; drawn, its snapshot cells go
beside the others in GRID.cells/, each once."""

from __future__ import annotations

import os
import socket

import pytest

from nst_engine.jobs.queue import JobEnded, JobEvent
from nst_engine.running.events import Snapshot, Started
from nst_engine.running.transfer import run
from nst_engine.store.resume import NotResumable, resumable
from nst_engine.sweeps.plan import plan_sweep
from nst_engine.sweeps.saved import SWEEP_FILE
from nst_engine.sweeps.sweep import Sweep


def run_job(job) -> None:
    with run(job.config, job.folder) as events:
        for _ in events:
            pass


def test_a_started_sweep_is_saved_and_found_again_by_its_grid_or_id(tiny_config, tmp_path):
    sweep = Sweep.start(plan_sweep(tiny_config(output=tmp_path / "grid.png"), ["lr=1,2"]), 64)
    assert (tmp_path / "grid.cells" / SWEEP_FILE).is_file()
    assert [job.id for job in sweep.jobs()] == [folder.id for folder in sweep.folders]
    assert sweep.label(sweep.folders[1].id) == "lr=2"
    for text in (str(tmp_path / "grid.png"), sweep.id, sweep.id[:12]):
        found = Sweep.find(text)
        assert found.resuming and found.id == sweep.id and found.cell_size == 64
        assert [folder.path for folder in found.folders] == [f.path for f in sweep.folders]


def test_a_found_sweep_runs_what_is_left_and_refuses_a_running_cell_first(tiny_config, tmp_path):
    plan = plan_sweep(tiny_config(output=tmp_path / "grid.png"), ["lr=1,2,3"])
    first, second, third = Sweep.start(plan).folders
    first.update(status="finished", result=str(tmp_path / "a.png"))
    second.update(status="stopped", iterations_done=1)
    jobs = Sweep.find(str(tmp_path / "grid.png")).jobs()
    assert [job.folder for job in jobs] == [second, third]
    assert [job.config for job in jobs] == [second.config(), third.config()]
    third.update(status="running", pid=os.getpid(), host=socket.gethostname())
    with pytest.raises(NotResumable) as refusal:
        Sweep.find(str(tmp_path / "grid.png")).jobs()
    assert refusal.value.message == resumable(third)  # the line `nst-tui resume` gives
    assert second.record().status == "stopped"  # nothing was touched


def test_the_grid_changes_when_a_cell_starts_takes_its_snapshot_or_ends(tiny_config, tmp_path):
    sweep = Sweep.start(plan_sweep(tiny_config(output=tmp_path / "grid.png"), ["iterations=2,4"]))
    job_id = sweep.folders[0].id
    started = Started("cpu", "random", (48, 48), (48, 48), (48, 48), 4)
    assert sweep.changes_grid(JobEvent(job_id, started, "cpu"))
    assert sweep.changes_grid(JobEvent(job_id, Snapshot(2, tmp_path / "s2.png"), "cpu"))
    assert not sweep.changes_grid(JobEvent(job_id, Snapshot(3, tmp_path / "s3.png"), "cpu"))
    assert sweep.changes_grid(JobEnded(job_id, "finished"))


def test_drawing_copies_the_snapshot_cells_into_the_cells_folder_once(tiny_config, tmp_path):
    grid = tmp_path / "grid.png"
    sweep = Sweep.start(plan_sweep(tiny_config(output=grid, seed=3), ["iterations=2,4,6"]), 48)
    (job,) = sweep.jobs()
    run_job(job)
    assert sweep.cells_done() == 3
    assert sweep.draw() == grid and grid.is_file()
    cells = tmp_path / "grid.cells"
    names = sorted(path.name for path in cells.glob("*.png"))
    assert names == ["r1c1-iterations=2.png", "r1c2-iterations=4.png", "r1c3-iterations=6.png"]
    assert (cells / names[0]).read_bytes() == job.folder.snapshots()[2].read_bytes()
    sweep.draw()
    Sweep.find(str(grid)).draw()  # another session's draw of the same sweep
    assert sorted(path.name for path in cells.glob("*.png")) == names

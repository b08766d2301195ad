"""The command line's writers of a whole file go through the one atomic write
(safe_files.write_atomically, tested once in tests/engine/test_atomic_writes.py)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from nst_engine.settings.config import RunConfig


def test_a_sweeps_snapshot_cells_are_copied_through_the_atomic_write(
    tmp_path, demo_pair, atomic_writes
):
    from nst_engine.sweeps.plan import parse_vary, plan_sweep
    from nst_engine.sweeps.sweep import Sweep

    content, style = demo_pair
    base = RunConfig(content=content, style=style, output=tmp_path / "grid.png", size=32)
    plan = plan_sweep(base, [parse_vary("iterations=2,4")])  # a cell from the snapshot at 2
    sweep = Sweep.start(plan, root=tmp_path / "runs")
    snapshot = sweep.folders[0].snapshot_path(2, 4)
    snapshot.parent.mkdir(exist_ok=True)
    Image.new("RGB", (8, 8), "red").save(snapshot)
    atomic_writes.clear()
    sweep.draw()
    cells = list(plan.cells_folder.glob("r1c1-*.png"))
    assert len(cells) == 1 and cells[0] in atomic_writes
    assert cells[0].read_bytes() == snapshot.read_bytes()


def test_a_sweep_files_settings_over_a_preset_are_written_through_the_atomic_write(
    tmp_path, atomic_writes
):
    from nst_engine.settings.presets import load_preset
    from nst_tui.cli.sweep_command import _with_settings

    preset = _with_settings("default", ({"iterations": 9}, "sweep.toml"), tmp_path)
    assert atomic_writes == [Path(preset)]
    assert load_preset(preset).iterations == 9

"""The command line's writers of a whole file go through the one atomic write
(safe_files.write_atomically, tested once in tests/engine/test_atomic_writes.py)."""

from __future__ import annotations

from pathlib import Path


def test_a_sweep_files_settings_over_a_preset_are_written_through_the_atomic_write(
    tmp_path, atomic_writes
):
    from nst_engine.settings.presets import load_preset
    from nst_tui.cli.sweep_command import _with_settings

    preset = _with_settings("default", ({"iterations": 9}, "sweep.toml"), tmp_path)
    assert atomic_writes == [Path(preset)]
    assert load_preset(preset).plan.iterations == 9

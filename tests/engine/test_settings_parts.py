"""RunConfig in parts (inputs, look, plan, machine, recording: nst_engine/settings/parts.py):
read by part (`config.look.style_weight`), built and changed by the settings' flat names
through the table, written to TOML in parts, and every file written flat before parts
existed (tests/engine/data/settings-flat-1.toml) read exactly as before, with the same
fingerprint in checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_engine.errors import ConfigError
from nst_engine.running.checkpoint_settings import FREE_TO_CHANGE, settings_fingerprint
from nst_engine.settings.config import RunConfig, tomllib
from nst_engine.settings.parts import Look, Plan
from nst_engine.settings.table import PARTS

DATA = Path(__file__).parent / "data"
FLAT_FILE = DATA / "settings-flat-1.toml"


def flat_config() -> RunConfig:
    return RunConfig.from_toml(FLAT_FILE.read_text(encoding="utf-8"))


def test_a_flat_file_written_before_parts_is_read_as_before() -> None:
    config = flat_config()
    assert config.inputs.content == Path("photos/rocket.jpg")
    assert config.inputs.extra_styles == (Path("paintings/mosaic.jpg"),)
    assert (config.look.style_blend, config.look.style_loss) == ((0.7, 0.3), "w2")
    assert (config.look.style_weight, config.look.ema, config.look.init) == (30.0, False, "noise")
    assert (config.plan.iterations, str(config.plan.size), config.plan.min_size) == (
        300,
        "640x480",
        256,
    )
    assert (config.plan.optimizer.name, config.plan.optimizer.lr) == ("adam", 2.0)
    assert (config.machine.device, config.machine.max_input_pixels) == ("cpu", 5_000_000)
    assert (config.recording.snapshot_every, config.recording.checkpoint_every) == (50, 25)
    # Every value of the file is read: the flat dict written again is the file's data.
    assert config.to_dict() == tomllib.loads(FLAT_FILE.read_text(encoding="utf-8"))


def test_old_flat_file_to_config_to_new_file_in_parts_is_the_same_config() -> None:
    config = flat_config()
    text = config.to_toml()
    written = tomllib.loads(text)
    assert list(written) == list(PARTS)  # [inputs], [look], [plan], [machine], [recording]
    assert written["look"]["style_weight"] == 30.0 and "iterations" in written["plan"]
    assert RunConfig.from_toml(text) == config


def test_the_checkpoint_fingerprint_of_a_flat_file_is_the_one_written_before_parts() -> None:
    """Checkpoints keep the fingerprint made before parts: the same settings, the same text,
    so a checkpoint written before is not refused as of other settings."""
    kept = (DATA / "settings-flat-1.fingerprint.toml").read_text(encoding="utf-8")
    assert settings_fingerprint(flat_config()) == kept


def test_a_resume_may_change_the_inputs_machine_and_recording_and_nothing_else() -> None:
    """The settings a checkpoint does not keep are its free parts' (the same names as the
    list written before parts)."""
    assert sorted(FREE_TO_CHANGE) == sorted(
        ("content", "style", "extra_styles", "style_masks", "output", "overwrite")
        + ("device", "precision", "memory_format", "cuda_graph", "max_input_pixels")
        + ("snapshot_every", "checkpoint_every")
    )


def test_a_preset_in_parts_and_one_flat_load_the_same() -> None:
    flat = RunConfig.from_dict(
        {"style_weight": 3.0, "iterations": 9, "content_layers": {"relu4_2": 1}}
    )
    in_parts = RunConfig.from_dict(
        {"look": {"style_weight": 3.0, "content_layers": {"relu4_2": 1}}, "plan": {"iterations": 9}}
    )
    assert flat == in_parts and flat.look.style_weight == 3.0 and flat.plan.iterations == 9


def test_a_part_that_is_not_a_table_or_an_unknown_name_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'look'"):
        RunConfig.from_dict({"look": 3})
    with pytest.raises(ConfigError, match="unknown setting 'style_wieght'"):
        RunConfig.from_dict({"look": {"style_wieght": 3}})


def test_flat_names_build_change_and_read_a_config_through_the_table() -> None:
    config = RunConfig.from_flat(style_weight=5, iterations=7, device="cpu", snapshot_every=2)
    assert config.look == Look(style_weight=5.0)
    assert config.plan == Plan(iterations=7)
    assert (config.machine.device, config.recording.snapshot_every) == ("cpu", 2)
    changed = config.replace(tv_weight=0.5, seed=3)
    assert (changed.look.tv_weight, changed.plan.seed, changed.look.style_weight) == (0.5, 3, 5.0)
    assert changed.value("seed") == 3 and changed.flat()["tv_weight"] == 0.5
    assert config.replace(look=Look()).look.style_weight == Look().style_weight
    with pytest.raises(TypeError, match="no setting called 'colour'"):
        config.replace(colour="off")


def test_a_bad_value_in_a_part_names_its_setting_and_checks_across_parts_still_run() -> None:
    with pytest.raises(ConfigError) as refused:
        RunConfig.from_flat(tv_weight=-1)
    assert refused.value.setting == "tv_weight"
    # The blend (a look's) must fit the style images (the inputs'): checked across parts.
    with pytest.raises(ConfigError) as refused:
        RunConfig.from_flat(style=Path("s.png"), style_blend=(1.0, 2.0))
    assert refused.value.setting == "style_blend"

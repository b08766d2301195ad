"""The settings table (nst_engine/settings/table.py) is the one place a run setting is
described: every field of each of RunConfig's parts is a row naming that part, and the
checks of RunConfig, the names a sweep varies, the command line's flags and what a preset
carries all come from it. Adding a setting is one row (and a field in its part); these
tests say what else it needs when they fail."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nst_engine.errors import ConfigError
from nst_engine.settings.config import RunConfig
from nst_engine.settings.parts import PART_TYPES
from nst_engine.settings.table import BY_NAME, PARTS, PRESET_LEAVES, SETTINGS
from nst_engine.sweeps.plan import apply_setting, sweep_names

# Sweep names that are no setting of their own: the optimiser's learning rate and
# parameters (fields of config.plan.optimizer) and a preset (many settings at once).
SWEEP_NAMES_NOT_IN_THE_TABLE = {
    "lr",
    "preset",
    "beta1",
    "beta2",
    "eps",
    "rho",
    "alpha",
    "momentum",
    "nesterov",
    "history-size",
}
A_BAD_VALUE = "x!"


def test_every_field_of_every_part_is_one_row_of_the_table_with_that_part() -> None:
    """RunConfig is its parts; each part's fields are the rows whose `part` names it."""
    assert [field.name for field in dataclasses.fields(RunConfig)] == list(PARTS)
    for part in PARTS:
        kind = type(getattr(RunConfig(), part))
        assert kind is PART_TYPES[part]
        fields = [field.name for field in dataclasses.fields(kind)]
        assert sorted(fields) == sorted(s.name for s in SETTINGS if s.part == part), part
    rows = [setting.name for setting in SETTINGS]
    assert len(set(rows)) == len(rows)  # a flat name says its part: names are unique


def test_the_sweep_names_are_the_rows_a_sweep_varies_and_the_optimisers() -> None:
    from_table = {setting.sweep_name for setting in SETTINGS if setting.sweep}
    assert set(sweep_names()) == from_table | SWEEP_NAMES_NOT_IN_THE_TABLE


def _run_parser_options() -> set[str]:
    import argparse

    from nst_tui.cli.run_options import add_run_arguments

    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    return {option for action in parser._actions for option in action.option_strings}


def test_every_row_with_a_flag_is_a_flag_of_nst_tui_run() -> None:
    options = _run_parser_options()
    flagged = [setting.option for setting in SETTINGS if setting.option is not None]
    assert [option for option in flagged if option not in options] == []
    # The positional CONTENT and STYLE are the rows without a flag.
    assert {s.name for s in SETTINGS if s.option is None} == {"content", "style", "extra_styles"}


@pytest.mark.parametrize(
    "setting", [s for s in SETTINGS if s.option is not None], ids=lambda s: s.name
)
def test_each_flag_is_read_by_its_rows_rule(setting, tmp_path: Path, monkeypatch) -> None:
    """A bad value for a flag is refused as about its setting, or (a value any text is, as a
    weights file's name) reaches its setting: the flag is read, none is forgotten."""
    from nst_tui.cli.command import build_parser
    from nst_tui.cli.run_options import config_from_arguments

    monkeypatch.chdir(tmp_path)
    if setting.name in ("overwrite", "ema"):  # switches: no value to get wrong
        return
    arguments = build_parser().parse_args(["run", "--demo", setting.option, A_BAD_VALUE])
    try:
        config = config_from_arguments(arguments)
    except ConfigError as error:
        assert error.setting == setting.name, error.message
    else:
        assert A_BAD_VALUE in str(config.value(setting.name))


@pytest.mark.parametrize(
    "setting", [s for s in SETTINGS if s.sweep and s.name not in ("content", "style", "init")],
    ids=lambda s: s.name,
)  # fmt: skip
def test_a_bad_value_in_a_sweep_names_its_row(setting) -> None:
    if setting.name == "weights":  # any text names a weights file (checked when it runs)
        assert apply_setting(RunConfig(), "weights", A_BAD_VALUE).look.weights == A_BAD_VALUE
        return
    with pytest.raises(ConfigError) as refused:
        apply_setting(RunConfig(), setting.sweep_name, A_BAD_VALUE)
    assert refused.value.setting == setting.name, refused.value.message


def test_a_preset_carries_the_rows_that_say_so_and_no_other() -> None:
    """to_dict(paths=False) (a saved preset) and load_preset agree with the table."""
    from nst_engine.settings.presets import load_preset

    every = RunConfig.from_flat(
        content=Path("c.png"),
        style=Path("s.png"),
        extra_styles=(Path("t.png"),),
        style_blend=(1.0, 2.0),
        output=Path("o.png"),
        output_size=64,
        style_size=32,
        overwrite=True,
    )
    written = set(every.to_dict(paths=False)) | {"style_scale"}  # scale: None with a style size
    assert written == {s.name for s in SETTINGS if s.preset}
    # A preset carries every part but the inputs (as before parts: size and iterations too).
    assert set(PRESET_LEAVES) == {
        "content",
        "style",
        "extra_styles",
        "style_masks",
        "output",
        "overwrite",
    }
    assert set(PRESET_LEAVES) == {s.name for s in SETTINGS if s.part == "inputs"}
    loaded = load_preset("print", every)
    for name in PRESET_LEAVES:
        assert loaded.value(name) == every.value(name)
    assert loaded.plan.size != every.plan.size and BY_NAME["size"].preset


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("style_weight", "0", "style weight must be greater than 0, got 0"),
        ("style_weight", "1e13", "style weight must be at most 1e+12, got 1e+13"),
        ("tv_weight", "-1", "TV weight must be at least 0, got -1"),
        ("size", "big", "compute size must be a number of pixels (longest side) or "
         "WIDTHxHEIGHT, got 'big'"),
        ("style_scale", "9", "style scale must be at most 4, got 9"),
        ("scale_iterations", "0", "scale iterations must be at least 1, got 0"),
    ],
)  # fmt: skip
def test_the_form_reads_a_typed_value_by_its_row_named_by_its_label(name, text, message):
    with pytest.raises(ConfigError) as refused:
        BY_NAME[name].read(text)
    assert refused.value.message == message


def test_an_empty_optional_field_is_not_given_and_a_typed_one_is_read() -> None:
    assert BY_NAME["output_size"].read(" ") is None and BY_NAME["style_scale"].read("") is None
    assert str(BY_NAME["style_size"].read("640x480")) == "640x480"
    assert BY_NAME["iterations"].read("300") == 300


def test_a_learning_rate_too_large_is_refused_naming_the_flag(tmp_path: Path, monkeypatch) -> None:
    """--lr is bounded as the optimiser's lr is (LEARNING_RATE_MAXIMUM), and says so as
    --lr, like every other flag (it said `lr must be ...`)."""
    from nst_tui.cli.command import build_parser
    from nst_tui.cli.run_options import config_from_arguments

    monkeypatch.chdir(tmp_path)
    arguments = build_parser().parse_args(["run", "--demo", "--lr", "1e7"])
    with pytest.raises(ConfigError) as refused:
        config_from_arguments(arguments)
    assert refused.value.message == "--lr must be at most 1e+06, got 1e+07"
    assert refused.value.setting == "lr"

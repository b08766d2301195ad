"""Single values (parse_int, parse_float, Size) and RunConfig: checks and the TOML round trip."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nst_engine.errors import ConfigError
from nst_engine.settings.config import (
    OPTIMIZERS,
    RunConfig,
    format_layer_weights,
    parse_layer_weights,
    read_toml_file,
)
from nst_engine.settings.values import (
    Size,
    parse_bool,
    parse_choice,
    parse_device,
    parse_float,
    parse_int,
)

# --- parse_int / parse_float -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("12", 12), (" 7 ", 7), (3, 3), (4.0, 4), ("1_000", 1000)]
)
def test_parse_int_accepts_whole_numbers_as_text_or_numbers(value, expected):
    assert parse_int("iterations", value, 1) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("abc", "must be a whole number"),
        ("1.5", "must be a whole number"),
        (1.5, "must be a whole number"),
        ("", "must be a whole number"),
        ("nan", "must be a whole number"),
        ("inf", "must be a whole number"),
        (math.nan, "must be a whole number"),
        (math.inf, "must be a whole number"),
        (True, "must be a whole number"),
        ("-5", "must be at least 1"),
        ("0", "must be at least 1"),
    ],
)
def test_parse_int_refuses_with_a_message_naming_the_setting(value, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_int("iterations", value, 1)
    assert caught.value.message.startswith("iterations ")
    assert fragment in caught.value.message


def test_parse_int_allows_zero_and_negatives_when_the_minimum_allows():
    assert parse_int("snapshot_every", "0", 0) == 0
    assert parse_int("offset", "-3") == -3


@pytest.mark.parametrize(("value", "expected"), [("0.5", 0.5), (2, 2.0), ("1e-3", 0.001)])
def test_parse_float_accepts_finite_numbers(value, expected):
    assert parse_float("lr", value, above=0.0) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("abc", "must be a number"),
        ("", "must be a number"),
        ("nan", "must be a finite number"),
        ("inf", "must be a finite number"),
        ("-inf", "must be a finite number"),
        (math.nan, "must be a finite number"),
        (math.inf, "must be a finite number"),
        (False, "must be a number"),
        ("-1", "must be greater than 0"),
        ("0", "must be greater than 0"),
    ],
)
def test_parse_float_refuses_with_a_message_naming_the_setting(value, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_float("lr", value, above=0.0)
    assert caught.value.message.startswith("lr ")
    assert fragment in caught.value.message


def test_parse_float_bounds_minimum_maximum_and_below():
    assert parse_float("tv_weight", "0", 0.0) == 0.0
    with pytest.raises(ConfigError, match="tv_weight must be at least 0"):
        parse_float("tv_weight", "-0.1", 0.0)
    with pytest.raises(ConfigError, match="rho must be at most 1"):
        parse_float("rho", "1.5", maximum=1.0)
    with pytest.raises(ConfigError, match="beta1 must be less than 1"):
        parse_float("beta1", "1", below=1.0)


def test_parse_choice_bool_and_device():
    assert parse_choice("optimizer", "L-BFGS", OPTIMIZERS) == "lbfgs"
    with pytest.raises(ConfigError, match="optimizer must be one of adam"):
        parse_choice("optimizer", "newton", OPTIMIZERS)
    assert parse_bool("nesterov", "yes") is True
    assert parse_bool("nesterov", "off") is False
    with pytest.raises(ConfigError, match="nesterov must be true or false"):
        parse_bool("nesterov", "maybe")
    assert parse_device("CUDA:1") == "cuda:1"
    with pytest.raises(ConfigError, match="device must be"):
        parse_device("tpu")


# --- sizes ---------------------------------------------------------------------------------------


def test_size_parse_accepts_a_longest_side_or_width_x_height():
    assert Size.parse("size", "512") == Size(longest=512)
    assert Size.parse("size", 512) == Size(longest=512)
    assert Size.parse("size", "640x480") == Size(width=640, height=480)
    assert Size.parse("size", " 640 X 480 ") == Size(width=640, height=480)


@pytest.mark.parametrize("text", ["0", "-5", "abc", "10x", "x10", "0x5", "5x0", "1.5", "nan"])
def test_size_parse_refuses_bad_sizes_naming_the_setting(text):
    with pytest.raises(ConfigError) as caught:
        Size.parse("--size", text)
    assert caught.value.message.startswith("--size ")


def test_size_resolve_keeps_the_aspect_ratio_for_a_longest_side():
    assert Size(longest=64).resolve(640, 427) == (64, 43)
    assert Size(longest=64).resolve(427, 640) == (43, 64)
    assert Size(width=30, height=20).resolve(640, 427) == (30, 20)


# --- layer weights -------------------------------------------------------------------------------


def test_layer_weights_parse_sorted_in_network_order_with_default_weight_one():
    pairs = parse_layer_weights("--style-layers", "relu5_1=2, conv1_1 ,relu3_1=0.5")
    assert pairs == (("conv1_1", 1.0), ("relu3_1", 0.5), ("relu5_1", 2.0))
    assert format_layer_weights(pairs) == "conv1_1=1,relu3_1=0.5,relu5_1=2"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("relu9_1=1", "unknown VGG19 layer 'relu9_1'"),
        ("relu1_1=-1", "weight of --style-layers relu1_1 must be at least 0"),
        ("relu1_1=abc", "weight of --style-layers relu1_1 must be a number"),
        ("relu1_1=nan", "must be a finite number"),
        ("relu1_1,relu1_1=2", "layer relu1_1 is given twice"),
        (" , ", "no layers given"),
    ],
)
def test_layer_weights_refuse_bad_entries(text, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_layer_weights("--style-layers", text)
    assert fragment in caught.value.message


def test_a_config_needs_one_layer_of_each_kind_with_a_weight_above_zero():
    with pytest.raises(ConfigError, match="choose at least one style layer"):
        RunConfig.from_flat(style_layers={"relu1_1": 0.0, "relu2_1": 0.0})
    with pytest.raises(ConfigError, match="choose at least one content layer"):
        RunConfig.from_flat(content_layers={"relu4_2": 0})


def test_active_layers_leave_out_zero_weights():
    config = RunConfig.from_flat(style_layers={"relu1_1": 0.0, "relu2_1": 2.0})
    assert config.active_style_layers == (("relu2_1", 2.0),)
    assert config.look.style_layers == (("relu1_1", 0.0), ("relu2_1", 2.0))


# --- RunConfig values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"iterations": 0}, "iterations must be at least 1"),
        ({"iterations": "many"}, "iterations must be a whole number"),
        ({"tv_weight": -1}, "tv_weight must be at least 0"),
        ({"tv_weight": math.nan}, "tv_weight must be a finite number"),
        ({"init": "zeros"}, "init must be one of"),
        ({"init_noise": math.inf}, "init_noise must be a finite number"),
        ({"seed": -1}, "seed must be at least 0"),
        ({"size": "0"}, "size must be at least 1"),
        ({"pooling": "min"}, "pooling must be one of max, avg"),
        ({"snapshot_every": -2}, "snapshot_every must be at least 0"),
        ({"max_input_pixels": 0}, "max_input_pixels must be at least 1"),
        ({"content": 5}, "content must be a file path"),
    ],
)
def test_a_config_with_a_bad_value_cannot_exist(changes, fragment):
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_flat(**changes)
    assert fragment in caught.value.message


def test_optimizer_name_is_stored_normalised_whatever_its_spelling():
    config = RunConfig.from_toml('[optimizer]\nname = "L-BFGS"\n')
    assert config.plan.optimizer.name == "lbfgs"
    assert config.plan.optimizer.parameters == config.plan.optimizer.lbfgs
    assert RunConfig.from_toml('[optimizer]\nname = "Adam"\n').plan.optimizer.label == "Adam"


def test_optimizer_numbers_written_as_text_become_numbers():
    config = RunConfig.from_toml(
        '[optimizer]\nname = "adam"\nlr = "0.5"\n[optimizer.adam]\nbeta1 = "0.8"\n'
    )
    assert config.plan.optimizer.lr == 0.5
    assert config.plan.optimizer.adam.beta1 == 0.8
    assert isinstance(config.plan.optimizer.lr, float)


# --- TOML round trip -----------------------------------------------------------------------------


def test_the_default_config_round_trips_through_toml():
    config = RunConfig()
    assert RunConfig.from_toml(config.to_toml()) == config


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_config_with_each_optimizer_round_trips_through_toml(optimizer, tmp_path):
    config = RunConfig.from_flat(
        content=tmp_path / "a photo.jpg",
        style=tmp_path / "é style.png",
        output=tmp_path / "out.png",
        iterations=17,
        optimizer={
            "name": optimizer,
            "lr": 0.25,
            "adam": {"beta1": 0.5, "eps": 0.1},
            "adadelta": {"rho": 0.8},
            "rmsprop": {"alpha": 0.9, "momentum": 0.3},
            "sgd": {"momentum": 0.5, "nesterov": True},
            "lbfgs": {"history_size": 7},
        },
        content_layers={"conv4_2": 10.0},
        style_layers={"conv1_1": 1e-9, "relu3_1": 2.5},
        tv_weight=3.5,
        init="noise",
        init_noise=0.2,
        seed=42,
        size="64x48",
        output_size=128,
        style_size="30x40",
        pooling="avg",
        device="cpu",
        weights="random",
        snapshot_every=5,
        overwrite=True,
        max_input_pixels=12345,
    )
    again = RunConfig.from_toml(config.to_toml())
    assert again == config
    assert again.plan.optimizer.name == optimizer


def test_to_toml_without_paths_leaves_the_paths_out(tmp_path):
    config = RunConfig.from_flat(
        content=tmp_path / "c.jpg", style=tmp_path / "s.jpg", output="o.png"
    )
    text = config.to_toml(paths=False)
    assert "c.jpg" not in text and "o.png" not in text
    assert RunConfig.from_toml(text) == config.replace(content=None, style=None, output=None)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("colour = 3\n", "unknown setting 'colour'"),
        ("[optimizer]\nspeed = 3\n", "unknown setting 'optimizer.speed'"),
        ("[optimizer.adam]\nbeta3 = 0.5\n", "unknown setting 'optimizer.adam.beta3'"),
        ("[optimizer]\nname = 'newton'\n", "optimizer must be one of"),
        ("[optimizer.adam]\nbeta1 = 1.5\n", "adam beta1 must be less than 1"),
        ("optimizer = 5\n", "optimizer must be a table"),
        ("content_layers = 'relu4_2'\n", "content_layers must be a table"),
        ("[style_layers]\nrelu9_9 = 1\n", "unknown VGG19 layer 'relu9_9'"),
        ("iterations = 'lots'\n", "iterations must be a whole number"),
    ],
)
def test_bad_settings_in_toml_give_a_config_error_naming_the_source_and_problem(text, fragment):
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_toml(text, source="preset 'mine'")
    assert caught.value.message.startswith("preset 'mine': ")
    assert fragment in caught.value.message


def test_a_toml_syntax_error_gives_a_config_error():
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_toml("iterations = = 3\n", source="preset 'mine'")
    assert "preset 'mine': not valid TOML" in caught.value.message
    assert "line 1" in caught.value.message


def test_from_dict_lays_settings_over_a_base_and_merges_optimizer_tables():
    base = RunConfig.from_flat(
        iterations=9, optimizer={"name": "adam", "lr": 2.0, "adam": {"beta1": 0.5}}
    )
    config = RunConfig.from_dict({"optimizer": {"adam": {"eps": 0.25}}}, base)
    assert config.plan.iterations == 9
    assert config.plan.optimizer.lr == 2.0
    assert config.plan.optimizer.adam.beta1 == 0.5
    assert config.plan.optimizer.adam.eps == 0.25


def test_read_toml_file_names_the_file_and_the_problem(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_toml_file(tmp_path / "none.toml", "preset")
    with pytest.raises(ConfigError, match="is a folder"):
        read_toml_file(tmp_path, "preset")
    broken = tmp_path / "broken.toml"
    broken.write_text("a = [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        read_toml_file(broken, "preset")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot be read: not UTF-8 text"):
        read_toml_file(binary, "preset")

"""`nst-tui run`'s coarse-to-fine flags and speed switches: into the RunConfig, and said in --help."""

from __future__ import annotations

import pytest

from nst_engine.errors import ConfigError
from nst_tui.cli.command import build_parser
from nst_tui.cli.run_options import config_from_arguments


def config_of(*flags: str):
    return config_from_arguments(build_parser().parse_args(["run", "--demo", *flags]))


def test_the_flags_reach_the_config():
    config = config_of(
        *("--size", "2048", "--min-size", "256", "--scale-iterations", "80"),
        *("--precision", "bf16", "--memory-format", "contiguous", "--cuda-graph", "off"),
    )
    assert (config.plan.min_size, config.plan.scale_iterations) == (256, 80)
    assert (config.machine.precision, config.machine.memory_format, config.machine.cuda_graph) == (
        "bf16",
        "contiguous",
        "off",
    )


def test_without_the_flags_the_preset_decides():
    config = config_of("--preset", "default")
    assert config.plan.min_size == 0
    assert (config.machine.precision, config.machine.memory_format, config.machine.cuda_graph) == (
        "auto",
    ) * 3


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--min-size", "-5"), "--min-size must be at least 0, got -5"),
        (("--scale-iterations", "0"), "--scale-iterations must be at least 1, got 0"),
        (("--precision", "fp16"), "--precision must be one of auto, fp32, bf16; got 'fp16'"),
    ],
)
def test_a_bad_value_names_its_flag(flags, message):
    with pytest.raises(ConfigError) as caught:
        config_of(*flags)
    assert caught.value.message == message


def test_run_help_explains_coarse_to_fine_and_the_speed_switches(nst_tui_here):
    result = nst_tui_here("run", "--help", columns=200)
    assert result.returncode == 0
    words = " ".join(result.stdout.split())
    for flag in ("--min-size N", "--scale-iterations N", "--precision", "--memory-format"):
        assert flag in words
    assert "--cuda-graph {auto,on,off}" in words
    assert "coarse to fine" in words and "--size 2048 --min-size 256" in words
    assert "auto picks what measured fastest on the device" in words


def test_a_coarse_to_fine_run_says_its_scales_and_saves_at_the_full_size(nst_tui_here, work):
    from PIL import Image

    result = nst_tui_here(
        *("run", "--demo", "--weights", "random", "--size", "64", "--min-size", "32"),
        *("--scale-iterations", "2", "--iterations", "2", "-o", "c2f.png"),
        columns=120,
    )
    assert result.returncode == 0, result.stderr
    assert "coarse to fine: 3 scales, 32 → 45 → 64 px" in result.stderr
    assert "6/6 scale 3/3" in result.stderr
    with Image.open(work / "c2f.png") as image:
        assert image.size == (64, 43)

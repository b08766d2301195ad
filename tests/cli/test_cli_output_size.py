"""A compute size given on the command line carries the output size with it (issue 18):
`--preset reference-2022 --size 192` computed at 192x144 and saved a stretched 224x224,
the preset's own output size. Now the output follows `--size` unless `--output-size` is
given too; the same for a sweep's size axis."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_engine.settings.config import RunConfig
from nst_engine.settings.sizes import resolve_sizes
from nst_tui.cli.command import build_parser
from nst_tui.cli.run_options import config_from_arguments

PHOTO = (640, 480)  # a landscape content image's size
PAINTING = (300, 300)


@pytest.fixture
def config_of(work: Path, monkeypatch: pytest.MonkeyPatch):
    """`config_of(*words)`: the RunConfig that `nst-tui run WORDS` would run, made in `work`."""
    monkeypatch.chdir(work)

    def parse(*words: str) -> RunConfig:
        return config_from_arguments(build_parser().parse_args(["run", *words]))

    return parse


def test_size_over_a_preset_with_an_output_size_saves_at_the_compute_size(config_of):
    config = config_of("astronaut", "mosaic", "--preset", "reference-2022", "--size", "192")
    sizes = resolve_sizes(config, PHOTO, PAINTING)
    assert sizes.compute == (192, 144)
    assert sizes.output == (192, 144)


def test_an_output_size_given_with_the_size_is_kept(config_of):
    config = config_of(
        "astronaut", "mosaic", "--preset", "reference-2022", "--size", "192", "--output-size", "400"
    )
    assert resolve_sizes(config, PHOTO, PAINTING).output == (400, 300)


def test_without_size_the_presets_own_output_size_stays(config_of):
    config = config_of("astronaut", "mosaic", "--preset", "reference-2022")
    sizes = resolve_sizes(config, PHOTO, PAINTING)
    assert sizes.compute == sizes.output == (224, 224)  # the 2022 app's own, both exact


def test_a_sweeps_size_axis_lets_every_cells_output_follow(work, monkeypatch):
    from nst_tui.cli.sweep_command import prepare_sweep

    monkeypatch.chdir(work)
    arguments = build_parser().parse_args(
        ["sweep", "astronaut", "mosaic", "--preset", "reference-2022", "--vary", "size=96,192"]
    )
    for job in prepare_sweep(arguments).jobs:
        sizes = resolve_sizes(job.config, PHOTO, PAINTING)
        assert sizes.output == sizes.compute, job.labels


def test_a_sweeps_size_axis_keeps_an_output_size_given_on_its_command_line(work, monkeypatch):
    from nst_tui.cli.sweep_command import prepare_sweep

    monkeypatch.chdir(work)
    arguments = build_parser().parse_args(
        ["sweep", "astronaut", "mosaic", "--preset", "reference-2022"]
        + ["--vary", "size=96,192", "--output-size", "256"]
    )
    for job in prepare_sweep(arguments).jobs:
        assert resolve_sizes(job.config, PHOTO, PAINTING).output == (256, 192)

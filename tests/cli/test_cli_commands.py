"""`nst-tui` commands that work: a tiny run, layers, presets, gallery, version, help, bench, in
this process (what they print and write is the point; bench starts a process of its own for
each size)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from nst_engine.running.images import read_embedded_settings
from nst_engine.settings.config import RunConfig
from nst_engine.settings.layers import LAYER_NAMES

TINY = ("--size", "48", "--iterations", "3", "--weights", "random")


def test_a_tiny_demo_run_writes_the_result_and_prints_its_path(nst_tui_here, work):
    result = nst_tui_here("run", "--demo", "-o", "out.png", *TINY)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    output = work / "out.png"
    printed = result.stdout.strip().splitlines()
    assert len(printed) == 1
    assert (work / printed[0]).resolve() == output.resolve()  # as given: relative to here
    with Image.open(output) as image:
        image.load()
        assert image.size == (48, 32)
    assert "NOT TRAINED" in result.stderr  # random weights are never silent
    assert "done in" in result.stderr
    settings = RunConfig.from_toml(read_embedded_settings(output))
    assert settings.plan.iterations == 3
    assert settings.look.weights == "random"


def test_flags_override_the_preset_and_reach_the_result(nst_tui_here, work, demo_pair):
    result = nst_tui_here(
        "run",
        *demo_pair,
        "-o",
        "styled.jpg",
        "--preset",
        "reference-2022",
        "--size",
        "40x32",
        "--output-size",
        "50x40",
        "--iterations",
        "2",
        "--weights",
        "random",
        "--lr",
        "3",
        "--beta1",
        "0.5",
        "--style-layers",
        "relu1_1=2,relu2_1",
        "--content-layers",
        "relu2_2",
        "--seed",
        "9",
    )
    assert result.returncode == 0, result.stderr
    output = work / "styled.jpg"
    with Image.open(output) as image:
        assert image.format == "JPEG"
        assert image.size == (50, 40)
    settings = RunConfig.from_toml(read_embedded_settings(output))
    assert settings.plan.optimizer.name == "adam"  # from the preset
    assert settings.plan.optimizer.adam.eps == 0.1  # from the preset
    assert settings.plan.optimizer.lr == 3.0
    assert settings.plan.optimizer.adam.beta1 == 0.5
    assert settings.look.tv_weight == 100.0  # from the preset
    assert settings.look.style_layers == (("relu1_1", 2.0), ("relu2_1", 1.0))
    assert settings.look.content_layers == (("relu2_2", 1.0),)
    assert settings.plan.seed == 9


def test_overwrite_replaces_an_existing_output(nst_tui_here, work):
    (work / "out.png").write_bytes(b"old")
    result = nst_tui_here("run", "--demo", "-o", "out.png", "--overwrite", *TINY)
    assert result.returncode == 0, result.stderr
    assert read_embedded_settings(work / "out.png") is not None


def test_without_an_output_the_result_is_named_after_its_images(nst_tui_here, work):
    result = nst_tui_here("run", "--demo", *TINY)
    assert result.returncode == 0, result.stderr
    assert (work / result.stdout.strip()).resolve() == (work / "rocket-swirl.png").resolve()
    assert (work / "rocket-swirl.png").is_file()


def test_layers_lists_all_37_names(nst_tui_here):
    result = nst_tui_here("layers")
    assert result.returncode == 0
    listed = [word for word in result.stdout.split() if word in LAYER_NAMES]
    assert listed == list(LAYER_NAMES)
    assert len(listed) == 37


def test_version_prints_the_version(nst_tui_here):
    from nst_engine import __version__

    result = nst_tui_here("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"nst-tui {__version__}"


def test_presets_lists_the_built_in_presets(nst_tui_here):
    result = nst_tui_here("presets")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert "default" in names
    assert "reference-2022" in names


def test_gallery_lists_the_demo_images(nst_tui_here):
    result = nst_tui_here("gallery")
    assert result.returncode == 0
    assert "rocket" in result.stdout and "swirl" in result.stdout


def test_help_answers_without_error(nst_tui_here):
    result = nst_tui_here("run", "--help")
    assert result.returncode == 0
    assert "--iterations" in result.stdout
    assert result.stderr == ""


@pytest.mark.slow  # imports torch in new processes
def test_bench_measures_each_size_in_its_own_process_and_writes_json(
    nst_tui_here, work, monkeypatch
):
    # The command in this process: its point is the fresh process it starts for each size,
    # which has one torch thread as the command's own would (OMP_NUM_THREADS, inherited).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    result = nst_tui_here(
        "bench", "--sizes", "32", "48", "--iterations", "1", "--spans", "2", "--warmup", "1",
        "--device", "cpu", "--json", "figures.json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads((work / "figures.json").read_text(encoding="utf-8"))
    assert [row["compute_size"] for row in figures] == ["32x21", "48x32"]
    assert [row["size"] for row in figures] == [32, 48]
    assert all(row["ms_per_iteration"] > 0 and row["peak_rss_mb"] > 0 for row in figures)
    assert all(len(row["span_ms"]) == 2 and row["warmup"] == 1 for row in figures)
    rows = [line for line in result.stdout.splitlines() if "ms/iteration" in line]
    assert len(rows) == 2 and "1.00x the 32 px time" in rows[0]

"""Sweeps (nst_engine/sweeps/sweep.py, sweep_settings.py): names, values, plans, iteration sweeps
that reuse one run's snapshots, and the grid of a sweep."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_engine.errors import ConfigError, InputImageError, NSTError
from nst_engine.running.transfer import run
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import gallery_image
from nst_engine.sweeps.plan import (
    Axis,
    apply_setting,
    make_axis,
    parse_vary,
    plan_sweep,
    sweep_names,
)
from nst_engine.sweeps.saved import create_run_folders, read_sweep_file
from nst_engine.sweeps.sweep import cell_picture, cell_state, render_grid, write_grid

# --- names and values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "values"),
    [
        ("lr=0.5,1,2", "lr", ("0.5", "1", "2")),
        ("Style_Weight = 3, 10 ,30", "style-weight", ("3", "10", "30")),
        ("--tv-weight=0,0.1", "tv-weight", ("0", "0.1")),
        ("relu4_1=0,1,2", "relu4_1", ("0", "1", "2")),
        ("style.relu4_1=0,1", "relu4_1", ("0", "1")),
        ("content.relu4_2=1,4", "content.relu4_2", ("1", "4")),
        ("preset=default,painterly", "preset", ("default", "painterly")),
        ("style=mosaic,swirl", "style", ("mosaic", "swirl")),
    ],
)
def test_parse_vary_names_and_values(text: str, name: str, values: tuple[str, ...]) -> None:
    assert parse_vary(text) == Axis(name, values)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lr", "NAME=V1,V2"),
        ("=1,2", "NAME=V1,V2"),
        ("lrr=1,2", "cannot vary 'lrr'; did you mean lr?"),
        ("colour=off,luminance", "cannot vary 'colour'"),
        ("relu9_1=1,2", "did you mean relu5_1?"),
        ("content.relu9_9=1", "unknown VGG19 layer 'relu9_9'"),
        ("lr=", "lr: no values given"),
        ("lr=1,,2", "lr: an empty value"),
        ("lr=1,2,1", "lr: 1 is given twice"),
    ],
)
def test_parse_vary_refuses_bad_syntax_and_names_in_one_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_vary(text)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_sweep_names_are_run_flags_without_dashes() -> None:
    names = sweep_names()
    for name in ("iterations", "lr", "optimizer", "style-weight", "tv-weight", "style-scale"):
        assert name in names
    for name in ("preset", "style", "content", "beta1", "history-size", "preserve-color"):
        assert name in names
    assert "output" not in names and "device" not in names


@pytest.mark.parametrize(
    ("name", "value", "check"),
    [
        ("iterations", "300", lambda c: c.plan.iterations == 300),
        ("lr", "0.5", lambda c: c.plan.optimizer.lr == 0.5),
        ("optimizer", "Adam", lambda c: c.plan.optimizer.name == "adam"),
        ("style-weight", "1e3", lambda c: c.look.style_weight == 1000),
        ("tv-weight", "0", lambda c: c.look.tv_weight == 0),
        ("style-scale", "2", lambda c: c.look.style_scale == 2 and c.look.style_size is None),
        (
            "style-size",
            "64",
            lambda c: str(c.look.style_size) == "64" and c.look.style_scale is None,
        ),
        ("size", "96x64", lambda c: str(c.plan.size) == "96x64"),
        ("seed", "7", lambda c: c.plan.seed == 7),
        ("pooling", "avg", lambda c: c.look.pooling == "avg"),
        ("preserve-color", "luminance", lambda c: c.look.preserve_color == "luminance"),
        ("style-loss", "w2", lambda c: c.look.style_loss == "w2"),
        ("ema", "off", lambda c: c.look.ema is False),
        ("init", "noise", lambda c: c.look.init == "noise"),
        ("history-size", "20", lambda c: c.plan.optimizer.lbfgs.history_size == 20),
        ("relu4_1", "3", lambda c: dict(c.look.style_layers)["relu4_1"] == 3),
        ("relu4_2", "2", lambda c: dict(c.look.style_layers)["relu4_2"] == 2),  # a new style layer
        ("content.relu5_2", "1", lambda c: dict(c.look.content_layers)["relu5_2"] == 1),
        ("style", "swirl", lambda c: c.inputs.style == gallery_image("swirl").path),
        ("content", "rocket", lambda c: c.inputs.content == gallery_image("rocket").path),
    ],
)
def test_apply_setting_changes_what_it_names(base: RunConfig, name, value, check) -> None:
    assert check(apply_setting(base, name, value))


def test_a_preset_value_brings_what_a_preset_carries_and_keeps_the_rest(base: RunConfig) -> None:
    """A preset in a sweep carries what it carries in `nst-tui run --preset` (issue 21: print
    changed size and iterations in a run, not in a sweep); the images and the output stay
    the sweep's."""
    framed = base.replace(
        seed=5, size=96, iterations=40, device="cpu", min_size=32, snapshot_every=10
    )
    painterly = apply_setting(framed, "preset", "painterly")
    assert painterly.look.style_loss == "w2"  # the preset's look (presets/painterly.toml)
    printed = apply_setting(framed, "preset", "print")
    assert (str(printed.plan.size), printed.plan.iterations) == ("2048", 100)  # presets/print.toml
    assert (printed.plan.min_size, printed.plan.scale_iterations, printed.plan.seed) == (
        256,
        100,
        0,
    )
    for kept in ("content", "style", "output"):
        assert printed.value(kept) == framed.value(kept)


def test_a_preset_value_in_a_sweep_is_the_preset_of_a_run(base: RunConfig) -> None:
    """What a preset carries is written once: a sweep's preset cell is load_preset's config."""
    from nst_engine.settings.presets import load_preset

    plan = plan_sweep(base, [parse_vary("preset=default,print")])
    for job, name in zip(plan.jobs, ("default", "print"), strict=True):
        run_config = load_preset(name, base)
        assert job.config.replace(output=None) == run_config.replace(output=None)


def test_an_optimiser_parameter_needs_its_optimiser(base: RunConfig) -> None:
    assert apply_setting(base.replace(optimizer={"name": "adam"}), "beta1", "0.5")
    with pytest.raises(ConfigError, match="beta1 applies to adam; the optimizer is lbfgs"):
        apply_setting(base, "beta1", "0.5")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("lr", "x", "lr must be a number, got 'x'"),
        ("lr", "0", "lr must be greater than 0, got 0"),
        ("iterations", "1.5", "iterations must be a whole number, got '1.5'"),
        ("optimizer", "newton", "optimizer must be one of adam"),
        ("style-scale", "9", "style-scale must be at most 4, got 9"),
        ("relu4_1", "-1", "relu4_1 weight must be at least 0, got -1"),
        ("preset", "nope", "no preset called 'nope'"),
        ("init", "sparkles", "init must be one of content+noise"),
        (
            "style",
            "mosiac",
            "style image 'mosiac' does not exist; did you mean the gallery's mosaic?",
        ),
    ],
)
def test_bad_values_are_refused_in_one_line_naming_both(
    base: RunConfig, name: str, value: str, message: str
) -> None:
    with pytest.raises(NSTError) as caught:
        apply_setting(base, name, value)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


# --- plans ------------------------------------------------------------------------------------


def test_a_two_axis_plan_has_a_job_per_cell(base: RunConfig, tmp_path: Path) -> None:
    plan = plan_sweep(base, [parse_vary("style-weight=3,10,30"), parse_vary("style-scale=0.5,1,2")])
    assert plan.rows == ("3", "10", "30") and plan.columns == ("0.5", "1", "2")
    assert plan.row_title == "style-weight" and plan.column_title == "style-scale"
    assert len(plan.jobs) == len(plan.cells) == 9
    cell = plan.cells[5]  # row by row: the second row's third cell
    assert (cell.row, cell.column) == (1, 2)
    assert cell.labels == ("style-weight=10", "style-scale=2")
    job = plan.jobs[cell.job]
    assert job.labels == cell.labels and cell.iteration is None
    assert job.config.look.style_weight == 10 and job.config.look.style_scale == 2
    assert (
        job.config.inputs.output
        == tmp_path / "grid.cells" / "r2c3-style-weight=10-style-scale=2.png"
    )
    assert len({job.config.inputs.output for job in plan.jobs}) == 9
    assert plan.grid == tmp_path / "grid.png"
    # The title names the images and what every cell shares, not what varies.
    assert plan.title.startswith("astronaut in the style of mosaic · 128 px, 100 iterations")
    assert "style weight" not in plan.title and "style scale" not in plan.title


def test_cell_outputs_never_overwrite(base: RunConfig, tmp_path: Path) -> None:
    cells = tmp_path / "grid.cells"
    cells.mkdir()
    (cells / "r1c1-lr=1.png").write_bytes(b"earlier")
    plan = plan_sweep(base, [parse_vary("lr=1,2")])
    assert plan.jobs[0].config.inputs.output == cells / "r1c1-lr=1-2.png"
    assert not plan.jobs[0].config.inputs.overwrite


def test_style_images_as_an_axis_are_labelled_by_name(base: RunConfig) -> None:
    plan = plan_sweep(base, [parse_vary("style=mosaic,swirl")])
    assert plan.columns == ("mosaic", "swirl")
    assert plan.cells[1].labels == ("style=swirl",)
    assert plan.title.startswith("astronaut ·")


def test_a_preset_axis_is_applied_before_the_other(base: RunConfig) -> None:
    plan = plan_sweep(base, [parse_vary("style-weight=1,100"), parse_vary("preset=painterly")])
    assert [job.config.look.style_weight for job in plan.jobs] == [1, 100]
    assert all(job.config.look.style_loss == "w2" for job in plan.jobs)


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ([], "needs one or two settings"),
        (["lr=1,2", "seed=1,2", "tv-weight=0,1"], "varies one or two settings"),
        (["lr=1,2", "lr=3,4"], "lr is varied twice"),
        (["style-scale=1,2", "style-size=64"], "two ways to say one thing"),
        (
            ["lr=" + ",".join(map(str, range(1, 10))), "seed=" + ",".join(map(str, range(8)))],
            "9 x 8 = 72 cells is too large",
        ),
        (["lr=1,x"], "lr must be a number, got 'x'"),
    ],
)
def test_plans_that_cannot_be_are_refused(base: RunConfig, axes, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_sweep(base, [parse_vary(text) for text in axes])
    assert message in caught.value.message


def test_a_plan_needs_a_grid_path(base: RunConfig) -> None:
    with pytest.raises(ConfigError, match="no output path for the grid"):
        plan_sweep(base.replace(output=None), [parse_vary("lr=1,2")])


def test_an_iteration_sweep_is_one_run_per_other_value(base: RunConfig) -> None:
    plan = plan_sweep(base, [parse_vary("lr=1,2"), parse_vary("iterations=100,300,200")])
    assert len(plan.jobs) == 2 and len(plan.cells) == 6
    for job, lr in zip(plan.jobs, (1, 2), strict=True):
        assert job.config.plan.iterations == 300 and job.config.recording.snapshot_every == 100
        assert job.config.plan.optimizer.lr == lr
        assert job.labels == (f"lr={lr}", "iterations=100,300,200")
        assert job.config.inputs.output.name == f"r{lr}c2-lr={lr}-iterations=300.png"
    assert [(cell.job, cell.iteration) for cell in plan.cells] == [
        (0, 100),
        (0, None),
        (0, 200),
        (1, 100),
        (1, None),
        (1, 200),
    ]
    assert any("one run to 300 iterations" in note for note in plan.notes)


def test_an_iteration_sweep_with_coarse_to_fine_runs_each_value(base: RunConfig) -> None:
    plan = plan_sweep(base.replace(min_size=64), [parse_vary("iterations=50,100")])
    assert [job.config.plan.iterations for job in plan.jobs] == [50, 100]
    assert all(job.config.recording.snapshot_every == 0 for job in plan.jobs)
    assert any("coarse to fine" in note for note in plan.notes)


def test_an_iteration_sweep_takes_its_cells_from_one_runs_snapshots(
    tiny_config, tmp_path: Path
) -> None:
    """One run to 6 iterations gives the cells at 2 and 4 from its snapshots, each the same
    picture as a run of that many iterations; the grid shows all three."""
    base = tiny_config(output=tmp_path / "grid.png", seed=2)
    plan = plan_sweep(base, [parse_vary("iterations=2,4,6")])
    assert len(plan.jobs) == 1
    folders = create_run_folders(plan)
    folder = folders[0]
    assert folder.record().sweep and folder.record().labels == ("iterations=2,4,6",)
    assert all(cell_picture(plan, cell, folders) is None for cell in plan.cells)
    assert "queued" in _words_in(render_grid(plan, folders, cell_size=48))
    with run(plan.jobs[0].config, folder) as events:
        for _ in events:
            pass
    assert sorted(folder.snapshots()) == [2, 4]
    pictures = [cell_picture(plan, cell, folders) for cell in plan.cells]
    assert pictures == [folder.snapshots()[2], folder.snapshots()[4], folder.result_path]
    with run(base.replace(iterations=2, output=tmp_path / "two.png")) as events:
        for _ in events:
            pass
    assert np.array_equal(
        np.asarray(Image.open(pictures[0]).convert("RGB")),
        np.asarray(Image.open(tmp_path / "two.png").convert("RGB")),
    )
    path = write_grid(plan, folders, tmp_path / "grid.png", cell_size=48)
    assert path == tmp_path / "grid.png" and Image.open(path).size[0] > 3 * 48


def _words_in(image: Image.Image) -> str:
    """Not OCR: the grid's grey boxes are drawn only for missing cells; say "queued" when the
    image has any, so the test reads plainly."""
    from nst_engine.sweeps.grid import MISSING

    pixels = np.asarray(image)
    return "queued" if (pixels == np.array(MISSING)).all(axis=2).any() else ""


# --- sweep files ------------------------------------------------------------------------------


def test_a_sweep_file_gives_settings_and_axes_in_order(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(
        'size = 96\npreset = "painterly"\n\n[vary]\nstyle_weight = [1e2, 1e3, 1e4]\n'
        'optimizer = ["adam", "adadelta", "rmsprop"]\n',
        encoding="utf-8",
    )
    settings, axes = read_sweep_file(path)
    assert settings == {"size": 96, "preset": "painterly"}
    assert axes == [
        Axis("style-weight", ("100", "1000", "10000")),
        Axis("optimizer", ("adam", "adadelta", "rmsprop")),
    ]
    assert make_axis("lr", [0.5, 1.0]) == Axis("lr", ("0.5", "1"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("size = 96\n", "has no [vary] table"),
        ("[vary]\nlr = 3\n", "vary.lr must be a list of values"),
        ("[vary]\nlrr = [1, 2]\n", "cannot vary 'lrr'"),
        ("[vary\n", "is not valid TOML"),
    ],
)
def test_bad_sweep_files_are_refused_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_sweep_file(path)
    assert message in caught.value.message
    assert str(path) in caught.value.message


def test_a_missing_style_value_is_an_input_error(base: RunConfig) -> None:
    with pytest.raises(InputImageError):
        plan_sweep(base, [parse_vary("style=mosaic,nowhere.png")])


def test_cells_without_a_picture_say_why(base: RunConfig) -> None:
    plan = plan_sweep(base, [parse_vary("lr=1,2,3,4")])
    folders = create_run_folders(plan)
    folders[1].update(status="running", pid=os.getpid())
    folders[2].update(status="failed", error="out of GPU memory")
    folders[3].update(status="finished")  # finished, yet its result is gone
    words = [cell_state(plan, cell, folders) for cell in plan.cells]
    assert words == ["queued", "running", "failed", "missing"]
    assert all(cell_picture(plan, cell, folders) is None for cell in plan.cells)

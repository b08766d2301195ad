"""`nst-tui sweep`: a grid and a run per cell, iteration sweeps from snapshots, sweep files,
one-line refusals before torch, stopping by signal and `--resume`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import command_environment
from PIL import Image

from nst_engine.settings.gallery import gallery_image
from nst_engine.store.runs import list_runs

TINY = ("--size", "32", "--weights", "random", "--device", "cpu", "--cell-size", "48")


def runs(tmp_path: Path):
    return list_runs(tmp_path / "runs")


def test_a_2x2_sweep_makes_a_grid_and_a_run_per_cell(sweep, work: Path, tmp_path: Path) -> None:
    result = sweep(
        "astronaut", "mosaic", "--vary", "style-weight=1,100", "--vary", "tv-weight=0,1",
        "--iterations", "2", *TINY, "-o", "grid.png",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(work / "grid.png")
    grid = Image.open(work / "grid.png")
    assert grid.width > 2 * 48 and grid.height > 2 * 48
    records = runs(tmp_path)
    assert len(records) == 4
    assert {record.status for record in records} == {"finished"}
    assert len({record.sweep for record in records}) == 1 and records[0].sweep
    assert {record.labels for record in records} == {
        (f"style-weight={weight}", f"tv-weight={tv}") for weight in (1, 100) for tv in (0, 1)
    }
    cells = sorted(path.name for path in (work / "grid.cells").glob("*.png"))
    assert cells == [
        "r1c1-style-weight=1-tv-weight=0.png",
        "r1c2-style-weight=1-tv-weight=1.png",
        "r2c1-style-weight=100-tv-weight=0.png",
        "r2c2-style-weight=100-tv-weight=1.png",
    ]
    assert (work / "grid.cells" / "sweep.toml").is_file()
    assert "4 of 4 runs finished" in result.stderr


def test_an_iteration_sweep_runs_once_and_takes_the_snapshots(
    sweep, work: Path, tmp_path: Path
) -> None:
    result = sweep("astronaut", "mosaic", "--vary", "iterations=2,4", *TINY, "-o", "it.png")
    assert result.returncode == 0, result.stderr
    assert len(runs(tmp_path)) == 1
    assert runs(tmp_path)[0].labels == ("iterations=2,4",)
    assert sorted(path.name for path in (work / "it.cells").glob("*.png")) == [
        "r1c1-iterations=2.png",
        "r1c2-iterations=4.png",
    ]
    assert "one run to 4 iterations" in result.stderr


def test_a_sweep_file_gives_images_settings_and_axes(sweep, work: Path, tmp_path: Path) -> None:
    (work / "plans").mkdir()
    (work / "plans" / "sweep.toml").write_text(
        'content = "astronaut"\nstyle = "mosaic"\noutput = "from-file.png"\niterations = 2\n'
        'size = 32\nweights = "random"\ndevice = "cpu"\n\n[vary]\nlr = [0.5, 1.0]\n',
        encoding="utf-8",
    )
    result = sweep("--file", "plans/sweep.toml", "--cell-size", "40", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert (work / "plans" / "from-file.png").is_file()  # beside the file that names it
    records = runs(tmp_path)
    assert sorted(record.labels for record in records) == [("lr=0.5",), ("lr=1",)]
    assert {record.summary["seed"] for record in records} == {3}  # a flag over the file
    assert {record.summary["iterations"] for record in records} == {2}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--vary", "lrr=1,2"], "cannot vary 'lrr'; did you mean lr?"),
        (["--vary", "lr=1,x"], "lr must be a number, got 'x'"),
        (["--vary", "lr=1,2", "--vary", "seed=1", "--vary", "tv-weight=0"], "one or two"),
        ([], "say what to vary"),
        (["--vary", "style=mosaic,nowhere.png"], "style image 'nowhere.png' does not exist"),
        (["--vary", "lr=1", "--file", "missing.toml"], "sweep file 'missing.toml' does not exist"),
        (["--vary", "lr=1", "-o", "grid.gif"], "must end in .png or .jpg"),
        (["--vary", "optimizer=adam", "--beta1", "2"], "--beta1"),
        (["--vary", "size=8,32"], "size=8: content image"),  # the network cannot take 8 px
    ],
)
def test_bad_sweeps_are_one_line_and_exit_2_before_any_run(
    sweep, tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = sweep("astronaut", "mosaic", *arguments, *TINY)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error: " in lines[0] and message in lines[0], result.stderr
    assert result.stdout == ""
    assert runs(tmp_path) == []


def test_a_sweep_with_an_unreadable_image_is_refused_before_any_run(
    sweep, work: Path, tmp_path: Path
) -> None:
    (work / "notes.png").write_text("a shopping list\n", encoding="utf-8")
    result = sweep("astronaut", "notes.png", "--vary", "lr=1,2", *TINY, "-o", "grid.png")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "nst-tui: error: style image 'notes.png' is not an image Pillow can read\n"
    )
    assert runs(tmp_path) == [] and not (work / "grid.png").exists()


def test_an_existing_grid_is_kept_unless_overwrite(sweep, work: Path, tmp_path: Path) -> None:
    (work / "grid.png").write_bytes(b"mine")
    result = sweep("astronaut", "mosaic", "--vary", "lr=1,2", *TINY, "-o", "grid.png")
    assert result.returncode == 2 and "already exists" in result.stderr
    assert (work / "grid.png").read_bytes() == b"mine"
    assert runs(tmp_path) == []


def test_a_bad_sweep_is_refused_without_loading_torch(work: Path) -> None:
    """The one subprocess: what a refused sweep imports (torch takes seconds)."""
    script = (
        "import sys\n"
        "from nst_tui.cli.command import main\n"
        "status = main(['sweep', 'astronaut', 'mosaic', '--vary', 'lr=1,zero'])\n"
        "print(status, 'torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=work,
        env=command_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.splitlines() == ["2 False"]
    assert result.stderr == "nst-tui: error: lr must be a number, got 'zero'\n"


def test_sighup_stops_the_sweep_and_resume_finishes_it(
    sweep, work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dropped SSH session mid-sweep: the running cell stops with its checkpoint, the
    queued one stays queued; `--resume GRID` runs both to the end and makes the grid."""
    from nst_engine.optimise.stepper import Stepper

    real_step = Stepper.step
    calls = {"n": 0}

    def step_then_hang_up(stepper):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGHUP)
        return real_step(stepper)

    monkeypatch.setattr(Stepper, "step", step_then_hang_up)
    # The hang-up comes in the 3rd step, in this process: 8 iterations leave it room to stop
    # the run before its end.
    arguments = ("astronaut", "mosaic", "--vary", "lr=1,2", "--iterations", "8", *TINY)
    result = sweep(*arguments, "--checkpoint-every", "0", "-o", "grid.png")
    assert result.returncode == 128 + signal.SIGHUP, result.stderr
    assert "to go on: nst-tui sweep --resume" in result.stderr
    by_label = {record.labels: record for record in runs(tmp_path)}
    stopped, queued = by_label[("lr=1",)], by_label[("lr=2",)]
    assert stopped.status == "stopped" and 3 <= stopped.iterations_done < 8
    assert (stopped.path / "checkpoint.pt").is_file()
    assert queued.status == "queued"
    assert (work / "grid.png").is_file()  # the grid as it stood: two grey cells

    monkeypatch.setattr(Stepper, "step", real_step)
    result = sweep("--resume", "grid.png")
    assert result.returncode == 0, result.stderr
    assert "resuming: 0 runs finished, 2 to go" in result.stderr
    assert "resuming after" in result.stderr
    records = runs(tmp_path)
    assert len(records) == 2 and {record.status for record in records} == {"finished"}
    assert {record.iterations_done for record in records} == {8}
    assert result.stdout.strip() == str(work / "grid.png")
    # Nothing left to do: a second resume only makes the grid again.
    again = sweep("--resume", records[0].sweep)
    assert again.returncode == 0 and "2 runs finished, 0 to go" in again.stderr


def test_resume_of_a_sweep_with_a_running_cell_says_so_in_the_engines_words(
    sweep, work: Path
) -> None:
    """`--resume` refuses, before anything runs, with the line `nst-tui resume` and the
    history's Resume give for that run (nst_engine/store/resume.py)."""
    import socket

    from nst_engine.settings.config import RunConfig
    from nst_engine.settings.gallery import demo_pair
    from nst_engine.store.resume import resumable
    from nst_engine.sweeps.plan import plan_sweep
    from nst_engine.sweeps.sweep import Sweep

    content, style = demo_pair()
    base = RunConfig.from_flat(content=content, style=style, output=work / "grid.png", size=32)
    started = Sweep.start(plan_sweep(base, ["lr=1,2"]))
    running = started.folders[1]
    running.update(status="running", pid=os.getpid(), host=socket.gethostname())
    result = sweep("--resume", "grid.png")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"nst-tui: error: {resumable(running)}\n"
    assert "still running" in result.stderr
    assert started.folders[0].record().status == "queued"  # nothing ran


def test_resume_of_an_unknown_sweep_is_one_line(sweep) -> None:
    result = sweep("--resume", "nothing-here")
    assert result.returncode == 2 and "no sweep 'nothing-here' found" in result.stderr


def test_runs_json_lists_a_sweeps_cells(sweep, tmp_path: Path) -> None:
    from nst_engine.store.runs import filter_runs

    sweep("astronaut", "mosaic", "--vary", "seed=1,2", "--iterations", "1", *TINY, "-o", "s.png")
    records = runs(tmp_path)
    data = [record.to_json() for record in records]
    assert json.loads(json.dumps(data))[0]["sweep"] == records[0].sweep
    assert len(filter_runs(records, "", "finished")) == 2


def test_a_sweep_too_big_for_the_device_needs_force(
    sweep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nst_engine.cost import rates

    def warning(config):
        return "this run needs about 9 GiB of memory and cpu has 1 GiB free (an estimate)"

    monkeypatch.setattr(rates, "memory_warning", warning)
    arguments = ("astronaut", "mosaic", "--vary", "seed=1,2", "--iterations", "1", *TINY)
    refused = sweep(*arguments, "-o", "big.png")
    assert refused.returncode == 2 and "add --force to run anyway" in refused.stderr
    assert runs(tmp_path) == []
    forced = sweep(*arguments, "-o", "big.png", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stderr.count("running anyway (--force)") == 1


def test_the_help_examples_are_sweeps_that_plan(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each example of `nst-tui sweep --help` (but the sweep file's) parses and plans."""
    import shlex

    from nst_tui.cli.command import build_parser
    from nst_tui.cli.sweep_command import SWEEP_EXAMPLES, prepare_sweep

    monkeypatch.chdir(work)
    text = SWEEP_EXAMPLES.replace("\\\n", " ")
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("nst-tui")]
    commands = [command for command in commands if "--file" not in command]
    assert len(commands) >= 5
    for command in commands:
        arguments = build_parser().parse_args(shlex.split(command)[1:])
        plan = prepare_sweep(arguments)
        assert plan.cells and plan.jobs, command


def test_flags_given_win_over_a_preset_value(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--vary preset=... --style-weight 30`: each cell is what `nst-tui run --preset P
    --style-weight 30` would run, in the sweep's frame (size, iterations, seed)."""
    from nst_tui.cli.command import build_parser
    from nst_tui.cli.sweep_command import prepare_sweep

    monkeypatch.chdir(work)
    arguments = build_parser().parse_args(
        ["sweep", "astronaut", "mosaic", "--vary", "preset=default,painterly"]
        + ["--style-weight", "30", "--size", "96", "--iterations", "7", "--min-size", "48"]
    )
    plan = prepare_sweep(arguments)
    default, painterly = (job.config for job in plan.jobs)
    assert default.look.style_weight == painterly.look.style_weight == 30
    assert default.look.style_loss == "gram" and painterly.look.style_loss == "w2"
    for config in (default, painterly):
        assert (str(config.plan.size), config.plan.iterations, config.plan.min_size) == (
            "96",
            7,
            48,
        )


def test_a_preset_value_sets_size_and_iterations_as_in_run(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21: `--preset print` changed size and iterations in `nst-tui run` but not in a
    sweep's preset cell; each cell is what `nst-tui run --preset P` would run."""
    from nst_tui.cli.command import build_parser
    from nst_tui.cli.run_options import config_from_arguments
    from nst_tui.cli.sweep_command import prepare_sweep

    monkeypatch.chdir(work)
    arguments = ["astronaut", "mosaic", "--seed", "3"]
    sweep = build_parser().parse_args(["sweep", *arguments, "--vary", "preset=default,print"])
    default, printed = (job.config for job in prepare_sweep(sweep).jobs)
    run = config_from_arguments(build_parser().parse_args(["run", *arguments, "--preset", "print"]))
    assert (str(printed.plan.size), printed.plan.iterations, printed.plan.min_size) == (
        "2048",
        100,
        256,
    )
    assert (str(run.plan.size), run.plan.iterations, run.plan.min_size) == ("2048", 100, 256)
    assert (str(default.plan.size), default.plan.iterations, default.plan.min_size) == (
        "512",
        200,
        0,
    )
    assert printed.plan.seed == default.plan.seed == 3  # a flag given wins, as in run


def test_a_sweep_files_settings_reach_every_preset_cell(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preset, then the file's settings, then the flags: in every cell of a preset axis."""
    from nst_tui.cli.command import build_parser
    from nst_tui.cli.sweep_command import prepare_sweep

    monkeypatch.chdir(work)
    (work / "looks.toml").write_text(
        'content = "astronaut"\nstyle = "mosaic"\ntv_weight = 0.5\nstyle_weight = 3\n'
        'size = 64\n\n[vary]\npreset = ["default", "painterly"]\n',
        encoding="utf-8",
    )
    arguments = build_parser().parse_args(["sweep", "--file", "looks.toml", "--style-weight", "20"])
    default, painterly = (job.config for job in prepare_sweep(arguments).jobs)
    assert default.look.tv_weight == painterly.look.tv_weight == 0.5
    assert default.look.style_weight == painterly.look.style_weight == 20
    assert painterly.look.style_loss == "w2" and str(painterly.plan.size) == "64"


def test_a_sweep_file_in_parts_as_a_runs_settings_toml_gives_its_images_and_settings(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's settings.toml is written in parts ([inputs], [look], [plan], ...): copied into
    a sweep file, its images and settings are read as a flat file's are."""
    from nst_tui.cli.command import build_parser
    from nst_tui.cli.sweep_command import prepare_sweep

    monkeypatch.chdir(work)
    (work / "looks.toml").write_text(
        '[inputs]\ncontent = "astronaut"\nstyle = "mosaic"\n\n'
        "[look]\ntv_weight = 0.5\n\n[plan]\nsize = 64\n\n"
        '[vary]\npreset = ["default", "painterly"]\n',
        encoding="utf-8",
    )
    arguments = build_parser().parse_args(["sweep", "--file", "looks.toml"])
    default, painterly = (job.config for job in prepare_sweep(arguments).jobs)
    assert default.inputs.content == painterly.inputs.content == gallery_image("astronaut").path
    assert default.look.tv_weight == painterly.look.tv_weight == 0.5
    assert str(default.plan.size) == str(painterly.plan.size) == "64"


def test_the_default_grid_name_is_content_style_sweep_whatever_outputs_exist(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not `astronaut-mosaic-2-sweep.png` because astronaut-mosaic.png exists (issue 18)."""
    from nst_tui.cli.command import build_parser
    from nst_tui.cli.sweep_command import prepare_sweep

    monkeypatch.chdir(work)
    (work / "astronaut-mosaic.png").write_bytes(b"an earlier result")
    arguments = ["sweep", "astronaut", "mosaic", "--vary", "lr=1,2"]
    assert prepare_sweep(build_parser().parse_args(arguments)).grid == work / (
        "astronaut-mosaic-sweep.png"
    )
    (work / "astronaut-mosaic-sweep.png").write_bytes(b"an earlier grid")
    assert prepare_sweep(build_parser().parse_args(arguments)).grid == work / (
        "astronaut-mosaic-sweep-2.png"
    )

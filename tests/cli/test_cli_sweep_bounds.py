"""`nst-tui sweep` refuses what it cannot make, in one line, before anything is made: too
many values (counted before they are looked at one by one), a cell size no grid could hold,
sweep-file settings of the wrong type; a refused sweep leaves no `GRID.cells/` behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import assert_one_line_error

from nst_engine.store.runs import list_runs

TINY = ("--size", "32", "--weights", "random", "--device", "cpu", "--cell-size", "48")


def nothing_made(work: Path, tmp_path: Path) -> bool:
    """No run folder, and no grid or cells folder in `work`."""
    return list_runs(tmp_path / "runs") == [] and not list(work.glob("*.cells"))


def write_sweep_file(work: Path, settings: str, vary: str = "lr = [0.5, 1.0]\n") -> Path:
    path = work / "sweep.toml"
    path.write_text(
        'content = "astronaut"\nstyle = "mosaic"\noutput = "g.png"\niterations = 1\n'
        f'size = 32\nweights = "random"\ndevice = "cpu"\n{settings}\n[vary]\n{vary}',
        encoding="utf-8",
    )
    return path


def test_a_hundred_thousand_values_in_a_sweep_file_are_refused_by_their_count(
    sweep, work: Path, tmp_path: Path
) -> None:
    """They used to hang: each value was checked against all the others before the count."""
    values = ", ".join(str(number) for number in range(100_000))
    write_sweep_file(work, "", f"lr = [{values}]\n")
    result = sweep("--file", "sweep.toml")
    assert_one_line_error(result, "lr: 100000 values", "at most 64")
    assert nothing_made(work, tmp_path)


def test_twenty_thousand_values_on_the_command_line_are_refused_by_their_count(
    sweep, work: Path, tmp_path: Path
) -> None:
    values = ",".join(str(number) for number in range(1, 20_001))
    result = sweep("astronaut", "mosaic", "--vary", f"seed={values}", *TINY, "-o", "g.png")
    assert_one_line_error(result, "seed: 20000 values", "at most 64")
    assert nothing_made(work, tmp_path)


def test_a_cell_size_no_grid_could_hold_is_refused_before_any_run(
    sweep, work: Path, tmp_path: Path
) -> None:
    """--cell-size 100000 tried to allocate ~60 GB after the run folders were made."""
    arguments = (
        "astronaut",
        "mosaic",
        "--vary",
        "lr=1,2",
        "--size",
        "32",
        "--iterations",
        "1",
        "-o",
        "g.png",
    )
    result = sweep(*arguments, "--weights", "random", "--cell-size", "100000")
    assert_one_line_error(result, "--cell-size must be at most 1024, got 100000")
    assert nothing_made(work, tmp_path)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("preset = 5", "preset must be a preset's name or a settings file, got 5"),
        ("extra_styles = 5", "extra_styles must be an image or a list of images, got 5"),
        ('extra_styles = ["mosaic", 5]', "image paths must be text, got 5"),
    ],
)
def test_a_sweep_files_settings_of_the_wrong_type_are_one_line(
    sweep, work: Path, tmp_path: Path, settings: str, message: str
) -> None:
    write_sweep_file(work, settings)
    result = sweep("--file", "sweep.toml")
    assert_one_line_error(result, "sweep file", message)
    assert nothing_made(work, tmp_path)


def test_one_extra_style_named_as_text_is_one_style_not_its_letters(
    sweep, work: Path, tmp_path: Path
) -> None:
    from nst_engine.settings.gallery import resolve_image_path

    write_sweep_file(work, 'extra_styles = "swirl"\n', "seed = [1, 2]\n")
    result = sweep("--file", "sweep.toml", "--cell-size", "32")
    assert result.returncode == 0, result.stderr
    records = list_runs(tmp_path / "runs")
    assert len(records) == 2
    wanted = (str(resolve_image_path("mosaic")), str(resolve_image_path("swirl")))
    assert {record.styles for record in records} == {wanted}


def test_a_sweep_refused_for_its_runs_folder_leaves_no_cells_folder(
    sweep, work: Path, tmp_path: Path
) -> None:
    """A runs folder that cannot be made (here: under a file, which even root cannot undo)."""
    (work / "a-file").write_text("not a folder\n", encoding="utf-8")
    runs_dir = work / "a-file" / "runs"
    result = sweep(
        "astronaut", "mosaic", "--vary", "lr=1,2", *TINY, "-o", "g.png", "--runs-dir", runs_dir
    )
    assert_one_line_error(result, "cannot create the runs folder")
    assert not (work / "g.cells").exists() and not (work / "g.png").exists()


def test_a_sweep_whose_second_run_folder_fails_removes_the_first(
    sweep, work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills while the run folders are made: none is left queued, nor the cells
    folder (a refused sweep makes nothing)."""
    from nst_engine.errors import OutputError
    from nst_engine.store import runs

    real_create = runs.RunFolder.create.__func__
    made = []

    def create_then_fill(cls, *arguments, **options):
        if made:
            raise OutputError("cannot create a run folder in 'runs': No space left on device")
        made.append(real_create(cls, *arguments, **options))
        return made[-1]

    monkeypatch.setattr(runs.RunFolder, "create", classmethod(create_then_fill))
    result = sweep("astronaut", "mosaic", "--vary", "lr=1,2", *TINY, "-o", "g.png")
    assert_one_line_error(result, "No space left on device")
    assert made and not made[0].path.exists()
    assert nothing_made(work, tmp_path)

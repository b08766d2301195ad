"""Regions (issue 22.1) on the command line: `nst-tui masks`, and `run --style-masks`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_run import assert_one_line_error
from PIL import Image


@pytest.fixture
def photo(work: Path) -> Path:
    """A 41 x 30 picture (odd width), dark on its left, light on its right."""
    array = np.zeros((30, 41, 3), np.uint8)
    array[:, 20:] = 200
    array[:, :20] = 30
    Image.fromarray(array).save(work / "photo.png")
    return work / "photo.png"


def read(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "L"
        return np.asarray(image, dtype=np.int64)


@pytest.mark.parametrize("split", ["left-right", "top-bottom"])
def test_masks_writes_two_complementary_halves_at_the_contents_size(nst_tui_here, photo, split):
    result = nst_tui_here("masks", photo, "--split", split, "-o", "out/m")
    assert result.returncode == 2 and "output folder" in result.stderr  # out/ is not there
    result = nst_tui_here("masks", photo, "--split", split, "-o", "m")
    assert result.returncode == 0, result.stderr
    first, second = read(photo.parent / "m-1.png"), read(photo.parent / "m-2.png")
    assert first.shape == second.shape == (30, 41)
    assert (first + second == 255).all()
    if split == "left-right":
        assert (first[:, :20] == 255).all() and (first[:, 20:] == 0).all()
    else:
        assert (first[:15] == 255).all() and (first[15:] == 0).all()
    assert result.stdout.split() == ["m-1.png", "m-2.png"]


def test_masks_by_luminance_gives_the_light_part_first(nst_tui_here, photo):
    result = nst_tui_here("masks", photo, "--split", "luma:0.5", "-o", "sky.png")
    assert result.returncode == 0, result.stderr
    light, dark = read(photo.parent / "sky-1.png"), read(photo.parent / "sky-2.png")
    assert (light[:, 20:] == 255).all() and (light[:, :20] == 0).all()
    assert (light + dark == 255).all()


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--split", "diagonal"], ["--split must be left-right, top-bottom or luma:T", "diagonal"]),
        (["--split", "luma:1.5"], ["between 0 and 1", "1.5"]),
        (["--split", "luma:bright"], ["between 0 and 1", "bright"]),
    ],
)
def test_masks_refuses_a_bad_split_in_one_line(nst_tui_here, photo, arguments, fragments):
    result = nst_tui_here("masks", photo, *arguments, "-o", "m")
    assert_one_line_error(result, *fragments)
    assert not list(photo.parent.glob("m-*"))


def test_masks_takes_a_gallery_name_as_run_does(nst_tui_here, work):
    from nst_engine.settings.gallery import gallery_image

    assert nst_tui_here("masks", "astronaut", "--split", "top-bottom", "-o", "a").returncode == 0
    with Image.open(gallery_image("astronaut").path) as photo:
        assert read(work / "a-1.png").shape == (photo.height, photo.width)


def test_masks_refuses_a_missing_content_in_one_line(nst_tui_here, work):
    result = nst_tui_here("masks", "nowhere.png", "--split", "left-right", "-o", "m")
    assert_one_line_error(result, "content image 'nowhere.png' does not exist")


def test_masks_writes_neither_mask_when_one_name_is_taken(nst_tui_here, photo):
    (photo.parent / "m-2.png").write_bytes(b"mine")
    result = nst_tui_here("masks", photo, "--split", "left-right", "-o", "m")
    assert_one_line_error(result, "m-2.png' already exists", "--overwrite")
    assert not (photo.parent / "m-1.png").exists()
    assert (photo.parent / "m-2.png").read_bytes() == b"mine"
    result = nst_tui_here("masks", photo, "--split", "left-right", "-o", "m", "--overwrite")
    assert result.returncode == 0 and read(photo.parent / "m-2.png").shape == (30, 41)


def test_run_refuses_masks_that_do_not_count_the_style_images_in_one_line(nst_tui_here, photo):
    result = nst_tui_here(
        "run", photo, "mosaic", "swirl", "--style-masks", "a.png", "--weights", "random"
    )
    assert_one_line_error(result, "1 style mask for 2 style images")


def test_run_with_masks_made_by_the_masks_command(nst_tui_here, photo):
    assert nst_tui_here("masks", photo, "--split", "left-right", "-o", "m").returncode == 0
    result = nst_tui_here(
        "run", photo, "mosaic", "swirl", "--style-masks", "m-1.png,m-2.png", "--weights",
        "random", "--size", "32", "--iterations", "2", "-o", "out.png",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (photo.parent / "out.png").exists()
    assert "styles: mosaic.jpg (0.5) in m-1.png + swirl.jpg (0.5) in m-2.png" in result.stderr


def test_run_refuses_a_mask_of_another_shape_in_one_line(nst_tui_here, photo, work):
    Image.new("L", (30, 30), 255).save(work / "square.png")
    result = nst_tui_here(
        "run", photo, "mosaic", "--style-masks", "square.png", "--weights", "random",
        "--size", "32", "--iterations", "2", "-o", "out.png",
    )  # fmt: skip
    assert_one_line_error(result, "style mask 'square.png' is 30x30 (aspect 1)", "41x30")

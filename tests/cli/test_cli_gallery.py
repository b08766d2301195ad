"""Gallery names work wherever `nst-tui run` takes an image path; `nst-tui gallery` shows
where each file is."""

from __future__ import annotations

from cli_run import assert_one_line_error
from PIL import Image

from nst_engine.running.images import read_embedded_settings
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import gallery, gallery_image

TINY = ("--size", "32", "--iterations", "1", "--weights", "random")


def test_gallery_names_are_accepted_as_content_and_style(nst_tui_here, work):
    result = nst_tui_here("run", "astronaut", "mosaic", "-o", "g.png", *TINY)
    assert result.returncode == 0, result.stderr
    settings = RunConfig.from_toml(read_embedded_settings(work / "g.png"))
    assert settings.inputs.content == gallery_image("astronaut").path
    assert settings.inputs.style == gallery_image("mosaic").path


def test_the_proposed_output_name_comes_from_the_gallery_names(nst_tui_here, work):
    result = nst_tui_here("run", "rocket", "ripples", *TINY)
    assert result.returncode == 0, result.stderr
    assert (work / "rocket-ripples.png").is_file()


def test_a_file_of_that_name_here_wins_over_the_gallery_name(nst_tui_here, work):
    Image.new("RGB", (40, 40), (200, 30, 30)).save(work / "mosaic", format="PNG")
    result = nst_tui_here("run", "astronaut", "mosaic", "-o", "g.png", *TINY)
    assert result.returncode == 0, result.stderr
    settings = RunConfig.from_toml(read_embedded_settings(work / "g.png"))
    assert (
        settings.inputs.style.name == "mosaic"
        and settings.inputs.style.resolve() == work / "mosaic"
    )


def test_a_misspelt_gallery_name_is_one_line_suggesting_the_name(nst_tui_here, work):
    result = nst_tui_here("run", "astronaut", "mosiac", "-o", "g.png", *TINY)
    assert_one_line_error(
        result, "style image 'mosiac' does not exist", "did you mean the gallery's mosaic?"
    )
    assert list(work.iterdir()) == []


def test_gallery_shows_each_files_path(nst_tui_here):
    result = nst_tui_here("gallery")
    assert result.returncode == 0, result.stderr
    for item in gallery():
        line = next(line for line in result.stdout.splitlines() if line.split()[:1] == [item.key])
        assert str(item.path) in result.stdout, item.key
        assert item.kind in line
    assert "mosaic" in result.stdout and "run CONTENT STYLE" in result.stdout

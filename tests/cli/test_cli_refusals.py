"""`nst-tui run` refuses what it can check without torch before torch loads, leaves no run in
the history for a refused command, and suggests what a near-miss name was meant to be."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cli_run import assert_one_line_error, command_environment
from PIL import Image

TINY = ("--size", "48", "--iterations", "2", "--weights", "random")


@pytest.fixture
def inputs(work):
    """A photo, a text file named like an image, a truncated PNG and a wide strip, in `work`."""
    Image.radial_gradient("L").convert("RGB").resize((64, 48)).save(work / "photo.png")
    (work / "notes.txt").write_text("a shopping list\n", encoding="utf-8")
    whole = (work / "photo.png").read_bytes()
    (work / "cut.png").write_bytes(whole[: len(whole) // 2])
    Image.new("RGB", (2000, 20)).save(work / "strip.png")
    return work


# One of each kind of mistake the issue met (output folder, output format, a text file as the
# style, a size the network cannot take) and the others that need no torch either.
MISTAKES = {
    "missing output folder": (
        ("photo.png", "mosaic", "-o", "nowhere/x.png"),
        "output folder 'nowhere' does not exist",
    ),
    "gif output": (("photo.png", "mosaic", "-o", "out.gif"), "must end in .png or .jpg"),
    "text file as style": (
        ("photo.png", "notes.txt", "-o", "x.png"),
        "style image 'notes.txt' is not an image Pillow can read",
    ),
    "size 8": (
        ("photo.png", "mosaic", "-o", "x.png", "--size", "8"),
        "layer relu5_1 needs at least 16x16",
    ),
    "truncated content": (("cut.png", "mosaic", "-o", "x.png"), "is damaged or incomplete"),
    "elongated content": (("strip.png", "mosaic", "-o", "x.png"), "becomes 48x1"),
    "damaged init image": (
        ("photo.png", "mosaic", "-o", "x.png", "--init", "cut.png"),
        "init image 'cut.png' is damaged",
    ),
    "min size too small": (
        ("photo.png", "mosaic", "-o", "x.png", "--size", "64", "--min-size", "8"),
        "coarse to fine's first scale",
    ),
    "missing weights file": (
        ("photo.png", "mosaic", "-o", "x.png", "--weights", "none.pth"),
        "weights file 'none.pth' does not exist",
    ),
    "weights file of another kind": (
        ("photo.png", "mosaic", "-o", "x.png", "--weights", "notes.txt"),
        "weights file 'notes.txt': expected a .safetensors, .pth, .pt or .h5 file",
    ),
}


@pytest.fixture
def torch_never_reached(monkeypatch):
    """The run (where torch is imported) fails the test if a command gets that far."""
    import nst_tui.cli.headless

    def reached(*arguments, **keywords):
        raise AssertionError("the command went on to the run (and torch) with a bad input")

    monkeypatch.setattr(nst_tui.cli.headless, "_execute", reached)


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_that_needs_no_torch_is_refused_before_the_run(
    nst_tui_here, inputs, torch_never_reached, mistake
):
    arguments, fragment = MISTAKES[mistake]
    defaults = () if "--size" in arguments else ("--size", "48")
    result = nst_tui_here("run", *arguments, *defaults, "--iterations", "2")
    assert_one_line_error(result, fragment)


def test_mistakes_are_refused_in_a_process_that_never_imports_torch(inputs):
    """The real command's process: the issue's four mistakes, each one line, and no torch."""
    cases = [MISTAKES[name][0] for name in list(MISTAKES)[:4]]
    script = (
        "import sys\n"
        "from nst_tui.cli.command import main\n"
        f"statuses = [main(['run', *case, '--iterations', '2']) for case in {cases!r}]\n"
        "print(statuses, 'torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=inputs,
        env=command_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "[2, 2, 2, 2] False", result.stderr
    assert len(result.stderr.strip().splitlines()) == 4, result.stderr
    assert "Traceback" not in result.stderr


def listed_runs(nst_tui_here) -> list[dict]:
    result = nst_tui_here("runs", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_refused_command_leaves_no_run_in_the_history(nst_tui_here, inputs, tmp_path):
    for arguments in (
        ("photo.png", "notes.txt", "-o", "x.png", *TINY),
        ("cut.png", "mosaic", "-o", "x.png", *TINY),
        ("photo.png", "mosaic", "-o", "x.png", *TINY[2:], "--size", "8"),
    ):
        assert_one_line_error(nst_tui_here("run", *arguments))
    assert listed_runs(nst_tui_here) == []
    runs = tmp_path / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


def test_what_needs_torch_to_refuse_leaves_no_run_in_the_history_either(nst_tui_here, inputs):
    """A device that is not here, a weights file that holds no weights: torch says so, still
    before a run folder is made."""
    import torch

    device = "cuda:99" if torch.cuda.is_available() else "cuda"
    result = nst_tui_here("run", "photo.png", "mosaic", "-o", "x.png", *TINY, "--device", device)
    assert_one_line_error(result, device)
    (inputs / "junk.pth").write_bytes(b"not weights at all")
    arguments = ("photo.png", "mosaic", "-o", "x.png", *TINY[:4], "--weights", "junk.pth")
    assert_one_line_error(nst_tui_here("run", *arguments), "junk.pth")
    assert listed_runs(nst_tui_here) == []


# --- did you mean ----------------------------------------------------------------------------


def test_a_mistyped_status_suggests_the_status(nst_tui_here):
    result = nst_tui_here("runs", "--status", "stoped")
    assert_one_line_error(result, "--status must be one of", "did you mean stopped?")


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [
        ("phtoo.png", "did you mean photo.png?"),  # a file here
        ("inputs/astronuat.jpg", "did you mean inputs/astronaut.jpg?"),  # a file in a folder
        ("Photo.PNG", "did you mean photo.png?"),  # another case
        ("astronot.jpg", "did you mean the gallery's astronaut?"),  # a gallery name, no file
    ],
)
def test_a_near_miss_file_name_suggests_the_file(nst_tui_here, inputs, typed, suggestion):
    (inputs / "inputs").mkdir()
    Image.new("RGB", (32, 32)).save(inputs / "inputs" / "astronaut.jpg")
    result = nst_tui_here("run", typed, "mosaic", "-o", "x.png")
    assert_one_line_error(result, f"content image '{typed}' does not exist", suggestion)


def test_a_name_like_no_file_suggests_nothing(nst_tui_here, inputs):
    line = assert_one_line_error(nst_tui_here("run", "photo.png", "zzzz.jpg", "-o", "x.png"))
    assert "did you mean" not in line

"""What a first try of `nst-tui run` tripped over: the order of input and output checks,
unknown flags without a suggestion, a blank line before an error on a pipe."""

from __future__ import annotations

import pytest
from cli_run import assert_one_line_error

TINY = ("--size", "32", "--iterations", "1", "--weights", "random")


def test_a_missing_input_is_reported_before_an_existing_output(nst_tui_here, work):
    (work / "out.png").write_bytes(b"an earlier result")
    result = nst_tui_here("run", "nosuch.jpg", "mosaic", "-o", "out.png", *TINY)
    line = assert_one_line_error(result, "content image 'nosuch.jpg' does not exist")
    assert "already exists" not in line
    assert (work / "out.png").read_bytes() == b"an earlier result"


def test_a_missing_style_is_reported_before_an_existing_output(nst_tui_here, work, demo_pair):
    (work / "out.png").write_bytes(b"an earlier result")
    result = nst_tui_here("run", demo_pair[0], work / "none.png", "-o", "out.png", *TINY)
    assert_one_line_error(result, "style image", "none.png' does not exist")


def test_an_unreadable_image_is_exactly_one_line_on_a_pipe(nst_tui_here, work, demo_pair):
    (work / "notes.jpg").write_text("not a picture", encoding="utf-8")
    result = nst_tui_here("run", demo_pair[0], "notes.jpg", "-o", "out.png", *TINY)
    assert result.stderr == (
        "nst-tui: error: style image 'notes.jpg' is not an image Pillow can read\n"
    )


@pytest.mark.parametrize(
    ("arguments", "suggestion"),
    [
        (("run", "--demo", "--iters", "5"), "did you mean --iterations?"),
        (("run", "--demo", "--iterations=5", "--seeed=3"), "did you mean --seed?"),
        (("run", "--demo", "--tv_weight", "2"), "did you mean --tv-weight?"),
        (("run", "--demo", "--overwite"), "did you mean --overwrite?"),
        (("bench", "--sises", "64"), "did you mean --sizes?"),
        (("bench", "--jsn", "x.json"), "did you mean --json?"),
        (("--verison",), "did you mean --version?"),
        (("gallry",), "did you mean gallery?"),
        (("preset",), "did you mean presets?"),
    ],
)
def test_an_unknown_flag_or_command_suggests_the_closest(nst_tui_here, arguments, suggestion):
    assert_one_line_error(nst_tui_here(*arguments), suggestion)


@pytest.mark.parametrize("command", ["layers", "presets", "gallery"])
def test_a_flag_of_a_command_without_flags_is_one_line(nst_tui_here, command):
    line = assert_one_line_error(nst_tui_here(command, "--iterations", "3"), "unrecognized")
    assert "did you mean" not in line


def test_a_flag_far_from_every_flag_gets_no_suggestion(nst_tui_here):
    line = assert_one_line_error(
        nst_tui_here("run", "--demo", "--zzzzzz"), "unrecognized arguments: --zzzzzz"
    )
    assert "did you mean" not in line


@pytest.mark.parametrize("command", ["gallery", "layers", "presets"])
def test_a_listing_piped_into_a_reader_that_left_ends_quietly(work, command):
    """`nst-tui gallery | head -3`: the reader may go before the list is written."""
    import subprocess

    from cli_run import COMMAND, command_environment

    process = subprocess.Popen(
        [*COMMAND, command],
        cwd=work,
        env=command_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # before it has written anything (it is still importing)
    stderr = process.stderr.read()
    process.wait(timeout=60)
    process.stderr.close()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert process.returncode == 0, stderr

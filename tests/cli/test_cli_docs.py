"""The README and the F1 help give the same advice, and the README's install works on a
CPU-only machine without the CUDA build of torch."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_help_and_the_readme_give_the_same_true_colour_advice():
    from nst_tui.app.screens.help import TIPS, TRUE_COLOUR_ADVICE

    assert TRUE_COLOUR_ADVICE in TIPS
    assert TRUE_COLOUR_ADVICE in readme()


def test_the_true_colour_advice_fits_current_and_older_tmux():
    from nst_tui.app.screens.help import TRUE_COLOUR_ADVICE

    assert "export COLORTERM=truecolor" in TRUE_COLOUR_ADVICE
    assert "set -as terminal-features ',*:RGB'" in TRUE_COLOUR_ADVICE  # tmux 3.2 and later
    assert "set -ga terminal-overrides ',*:Tc'" in TRUE_COLOUR_ADVICE  # older tmux
    text = readme()
    assert 'terminal-overrides ",*:RGB"' not in text  # the old, mixed-up advice


def test_the_readme_says_how_to_install_the_cpu_only_torch():
    text = readme()
    command = "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu"
    assert command in text
    assert text.index(command) < text.index("## The app")  # in the install section


def test_the_readme_says_gallery_names_work_as_paths_and_a_file_here_wins():
    text = readme()
    assert "nst-tui run astronaut mosaic" in text
    assert "a file of that name in the current folder wins" in text


def test_run_help_says_gallery_names_work_and_a_file_here_wins(nst_tui_here):
    result = nst_tui_here("run", "--help", columns=200)
    assert result.returncode == 0
    words = " ".join(result.stdout.split())
    assert "a name from `nst-tui gallery`" in words
    assert "a file of that name in the current folder wins" in words


def install_commands() -> list[str]:
    """The commands of the README's "Two commands" section, in order."""
    section = readme().split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0].strip() for block in section.split("```sh\n")[1:]]


def test_the_first_command_needs_pypi_alone_and_says_what_it_downloads():
    """A newcomer with only the package index has the app open after the first command; the
    text says plainly that on Linux it is the CUDA build (about 3 GB), and gives the CPU-only
    wheels (a few hundred MB) for a machine without a GPU that can reach PyTorch's index."""
    section = readme().split("## Two commands", 1)[1].split("## ", 1)[0]
    first = install_commands()[0]
    assert "download.pytorch.org" not in first and first.endswith("&& nst-tui")
    said = " ".join(section.split("```")[2].split())
    assert "CUDA build" in said and "3 GB to download" in said and "CPU-only" in said
    assert "--index-url https://download.pytorch.org/whl/cpu" in section


def test_the_second_command_is_what_ci_runs_and_needs_pypi_alone():
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    second = install_commands()[-1]  # the CPU-only variant of the first sits between
    assert second == ci
    assert "download.pytorch.org" not in second

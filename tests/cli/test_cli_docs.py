"""The README and the F1 help give the same advice, and the README's install works on a
CPU-only machine without the CUDA build of torch."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_help_and_the_readme_give_the_same_true_colour_advice():
    from nst_tui.screens.help import TIPS, TRUE_COLOUR_ADVICE

    assert TRUE_COLOUR_ADVICE in TIPS
    assert TRUE_COLOUR_ADVICE in readme()


def test_the_true_colour_advice_fits_current_and_older_tmux():
    from nst_tui.screens.help import TRUE_COLOUR_ADVICE

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

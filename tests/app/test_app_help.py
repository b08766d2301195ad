"""F1's help: every part of the form that F6 walks named (there, in the palette and the
README), the runs folder among the files, and the keys readable at 80x24."""

from __future__ import annotations

from pathlib import Path

from nst_tui.commands import APP_COMMANDS, FORM_SECTIONS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_f6_in_the_palette_help_and_readme_names_every_part_it_walks_look_included() -> None:
    names = [name for name, _ in FORM_SECTIONS]
    assert "look" in names
    (f6,) = [command for command in APP_COMMANDS if command.key == "f6"]
    (readme_line,) = [line for line in README.read_text().splitlines() if "| F6 " in line]
    for name in names:
        assert name in f6.help, f6.help
        assert name in readme_line, readme_line
    # In the order F6 visits them.
    positions = [f6.help.index(name) for name in names]
    assert positions == sorted(positions)

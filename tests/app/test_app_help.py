"""F1's help: every part of the form that F6 walks named (there, in the palette and the
README), the runs folder among the files, and the keys readable at 80x24."""

from __future__ import annotations

from pathlib import Path

from app_helpers import wait_for
from screen_text import screen_lines

from nst_tui.app.commands import APP_COMMANDS, FORM_SECTIONS
from nst_tui.app.screens.help import HelpScreen

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


async def open_help(pilot) -> HelpScreen:
    await pilot.press("f1")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
    await pilot.pause()
    return pilot.app.screen


def keys_in_sight(app) -> list[str]:
    """The keyed commands whose key starts a line of the help as painted, in order."""
    from nst_tui.app.commands import key_label

    labels = [key_label(command.key) for command in APP_COMMANDS if command.key]
    box = app.screen.query_one("#help-box").region
    seen = []
    for line in screen_lines(app)[box.y : box.bottom]:
        words = line[box.x : box.right].strip(" │").split()
        if words and words[0] in labels:
            seen.append(words[0])
    return seen


async def test_help_at_80x24_shows_most_keys_on_its_first_screen(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_help(pilot)
        keyed = [command for command in APP_COMMANDS if command.key]
        seen = keys_in_sight(app)
        assert len(seen) >= 10 and len(keyed) >= 12, seen  # was 4 in a screen


async def test_help_at_120x40_shows_every_key_on_its_first_screen(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_help(pilot)
        assert len(keys_in_sight(app)) == len([c for c in APP_COMMANDS if c.key])


async def test_helps_files_name_the_runs_folder(make_app) -> None:
    from nst_engine.store import locations
    from nst_tui.app.screens.help import files

    assert str(locations.runs_dir()) in files()
    assert "run folders" in files().lower()

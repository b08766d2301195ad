"""Long paths on screen: every path field shows its file name, at 80 columns too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from app_helpers import form_settled, set_text
from screen_text import line_of, screen_lines

from nst_tui.app.widgets.form.path_field import PathField

FOLDER = Path("photographs from the summer holidays", "2024", "portugal and the azores")


def long_paths(tmp_path: Path, demo_pair: tuple[Path, Path]) -> tuple[Path, Path, Path]:
    folder = tmp_path / FOLDER
    folder.mkdir(parents=True)
    content, style = folder / "tram_at_dusk.jpg", folder / "azulejo.jpg"
    shutil.copy(demo_pair[0], content)
    shutil.copy(demo_pair[1], style)
    return content, style, folder / "tram_azulejo.png"


async def test_long_paths_keep_their_file_names_in_sight_at_80_columns(
    make_app, tiny_config, tmp_path: Path, demo_pair
) -> None:
    content, style, output = long_paths(tmp_path, demo_pair)
    app = make_app(tiny_config.replace(content=content, style=style))
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#output", str(output))
        app.main.query_one("#run").focus()  # no path field is being edited
        await pilot.pause()
        for selector, path in (("#content", content), ("#style", style), ("#output", output)):
            line = line_of(app, selector)
            assert path.name in line, f"{path.name!r} not shown: {line!r}"
            assert "…" in line and line.count(FOLDER.parts[0]) == 0  # the middle gave way
            assert app.screen.query_one(selector).value == str(path)  # the value is whole
        # Being edited, the field shows its text as typed, the cursor at its end (the name).
        field = app.main.query_one("#content-field", PathField)
        field.input.focus()
        await pilot.pause()
        assert field.input.cursor_position == len(str(content))
        assert content.name in line_of(app, "#content")


@pytest.mark.slow  # runs the engine
async def test_the_saved_path_keeps_its_file_name_on_one_line_at_80_columns(
    make_app, tiny_config, tmp_path: Path, demo_pair
) -> None:
    from app_helpers import result_text, wait_for

    content, style, output = long_paths(tmp_path, demo_pair)
    app = make_app(tiny_config.replace(content=content, style=style))
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#output", str(output))
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run's end")
        await pilot.pause()
        assert output.is_file() and str(output) in result_text(app)
        panel = app.main.panel
        top, bottom = panel.query_one("#run-result").region.y, panel.region.bottom
        lines = [line[panel.region.x : panel.region.right] for line in screen_lines(app)]
        lines = lines[top:bottom]
        pieces = ("/tmp", "summer", "holidays", "portugal", "azores", output.name)
        path_lines = [line for line in lines if any(piece in line for piece in pieces)]
        assert len(path_lines) == 1, "\n".join(lines)  # one line, not wrapped mid-word
        assert output.name in path_lines[0]

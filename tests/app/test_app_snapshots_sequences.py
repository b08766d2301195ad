"""Snapshots of the form with a sequence as its content (issue 22.2) at 80x24 and 120x40: the
content field saying what the folder holds, its first frame as the thumbnail, the sequence's
fields under it and the folder proposed as the output. As in test_app_snapshots.py, nothing
shown depends on the machine: the frames are drawn here (tests/moving_clips.py) and named
relative to the current folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import form_pictured, form_settled, wait_for
from moving_clips import write_moving_texture

from nst_engine.settings.config import RunConfig

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture
def sequence_app(monkeypatch: pytest.MonkeyPatch, demo_pair, tmp_path: Path):
    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered

    _content, style = demo_pair
    (tmp_path / style.name).symlink_to(style)
    write_moving_texture(tmp_path / "clip", 8, (64, 40), seed=3)
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(NSTApp, "_probe_devices", lambda self: None)
    config = RunConfig.from_flat(content=Path("clip"), style=Path(style.name))
    return NSTApp(Remembered(config), folder=Path("."))


async def sequence_in_view(pilot) -> None:
    await form_settled(pilot)
    app = pilot.app
    await wait_for(pilot, lambda: bool(app.main.query("#sequence-fields")), what="its fields")
    await form_pictured(pilot)
    app.main.form.scroll_to_widget(app.main.query_one("#content-field"), animate=False, top=True)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_the_form_with_a_folder_of_frames(snap_compare, sequence_app, size: str) -> None:
    assert snap_compare(sequence_app, terminal_size=SIZES[size], run_before=sequence_in_view)

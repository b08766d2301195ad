"""How the form reads at 80x24 and 120x40: each blend weight beside its own image's name, an
image's size on one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import form_settled
from PIL import Image
from screen_text import line_of, screen_lines
from test_app_artist_fields import add_style

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES)
async def test_each_blend_weight_reads_as_its_own_images(make_app, demo_pair, size) -> None:
    content, _ = demo_pair
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await form_settled(pilot)
        second = await add_style(pilot, content)
        form = app.main.form
        for image, blend in (("#style", "#style-blend"), (f"#{second}", f"#{second}-blend")):
            form.scroll_to_widget(app.main.query_one(blend), animate=False)
            await pilot.pause()
            form.scroll_to_widget(app.main.query_one(image), animate=False)
            await pilot.pause()
            name = line_of(app, image).split()[0:2]
            weight = line_of(app, blend)
            # The weight's label points up to its image, which is named by its number.
            assert weight.lstrip().startswith("└ blend"), weight
            assert name[0] == "Style" and name[1] in ("1", "2"), name
        assert line_of(app, "#style").split()[1] == "1"
        # One image again: nothing to blend, nothing to number.
        app.main.query_one(f"#{second}-remove").press()
        await pilot.pause()
        await form_settled(pilot)
        form.scroll_to_widget(app.main.query_one("#style"), animate=False)  # the masks take rows
        await pilot.pause()
        assert line_of(app, "#style").split()[0:2][1].startswith("/")


@pytest.mark.parametrize("size", SIZES)
async def test_an_images_size_stays_on_one_line(make_app, tiny_config, tmp_path: Path, size):
    photo = tmp_path / "wide.png"
    Image.new("RGB", (1024, 640), (90, 120, 150)).save(photo)
    app = make_app(tiny_config.replace(content=photo))
    async with app.run_test(size=size) as pilot:
        await form_settled(pilot)
        info = app.main.query_one("#content-field .path-info")
        lines = screen_lines(app)[info.region.y : info.region.bottom]
        text = [line[info.region.x : info.region.right].strip() for line in lines]
        assert text[0] in ("1024x640 pixels", "1024x640 px"), text
        assert "pixels" not in " ".join(text[1:]), text
        if size == (120, 40):  # where there is room, the word in full
            style_info = str(app.main.query_one("#style-field .path-info").content)
            assert style_info.splitlines()[0] == "512x512 pixels"

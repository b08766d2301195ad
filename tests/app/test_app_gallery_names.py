"""A gallery name typed into an image field stands for the gallery's file, as on the command
line; a file of that name in the current folder wins."""

from __future__ import annotations

from pathlib import Path

from app_helpers import form_settled
from PIL import Image

from nst_engine.settings.gallery import gallery_image
from nst_tui.app.widgets.form.path_field import PathField


async def type_into(pilot, selector: str, text: str) -> None:
    """Clear the field and type `text` key by key; wait for the form's check of it."""
    field = pilot.app.main.query_one(selector)
    field.focus()
    await pilot.press("ctrl+a", "ctrl+k", "backspace", *text)
    await form_settled(pilot)


async def test_typing_a_gallery_name_in_the_style_field_uses_the_gallery_file(make_app) -> None:
    mosaic = gallery_image("mosaic").path
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await type_into(pilot, "#style", "mosaic")
        field = app.main.query_one("#style-field", PathField)
        assert field.input.value == "mosaic"
        assert field.problem == ""
        assert field.path == mosaic
        assert field.query_one("CellImage").has_picture
        info = str(field.query_one(".path-info").content)
        assert info.splitlines()[0] == "512x512 px"  # the gallery file's size (80 columns)
        assert f"gallery: {mosaic.name}" in info  # which file the name stands for
        assert app.form_state.config is not None
        assert app.form_state.config.inputs.style == mosaic


async def test_a_file_of_that_name_here_wins_over_the_gallery_name(
    make_app, tmp_path: Path
) -> None:
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "mosaic", format="PNG")
    app = make_app()  # runs in tmp_path
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await type_into(pilot, "#style", "mosaic")
        field = app.main.query_one("#style-field", PathField)
        assert field.problem == ""
        assert field.path == Path("mosaic")
        assert "40x30 px" in str(field.query_one(".path-info").content)  # 80 columns: px
        assert app.form_state.config.inputs.style == Path("mosaic")

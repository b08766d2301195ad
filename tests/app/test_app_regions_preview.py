"""The preview's regions (issue 22.1): a palette toggle tints each style mask's region over the
picture, in a colour of its own, drawn with Pillow from the mask files; over the content
until a run shows its picture; off again, the picture is as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from app_helpers import cell_pixel, form_settled, search_palette, wait_for
from PIL import Image
from textual.command import CommandPalette

from nst_tui.app.widgets.picture.cells import CellImage
from nst_tui.app.widgets.picture.preview import NO_PREVIEW, REGIONS_CAPTION
from nst_tui.app.widgets.picture.regions_tint import REGION_COLOURS, read_masks, tinted


def half_mask(size: tuple[int, int], left: bool = True) -> Image.Image:
    width, height = size
    array = np.zeros((height, width), np.uint8)
    array[:, : width // 2] = 255
    return Image.fromarray(array if left else 255 - array)


def test_each_masks_region_is_tinted_in_its_colour_and_the_rest_left_alone() -> None:
    grey = Image.new("RGB", (40, 20), (128, 128, 128))
    one = np.asarray(tinted(grey, [half_mask((8, 4))]), dtype=int)  # any size: stretched
    red = np.array(REGION_COLOURS[0])
    assert np.abs(one[10, 5] - red).sum() < np.abs(np.array([128] * 3) - red).sum()
    assert one[10, 5, 0] > 150 and one[10, 5, 2] < 110  # toward red
    assert (one[:, 25:] == 128).all()  # outside the mask: untouched
    two = np.asarray(tinted(grey, [half_mask((8, 4)), half_mask((8, 4), left=False)]), int)
    assert two[10, 35, 2] > 150 and two[10, 35, 0] < 110  # the second region toward blue
    assert (np.asarray(tinted(grey, [Image.new("L", (8, 4), 0)])) == 128).all()


def test_a_transparent_mask_reads_as_the_engine_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(path)  # transparent: white, as load_image has it
    (mask,) = read_masks([path])
    assert mask.mode == "L" and mask.getpixel((0, 0)) == 255


def preview_pixel(app, x: int, y: int) -> tuple[int, int, int]:
    return cell_pixel(app.main.preview.query_one(CellImage), x, y)


async def test_the_palette_toggle_tints_the_masks_regions_over_the_content(
    make_app, tiny_config, demo_pair, tmp_path
) -> None:
    with Image.open(demo_pair[0]) as content:
        size = content.size
    mask = tmp_path / "left.png"
    half_mask(size).save(mask)
    app = make_app(tiny_config.replace(style_masks=(mask,)))
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await search_palette(pilot, "regions")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not palette, what="the palette to close")
        cells = app.main.preview.query_one(CellImage)
        await wait_for(pilot, lambda: cells.has_picture, what="the tinted content")
        caption = app.main.preview.query_one("#preview-caption")
        assert str(caption.content) == REGIONS_CAPTION
        columns = cells.picture_size[0]
        tinted_left, plain_right = preview_pixel(app, 1, 4), preview_pixel(app, columns - 2, 4)
        # The left half leans to red, the right is the photo as it is (no red cast).
        assert tinted_left[0] - max(tinted_left[1:]) > 40, tinted_left
        await app.run_action("toggle_regions")
        await wait_for(pilot, lambda: not cells.has_picture, what="the content to go")
        assert str(caption.content) == NO_PREVIEW
        assert plain_right != tinted_left


async def test_the_toggle_without_masks_says_how_to_give_one(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await app.run_action("toggle_regions")
        await wait_for(pilot, lambda: bool(app._notifications), what="the notice")
        (notice,) = list(app._notifications)
        assert "No style masks in the form" in notice.message
        assert app.main.preview.tint_masks == ()
        assert not app.main.preview.query_one(CellImage).has_picture

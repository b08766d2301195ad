"""Regions in the app (issue 22.1): a mask field under each style image (path, dialog,
thumbnail), filled from and read into `style_masks`; removing a style image removes its mask;
a mask of another shape, or masks for some style images and not all, is named under the mask
it is about, with Run off. The form stays usable at 80x24."""

from __future__ import annotations

from pathlib import Path

from app_helpers import form_settled, run_is_off_because, run_is_on, set_text, wait_for
from mask_files import write_mask
from PIL import Image
from test_app_artist_fields import remove_style
from textual.widgets import Button, Static

from nst_tui.app.widgets.form.mask_field import NO_MASK, MaskField
from nst_tui.app.widgets.form.path_field import PathField
from nst_tui.app.widgets.picture.cells import CellImage


def content_size(demo_pair) -> tuple[int, int]:
    with Image.open(demo_pair[0]) as image:
        return image.size


def error_under(app, selector: str) -> str:
    field = app.main.query_one(selector, MaskField)
    return str(field.query_one(".field-error", Static).content) if field.error else ""


async def add_style(pilot, path: Path) -> str:
    """Press "+ Add a style image" and type `path` in it; the new style's field stem."""
    app = pilot.app
    before = {field.id for field in app.main.query(PathField)}
    app.main.query_one("#add-style", Button).press()
    await wait_for(pilot, lambda: len(app.main.query(PathField)) > len(before), what="a style")
    (field,) = [field for field in app.main.query(PathField) if field.id not in before]
    await set_text(pilot, f"#{field.input.id}", str(path))
    return field.input.id


def no_mask_and_run_on(app, part: str) -> None:
    """The known state between parts: one style image, no mask, Run on."""
    run_is_on(app)
    assert app.form_state.config.inputs.style_masks == (), part
    assert app.form_state.config.inputs.extra_styles == (), part


async def test_masks_typed_chosen_missing_misshapen_and_removed_at_80_columns(
    make_app, demo_pair, tmp_path
):
    """Every part in one app at 80x24 (an app start costs more than a part), each from the
    form with one style image and no mask."""
    size = content_size(demo_pair)
    first, second = write_mask(tmp_path / "a.png", size), write_mask(tmp_path / "b.png", size)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        # A mask typed under the style reaches the run; the form is usable at 80 and 120.
        await typed_mask_reaches_the_run(pilot, write_mask(tmp_path / "sky.png", size))
        no_mask_and_run_on(app, "after the typed mask")
        # Removing a style image removes its mask.
        await removing_a_style_image_removes_its_mask(pilot, demo_pair, first, second)
        await set_text(pilot, "#style-mask", "")
        no_mask_and_run_on(app, "after removing a style image")
        # A missing mask is named under the style image without one.
        await a_missing_mask_is_named_under_the_style_without_one(pilot, demo_pair, first)
        no_mask_and_run_on(app, "after the missing mask")
        # A mask of another shape is named under it.
        await a_mask_of_another_shape_is_named_under_it(pilot, tmp_path)
        await set_text(pilot, "#style-mask", "")
        no_mask_and_run_on(app, "after the mask of another shape")
        # The masks dialog fills the mask field.
        await the_masks_dialog_fills_the_mask_field(pilot, first)


async def typed_mask_reaches_the_run(pilot, mask: Path) -> None:
    app = pilot.app
    field = app.main.query_one("#style-mask-field", MaskField)
    assert NO_MASK in str(field.query_one(".path-info", Static).content), "typed: no mask yet"
    assert app.form_state.config.inputs.style_masks == (), "typed: none in the settings"
    await set_text(pilot, "#style-mask", str(mask))
    run_is_on(app)
    assert app.form_state.config.inputs.style_masks == (mask,), "typed: in the settings"
    await wait_for(pilot, lambda: field.query_one(CellImage).has_picture, what="a thumbnail")
    assert "640x427" in str(field.query_one(".path-info", Static).content), "typed: its size"
    await pilot.resize_terminal(120, 40)  # and back: the form is usable at both sizes
    await form_settled(pilot)
    await pilot.resize_terminal(80, 24)
    await form_settled(pilot)
    field.input.focus()
    await pilot.pause()
    assert field.input.region.height == 1 and field.input.region.width > 20, "typed: usable"
    await set_text(pilot, "#style-mask", "")
    assert app.form_state.config.inputs.style_masks == (), "typed: cleared"


async def test_the_form_is_filled_from_the_masks_of_the_settings(
    make_app, tiny_config, demo_pair, tmp_path
):
    size = content_size(demo_pair)
    masks = (write_mask(tmp_path / "a.png", size), write_mask(tmp_path / "b.png", size, False))
    app = make_app(tiny_config.replace(extra_styles=(demo_pair[0],), style_masks=masks))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        run_is_on(app)
        texts = [field.text for field in app.main.query(MaskField)]
        assert texts == [str(masks[0]), str(masks[1])]
        assert [field.role for field in app.main.query(MaskField)] == [
            "style mask 1",
            "style mask 2",
        ]
        assert app.form_state.config.inputs.style_masks == masks


async def removing_a_style_image_removes_its_mask(pilot, demo_pair, first, second) -> None:
    app = pilot.app
    await set_text(pilot, "#style-mask", str(first))
    stem = await add_style(pilot, demo_pair[0])
    run_is_off_because(app, "1 style mask for 2 style images")
    await set_text(pilot, f"#{stem}-mask", str(second))
    run_is_on(app)
    assert app.form_state.config.inputs.style_masks == (first, second), "removing: both"
    await remove_style(pilot, stem)
    run_is_on(app)
    assert app.form_state.config.inputs.style_masks == (first,), "removing: its mask went"
    assert app.form_state.config.inputs.extra_styles == (), "removing: the style went"


async def a_missing_mask_is_named_under_the_style_without_one(pilot, demo_pair, mask) -> None:
    app = pilot.app
    stem = await add_style(pilot, demo_pair[0])
    await set_text(pilot, f"#{stem}-mask", str(mask))
    run_is_off_because(app, "1 style mask for 2 style images")
    message = "give one mask per style image, or none"
    assert message in error_under(app, "#style-mask-field"), "missing: under the first"
    assert error_under(app, f"#{stem}-mask-field") == "", "missing: not under the second"
    assert app.main.query_one("#style-mask-field").has_class("-invalid"), "missing: marked"
    await remove_style(pilot, stem)


async def a_mask_of_another_shape_is_named_under_it(pilot, tmp_path) -> None:
    app = pilot.app
    square = write_mask(tmp_path / "square.png", (90, 90))  # the demo content is 640 x 427
    await set_text(pilot, "#style-mask", str(square))
    run_is_off_because(app, "square.png")
    error = error_under(app, "#style-mask-field")
    assert "(aspect 1)" in error and "a mask must have the content's shape" in error, error
    assert "\n" not in error, f"another shape: {error}"


async def the_masks_dialog_fills_the_mask_field(pilot, mask) -> None:
    app = pilot.app
    app.main.query_one("#style-mask-browse", Button).press()
    await wait_for(
        pilot,
        lambda: (
            "Choose the style mask 1" in str(app.screen.title or "") or app.screen is not app.main
        ),
        what="the dialog",
    )
    app.screen.dismiss(mask)
    await wait_for(pilot, lambda: app.main.query_one("#style-mask-field").text == str(mask))
    await form_settled(pilot)
    assert app.form_state.config.inputs.style_masks == (mask,), "dialog: in the settings"

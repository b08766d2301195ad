"""Half-block pictures in a terminal of 256 colours: dithered onto xterm's palette.

The colour error is measured the way a person sees the cells from a normal distance: the
picture as the terminal shows it (each cell's two colours, after Rich's mapping to 256
colours) and the original, both blurred, compared in CIELAB (mean delta E 1976) and in RGB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from rich.color import ColorSystem, ColorType

from nst_tui.app.widgets.picture import cells
from nst_tui.app.widgets.picture.cells import CellBuilder, CellImage, fit_cells

ROCKET = Path(__file__).parents[2] / "styles" / "rocket.jpg"  # the grey-blue rocket photo
BLUR = 1.5  # pixels: neighbouring half-blocks blend at a normal viewing distance


def shown_in_256_colours(strips) -> np.ndarray:
    """The RGB pixels a 256-colour terminal draws for these half-block rows."""
    rows = []
    for strip in strips:
        upper, lower = [], []
        for segment in strip:
            style = segment.style
            for colours, colour in ((upper, style.bgcolor), (lower, style.color)):
                shown = colour.downgrade(ColorSystem.EIGHT_BIT).get_truecolor()
                colours += [tuple(shown)] * len(segment.text)
        rows += [upper, lower]
    return np.array(rows, dtype=np.uint8)


def blurred(pixels: np.ndarray) -> np.ndarray:
    image = Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(BLUR))
    return np.asarray(image, dtype=np.float64)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB values 0-255."""
    linear = rgb / 255
    linear = np.where(linear <= 0.04045, linear / 12.92, ((linear + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def colour_errors(original: np.ndarray, shown: np.ndarray) -> tuple[float, float]:
    """(mean delta E 1976, mean RGB distance) between the two, both blurred."""
    before, after = blurred(original), blurred(shown)
    delta_e = np.linalg.norm(to_lab(before) - to_lab(after), axis=-1).mean()
    rgb = np.linalg.norm(before - after, axis=-1).mean()
    return float(delta_e), float(rgb)


@pytest.fixture
def truecolor_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cells, "_dither_by_default", False)


@pytest.fixture
def app_in_256_colours(make_app, monkeypatch: pytest.MonkeyPatch, truecolor_by_default):
    """The app as a terminal of 256 colours makes it (Textual's colour system forced)."""
    import textual.constants

    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "256")
    return make_app()


@pytest.mark.parametrize("cell_area", [(12, 4), (63, 27), (118, 36)])  # thumbnail, pane, max
def test_dithering_brings_the_256_colour_picture_close_to_truecolor(
    cell_area, truecolor_by_default
) -> None:
    with Image.open(ROCKET) as opened:
        photo = opened.convert("RGB")
    image = photo.resize(fit_cells(photo.size, cell_area), Image.Resampling.BOX)
    original = np.asarray(image)
    plain = shown_in_256_colours(CellBuilder(bits=8).build(image))[: image.height]
    dithered = shown_in_256_colours(CellBuilder(bits=8, dither=True).build(image))
    dithered = dithered[: image.height]
    plain_error, dithered_error = colour_errors(original, plain), colour_errors(original, dithered)
    print(
        f"\nrocket.jpg at {image.width}x{image.height} px, blurred {BLUR} px: "
        f"256 colours, nearest: dE76 {plain_error[0]:.2f}, RGB {plain_error[1]:.1f}; "
        f"dithered: dE76 {dithered_error[0]:.2f}, RGB {dithered_error[1]:.1f}"
    )
    assert dithered_error[0] < 0.6 * plain_error[0]
    assert dithered_error[1] < 0.6 * plain_error[1]


def test_dithered_cells_are_palette_entries_that_rich_keeps(truecolor_by_default) -> None:
    image = Image.linear_gradient("L").resize((40, 30)).convert("RGB")
    strips = CellBuilder(dither=True).build(image)
    colours = {segment.style.color for strip in strips for segment in strip}
    colours |= {segment.style.bgcolor for strip in strips for segment in strip}
    assert all(colour.type == ColorType.EIGHT_BIT and colour.number >= 16 for colour in colours)
    assert all(colour.downgrade(ColorSystem.EIGHT_BIT) == colour for colour in colours)
    assert len(colours) > 8  # a gradient uses the ramp, not two or three greys


def test_a_flat_colour_dithers_to_the_same_mean(truecolor_by_default) -> None:
    image = Image.new("RGB", (16, 16), (70, 90, 120))  # the rocket's grey-blue sky
    shown = shown_in_256_colours(CellBuilder(dither=True).build(image)).astype(float)
    assert np.abs(shown.mean(axis=(0, 1)) - (70, 90, 120)).max() < 3


async def test_in_a_256_colour_terminal_thumbnails_and_preview_are_dithered(
    app_in_256_colours,
) -> None:
    from app_helpers import form_settled, wait_for

    app = app_in_256_colours
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        assert app.console.color_system == "256"
        thumbnails = [image for image in app.screen.query(CellImage) if image.has_picture]
        assert thumbnails

        def palette_only(image: CellImage) -> bool:
            styles = [segment.style for strip in image._strips for segment in strip]
            return all(style.color.type == ColorType.EIGHT_BIT for style in styles)

        assert all(palette_only(image) for image in thumbnails)
        preview = app.main.preview
        preview.show_file(ROCKET)
        pane_cells = preview.query_one(CellImage)
        await wait_for(pilot, lambda: pane_cells.has_picture, what="the preview")
        assert palette_only(pane_cells)


def colour_shown_in_256(colour) -> tuple[int, int, int]:
    """The RGB a 256-colour terminal draws for a Rich colour (after Rich's own mapping)."""
    return tuple(colour.downgrade(ColorSystem.EIGHT_BIT).get_truecolor())


async def test_in_a_256_colour_terminal_the_thumbnails_margins_stay_their_grey(
    app_in_256_colours,
) -> None:
    # Rich maps the panel colour #242F38 to navy (entry 17) on its own; the margins beside a
    # thumbnail narrower than its box showed as navy bars.
    from app_helpers import form_settled

    app = app_in_256_colours
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        style_thumbnail = app.main.query_one("#style-field").query_one(CellImage)
        columns, _ = style_thumbnail.picture_size
        assert 0 < columns < style_thumbnail.size.width  # a square image: margins either side
        margin = style_thumbnail.render_line(0)
        background = style_thumbnail.rich_style.bgcolor
        first = next(iter(margin))
        shown = np.array(colour_shown_in_256(first.style.bgcolor), dtype=float)
        wanted = np.array(tuple(background.triplet), dtype=float)
        assert np.linalg.norm(shown - wanted) < 20, (shown, wanted)


async def test_in_a_256_colour_terminal_the_hint_takes_one_line_at_80x24(
    app_in_256_colours,
) -> None:
    from app_helpers import form_settled

    app = app_in_256_colours
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        hint = app.main.query_one("#preview-hint")
        assert hint.display and hint.size.height == 1
        text = str(hint.content)
        assert "256" in text and "F1" in text
        assert len(text) <= hint.content_region.width, text  # whole, not cut

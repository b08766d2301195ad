"""Snapshots of the form with a style mask (issue 22.1, regions) at 80x24 and 120x40: the
mask field under the style image, its thumbnail and size, scrolled into view. As in
test_app_snapshots.py, nothing shown depends on the machine: the images are named relative to
the current folder (a scratch one holding links to the demo pair and a mask drawn here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_helpers import form_pictured
from PIL import Image

from nst_engine.settings.config import RunConfig
from nst_tui.app.widgets.form.mask_field import MaskField

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture
def masked_app(monkeypatch: pytest.MonkeyPatch, demo_pair, tmp_path: Path):
    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered

    content, style = demo_pair
    for image in demo_pair:
        (tmp_path / image.name).symlink_to(image)
    with Image.open(content) as opened:
        width, height = opened.size
    sky = np.zeros((height, width), np.uint8)
    sky[: height // 2] = 255  # the top half
    Image.fromarray(sky).save(tmp_path / "sky.png")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(NSTApp, "_probe_devices", lambda self: None)
    config = RunConfig.from_flat(
        content=Path(content.name), style=Path(style.name), style_masks=(Path("sky.png"),)
    )
    return NSTApp(Remembered(config), folder=Path("."))


async def mask_in_view(pilot) -> None:
    await form_pictured(pilot)
    app = pilot.app
    # The style image at the top, its mask under it.
    style = app.main.query_one("#style-field")
    app.main.form.scroll_to_widget(style, animate=False, top=True)
    assert app.main.query_one(MaskField).text == "sky.png"
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_the_form_with_a_style_mask(snap_compare, masked_app, size: str) -> None:
    assert snap_compare(masked_app, terminal_size=SIZES[size], run_before=mask_in_view)

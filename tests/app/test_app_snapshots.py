"""Snapshots of the main screen (pytest-textual-snapshot): at 80x24 and 120x40, idle and during a
run with a fixed frame, so that layout regressions show in CI.

The run's snapshots are of a coarse-to-fine run (Min size 128), in its third scale.
What a screen shows must not depend on the machine: the images are named relative to the
current folder, the device list is not probed, the cost estimate uses fixed figures (conftest), and the run
is not a real run but its messages, posted as the worker would post them. After a deliberate
change of the layout, look at the new pictures (`pytest tests/app/test_app_snapshots.py
--snapshot-update`, then open tests/app/__snapshots__/) before committing them.
"""

from __future__ import annotations

import pytest
from app_helpers import form_settled, set_text, wait_for
from PIL import Image

from nst_tui.app.messages import RunPreview, RunProgress, RunStarted
from nst_tui.app.widgets.form.path_field import PathField
from nst_tui.app.widgets.picture.cells import CellBuilder, CellImage

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


async def settled(pilot) -> None:
    await form_settled(pilot)
    # On the Run button: a text field's cursor blinks, which makes two pictures of one screen
    # (where the app starts is a Pilot test's business).
    pilot.app.main.query_one("#run").focus()
    fields = [field for field in pilot.app.main.query(PathField) if field.text.strip()]
    await wait_for(
        pilot,
        lambda: all(field.query_one(CellImage).has_picture for field in fields),
        what="the thumbnails",
    )
    estimate = pilot.app.main.query_one("#estimate")
    await wait_for(pilot, lambda: str(estimate.content).startswith("≈"), what="the estimate")
    await pilot.pause()


async def a_run_at_iteration_250(pilot) -> None:
    """The screen as a coarse-to-fine run (5 scales, 600 iterations) shows it at iteration 250,
    in its third scale: the scales under the sizes, status, progress, a preview frame."""
    await form_settled(pilot)
    await set_text(pilot, "#min_size", "128")
    await settled(pilot)
    app = pilot.app
    app.current_run_number = 1
    app.running = True
    app.main.panel.set_running()
    app.main.panel.start(600)
    app.refresh_bindings()
    main = app.main
    started = RunStarted(1, "cpu (2 threads)", "oxford", (512, 342), (512, 342), 600)
    started.scale_sizes = ((128, 86), (181, 121), (256, 171), (362, 242), (512, 342))
    main.post_message(started)
    losses = {"content": 1.25e5, "style": 3.5e6, "tv": 4.2e3}
    main.post_message(RunProgress(1, 250, 600, 100.0, 2.5, losses, scale=3, scales=5))
    await pilot.pause()
    _, width, height = main.preview.frame_request()
    with Image.open(app.main.form.base.inputs.content) as opened:
        image = opened.convert("RGB")
    image.thumbnail((width, height), Image.Resampling.BOX)
    main.post_message(RunPreview(1, 250, image, CellBuilder().build(image)))
    await pilot.pause()
    await wait_for(pilot, lambda: main.preview.query_one("#preview-cells").has_picture)
    main.query_one("#run").focus()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_the_main_screen_idle(snap_compare, snapshot_app, size: str) -> None:
    assert snap_compare(snapshot_app, terminal_size=SIZES[size], run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_the_main_screen_during_a_run(snap_compare, snapshot_app, size: str) -> None:
    assert snap_compare(snapshot_app, terminal_size=SIZES[size], run_before=a_run_at_iteration_250)

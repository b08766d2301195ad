"""Each widget carries its own look in its DEFAULT_CSS (issue 21.6); the app's app.tcss only
lays out the screens. Shown in a bare Textual app, without app.tcss, a widget looks as in nst-tui."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input

from nst_tui.app.widgets.form.fields import Field
from nst_tui.app.widgets.picture.preview import PreviewPane
from nst_tui.app.widgets.run.run_panel import RunPanel


class Bare(App):
    """No stylesheet of nst-tui's: only the widgets' own."""

    def compose(self) -> ComposeResult:
        yield Field("Seed", Input("1", id="seed"), id="seed-field")
        yield RunPanel(id="run-panel")
        yield PreviewPane(id="preview")


async def test_the_widgets_carry_their_look_without_the_apps_stylesheet() -> None:
    async with Bare().run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app = pilot.app
        # A field is a grid: its label in 14 columns, the control beside it.
        field = app.query_one(Field)
        assert field.styles.layout.name == "grid"
        assert app.query_one("#seed").region.x - field.region.x == 14
        # The run panel's status and the preview's caption: one line each, cut, not wrapped.
        for selector in ("#run-status", "#preview-caption"):
            line = app.query_one(selector)
            assert line.styles.text_wrap == "nowrap" and line.styles.text_overflow == "ellipsis"
        assert app.query_one("#preview-caption").region.height == 1

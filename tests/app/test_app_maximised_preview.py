"""The maximised preview (Ctrl+F): what the footer says Escape does there, where the focus goes
while it is up and when it goes back, and a footer without a stray letter below 80 columns."""

from __future__ import annotations

import pytest
from app_helpers import form_settled, wait_for
from textual.widgets._footer import FooterKey


def footer_keys(app) -> dict[str, str]:
    """What the footer shows now: key -> label (the command palette's key left out)."""
    return {
        key.key: key.description
        for key in app.screen.query(FooterKey)
        if not key.has_class("-command-palette")
    }


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.slow  # runs the engine
async def test_escape_in_the_maximised_preview_says_back_not_cancel(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: footer_keys(app).get("escape") == "Cancel", what="Cancel")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: app.main.maximized is not None, what="the zoom")
        await wait_for(pilot, lambda: "escape" in footer_keys(app), what="the footer again")
        assert footer_keys(app)["escape"] == "Back", footer_keys(app)
        await pilot.press("escape")  # leaves the zoom; the run goes on
        await wait_for(pilot, lambda: app.main.maximized is None, what="the way back")
        assert app.running
        await wait_for(pilot, lambda: footer_keys(app).get("escape") == "Cancel", what="Cancel")


async def test_the_focus_goes_back_where_it_was_after_the_maximised_preview_by_either_key(
    make_app,
) -> None:
    """Both ways back in one app (an app start costs more than a way back)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        iterations = app.main.query_one("#iterations")
        for way_back in ("escape", "ctrl+f"):
            # Part: the zoom left with `way_back`, from the form with Iterations focused.
            iterations.focus()
            await pilot.pause()
            assert app.main.maximized is None and app.focused is iterations, way_back
            await pilot.press("ctrl+f")
            await wait_for(pilot, lambda: app.main.maximized is not None, what="the zoom")
            await pilot.pause()
            # Nothing hidden behind the zoom takes the keys typed there.
            assert app.focused is None or app.main.preview in app.focused.ancestors_with_self, (
                way_back
            )
            await pilot.press(way_back)
            await wait_for(pilot, lambda: app.main.maximized is None, what="the way back")
            await pilot.pause()
            assert app.focused is iterations, way_back


async def test_the_footer_has_no_stray_letter_after_the_palette_key_at_any_width(
    make_app,
) -> None:
    """Every width in one app, the terminal resized between them (as a user would)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        for columns in (79, 71, 69, 65, 60):
            # Part: the footer at `columns` columns.
            await pilot.resize_terminal(columns, 24)
            await wait_for(pilot, lambda c=columns: app.screen.size.width == c, what="the resize")
            await pilot.pause()
            footer = screen_lines(app)[-1]
            assert len(footer) == columns, (columns, repr(footer))
            assert footer.endswith("^p palette"), (columns, repr(footer))

"""Small things a first try tripped over (issue 8, item 12): the command palette lists each
command once, the SGD Nesterov checkbox draws whole, and random weights are warned about."""

from __future__ import annotations

import pytest
from app_helpers import form_settled, result_text, search_palette, wait_for
from textual.command import CommandList, CommandPalette
from textual.widgets import Checkbox, Static

from nst_engine.settings.config import OptimizerSettings
from nst_tui.app.widgets.dropdown import Dropdown

RANDOM_WARNING = "random weights: for tests only; the result will not look styled"


async def palette_hits(pilot, query: str) -> list[str]:
    """Open the app's command palette, type `query`, and return the prompts it lists."""
    app = pilot.app
    await search_palette(pilot, query)
    results = app.screen.query_one(CommandList)
    prompts = [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), what="closing")
    return prompts


async def test_the_palette_lists_one_quit_and_one_maximise_and_nesterov_draws_whole(
    make_app, tiny_config
) -> None:
    """Both in one app (an app start costs more than a part): the SGD config, which the
    palette's commands do not depend on; the terminal resized between the widths."""
    app = make_app(tiny_config.replace(optimizer=OptimizerSettings(name="sgd")))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await the_palette_lists_one_quit_and_one_maximise(pilot)
        assert app.screen is app.main, "the palette: not back on the main screen"
        checkbox = app.main.query_one("#sgd-nesterov", Checkbox)
        for width in (80, 120):
            # Part: the Nesterov checkbox draws whole at `width` columns.
            await pilot.resize_terminal(width, 30)
            await wait_for(pilot, lambda w=width: app.screen.size.width == w, what="the resize")
            await form_settled(pilot)
            checkbox.scroll_visible(animate=False)
            await pilot.pause()
            drawn = checkbox.render_line(0).text
            assert "▐" in drawn and "▌" in drawn and "…" not in drawn, (width, repr(drawn))
            form = app.main.form.content_region
            assert form.contains_region(checkbox.region), (width, checkbox.region, form)


async def the_palette_lists_one_quit_and_one_maximise(pilot) -> None:
    app = pilot.app
    app.main.query_one("#preview").focus()  # Textual offers its Maximize for this
    await pilot.pause()
    quits = [p for p in await palette_hits(pilot, "quit") if p.lower().startswith("quit")]
    assert len(quits) == 1, ("the palette: quit", quits)
    # The app's own (it asks before stopping a run).
    assert "Ctrl+Q" in quits[0], ("the palette: quit", quits)
    maximise = [p for p in await palette_hits(pilot, "maxim") if "maxim" in p.lower()]
    assert len(maximise) == 1, ("the palette: maximise", maximise)
    assert maximise[0].startswith("Maximise the preview"), ("the palette: maximise", maximise)
    # Textual's other useful commands stay.
    for useful in ("theme", "screenshot", "keys"):
        hits = await palette_hits(pilot, useful)
        assert any(useful in p.lower() for p in hits), ("the palette", useful, hits)


@pytest.mark.slow  # runs the engine
async def test_random_weights_are_warned_about_in_the_form_and_the_result(make_app) -> None:
    app = make_app()  # the fixture's config has random weights
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        warning = app.main.query_one("#weights-warning", Static)
        assert warning.display and RANDOM_WARNING in str(warning.content)
        app.main.query_one("#weights", Dropdown).value = "auto"
        await pilot.pause()
        await form_settled(pilot)
        assert not warning.display
        app.main.query_one("#weights", Dropdown).value = "random"
        await pilot.pause()
        await form_settled(pilot)
        assert warning.display
        await pilot.press("ctrl+r")
        await wait_for(
            pilot, lambda: app.current_run_number and not app.running, timeout=120, what="the run"
        )
        assert "Done in" in result_text(app)
        shown = result_text(app) + str(app.main.panel.query_one("#run-status", Static).content)
        assert "random weights" in shown, shown

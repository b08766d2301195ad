"""Reading what the app paints: the text of the screen's lines, for tests of how things look."""

from __future__ import annotations


def screen_lines(app) -> list[str]:
    """The text of each line of the current screen, as painted."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def line_of(app, selector: str) -> str:
    """The painted text of the line where the widget `selector` is."""
    widget = app.screen.query_one(selector)
    return screen_lines(app)[widget.region.y]

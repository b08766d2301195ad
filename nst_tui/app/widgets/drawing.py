"""Drawing that cannot end the app: a widget whose picture comes from code that may fail.

The loss curve (plotext) and the preview (image cells, terminal graphics) draw with code that
is not Textual's. An exception there would reach Textual, which ends the app with a traceback,
and with it the run being watched. A widget with `DrawsSafely` instead writes the traceback to
the log file (once per widget and kind of failure), shows a one-line notice, and draws one
line in its place; the app and the run go on.
"""

from __future__ import annotations

import functools
import logging

from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip

log = logging.getLogger("nst.app")


class DrawsSafely:
    """Mixin (before the widget class) for a widget whose `render` or `render_line` may fail."""

    DRAWING_NAME = "part of the screen"  # said in the notice: "the loss curve could not..."
    _drawing_failures: set[str] | None = None  # kinds of failure already logged and told

    def drawing_failed(self, error: Exception) -> str:
        """Log `error` with its traceback and tell the user once per kind; the line to show."""
        kind = f"{type(error).__name__}: {error}"
        line = f"{self.DRAWING_NAME} could not be drawn ({kind}); the log has the details"
        failures = self._drawing_failures
        if failures is None:
            failures = self._drawing_failures = set()
        if kind not in failures:
            failures.add(kind)
            log.error("%s could not be drawn", self.DRAWING_NAME, exc_info=error)
            app = self.app  # type: ignore[attr-defined]
            # Not from inside the paint: the notice is a message like any other.
            app.call_later(app.notify, line[0].upper() + line[1:], severity="warning")
        return line

    def __init_subclass__(cls, **options) -> None:
        # A subclass's own render or render_line is guarded too (the methods below guard only
        # what is inherited from a widget class after this one).
        super().__init_subclass__(**options)
        for name, fallback in (("render", _text_instead), ("render_line", _strip_instead)):
            method = cls.__dict__.get(name)
            if method is not None and not hasattr(method, "__guarded__"):
                setattr(cls, name, _guarded(method, fallback))

    def render(self):  # noqa: D102 - Widget.render, guarded
        try:
            return super().render()  # type: ignore[misc]
        except Exception as error:
            return _text_instead(self, error)

    def render_line(self, y: int) -> Strip:  # noqa: D102 - Widget.render_line, guarded
        try:
            return super().render_line(y)  # type: ignore[misc]
        except Exception as error:
            return _strip_instead(self, error, y)


def _guarded(method, fallback):
    @functools.wraps(method)
    def guarded(self, *arguments):
        try:
            return method(self, *arguments)
        except Exception as error:
            return fallback(self, error, *arguments)

    guarded.__guarded__ = True
    return guarded


def _text_instead(widget: DrawsSafely, error: Exception) -> Text:
    return Text(widget.drawing_failed(error), no_wrap=True, overflow="ellipsis")


def _strip_instead(widget: DrawsSafely, error: Exception, y: int) -> Strip:
    line = widget.drawing_failed(error) if y == 0 else ""
    width = widget.size.width  # type: ignore[attr-defined]
    return Strip([Segment(line[:width].ljust(width))], width)

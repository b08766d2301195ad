"""The footer of every screen: Textual's, made again only when the keys it shows change.

Textual's Footer removes and mounts all its keys whenever the focus moves (the focused widget
may bring keys of its own), and the screen is laid out again after it: about 80 ms of CPU on
the main screen for each Tab between two fields, which show the same keys.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    _shown: tuple | None = None  # the keys of the last rebuild asked for

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            keys = tuple(
                (binding.key, binding.action, binding.description, binding.group, enabled, tip)
                for _node, binding, enabled, tip in screen.active_bindings.values()
                if binding.show
            )
            if keys == self._shown:
                return
            self._shown = keys
        super().bindings_changed(screen)

"""Delete one of the person's own presets: choose it, then confirm. Built-in presets stay.

Reached from the command palette ("Delete a preset of yours…"). The built-in presets are
listed too, greyed, saying that they cannot be deleted, so nobody looks for a way.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from nst_engine.errors import NSTError


class DeletePresetScreen(ModalScreen["str | None"]):
    """Dismissed with the preset to delete (chosen and confirmed), or None."""

    DEFAULT_CSS = """
    DeletePresetScreen {
        align: center middle;
    }
    DeletePresetScreen #delete-preset-box {
        width: 64;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: round $primary;
        background: $surface;
        padding: 1 2;
    }
    DeletePresetScreen #delete-preset-list {
        height: auto;
        max-height: 12;
        margin-top: 1;
    }
    DeletePresetScreen #delete-preset-confirm {
        display: none;
        height: auto;
        margin-top: 1;
    }
    DeletePresetScreen.-asking #delete-preset-confirm {
        display: block;
    }
    DeletePresetScreen.-asking #delete-preset-list {
        display: none;
    }
    DeletePresetScreen #delete-preset-question {
        height: auto;
        color: $text-warning;
    }
    DeletePresetScreen #delete-preset-buttons {
        height: auto;
        margin-top: 1;
    }
    DeletePresetScreen #delete-preset-buttons Button {
        margin-right: 2;
    }
    """

    BINDINGS = [Binding("escape", "back", "Back", priority=True, id="delete_preset.back")]

    def __init__(self, yours: list[str], built_in: list[str]) -> None:
        super().__init__()
        self.yours = yours
        self.built_in = built_in
        self.chosen: str | None = None

    def compose(self) -> ComposeResult:
        options = [Option(name, id=name) for name in self.yours] + [
            Option(f"{name} (built-in, cannot be deleted)", id=name, disabled=True)
            for name in self.built_in
        ]
        with Vertical(id="delete-preset-box"):
            yield Static("Delete a preset of yours (Enter chooses, Escape closes):", markup=False)
            yield OptionList(*options, id="delete-preset-list", compact=True)
            with Vertical(id="delete-preset-confirm"):
                yield Static("", id="delete-preset-question", markup=False)
                with Horizontal(id="delete-preset-buttons"):
                    yield Button("Delete", id="delete-preset-yes", variant="error", compact=True)
                    yield Button("Keep it", id="delete-preset-no", compact=True)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#delete-preset-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.chosen = event.option.id
        self.query_one("#delete-preset-question", Static).update(
            f"Delete your preset '{self.chosen}'? Its file goes; this cannot be undone. "
            "(Enter deletes, Escape keeps it.)"
        )
        self.add_class("-asking")
        self.query_one("#delete-preset-yes", Button).focus()

    @on(Button.Pressed, "#delete-preset-yes")
    def _confirmed(self) -> None:
        self.dismiss(self.chosen)

    @on(Button.Pressed, "#delete-preset-no")
    def action_back(self) -> None:
        """Escape: from the question back to the list; from the list, close."""
        if self.has_class("-asking"):
            self.chosen = None
            self.remove_class("-asking")
            self.query_one(OptionList).focus()
        else:
            self.dismiss(None)


def delete_a_preset(app: App, presets_changed: Callable[[], None]) -> None:
    """Ask which of the person's presets to delete, and delete it once confirmed."""
    from nst_engine.settings.presets import (
        builtin_preset_names,
        delete_user_preset,
        user_preset_names,
    )

    yours = user_preset_names()
    if not yours:
        app.notify(
            "You have no presets of your own to delete (built-in presets cannot be deleted).",
            title="Presets",
        )
        return

    def delete(name: str | None) -> None:
        if not name:
            return
        try:
            path = delete_user_preset(name)
        except NSTError as error:
            app.notify(error.message, title="Preset not deleted", severity="error")
            return
        presets_changed()
        app.notify(f"Deleted your preset '{name}' ({path}).", title="Preset")

    app.push_screen(DeletePresetScreen(yours, builtin_preset_names()), delete)

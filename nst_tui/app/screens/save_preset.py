"""Ask for a preset name; the caller saves the form's settings under it.

A name that is one of your presets is saved over only once asked and confirmed (Enter, or
the Replace button, a second time); an empty or invalid name is refused out loud.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from nst_engine.settings.presets import PRESET_NAME, builtin_preset_names, user_preset_names

NAME_HINT = "letters, digits, spaces and . _ + -"


def name_problem(name: str) -> str:
    """Why `name` cannot be a preset name, or '' (the engine checks again when saving)."""
    name = name.strip()
    if not name:
        return "type a name"
    if not PRESET_NAME.fullmatch(name):
        return "start with a letter or digit; use letters, digits, spaces and . _ + -"
    if name in builtin_preset_names():
        return f"'{name}' is a built-in preset; choose another name"
    if name in user_preset_names():
        return f"replaces your preset '{name}'"
    return ""


def _blocks(problem: str) -> bool:
    return bool(problem) and not problem.startswith("replaces")


class SavePresetScreen(ModalScreen["str | None"]):
    """Dismissed with the chosen name, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", priority=True, id="save_preset.cancel")]

    def __init__(self) -> None:
        super().__init__()
        self._replacing: str | None = None  # the existing preset that Enter now replaces

    def compose(self) -> ComposeResult:
        with Vertical(id="save-preset-box"):
            yield Static(
                "Save the form's settings (not the image paths) as a preset of your own:",
                markup=False,
            )
            yield Input(id="preset-name", placeholder="preset name", compact=True)
            yield Static(NAME_HINT, id="preset-name-problem", classes="-hint", markup=False)
            with Horizontal(id="save-preset-buttons"):
                yield Button("Save", id="preset-save", variant="primary", compact=True)
                yield Button("Cancel", id="preset-cancel", compact=True)

    def _say(self, text: str, kind: str) -> None:
        """Show `text` under the name as a 'hint', a 'warning' or an 'error'."""
        line = self.query_one("#preset-name-problem", Static)
        line.update(text)
        line.set_class(kind == "hint", "-hint")
        line.set_class(kind == "error", "-error")

    def _set_replacing(self, name: str | None) -> None:
        self._replacing = name
        button = self.query_one("#preset-save", Button)
        button.label = "Replace" if name else "Save"
        button.variant = "warning" if name else "primary"

    @on(Input.Changed, "#preset-name")
    def _typed(self, event: Input.Changed) -> None:
        self._set_replacing(None)
        problem = name_problem(event.value)
        if not event.value.strip():
            self._say(NAME_HINT, "hint")
        elif problem.startswith("replaces"):
            self._say(f"{problem} (Enter asks first)", "warning")
        else:
            self._say(problem, "error" if problem else "hint")
        self.query_one("#preset-save", Button).disabled = _blocks(problem)

    @on(Input.Submitted, "#preset-name")
    @on(Button.Pressed, "#preset-save")
    def _save(self) -> None:
        name = self.query_one("#preset-name", Input).value.strip()
        problem = name_problem(name)
        if _blocks(problem):
            self.app.bell()
            self._say(problem, "error")
            self.query_one("#preset-name", Input).focus()
            return
        if problem and self._replacing != name:
            # One of the person's own presets: ask before saving over it.
            self._set_replacing(name)
            self._say(
                f"Your preset '{name}' exists. Enter again (or Replace) replaces it; "
                "Escape keeps it.",
                "warning",
            )
            return
        self.dismiss(name)

    @on(Button.Pressed, "#preset-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

"""Ask for a preset name; the caller saves the form's settings under it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from nst_engine.presets import PRESET_NAME, builtin_preset_names, user_preset_names


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


class SavePresetScreen(ModalScreen["str | None"]):
    """Dismissed with the chosen name, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", priority=True)]

    def compose(self) -> ComposeResult:
        with Vertical(id="save-preset-box"):
            yield Static(
                "Save the form's settings (not the image paths) as a preset of your own:",
                markup=False,
            )
            yield Input(id="preset-name", placeholder="preset name", compact=True)
            yield Static("type a name", id="preset-name-problem", markup=False)
            with Horizontal(id="save-preset-buttons"):
                yield Button("Save", id="preset-save", variant="primary", compact=True)
                yield Button("Cancel", id="preset-cancel", compact=True)

    @on(Input.Changed, "#preset-name")
    def _typed(self, event: Input.Changed) -> None:
        problem = name_problem(event.value)
        self.query_one("#preset-name-problem", Static).update(problem)
        blocking = bool(problem) and not problem.startswith("replaces")
        self.query_one("#preset-save", Button).disabled = blocking

    @on(Input.Submitted, "#preset-name")
    @on(Button.Pressed, "#preset-save")
    def _save(self) -> None:
        name = self.query_one("#preset-name", Input).value.strip()
        problem = name_problem(name)
        if problem and not problem.startswith("replaces"):
            self.query_one("#preset-name-problem", Static).update(problem)
            return
        self.dismiss(name)

    @on(Button.Pressed, "#preset-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

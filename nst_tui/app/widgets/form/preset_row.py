"""The Preset row at the top of the form: the drop-down of presets and Save as….

The drop-down names the preset whose settings the form has, whichever way they came (chosen
here, loaded from a past run or an image, typed field by field), and says "custom" when they
are no preset's. Choosing one loads it (the main screen does: nst_tui/app/screens/main.py).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label

from nst_engine.settings.config import RunConfig
from nst_tui.app.widgets.dropdown import Dropdown

NO_PRESET = "custom"  # what the drop-down says of settings that are no preset's


def preset_options() -> list[tuple[str, str]]:
    from nst_engine.settings.presets import builtin_preset_names, user_preset_names

    builtin = [(f"{name} (built-in)", name) for name in builtin_preset_names()]
    return builtin + [(f"{name} (yours)", name) for name in user_preset_names()]


class PresetRow(Horizontal):
    """Label, the presets' drop-down (#preset) and the Save as… button."""

    DEFAULT_CSS = """
    PresetRow {
        margin-top: 1;
    }
    /* The chosen preset's name is on one line, cut at 80 columns ("default (bu…"). */
    #preset {
        width: 1fr;
    }
    #save-preset {
        margin-left: 1;
        width: auto;
        min-width: 10;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="preset-row", classes="field-row")
        self._shown_for: RunConfig | None = None  # the settings last matched

    def compose(self) -> ComposeResult:
        yield Label("Preset", classes="field-label")
        yield Dropdown(preset_options(), id="preset", prompt=NO_PRESET)
        yield Button("Save as…", id="save-preset", compact=True)

    @property
    def select(self) -> Dropdown:
        return self.query_one("#preset", Dropdown)

    def _show(self, name: str | None) -> None:
        """Show `name` (None: custom) without loading it again."""
        select = self.select
        known = {value for _, value in select.options}
        with select.prevent(Dropdown.Changed):
            if name is not None and name in known:
                select.value = name
            else:
                select.clear()

    def show_matching(self, config: RunConfig) -> None:
        """Name the preset whose settings `config` has, or say custom."""
        from nst_engine.settings.presets import matching_preset

        if config == self._shown_for:
            return  # a check with nothing changed: the presets are not read again
        self._shown_for = config
        self._show(matching_preset(config))

    def refresh_presets(self, select: str | None = None) -> None:
        """The presets listed again (one was saved or deleted); `select` shown if given."""
        choice = self.select
        current = choice.value
        with choice.prevent(Dropdown.Changed):
            choice.set_options(preset_options())
        self._shown_for = None
        self._show(select if select is not None else current)

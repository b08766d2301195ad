"""The optimiser: its choice, the learning rate, and the own parameters of the chosen one.

Every optimiser keeps its parameters while another is chosen (as RunConfig does), so
switching back and forth loses nothing; only the chosen one's fields are shown and checked.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, ContentSwitcher

from nst_engine.errors import ConfigError, NSTError
from nst_engine.settings.config import (
    OPTIMIZER_LABELS,
    OPTIMIZER_PARAMETERS,
    OptimizerSettings,
    parse_learning_rate,
)
from nst_engine.settings.optimizer_settings import parse_parameter
from nst_engine.settings.table import BY_NAME
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.fields import Field, SelectField, TextField

# The form's words for the parameters whose names are short for them; the rest as named.
PARAMETER_LABELS = {"eps": "epsilon", "history_size": "history"}


def parameter_fields(name: str) -> tuple[tuple[str, str, Callable[[str], Any]], ...]:
    """Optimiser `name`'s typed parameters: (parameter, label, parser of the text), read from
    its settings' dataclass, which checks each (a switch, like Nesterov, is a checkbox)."""
    return tuple(
        (
            field.name,
            PARAMETER_LABELS.get(field.name, field.name),
            functools.partial(parse_parameter, name, field.name),
        )
        for field in dataclasses.fields(OPTIMIZER_PARAMETERS[name])
        if not isinstance(field.default, bool)
    )


class OptimizerFields(Vertical):
    """Optimiser choice, learning rate, and the chosen optimiser's parameters.

    Only the chosen optimiser's panel is mounted at first (fewer widgets: a faster first
    frame); another's is mounted when it is chosen. Until then its values are `settings`'.
    """

    DEFAULT_CSS = """
    OptimizerFields {
        height: auto;
    }
    .params {
        height: auto;
    }
    #optimizer-params {
        height: auto;
    }
    """

    def __init__(self, settings: OptimizerSettings) -> None:
        super().__init__(id="optimizer-fields")
        self.settings = settings  # the values of panels that are not mounted
        # Panels whose fields are all mounted. A panel being mounted is already in the DOM
        # while its fields are not yet: until it is ready, its values are `settings`'.
        self._ready = {settings.name}

    def compose(self) -> ComposeResult:
        settings = self.settings
        yield SelectField(
            "Optimiser",
            "optimizer",
            [(OPTIMIZER_LABELS[name], name) for name in BY_NAME["optimizer"].rule.choices],
            settings.name,
            tooltip="L-BFGS converges in few iterations; Adam and the others take more, each cheaper",
        )
        yield TextField(
            "Learning rate",
            "lr",
            lambda t: parse_learning_rate("learning rate", t),
            f"{settings.lr:g}",
            tooltip="In pixel units (0-255); L-BFGS works with 1",
        )
        with ContentSwitcher(initial=f"params-{settings.name}", id="optimizer-params"):
            yield self._panel(settings.name)

    def _panel(self, name: str) -> Vertical:
        own = getattr(self.settings, name)
        fields = [
            TextField(f"  {label}", f"{name}-{parameter}", parse, f"{getattr(own, parameter):g}")
            for parameter, label, parse in parameter_fields(name)
        ]
        if name == "sgd":
            fields.append(
                Field(
                    "  Nesterov",
                    # A label of its own: with none, Textual sizes the box one cell short
                    # and draws it clipped (▐X…).
                    Checkbox("look-ahead momentum", own.nesterov, id="sgd-nesterov", compact=True),
                    id="sgd-nesterov-field",
                )
            )
        return Vertical(*fields, id=f"params-{name}", classes="params")

    def _mounted(self, name: str) -> bool:
        return name in self._ready

    @on(Dropdown.Changed, "#optimizer")
    async def _chosen(self, event: Dropdown.Changed) -> None:
        if event.value is None:
            return
        name = event.value
        switcher = self.query_one(ContentSwitcher)
        if not self.query(f"#params-{name}"):
            await switcher.mount(self._panel(name))
            self._ready.add(name)
            self._fill(name, getattr(self.settings, name))  # a load() while it was mounting
        switcher.current = f"params-{name}"

    def _text_field(self, name: str, parameter: str) -> TextField:
        return self.query_one(f"#{name}-{parameter}-field", TextField)

    def value(self, base: OptimizerSettings) -> OptimizerSettings:
        """The settings in the form; ConfigError (shown at the field) when the chosen one's are bad."""
        chosen = self.query_one("#optimizer-field", SelectField).value
        lr = self.query_one("#lr-field", TextField).parse()
        changes: dict = {"name": chosen, "lr": lr}
        for name in OPTIMIZER_PARAMETERS:
            own = getattr(base, name)
            if not self._mounted(name):
                changes[name] = getattr(self.settings, name)
                continue
            values = {}
            for parameter, _, _ in parameter_fields(name):
                field = self._text_field(name, parameter)
                if name == chosen:
                    values[parameter] = field.parse()
                else:
                    values[parameter] = field.parse_or(getattr(own, parameter))
            if name == "sgd":
                values["nesterov"] = self.query_one("#sgd-nesterov", Checkbox).value
            try:
                changes[name] = dataclasses.replace(own, **values)
            except NSTError as error:
                if name == chosen:
                    # Under the field it concerns (Nesterov without momentum), in its words.
                    shown = self.query(f"#{name}-{error.setting}-field")
                    if error.setting and shown:
                        shown.first(Field).set_error(error.message.removeprefix(f"{name} "))
                    raise ConfigError(error.message) from None
                changes[name] = own
            for shown in self.query(f"#params-{name} .field.-invalid"):
                if not isinstance(shown, TextField):
                    shown.set_error("")  # a check between fields that now passes
        return dataclasses.replace(base, **changes)

    def load(self, settings: OptimizerSettings) -> None:
        self.settings = settings
        self.query_one("#optimizer-field", SelectField).set_value(settings.name)
        self.query_one("#lr-field", TextField).text = f"{settings.lr:g}"
        for name in OPTIMIZER_PARAMETERS:
            if self._mounted(name):
                self._fill(name, getattr(settings, name))

    def _fill(self, name: str, own) -> None:
        """Show `own` (one optimiser's parameters) in its mounted panel."""
        for parameter, _, _ in parameter_fields(name):
            self._text_field(name, parameter).text = f"{getattr(own, parameter):g}"
        if name == "sgd":
            self.query_one("#sgd-nesterov", Checkbox).value = own.nesterov

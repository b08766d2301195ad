"""Form rows: a label and a control on one line, and the field's own error message below.

A `TextField` checks its text with one of nst_engine.settings.values' parsers on every change (cheap,
no torch), so a wrong value is named where it was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.app import ComposeResult, RenderResult
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Static

from nst_engine.errors import NSTError
from nst_engine.settings.table import BY_NAME
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.lines import show

LABEL_WIDTH = 14  # the label's columns, left of the control (the form's `.field-label`)


class Field(Vertical):
    """`label  [control]` with an error line that shows only when there is an error.

    The field draws its label itself (`render`, in the columns left of its control, which no
    child covers) rather than with a Label widget: a widget fewer in every row, and the main
    screen's start and every layout of it pay for each widget. A subclass that composes its
    own children (a Label among them) is laid out as a two-column grid instead.
    """

    COMPONENT_CLASSES = {"field--label"}
    DEFAULT_CSS = """
    Field > .field--label { color: $text-muted; }
    Field {
        layout: grid;
        grid-size: 2;
        grid-columns: 14 1fr;
        grid-rows: auto;
    }
    Field.-label-drawn { grid-size: 1; grid-columns: 1fr; }
    Field.-label-drawn > .field-control { margin-left: 14; }
    """

    def __init__(
        self,
        label: str,
        *controls: Widget,
        id: str | None = None,
        classes: str | None = None,
        tooltip: str | None = None,
    ) -> None:
        # Decided before mounting (a class added later would restyle the field and its children).
        self.draws_label = type(self).compose is Field.compose
        drawn = "-label-drawn" if self.draws_label else ""
        super().__init__(id=id, classes=" ".join(f"field {drawn} {classes or ''}".split()))
        self._label = label
        self._controls = controls
        self.error = ""
        if self.draws_label:
            if tooltip:
                self.tooltip = tooltip  # over the label's columns (the control has its own)
            for control in controls:
                control.add_class("field-control", update=False)  # styled when mounted

    def compose(self) -> ComposeResult:
        yield from self._controls

    def render(self) -> RenderResult:
        """The label on the first line, as the form's `.field-label` looked ($text-muted)."""
        if not self.draws_label:
            return super().render()
        style = self.get_visual_style("field--label", partial=True)
        return Content.styled(self._label[:LABEL_WIDTH], style)

    def set_error(self, text: str) -> None:
        """Show `text` under the field ('' hides it); the error line is made when first needed."""
        self.error = text
        lines = self.query_children(".field-error")
        if lines:
            show(lines.first(Static), text)
        elif text:
            self.mount(Static(text, classes="field-error", markup=False))
        self.set_class(bool(text), "-invalid")


class TextField(Field):
    """A typed value, checked by `parse(text)` (which raises NSTError with a one-line message)."""

    def __init__(
        self,
        label: str,
        name: str,
        parse: Callable[[str], Any],
        value: str = "",
        *,
        placeholder: str = "",
        tooltip: str | None = None,
        input_class: type[Input] = Input,
    ) -> None:
        self.input = input_class(value, id=name, placeholder=placeholder, compact=True)
        if tooltip:
            self.input.tooltip = tooltip
        super().__init__(label, self.input, id=f"{name}-field", tooltip=tooltip)
        self.parse_text = parse

    @property
    def text(self) -> str:
        return self.input.value

    @text.setter
    def text(self, value: str) -> None:
        self.input.value = value

    def parse(self) -> Any:
        """The parsed value; the error is shown (and raised) when the text is not valid."""
        try:
            value = self.parse_text(self.input.value)
        except NSTError as error:
            self.set_error(error.message)
            raise
        self.set_error("")
        return value

    def parse_or(self, default: Any) -> Any:
        """The parsed value, or `default` without complaint (for hidden fields)."""
        try:
            return self.parse_text(self.input.value)
        except NSTError:
            return default


class SelectField(Field):
    """A choice from a list."""

    def __init__(
        self,
        label: str,
        name: str,
        options: Iterable[tuple[str, str]],
        value: str,
        *,
        tooltip: str | None = None,
    ) -> None:
        options = list(options)
        if value not in [option for _, option in options]:
            options.append((value, value))
        self._options = options
        self.select = Dropdown(options, value=value, id=name, allow_blank=False, tooltip=tooltip)
        super().__init__(label, self.select, id=f"{name}-field", tooltip=tooltip)

    @property
    def value(self) -> str:
        return str(self.select.value)

    @property
    def choices(self) -> tuple[str, ...]:
        """The values offered, in order."""
        return tuple(option for _, option in self._options)

    def set_options(self, options: Iterable[tuple[str, str]], keep: str | None = None) -> None:
        """Replace the choices, keeping the current one (added if it is not among them)."""
        current = keep if keep is not None else self.value
        options = list(options)
        if current not in [option for _, option in options]:
            options.append((current, current))
        if options == self._options and current == self.value:
            return  # as they are: nothing to draw again
        self._options = options
        self.select.set_options(options)
        self.select.value = current

    def set_value(self, value: str) -> None:
        if value not in [option for _, option in self._options]:
            self.set_options(self._options, value)
        self.select.value = value


def choice_field(name: str, label: str, value: str, *, tooltip: str | None = None) -> SelectField:
    """A drop-down of the choices of RunConfig's setting `name`, as its table row lists them."""
    choices = BY_NAME[name].rule.choices
    return SelectField(
        label, name, [(choice, choice) for choice in choices], value, tooltip=tooltip
    )

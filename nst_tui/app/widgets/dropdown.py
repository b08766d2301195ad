"""A drop-down that is one widget while closed: the app's choice boxes (the form, the history's
status filter, the sweep's settings).

Textual's Select is six widgets (its current line, a label, two arrows and an option list kept
hidden), and every widget on the main screen is styled and laid out again on each key, focus
change and resize. This one draws its line itself and mounts its list only while it is open.
Keys as Select's: Enter, Space, Down or Up open it; in the list Up/Down move, Enter chooses,
Escape (or focus going elsewhere) closes it unchanged, and a letter jumps to the next choice
that starts with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import events, on
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class UnknownChoiceError(ValueError):
    """A value that is not among the drop-down's choices (or blank where blank is not allowed)."""


class DropdownList(OptionList):
    """The open drop-down's list; it tells its drop-down what was chosen or that it closed."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]
    ALLOW_SELECT = False  # no text selection by dragging over it

    class Closed(Message):
        """Nothing chosen: `refocus` when the drop-down takes focus back (Escape, not a blur)."""

        def __init__(self, choice_list: DropdownList, refocus: bool) -> None:
            super().__init__()
            self.choice_list = choice_list
            self.refocus = refocus

    def action_close(self) -> None:
        self.post_message(self.Closed(self, refocus=True))

    def _on_blur(self, event: events.Blur) -> None:
        self.post_message(self.Closed(self, refocus=False))
        self.suppress_click()  # a click on the drop-down's line closes it, as Select's

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        return character is not None and character.isprintable()

    def _on_key(self, event: events.Key) -> None:
        if event.character is not None and event.is_printable and event.character != " ":
            event.stop()
            event.prevent_default()
            self.jump_to(event.character)

    def jump_to(self, letter: str) -> None:
        """Highlight the next choice after the highlighted one that starts with `letter`."""
        count = self.option_count
        start = -1 if self.highlighted is None else self.highlighted
        for step in range(1, count + 1):
            index = (start + step) % count
            if str(self.get_option_at_index(index).prompt).lower().startswith(letter.lower()):
                self.highlighted = index
                return


class Dropdown(Widget, can_focus=True):
    """One line: the current choice's label and ▼; opens a list of the choices."""

    BINDINGS = [Binding("enter,down,space,up", "open", "Show menu", show=False)]
    ALLOW_SELECT = False

    DEFAULT_CSS = """
    Dropdown {
        width: 1fr;
        height: 1;
        color: $foreground;
        background: $surface;
        pointer: pointer;
    }
    Dropdown > .dropdown--blank, Dropdown > .dropdown--arrow {
        color: $foreground 50%;
    }
    Dropdown > DropdownList {
        width: 1fr;
        height: auto;
        max-height: 12;
        offset: 0 1;  /* under the line (an overlay takes no room in its parent's layout) */
        overlay: screen;
        constrain: none inside;
        color: $foreground;
        background: $surface;
        text-style: none;
        &:focus { background-tint: $foreground 5%; }
        & > .option-list--option { padding: 0 1; }
    }
    """

    COMPONENT_CLASSES = {"dropdown--blank", "dropdown--arrow"}

    class Changed(Message):
        """The value changed (chosen in the list, or set by code)."""

        def __init__(self, dropdown: Dropdown, value: str | None) -> None:
            super().__init__()
            self.dropdown = dropdown
            self.value = value

        @property
        def control(self) -> Dropdown:
            return self.dropdown

    def __init__(
        self,
        options: Iterable[tuple[str, str]],
        *,
        value: str | None = None,
        prompt: str = "",
        allow_blank: bool = True,
        id: str | None = None,
        classes: str | None = None,
        tooltip: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(id=id, classes=classes, disabled=disabled)
        self.prompt = prompt
        self._allow_blank = allow_blank
        self._options: list[tuple[str, str]] = []
        self._value: str | None = None
        self._list: DropdownList | None = None  # mounted while open
        self._open_at_press = False
        self._set_options(options)
        if value is not None:
            self._value = self._checked(value)
        if tooltip is not None:
            self.tooltip = tooltip

    # --- the value ----------------------------------------------------------------------------

    @property
    def options(self) -> list[tuple[str, str]]:
        """(label, value) of each choice, in order (the blank one not included)."""
        return list(self._options)

    @property
    def value(self) -> str | None:
        return self._value

    @value.setter
    def value(self, value: str | None) -> None:
        value = self._checked(value)
        if value == self._value:
            return
        self._value = value
        self.refresh()
        if self.is_mounted:
            self.post_message(self.Changed(self, value))

    def clear(self) -> None:
        """Choose nothing (the prompt shows); UnknownChoiceError where blank is not allowed."""
        self.value = None

    def _checked(self, value: str | None) -> str | None:
        if value is None and self._allow_blank:
            return None
        if value is None or value not in {choice for _, choice in self._options}:
            raise UnknownChoiceError(f"{value!r} is not among the choices of #{self.id}")
        return value

    def set_options(self, options: Iterable[tuple[str, str]]) -> None:
        """New choices; the current one stays if it is among them, else blank (or the first)."""
        self._set_options(options)
        known = {choice for _, choice in self._options}
        if self._value not in known:
            self.value = None if self._allow_blank else self._options[0][1]
        self.refresh()

    def _set_options(self, options: Iterable[tuple[str, str]]) -> None:
        self._options = list(options)
        if not self._options and not self._allow_blank:
            raise UnknownChoiceError(f"#{self.id} has no choices")
        if self._value is None and not self._allow_blank:
            self._value = self._options[0][1]

    @property
    def label(self) -> str:
        """What the closed drop-down shows: the current choice's label, or the prompt."""
        for label, choice in self._options:
            if choice == self._value:
                return label
        return self.prompt

    # --- drawing ------------------------------------------------------------------------------

    def render(self) -> Text:
        width = self.content_size.width
        label = self.label
        room = max(0, width - 3)  # " ▼ " at the right (no padding: the list is as wide)
        if cell_len(label) > room:
            label = set_cell_size(label, max(0, room - 1)) + "…" if room else ""
        text = Text(set_cell_size(label, room), no_wrap=True, end="")
        if self._value is None:
            text.stylize(self.get_component_rich_style("dropdown--blank"))
        arrow = "▲" if self.is_open else "▼"
        text.append(f" {arrow}", self.get_component_rich_style("dropdown--arrow"))
        text.append(" ")
        return text

    # --- opening and closing ------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._list is not None

    async def action_open(self) -> None:
        if self.is_open:
            return
        entries = [Option(Text(self.prompt, style="dim"))] if self._allow_blank else []
        entries += [Option(label) for label, _ in self._options]
        self._list = choice_list = DropdownList(*entries, compact=True)  # as Select's, no border
        await self.mount(choice_list)
        choice_list.highlighted = self._index_of_value()
        choice_list.scroll_to_highlight()
        choice_list.focus(scroll_visible=False)
        self.refresh()

    def _index_of_value(self) -> int:
        values = [None] if self._allow_blank else []
        values += [choice for _, choice in self._options]
        return values.index(self._value) if self._value in values else 0

    def _close(self, refocus: bool) -> None:
        if refocus:
            self.focus()  # before the list goes, so focus does not move on to the next control
        if self._list is not None:
            self._list.remove()
            self._list = None
        self.refresh()

    def _on_mouse_down(self, event: events.MouseDown) -> None:
        # Read before the press moves focus off the list (which closes it): a click on the
        # line of an open drop-down closes it, as Select's does, and does not open it again.
        self._open_at_press = self.is_open

    async def _on_click(self, event: events.Click) -> None:
        if event.widget is not self:
            return  # a click in the open list (it chooses there)
        event.stop()
        if self._open_at_press:
            self._close(refocus=True)
        else:
            await self.action_open()
        self._open_at_press = False

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = event.option_index - (1 if self._allow_blank else 0)
        value = None if index < 0 else self._options[index][1]
        self._close(refocus=True)
        self.value = value

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()  # the list's own business, as Select's

    @on(DropdownList.Closed)
    def _closed(self, event: DropdownList.Closed) -> None:
        event.stop()
        if event.choice_list is self._list:  # not a late word from a list closed before
            self._close(event.refocus)

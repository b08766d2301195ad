"""A checklist of the VGG19 layers: a checkbox each, and a weight once the layer is ticked.

Unticked layers' weight fields are disabled (and skipped by Tab). Ticking a layer gives it
the median weight of the layers already ticked in the list (under the raw loss, as in older
presets, weights differ by orders of magnitude, so 1 would swamp them), or 1 when it is the
first.

The 37 rows (111 widgets) are mounted when the list is first opened, not at start-up, which
keeps the first frame fast; until then the list's value is the layers it was given.

An open list is one stop of Tab until it is entered (Enter, Space or Down; a click on a row
enters it too): Tab then walks its rows, and Escape or leaving it makes it one stop again.
Otherwise its 74 controls would lie between the fields above and below it.
"""

from __future__ import annotations

import contextlib
from statistics import median

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Static

from nst_engine.errors import ConfigError
from nst_engine.settings.config import LayerWeights
from nst_engine.settings.layers import LAYER_NAMES, check_some_layer, parse_layer_weight
from nst_engine.settings.table import BY_NAME
from nst_tui.app.widgets.lines import show


def summarise(pairs: LayerWeights) -> str:
    """`relu4_2` or `relu1_1, relu2_1 +3 more` for a title."""
    names = [layer for layer, weight in pairs if weight > 0]
    if not names:
        return "none"
    if len(names) <= 2:
        return ", ".join(names)
    return f"{', '.join(names[:2])} +{len(names) - 2} more"


ENTER_HINT = "Enter: edit these layers (↑↓ rows, Space ticks, Tab the weight, Esc leaves)"


class LayerChecklist(Vertical, can_focus=True):
    """All 37 layers of one list (content or style) with their weights.

    Up and Down move between the rows (Tab also visits each weight that can be edited).
    """

    DEFAULT_CSS = """
    LayerChecklist {
        height: auto;
    }
    .layer-row {
        height: 1;
    }
    .layer-row Checkbox {
        width: 18;
    }
    .layer-row Input {
        width: 14;
    }
    /* `.layer-list` outweighs the form's `.field-error`, which is indented under a label. */
    LayerChecklist.layer-list > .field-error {
        padding-left: 0;
    }
    LayerChecklist.-invalid > .field-error {
        display: block;
    }
    /* Always there (a line that came and went with the focus would move the rows under a
       click). */
    .layer-hint {
        height: auto;
        color: $text-muted;
    }
    LayerChecklist:focus > .layer-hint {
        color: $text-accent;
    }
    """

    BINDINGS = [
        Binding("down", "move_row(1)", "Next layer", show=False),
        Binding("up", "move_row(-1)", "Previous layer", show=False),
        Binding("enter,space", "enter_list", "Edit the layers", show=False),
        Binding("escape", "leave_list", "Leave the list", show=False),
    ]

    def __init__(self, kind: str, pairs: LayerWeights) -> None:
        super().__init__(id=f"{kind}-layers", classes="layer-list")
        self.kind = kind  # "content" or "style"
        self.setting = BY_NAME[f"{kind}_layers"]  # its row: its errors' words
        self._pairs: LayerWeights = tuple(pairs)  # the value while the rows are not mounted
        self.populated = False
        self.entered = False  # Tab walks the rows (else the list is one stop)

    def compose(self):
        yield Static(ENTER_HINT, classes="layer-hint", markup=False)
        yield Static("", classes="field-error", markup=False)

    # --- one stop until entered ---------------------------------------------------------------

    def allow_focus(self) -> bool:
        return not self.entered

    def allow_focus_children(self) -> bool:
        return self.entered

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_list":
            return self.entered  # else Escape goes on to the app (cancel a run)
        if action == "enter_list":
            return self.has_focus  # Space on a row's checkbox ticks it
        return True

    def action_enter_list(self) -> None:
        """Walk into the rows: the first ticked layer (or the first row) gets the focus."""
        if not self.populated:
            return
        self.entered = True
        rows = [row.query_one(Checkbox) for row in self.query(".layer-row")]
        target = next((checkbox for checkbox in rows if checkbox.value), rows[0])
        self.screen.set_focus(target)

    def action_leave_list(self) -> None:
        self.entered = False
        self.screen.set_focus(self)

    def on_descendant_focus(self) -> None:
        self.entered = True  # by a click, or after Enter

    def on_descendant_blur(self) -> None:
        self.call_after_refresh(self._left_if_focus_outside)

    def _left_if_focus_outside(self) -> None:
        focused = self.screen.focused if self.is_attached else None
        if focused is None or self not in focused.ancestors:
            self.entered = False

    async def populate(self) -> None:
        """Mount the rows (once), ticked and weighted from the current value."""
        if self.populated:
            return
        self.populated = True
        weights = dict(self._pairs)
        rows = []
        for name in LAYER_NAMES:
            ticked = name in weights
            rows.append(
                Horizontal(
                    Checkbox(name, ticked, id=f"{self.kind}-{name}", compact=True),
                    Input(
                        f"{weights[name]:g}" if ticked else "",
                        id=f"{self.kind}-{name}-weight",
                        placeholder="weight",
                        disabled=not ticked,
                        compact=True,
                    ),
                    classes="layer-row",
                )
            )
        await self.mount_all(rows, before=self.query_one(".field-error"))

    def action_move_row(self, step: int) -> None:
        """Focus the checkbox of the row above or below the focused one."""
        focused = self.screen.focused
        if focused is self:
            if step > 0:
                self.action_enter_list()
            else:
                self.screen.focus_previous()
            return
        rows = list(self.query(".layer-row"))
        for index, row in enumerate(rows):
            if focused is not None and focused.parent is row:
                target = rows[max(0, min(len(rows) - 1, index + step))].query_one(Checkbox)
                # At once, not after the queued keys as focus() would: a Space typed right
                # after a Down must tick the row that Down chose.
                self.screen.set_focus(target)
                return

    def _checkbox(self, name: str) -> Checkbox:
        return self.query_one(f"#{self.kind}-{name}", Checkbox)

    def _weight(self, name: str) -> Input:
        return self.query_one(f"#{self.kind}-{name}-weight", Input)

    @on(Checkbox.Changed)
    def _ticked(self, event: Checkbox.Changed) -> None:
        name = str(event.checkbox.label)
        weight = self._weight(name)
        weight.disabled = not event.value
        if event.value and not weight.value.strip():
            weights = []
            for other in LAYER_NAMES:
                if other != name and self._checkbox(other).value:
                    with contextlib.suppress(ConfigError):
                        weights.append(self._parse_weight(other))
            positive = [value for value in weights if value > 0]
            weight.value = f"{median(positive):g}" if positive else "1"

    def _parse_weight(self, name: str) -> float:
        """Layer `name`'s weight as typed, checked as the command line checks it."""
        return parse_layer_weight(self.setting.label, name, self._weight(name).value)

    def value(self) -> LayerWeights:
        """The ticked layers and their weights; ConfigError (also shown here) when not valid."""
        pairs: list[tuple[str, float]] = []
        try:
            if not self.populated:
                pairs = list(self._pairs)
            for name in LAYER_NAMES if self.populated else ():
                if self._checkbox(name).value:
                    pairs.append((name, self._parse_weight(name)))
            check_some_layer(self.setting.name, pairs)
        except ConfigError as error:
            self._show_error(error.message)
            raise
        self._show_error("")
        return tuple(pairs)

    def _show_error(self, text: str) -> None:
        show(self.query_one(".field-error", Static), text)
        self.set_class(bool(text), "-invalid")

    def load(self, pairs: LayerWeights) -> None:
        """Tick exactly these layers with these weights."""
        self._pairs = tuple(pairs)
        if not self.populated:
            return
        weights = dict(pairs)
        for name in LAYER_NAMES:
            ticked = name in weights
            weight = self._weight(name)
            weight.value = f"{weights[name]:g}" if ticked else ""
            weight.disabled = not ticked
            self._checkbox(name).value = ticked

"""A checklist of the VGG19 layers: a checkbox each, and a weight once the layer is ticked.

Unticked layers' weight fields are disabled (and skipped by Tab). Ticking a layer gives it
the median weight of the layers already ticked in the list (the presets' weights differ by
orders of magnitude, so 1 would swamp them), or 1 when it is the first.

The 37 rows (111 widgets) are mounted when the list is first opened, not at start-up, which
keeps the first frame fast; until then the list's value is the layers it was given.
"""

from __future__ import annotations

import contextlib
from statistics import median

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Static

from nst_engine.config import LayerWeights
from nst_engine.errors import ConfigError
from nst_engine.layers import LAYER_NAMES
from nst_engine.values import parse_float


def summarise(pairs: LayerWeights) -> str:
    """`relu4_2` or `relu1_1, relu2_1 +3 more` for a title."""
    names = [layer for layer, weight in pairs if weight > 0]
    if not names:
        return "none"
    if len(names) <= 2:
        return ", ".join(names)
    return f"{', '.join(names[:2])} +{len(names) - 2} more"


class LayerChecklist(Vertical):
    """All 37 layers of one list (content or style) with their weights.

    Up and Down move between the rows (Tab also visits each weight that can be edited).
    """

    BINDINGS = [
        Binding("down", "move_row(1)", "Next layer", show=False),
        Binding("up", "move_row(-1)", "Previous layer", show=False),
    ]

    def __init__(self, kind: str, pairs: LayerWeights) -> None:
        super().__init__(id=f"{kind}-layers", classes="layer-list")
        self.kind = kind  # "content" or "style"
        self._pairs: LayerWeights = tuple(pairs)  # the value while the rows are not mounted
        self.populated = False

    def compose(self):
        yield Static("", classes="field-error", markup=False)

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
        await self.mount_all(rows, before=0)

    def action_move_row(self, step: int) -> None:
        """Focus the checkbox of the row above or below the focused one."""
        focused = self.screen.focused
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
                        weights.append(parse_float("weight", self._weight(other).value, 0.0))
            positive = [value for value in weights if value > 0]
            weight.value = f"{median(positive):g}" if positive else "1"

    def value(self) -> LayerWeights:
        """The ticked layers and their weights; ConfigError (also shown here) when not valid."""
        pairs: list[tuple[str, float]] = []
        try:
            if not self.populated:
                pairs = list(self._pairs)
            for name in LAYER_NAMES if self.populated else ():
                if self._checkbox(name).value:
                    text = self._weight(name).value
                    pairs.append(
                        (name, parse_float(f"weight of {self.kind} layer {name}", text, 0.0))
                    )
            if not any(weight > 0 for _, weight in pairs):
                raise ConfigError(f"choose at least one {self.kind} layer with a weight above 0")
        except ConfigError as error:
            self._show_error(error.message)
            raise
        self._show_error("")
        return tuple(pairs)

    def _show_error(self, text: str) -> None:
        self.query_one(".field-error", Static).update(text)
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

"""A yes/no question in a small dialog: the default button has the focus, Escape says no."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Dismissed with True (yes) or False (no, Escape).

    `default_yes` chooses which button has the focus, so that Enter gives the safe answer
    unless the question is a confirmation of something already asked for (a second Ctrl+Q).
    """

    BINDINGS = [Binding("escape", "answer(False)", "No", priority=True, id="confirm.no")]

    def __init__(
        self,
        question: str,
        yes: str = "Yes",
        no: str = "No",
        *,
        default_yes: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.question = question
        self.yes_label = yes
        self.no_label = no
        self.default_yes = default_yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="confirm-box"):
            yield Static(self.question, classes="confirm-question", markup=False)
            with Horizontal(classes="confirm-buttons"):
                yield Button(self.yes_label, id="confirm-yes", variant="primary", compact=True)
                yield Button(self.no_label, id="confirm-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-yes" if self.default_yes else "#confirm-no", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


SEQUENCE_KEEPS = " (a sequence's frames done, its frame in progress checkpointed)"


def quit_question(running: int = 1, queued: int = 0, sequence: bool = False) -> ConfirmScreen:
    """Ctrl+Q with jobs running or queued: Enter (or a second Ctrl+Q) quits, Escape keeps
    them going. `sequence`: a sequence of frames is among those running."""
    if queued == 0 and running <= 1 and sequence:
        question = (
            "A sequence is going. Quit anyway? Its frames done are kept and the frame in "
            "progress stops after its current iteration, checkpointed (the folder is printed "
            "on exit); Resume in the history (or `nst-tui resume`) goes on from there."
        )
    elif queued == 0 and running <= 1:
        question = (
            "A run is going. Quit anyway? It stops after its current iteration and its image so "
            "far is kept (the path is printed on exit); Resume in the history (or "
            "`nst-tui resume`) finishes it."
        )
    else:
        parts = []
        if running:
            parts.append(f"{running} {'run is' if running == 1 else 'runs are'} going")
        if queued:
            parts.append(f"{queued} {'is' if queued == 1 else 'are'} queued")
        question = (
            f"{' and '.join(parts).capitalize()}. Quit anyway? Running ones stop after their "
            f"current iteration, their images so far kept{SEQUENCE_KEEPS if sequence else ''}; "
            "queued ones stay queued in the history. Resume in the history (or `nst-tui "
            "resume`) takes any of them up."
        )
    return ConfirmScreen(
        question,
        "Quit  ^Q",
        "Keep running  Esc",
        default_yes=True,
        id="confirm-quit",
    )

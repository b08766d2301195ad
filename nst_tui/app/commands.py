"""Every user action in one place: its key, footer label, palette name and help text.

The app's key bindings, the command palette and the help screen are all made from
`APP_COMMANDS`, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from textual.app import SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

# The form's parts that F6 and Shift+F6 walk, in order: each one's name (for the help, the
# palette and the README) and the control that takes the focus (nst_tui/app/screens/main.py).
FORM_SECTIONS = (
    ("preset", "#preset"),
    ("images", "#content"),
    ("look", "#style_weight"),
    ("optimisation", "#iterations"),
    ("machine", "#device"),
    ("content layers", "#content-layers-box CollapsibleTitle"),
    ("style layers", "#style-layers-box CollapsibleTitle"),
    ("Run", "#run"),
)
SECTION_NAMES = ", ".join(name for name, _ in FORM_SECTIONS)


@dataclass(frozen=True)
class AppCommand:
    action: str  # an App action name, without "action_"
    key: str | None  # the key binding (Textual key names), or None for palette only
    label: str  # short, for the footer
    title: str  # for the command palette and the help screen
    help: str
    priority: bool = False  # the key works even when a text field has the focus


APP_COMMANDS: tuple[AppCommand, ...] = (
    AppCommand(
        "run", "ctrl+r", "Run", "Run", "Start styling with the form's settings", priority=True
    ),
    AppCommand(
        "cancel",
        "escape",
        "Cancel",
        "Cancel the run",
        "Stop after the current iteration and keep the partial image",
    ),
    AppCommand("help", "f1", "Help", "Help", "Keys, tips and where files go", priority=True),
    AppCommand(
        "save_preset",
        "ctrl+s",
        "Save preset",
        "Save as preset…",
        "Save the form's settings (not the paths) as a preset of your own",
        priority=True,
    ),
    AppCommand(
        "delete_preset",
        None,
        "",
        "Delete a preset of yours…",
        "Choose one of your own presets and delete it (built-in presets stay)",
    ),
    AppCommand(
        "maximise_preview",
        "ctrl+f",
        "Preview",
        "Maximise the preview",
        "Show the preview full screen (Escape or the same key goes back)",
        priority=True,
    ),
    AppCommand(
        "next_section",
        "f6",
        "Section",
        "Next section of the form",
        f"Jump to the next part: {SECTION_NAMES} (Ctrl+Down too; Shift+F6 or Ctrl+Up goes back)",
        priority=True,
    ),
    AppCommand(
        "previous_section",
        "shift+f6",
        "",
        "Previous section of the form",
        "Jump to the previous part of the form, as F6 goes to the next (Ctrl+Up too)",
        priority=True,
    ),
    AppCommand(
        "history",
        "f3",
        "Runs",  # short: the footer holds every key and the palette in 80 columns
        "History of runs",
        "Past runs: sort, filter, open one (picture, settings, loss curve), load its settings, "
        "run it again, resume or delete it",
        priority=True,
    ),
    AppCommand(
        "toggle_loss_curve",
        "ctrl+l",
        "",
        "Show or hide the loss curve",
        "The loss terms over the iterations, under the progress (shown by itself from 32 rows)",
        priority=True,
    ),
    AppCommand(
        "settings_from_image",
        None,
        "",
        "Load settings from an image…",
        "Choose an image made by nst-tui: the settings it carries (and its images) fill the form",
    ),
    AppCommand(
        "queue",
        "f5",
        "",
        "Queue",
        "The runs of this session: queued, running (progress), ended; show one, cancel one "
        "or all (Ctrl+R during a run queues the form's settings)",
        priority=True,
    ),
    AppCommand(
        "sweep",
        "f4",
        "",
        "Sweep…",
        "Run the form's settings with one or two settings varied and compose a comparison "
        "grid as the cells finish",
        priority=True,
    ),
    AppCommand("quit", "ctrl+q", "Quit", "Quit", "Quit (a run is stopped, its image kept)", True),
    AppCommand(
        "pick_content",
        None,
        "",
        "Pick the content image…",
        "Choose the content image in a file dialog",
    ),
    AppCommand(
        "pick_style", None, "", "Pick the style image…", "Choose the style image in a file dialog"
    ),
    AppCommand(
        "demo_pair",
        None,
        "",
        "Use the demo images",
        "Fill in the built-in demo content and style images",
    ),
    AppCommand(
        "toggle_graphics",
        None,
        "",
        "Preview: switch half-blocks / terminal graphics",
        "Use the terminal's graphics protocol (Kitty, Sixel) for the preview, if it has one",
    ),
    AppCommand(
        "toggle_regions",
        None,
        "",
        "Preview: show / hide the style masks' regions",
        "Tint each style mask's region over the preview in a colour of its own (over the "
        "content until a run shows its picture)",
    ),
)


# Textual's palette commands that the app has its own of: its Quit (the app's asks before
# stopping a run) and its Maximize/Minimize of the focused widget ("Maximise the preview").
# Theme, Keys and Screenshot stay.
TEXTUAL_DUPLICATES = frozenset({"Quit", "Maximize", "Minimize"})


def without_duplicates(commands: Iterable[SystemCommand]) -> Iterable[SystemCommand]:
    """Textual's system commands less those in TEXTUAL_DUPLICATES."""
    return (command for command in commands if command.title not in TEXTUAL_DUPLICATES)


def app_bindings() -> list[Binding]:
    """The key bindings of the app, shown in the footer in this order."""
    return [
        Binding(
            command.key,
            command.action,
            command.label,
            show=bool(command.label),
            priority=command.priority,
        )
        for command in APP_COMMANDS
        if command.key is not None
    ] + [
        # The same jumps on keys that some terminals do not send: shown under F6 only.
        Binding("ctrl+down", "next_section", show=False, priority=True),
        Binding("ctrl+up", "previous_section", show=False, priority=True),
    ]


def key_label(key: str) -> str:
    return "+".join(part.capitalize() if len(part) > 1 else part.upper() for part in key.split("+"))


class AppCommands(Provider):
    """The app's actions in the command palette (the same list as the keys)."""

    def _commands(self):
        for command in APP_COMMANDS:
            if self.app.check_action(command.action, ()) is False:
                continue  # e.g. Cancel while nothing runs
            title = command.title
            if command.key:
                title = f"{title}  ({key_label(command.key)})"
            yield title, command

    async def discover(self) -> Hits:
        for title, command in self._commands():
            yield DiscoveryHit(
                title, partial(self.app.run_action, command.action), help=command.help
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, command in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.app.run_action, command.action),
                    help=command.help,
                )

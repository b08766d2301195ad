"""The help screen: the keys (from the same list as the bindings and the palette) and tips."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from nst_tui.app.commands import APP_COMMANDS, key_label

# The same words in the README (a test holds them to it): tmux passes 24-bit colour on only
# when told the outer terminal has it, and the app draws in 24-bit only when COLORTERM says so.
TRUE_COLOUR_ADVICE = (
    "`export COLORTERM=truecolor` before starting nst-tui; in tmux, also put "
    "`set -as terminal-features ',*:RGB'` in ~/.tmux.conf (tmux 3.2 and later; older tmux: "
    "`set -ga terminal-overrides ',*:Tc'`) and restart tmux (`tmux kill-server`)"
)

TIPS = f"""
## Using the form

- **Tab** / **Shift+Tab** move between fields; **→** at the end of a path accepts the
  completion shown in grey; **…** beside a path opens a file dialog. A name from the
  built-in gallery (`mosaic`, `swirl`, `rocket`...; `nst-tui gallery` lists them) works as
  a path; a file of that name in the current folder wins.
- A field with a problem says so under itself; **Run** stays off, with the reason beside
  it, until every field is valid.
- **Layers**: Enter on *Content layers* or *Style layers* opens the list; Tab goes in,
  Up/Down move between layers, Space ticks one and its weight field becomes editable.
  At least one content and one style layer need a weight above 0.
- **Several styles**: *+ Add a style image* adds another style with its blend weight
  (✕ removes it); the weights are shares of the blend.
- **Look**: *Style weight* is how strongly the style is applied against the content (10 by
  default; layer weights are shares within their list); *Keep colour* `luminance` keeps the
  photo's colours, `histogram` moves the style's colours to the photo's first; *Style
  scale* sees the style image larger (bigger strokes) or smaller; *Style loss* `w2` also
  matches the style's colours and contrasts; *Smoothing* saves an average of the last
  steps. *Init* and *Weights* take a file too: choose the last option.
- **Preset** loads a built-in or saved preset's settings (your images are kept);
  **Save as…** (Ctrl+S) saves the form's settings as your own preset.
- **Large images**: *Min size* above 0 turns on coarse to fine: the run starts at that
  longest side and grows by √2 per scale up to the compute size, each scale starting from
  the last one's result (*Scale iters* iterations each; the last scale runs *Iterations*).
  The line under them lists the scales; the `print` preset uses it for 2048 px.
- **Precision**, **Memory format**, **CUDA graph** (Machine): `auto` picks what measured
  fastest on the device; the others are for comparing.

## During a run

- The form stays usable: changes apply to the next run.
- **Escape** stops after the current iteration and keeps the image so far, beside the
  output. Quitting does the same.
- **Ctrl+F** shows the preview full screen (Escape goes back).
- **Ctrl+R** during a run queues the form's settings: the runs go one after the other (one
  per GPU when there are several), each with its own run folder in the history. **F5**
  lists the queue: Enter shows a running job here, **x** cancels one, **Shift+X** all.
  Quitting with runs going or queued asks first; a stopped run resumes from the history.

## Sweeps

- **F4** opens the sweep screen with the form's settings as the base: choose a setting to
  vary and type its values (`3,10,30`), optionally a second one (the first makes the rows,
  the second the columns), and the grid's path. Names are the run options without dashes
  (`lr`, `iterations`, `style-weight`, `tv-weight`, `style-scale`, `optimizer`, `preset`,
  `style`...) or a layer (`relu4_1`, `content.relu4_2`). **Ctrl+R** (Start) queues one run
  per cell; the grid is written again as each cell finishes, and shown beside the queue.

## History (F3)

- Every run (the app's, `nst-tui run`'s, a sweep's cells) is listed: date, images, key
  settings (a sweep's cell: the values it varies), iterations done, status, time taken,
  and a thumbnail of the highlighted one (below 100 columns, a line under the table says
  what the columns leave out).
- **s** sorts by the next column (**S** reverses; a click on a heading sorts by it);
  **/** filters by text (names, settings such as `optimizer=adam`, status) and the
  drop-down by status; Escape goes back to the list, then to the form.
- **Enter** opens a run: its picture, settings and loss curve. **l** loads its settings
  into the form (with a new output name), **a** runs it again, **r** resumes a stopped or
  interrupted run from its last checkpoint, **d** deletes its folder (asks first; the
  result where you saved it stays). **i**, or *Load settings from an image…* in the
  palette, takes the settings an image made by nst-tui carries.
- The loss curve (total, content, style, tv on a log scale) shows under the progress from
  32 rows up; **Ctrl+L** shows or hides it.

## Terminals

- The preview uses half-block cells (two pixels per cell), which work everywhere, over SSH
  and in tmux. Colours need a true-colour terminal: if the preview looks banded,
  {TRUE_COLOUR_ADVICE}.
- Kitty and Sixel terminals can show a real image: use the command palette (Ctrl+P),
  *Preview: switch half-blocks / terminal graphics* (takes effect at the next start if the
  terminal has not been probed yet).
- To copy a path, select it with the mouse (hold Shift in terminals that need it); the
  paths of the results are also printed when the app quits.
"""


def keys_table() -> str:
    """The keys as lines of text: the key, then what it does (keyed commands first)."""
    return "\n".join(f"{key}  {text}" for key, text in key_rows())


def key_rows() -> list[tuple[str, str]]:
    """(key, what it does) per command: those with a key first, then the palette's own."""
    keyed = [command for command in APP_COMMANDS if command.key]
    palette_only = [command for command in APP_COMMANDS if not command.key]
    rows = [(key_label(str(command.key)), f"{command.title}: {command.help}") for command in keyed]
    rows.append(("Ctrl+P", "Command palette: every action by name, and these:"))
    rows += [("", f"{command.title}: {command.help}") for command in palette_only]
    return rows


def keys_renderable() -> Table:
    """The keys in two columns, each description wrapped beside its key: dense at 80x24."""
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    for key, text in key_rows():
        table.add_row(key, text)
    return table


def files() -> str:
    from nst_engine.store import locations
    from nst_engine.store.runlog import log_path
    from nst_tui.app.remembered import settings_path

    return (
        f"- Run folders (each run's settings, checkpoints, loss history, snapshots): "
        f"`{locations.runs_dir()}` (`NST_TUI_RUNS_DIR` moves them)\n"
        f"- Remembered settings: `{settings_path()}`\n"
        f"- Your presets: `{locations.user_presets_dir()}`\n"
        f"- Log (errors with details): `{log_path()}`"
    )


class HelpScreen(ModalScreen[None]):
    """Keys and tips; Escape or F1 closes it. Below 100x30 it takes the whole screen."""

    BINDINGS = [
        Binding("escape,f1,q", "dismiss", "Close", priority=True, id="help.dismiss"),
    ]
    DEFAULT_CSS = """
    #help-keys-heading {
        text-style: bold;
        padding: 0 1;
    }
    #help-keys {
        padding: 0 1 0 0;
    }
    HelpScreen Markdown {
        margin: 0;
    }
    HelpScreen MarkdownH2 {
        margin: 1 0 0 0;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="help")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "nst-tui help"
            box.border_subtitle = "Esc closes · ↑↓ PgUp PgDn scroll"
            yield Static("Keys", id="help-keys-heading")
            yield Static(keys_renderable(), id="help-keys")
            yield Markdown(f"{TIPS}\n## Files\n\n{files()}\n")

    def on_mount(self) -> None:
        self.on_resize()  # a pushed screen is not always sent a Resize first

    def on_resize(self) -> None:
        width, height = self.app.size
        self.set_class(width < 100 or height < 30, "-small")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

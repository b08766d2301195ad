"""The main screen: the settings form on the left, the run (controls, progress, preview) on the right.

The app's queue (nst_tui/app/run_driver.py) posts its messages here; each one updates the queue's
record of its job, and only those of the run the screen follows (the app's current run)
are shown: a cancelled run's late frames never reach a newer run, and a job the screen does
not follow only says how it ended in a notification.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button

from nst_engine.errors import NSTError
from nst_engine.settings.config import RunConfig
from nst_tui.app.commands import FORM_SECTIONS
from nst_tui.app.messages import (
    JobDone,
    RunBegan,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunFrame,
    RunMessage,
    RunPreview,
    RunProgress,
    RunSnapshot,
    RunStarted,
    RunStatus,
)
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.form import SettingsForm
from nst_tui.app.widgets.form.path_field import ImageField
from nst_tui.app.widgets.keys_footer import KeysFooter
from nst_tui.app.widgets.picture.preview import PreviewPane
from nst_tui.app.widgets.run.run_panel import RunPanel

if TYPE_CHECKING:
    from textual.widgets import Input

    from nst_tui.app.session import Session


class MainScreen(Screen):
    """Form, run panel, preview and the footer with the keys."""

    _frame = ""  # a sequence's frame running, for the preview's caption ("frame 3/8 · ")

    AUTO_FOCUS = "#content"  # a text field with its cursor: the first screen shows where keys go
    # Escape leaves the maximised preview (Textual's own handling, before any binding): the
    # footer says so there, in place of the run's Cancel (see `check_action`).
    BINDINGS = [Binding("escape", "minimize", "Back", id="leave_maximised_preview")]

    def __init__(self, config: RunConfig, output: Path, sequence=None) -> None:
        super().__init__(id="main")
        self._config = config
        self._output = output
        self._sequence = sequence  # SequenceSettings: a sequence's fields start so
        self._focus_before_zoom: Widget | None = None  # restored when the preview goes back
        self._field_at_run: tuple[Input, str] | None = None  # the text field Run came from

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield SettingsForm(self._config, self._output, self._sequence)
            with Vertical(id="run-side"):
                yield RunPanel(id="run-panel")
                yield PreviewPane(id="preview")
        yield KeysFooter(compact=True)  # compact: every key and the palette fit 80 columns

    @property
    def nst_app(self) -> Session:
        return cast("Session", self.app)

    @property
    def form(self) -> SettingsForm:
        return self.query_one(SettingsForm)

    @property
    def panel(self) -> RunPanel:
        return self.query_one(RunPanel)

    @property
    def preview(self) -> PreviewPane:
        return self.query_one(PreviewPane)

    # --- buttons and choices ------------------------------------------------------------------

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.app.run_action("run_or_cancel")

    @on(Button.Pressed, "#save-preset")
    def _save_preset_pressed(self) -> None:
        self.app.run_action("save_preset")

    @on(Button.Pressed, ".browse")
    def _browse_pressed(self, event: Button.Pressed) -> None:
        self.pick((event.button.id or "").removesuffix("-browse"))

    @on(Dropdown.Changed, "#preset")
    def _preset_chosen(self, event: Dropdown.Changed) -> None:
        if event.value is not None:  # None: custom, no preset to load
            self.load_preset(event.value)

    def load_preset(self, name: str) -> None:
        """Fill the form with a preset's settings (the image paths stay)."""
        from nst_engine.settings.presets import load_preset

        try:
            config = load_preset(name, self.form.paths_base())
        except NSTError as error:
            self.notify(error.message, title="Preset not loaded", severity="error", timeout=10)
            self.query_one("#preset", Dropdown).clear()  # the form still has its settings
            return
        self.form.load(config)
        self.notify(f"Loaded the preset '{name}'.", timeout=3)

    def save_preset(self, config: RunConfig) -> None:
        """Ask for a name and save `config`'s settings as a user preset."""
        from nst_engine.settings.presets import save_user_preset
        from nst_tui.app.screens.save_preset import SavePresetScreen

        def save(name: str | None) -> None:
            if not name:
                return
            try:
                path = save_user_preset(name, config)
            except NSTError as error:
                self.notify(error.message, title="Preset not saved", severity="error")
                return
            self.form.refresh_presets(select=name)
            self.notify(f"Saved the preset '{name}' ({path}).", title="Preset")

        self.app.push_screen(SavePresetScreen(), save)

    def pick(self, name: str) -> None:
        """Choose an image (content, a style or the init image) in the file dialog."""
        from nst_tui.app.screens.file_picker import FilePickerScreen

        field = self.form.query_one(f"#{name}-field", ImageField)  # a mask too

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.form.set_path(name, path)

        self.app.push_screen(FilePickerScreen(f"Choose the {field.role}", field.path), chosen)

    def use_demo_pair(self) -> None:
        from nst_engine.settings.gallery import demo_pair

        content, style = demo_pair()
        self.form.set_path("content", content)
        self.form.set_path("style", style)

    # The form's parts, in order, each named by the control that gets the focus.
    SECTIONS = tuple(selector for _, selector in FORM_SECTIONS)

    def jump_section(self, step: int) -> None:
        """Focus the first control of the next (+1) or previous (-1) part of the form: from
        anywhere in a part, the start of the part after it or before it."""
        if self.maximized is not None:
            return
        chain = self.focus_chain
        starts = [widget for selector in self.SECTIONS for widget in self.query(selector)]
        starts = [widget for widget in starts if widget in chain]
        if not starts:
            return
        starts.sort(key=chain.index)
        position = chain.index(self.focused) if self.focused in chain else -1
        # The part holding the focus: the last one that starts at or before it.
        current = max(
            (index for index, start in enumerate(starts) if chain.index(start) <= position),
            default=-1,
        )
        if current < 0 and step < 0:
            current = 0  # before the first part: back to the last
        starts[(current + step) % len(starts)].focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "minimize":
            return self.maximized is not None
        return True

    def toggle_preview_size(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        self._focus_before_zoom = self.focused
        if self.maximize(self.preview, container=False):
            # The form is hidden behind the zoom: Textual would move the focus to one of its
            # hidden controls (keys typed there went into a field no one could see).
            self.set_focus(None)
        self.refresh_bindings()

    def minimize(self) -> None:
        """Back from the maximised preview (Ctrl+F, or Escape: Textual calls this directly),
        the focus where it was before."""
        super().minimize()
        widget, self._focus_before_zoom = self._focus_before_zoom, None
        if widget is not None:
            self.call_after_refresh(self._focus_again, widget)
        self.refresh_bindings()

    def run_starts(self) -> None:
        """Ctrl+R: remember the text field the user is in, and its value (`after_run_focus`)."""
        from textual.widgets import Input

        focused = self.focused
        self._field_at_run = (focused, focused.value) if isinstance(focused, Input) else None

    def after_run_focus(self) -> None:
        """After a run the focus stays where the user left it. The text field they ran from,
        untouched since, has its text selected: what is typed next replaces the value ("10"
        typed into Iterations made "2010", the cursor left at the end), while an arrow key or
        Home still edits it. A value typed during the run is left as it is."""
        remembered, self._field_at_run = self._field_at_run, None
        if remembered is None:
            return
        field, value = remembered
        if self.focused is field and field.value == value and value:
            field.select_all()

    def _focus_again(self, widget: Widget) -> None:
        if widget.is_attached and self.focused is None and self.maximized is None:
            self.set_focus(widget, scroll_visible=False)

    # --- messages from the run worker ---------------------------------------------------------

    def _current(self, message: RunMessage) -> bool:
        return message.run_number == self.nst_app.current_run_number and not self.nst_app.closing

    def on_run_began(self, message: RunBegan) -> None:
        self.nst_app.job_message(message)  # a queued job starts: shown if nothing else is
        if self._current(message):
            self.panel.began()  # its clock starts

    def on_job_done(self, message: JobDone) -> None:
        self.nst_app.job_message(message)  # after its end was shown: the next job, if any

    def _in_sweep(self, message: RunMessage) -> bool:
        entry = self.nst_app.jobs.get(message.run_number)
        return entry is not None and entry.sweep is not None

    def on_run_status(self, message: RunStatus) -> None:
        if self._current(message) and self.nst_app.running:
            self.panel.status(message.text)

    def on_run_started(self, message: RunStarted) -> None:
        self.nst_app.job_message(message)
        if self._current(message):
            self.panel.started(message)

    def on_run_progress(self, message: RunProgress) -> None:
        self.nst_app.job_message(message)
        if self._current(message):
            self.panel.progress(message)

    def on_run_frame(self, message: RunFrame) -> None:
        if self._current(message):
            self.panel.frame_started(message)
            self._frame = f"frame {message.number}/{message.total} · "

    def on_run_preview(self, message: RunPreview) -> None:
        if self._current(message):
            self.preview.show_frame(message)
            entry = self.nst_app.jobs.get(message.run_number)
            frame = self._frame if entry is not None and entry.sequence else ""
            self.preview.caption(f"Run {message.run_number}: {frame}iteration {message.index}")

    def on_run_snapshot(self, message: RunSnapshot) -> None:
        self.nst_app.job_message(message)
        if self._current(message):
            self.panel.status(f"snapshot at iteration {message.index}: {message.path}")

    def on_run_finished(self, message: RunFinished) -> None:
        if self.nst_app.closing:
            return
        if not self._current(message):
            if not self._in_sweep(message):  # the sweep screen shows its own cells
                self.notify(f"Run {message.run_number} finished: {message.path}", timeout=8)
            return
        self.panel.finished(message)
        picture = message.last_frame if message.frames else message.path
        if picture is not None and picture.is_file():  # a video output keeps no frame file
            self.preview.show_file(picture)
        self.preview.caption(f"Run {message.run_number}: finished, {message.path.name}")
        self.nst_app.run_ended()

    def on_run_cancelled(self, message: RunCancelled) -> None:
        if self.nst_app.closing:
            return
        if not self._current(message):
            if message.partial_path is not None and not self._in_sweep(message):
                self.notify(
                    f"Run {message.run_number} stopped after {message.index} iterations; "
                    f"its image: {message.partial_path}",
                    timeout=8,
                )
            return
        self.panel.cancelled(message)
        where = f"frame {message.index + 1}" if message.frames else f"iteration {message.index}"
        self.preview.caption(f"Run {message.run_number}: cancelled at {where}")
        self.nst_app.run_ended()

    def on_run_failed(self, message: RunFailed) -> None:
        app = self.nst_app
        if not self._current(message) and not app.closing:
            if self._in_sweep(message):
                return  # the sweep screen shows its cells
            if app.running:
                self.notify(
                    f"Run {message.run_number} failed: {message.text}", severity="error", timeout=10
                )
                return
            # Nothing runs here (a queued job, a resume, failed as it began): its failure is
            # the news, on the panel rather than in a notice that passes.
            app.current_run_number = message.run_number
        if self._current(message):
            self.panel.failed(message)
            self.preview.caption(f"Run {message.run_number}: failed")
            self.nst_app.run_ended()

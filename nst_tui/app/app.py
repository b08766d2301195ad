"""The Textual app: the main screen, the actions, and the threads the engine works on.

Threading (docs/ARCHITECTURE.md): every run is a job of the app's queue
(nst_tui/app/run_driver.py over the engine's JobQueue, nst_engine/jobs/queue.py): Run (Ctrl+R) puts
the form's settings in the queue with a run folder of their own (nst_engine/store/run_folder.py); with
several CUDA devices one job runs per device at once, else one after the other. After Cancel,
Run is off ("Stopping…") until the run has finished its iteration and saved. The main
screen follows one running job (`current_run_number`; nst_tui/app/queue_actions.py); the queue screen (F5)
lists them all.
torch is imported off the interface's thread, after the first frame is painted.

Quitting (Ctrl+Q, SIGTERM, or SIGHUP when the terminal goes away) stops the running jobs
after their current iteration, saving the image so far beside the output and a checkpoint
in the run folder (resumable from the history); waiting jobs stay in the history as
queued. The process waits for those saves before it ends and says where the images are
(nst_tui/app/quitting.py).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import signal
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from nst_engine.settings.config import RunConfig
from nst_tui.app.commands import AppCommands, app_bindings, without_duplicates
from nst_tui.app.engine_thread import EngineThread, probe_devices
from nst_tui.app.messages import FormChecked
from nst_tui.app.queue_actions import QueueActions
from nst_tui.app.quitting import STOP_SIGNALS, Quitting
from nst_tui.app.remembered import Remembered, load_remembered, save_remembered
from nst_tui.app.run_driver import QueueDriver
from nst_tui.app.screens.main import MainScreen
from nst_tui.app.screens.queue import QueueEntry
from nst_tui.app.textual_driver import stop_reading_a_gone_terminal
from nst_tui.app.widgets.run.estimate import EstimateLine

MAIN_SCREEN_ACTIONS = (
    "next_section",
    "previous_section",
    "run",
    "queue_run",
    "cancel",
    "save_preset",
    "delete_preset",
    "maximise_preview",
    "pick_content",
    "pick_style",
    "sweep",
    "history",
    "toggle_loss_curve",
    "settings_from_image",
)
PROBE_DELAY = 1.0  # seconds after the first frame before torch is imported (device list)

log = logging.getLogger("nst.app")

if TYPE_CHECKING:
    from nst_engine.sweeps.sweep import SweepGrid


class NSTApp(QueueActions, Quitting, App[int], inherit_bindings=False):
    """nst-tui: neural style transfer in the terminal."""

    TITLE = "nst-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    # Our own list only (in footer order), plus Textual's "Ctrl+C: press Ctrl+Q to quit" hint.
    BINDINGS = [
        *app_bindings(),
        Binding("ctrl+c", "help_quit", show=False, system=True),
        # Ctrl+R during a run (when "run" is off, so the footer shows Cancel): queue the form.
        Binding("ctrl+r", "queue_run", show=False, priority=True),
    ]
    COMMANDS = App.COMMANDS | {AppCommands}

    def __init__(
        self, remembered: Remembered | None = None, folder: Path | None = None, cluster=None
    ) -> None:
        super().__init__()
        self.cluster = cluster  # `nst-tui --cluster ADDRESS`: the queue's jobs run there
        self.remembered = remembered or load_remembered()
        self.folder = folder or Path.cwd()  # where proposed output names go
        self.preview_mode = self.remembered.preview_mode
        self.current_run_number = 0  # the run the screen shows (0: none yet)
        self.running = False  # the current run is going (not finished, failed or cancelled)
        self.cancelling = False  # ...and told to stop: it finishes its iteration first
        self.form_state = FormChecked(None, "checking the form…")
        self.session_results: list[str] = []  # printed when the app has quit
        self._run_numbers = itertools.count(1)
        self.jobs: dict[int, QueueEntry] = {}  # this session's jobs by run number, oldest first
        self.sweeps: dict[str, SweepGrid] = {}  # this session's sweeps by id (their grids)
        # The app's own torch work (importing torch, listing the devices, measuring their rate
        # for the estimate) goes to this thread, below the interface's priority; quitting
        # never waits for it (nst_tui/app/engine_thread.py). Runs are jobs of the engine's
        # queue, on its worker threads (one per GPU, else one) or a cluster's workers; the
        # queue's consumer thread makes their preview frames while the run waits for its next
        # event (nst_tui/app/run_driver.py). Two OpenMP teams computing at once in a process
        # cost runs 20-40 % on a small CPU, so no measurement starts while a run goes on
        # (benchmarks/app_vs_headless.py measures the app against a headless run).
        self._engine_thread = EngineThread()
        self.stopping = threading.Event()  # set by a stop signal: every job stops, whatever else
        self._queue = QueueDriver(
            self._post, lambda: self._preview, self.session_results, self.stopping, cluster
        )
        self.stop_signal: signal.Signals | None = None  # what made the app quit, if a signal
        self._previous_handlers: dict[int, object] = {}

    def _handle_exception(self, error: Exception) -> None:
        """An exception nothing caught (a bug): its traceback goes to the log file first.

        Textual then ends the app with the traceback on the terminal; a run going on stops
        after its iteration with its image and checkpoint kept (on_unmount), as on Ctrl+Q.
        Widgets that draw with code that may fail catch their own (widgets/drawing.py), so a
        failed drawing never gets here.
        """
        log.error("internal error in the interface", exc_info=error)
        super()._handle_exception(error)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette commands, less those the app has its own of (commands.py)."""
        return without_duplicates(super().get_system_commands(screen))

    def get_default_screen(self) -> Screen:
        from nst_engine.running.outputs import default_output_path

        config = self.remembered.config
        output = default_output_path(config.inputs.content, config.inputs.style, self.folder)
        self._main = MainScreen(config, output, self.remembered.sequence)
        return self._main

    @property
    def main(self) -> MainScreen:
        """The main screen (under any dialog that is open)."""
        return self._main

    async def on_mount(self) -> None:
        from nst_engine.store.runlog import setup_logging

        setup_logging()
        import asyncio

        self._event_loop = asyncio.get_running_loop()
        # Plain handlers, not the event loop's: they must work while the interface is stuck.
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous_handlers[number] = signal.signal(number, self._stop_on_signal)
        stop_reading_a_gone_terminal(self)

    def on_unmount(self) -> None:
        # However the app ends (a test's end too), no job goes on without it, and nothing
        # waits for the engine thread's other work (asyncio's end waits for every thread
        # worker, and one waiting for a 30-second measurement held the exit that long).
        self._queue.shut_down()
        self._engine_thread.abandon()
        for number, handler in self._previous_handlers.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        self._previous_handlers.clear()

    async def on_ready(self) -> None:
        # torch takes the interpreter for a second or more: let the first frames settle first.
        self.set_timer(PROBE_DELAY, self._probe_devices)
        if self.remembered.problems:
            self.notify(
                "These remembered settings could not be read and are back to their defaults: "
                + ", ".join(self.remembered.problems),
                title="Settings",
                severity="warning",
                timeout=10,
            )
        if self.preview_mode == "graphics" and not await self.main.preview.set_graphics(True):
            self.notify("No terminal graphics found here: the preview uses half-blocks.")

    # --- background probes ------------------------------------------------------------------

    @work(thread=True, group="probe", exit_on_error=False)
    def _probe_devices(self) -> None:
        # torch (1-2 s to import) loads here, on the engine thread, after the first frame.
        try:
            devices = self._engine_thread.submit(probe_devices).result()
        except Exception:
            log.exception("probing the devices failed")
            return
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self._devices_found, devices)

    def _devices_found(self, devices: list[tuple[str, str]]) -> None:
        if self.closing:
            return
        missing = self.main.form.set_devices(devices)
        if missing:
            self.notify(
                f"The device {missing} (remembered from an earlier session) is not on this "
                "machine: using auto (the first GPU, else the CPU) instead.",
                title="Device",
                severity="warning",
                timeout=10,
            )

    def _post(self, message: Message) -> None:
        """Post to the main screen from a worker thread; nothing once the app has closed."""
        with contextlib.suppress(RuntimeError):
            self._main.post_message(message)

    # --- the form ---------------------------------------------------------------------------

    @property
    def closing(self) -> bool:
        """Quitting: the screens are going away, so messages are no longer shown."""
        main = getattr(self, "_main", None)
        return self._exit or self._closing or main is None or not main.is_attached

    def on_form_checked(self, message: FormChecked) -> None:
        self.form_state = message
        if not self.running and not self.closing:
            self.main.panel.set_ready(message.problem)
            self.main.query_one(EstimateLine).form_checked(message)  # time, memory, warnings

    # --- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_SCREEN_ACTIONS and self._in_dialog():
            return False  # e.g. Ctrl+R while choosing a file
        if action == "run":
            return not self.running
        if action == "cancel":  # Escape: not while the preview is maximised (it goes back)
            main = getattr(self, "_main", None)
            zoomed = main is not None and main.maximized is not None
            return self.running and not self.cancelling and not zoomed
        if action == "queue_run":
            return self.running and not self.cancelling
        return True

    def _in_dialog(self) -> bool:
        from textual.command import CommandPalette
        from textual.screen import ModalScreen

        stack = self.screen_stack
        screen = (
            stack[-2] if isinstance(stack[-1], CommandPalette) and len(stack) > 1 else stack[-1]
        )
        # A dialog, or another full screen (the history): the form is not in front.
        return isinstance(screen, ModalScreen) or screen is not getattr(self, "_main", screen)

    def action_run_or_cancel(self) -> None:
        if self.running:
            self.action_cancel()
        else:
            self.action_run()

    def action_queue_run(self) -> None:
        """Ctrl+R during a run: the form's settings wait in the queue."""
        self.action_run()

    def action_run(self) -> None:
        """Run the form's settings now, or queue them after the jobs already there."""
        self.form_state = self.main.form.check() or self.form_state  # the very latest values
        config = self.form_state.config
        if config is None:
            self.bell()
            self.notify(self.form_state.problem, title="Cannot run yet", severity="warning")
            return
        sequence = self.form_state.sequence  # the content is a video or a folder of frames

        def start(config: RunConfig) -> int:
            return self.start_run(config, sequence)

        if self.main.query_one(EstimateLine).ask_before_run(config, start):
            return  # it needs more memory than is free: a dialog asks, and starts the run
        start(config)

    def start_run(self, config: RunConfig, sequence=None) -> int:
        """Queue a run of the form's `config` (it starts at once when nothing runs), or of
        the sequence of its content's frames with `sequence` (SequenceSettings); its run
        id (0 when its run folder could not be made: a notification says why)."""
        save_remembered(config, self.preview_mode, sequence=sequence)
        if not self.running:
            self.main.run_starts()  # the field the user is in, for after the run
        entry = self._enqueue(config, sequence=sequence)
        if entry is None:
            return 0
        return entry.run_number

    def action_help(self) -> None:
        from nst_tui.app.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen())

    def action_history(self) -> None:
        from nst_tui.app.screens.history import HistoryScreen

        self.push_screen(HistoryScreen())

    def action_toggle_loss_curve(self) -> None:
        self.main.panel.toggle_curve()

    def action_settings_from_image(self) -> None:
        from nst_tui.app.screens.run_actions import choose_image_for_settings

        choose_image_for_settings(self)

    def action_save_preset(self) -> None:
        config = self.form_state.config
        if config is None:
            self.notify(self.form_state.problem, title="Fix the form first", severity="warning")
            return
        self.main.save_preset(config)

    def action_delete_preset(self) -> None:
        from nst_tui.app.screens.delete_preset import delete_a_preset

        delete_a_preset(self, self.main.form.refresh_presets)

    def action_maximise_preview(self) -> None:
        self.main.toggle_preview_size()

    def action_next_section(self) -> None:
        self.main.jump_section(1)

    def action_previous_section(self) -> None:
        self.main.jump_section(-1)

    def action_pick_content(self) -> None:
        self.main.pick("content")

    def action_pick_style(self) -> None:
        self.main.pick("style")

    def action_demo_pair(self) -> None:
        self.main.use_demo_pair()

    async def action_toggle_graphics(self) -> None:
        """Switch the preview between half-blocks and the terminal's graphics (remembered);
        the terminal is asked now which graphics it draws."""
        from nst_tui.app.terminal import ask_graphics_while_running

        wanted = self.preview_mode != "graphics"
        self.preview_mode = "graphics" if wanted else "cells"
        asked = wanted and ask_graphics_while_running(self)
        shown = await self.main.preview.set_graphics(wanted)
        self.remember_form()
        if not wanted:
            self.notify("Preview: half-blocks.")
        elif shown:
            self.notify("Preview: terminal graphics.")
        else:
            where = "" if asked else " (it could not be asked here; the next start asks)"
            self.notify(
                f"No graphics protocol (Kitty, Sixel) in this terminal{where}: the preview "
                "stays in half-blocks.",
                title="Preview",
            )

    def action_toggle_regions(self) -> None:
        from nst_tui.app.regions_view import toggle_regions

        toggle_regions(self)

    def run_ended(self) -> None:
        """The current run finished, failed or stopped: ready for the next one."""
        self.running = self.cancelling = False
        if self.closing:
            return
        self.main.panel.set_ready(self.form_state.problem)
        self.main.form.after_run()
        self.main.after_run_focus()
        self.refresh_bindings()

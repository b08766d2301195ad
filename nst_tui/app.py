"""The Textual app: the main screen, the actions, and the worker thread that runs the engine.

Threading (docs/ARCHITECTURE.md): a run is a Textual thread worker started here, on the App;
it has the app's one engine thread do the run and waits for it. The run pulls the engine's
events, checks between two events whether its worker was cancelled (and then closes the
run, which saves the partial image), and posts messages that carry its run id, throttled by
time: progress about ten times a second, preview frames a few times a second, the last step
always. Preview frames are built there; the interface only paints. A lock keeps runs one at
a time, so Run, Cancel, Run cannot overlap: the second waits for the first to finish
stopping. torch is imported on the engine thread only, after the first frame is painted.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

from nst_engine.config import RunConfig
from nst_engine.errors import NSTError
from nst_tui.commands import AppCommands, app_bindings
from nst_tui.messages import (
    FormChecked,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunPreview,
    RunProgress,
    RunSnapshot,
    RunStarted,
    RunStatus,
)
from nst_tui.screens.main import MainScreen
from nst_tui.settings import Remembered, load_remembered, save_remembered

PROGRESS_INTERVAL = 0.1  # seconds between progress messages (each reads the losses)
PREVIEW_INTERVAL = 0.3  # seconds between preview frames, at least
PREVIEW_COST_RATIO = 50  # ...and 50 times what making the last one took (at most 1 s)
MAIN_SCREEN_ACTIONS = (
    "run",
    "cancel",
    "save_preset",
    "maximise_preview",
    "pick_content",
    "pick_style",
)
PROBE_DELAY = 1.0  # seconds after the first frame before torch is imported (device list)

log = logging.getLogger("nst.app")


class NSTApp(App[int], inherit_bindings=False):
    """nst-tui: neural style transfer in the terminal."""

    TITLE = "nst-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    # Our own list only (in footer order), plus Textual's "Ctrl+C: press Ctrl+Q to quit" hint.
    BINDINGS = [*app_bindings(), Binding("ctrl+c", "help_quit", show=False, system=True)]
    COMMANDS = App.COMMANDS | {AppCommands}

    def __init__(self, remembered: Remembered | None = None, folder: Path | None = None) -> None:
        super().__init__()
        self.remembered = remembered or load_remembered()
        self.folder = folder or Path.cwd()  # where proposed output names go
        self.preview_mode = self.remembered.preview_mode
        self.current_run_id = 0  # the run the screen shows (0: none yet)
        self.running = False  # the current run is going (not finished, failed or cancelled)
        self.form_state = FormChecked(None, "checking the form…")
        self.session_results: list[str] = []  # printed when the app has quit
        self._run_ids = itertools.count(1)
        self._engine_lock = threading.Lock()
        # Every torch call of the app happens on this one thread. OpenMP gives each thread
        # that computes its own team of threads; with two teams in a process it manages more
        # threads than there are cores and stops spinning between operations, which made
        # runs 20-40 % slower here (benchmarks/app_vs_headless.py). Textual's thread workers
        # come from a pool, so a run's worker hands the run to this thread and waits.
        self._engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nst-engine")
        self._run_worker: Worker | None = None

    def get_default_screen(self) -> Screen:
        from nst_engine.outputs import default_output_path

        config = self.remembered.config
        output = default_output_path(config.content, config.style, self.folder)
        self._main = MainScreen(config, output)
        return self._main

    @property
    def main(self) -> MainScreen:
        """The main screen (under any dialog that is open)."""
        return self._main

    async def on_mount(self) -> None:
        from nst_engine.runlog import setup_logging

        setup_logging()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            import asyncio

            loop = asyncio.get_running_loop()
            for number in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(number, lambda: self.call_next(self.action_quit))

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
            devices = self._engine_thread.submit(self._available_devices).result()
        except Exception:
            log.exception("probing the devices failed")
            return
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self.main.form.set_devices, devices)

    @staticmethod
    def _available_devices() -> list[tuple[str, str]]:
        from nst_engine.transfer import available_devices

        return available_devices()

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

    # --- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_SCREEN_ACTIONS and self._in_dialog():
            return False  # e.g. Ctrl+R while choosing a file
        if action == "run":
            return not self.running
        if action == "cancel":
            return self.running
        return True

    def _in_dialog(self) -> bool:
        from textual.command import CommandPalette
        from textual.screen import ModalScreen

        screen = self.screen
        return isinstance(screen, ModalScreen) and not isinstance(screen, CommandPalette)

    def action_run_or_cancel(self) -> None:
        if self.running:
            self.action_cancel()
        else:
            self.action_run()

    def action_run(self) -> None:
        if self.running:
            return
        self.form_state = self.main.form.check() or self.form_state  # the very latest values
        config = self.form_state.config
        if config is None:
            self.bell()
            self.notify(self.form_state.problem, title="Cannot run yet", severity="warning")
            return
        self.start_run(config)

    def start_run(self, config: RunConfig) -> int:
        """Start a run of `config` in the worker; its run id."""
        run_id = next(self._run_ids)
        self.current_run_id = run_id
        self.running = True
        self._preview = self.main.preview  # for the worker thread, which must not query the DOM
        panel = self.main.panel
        panel.set_running()
        panel.start(config.iterations)
        self.main.preview.caption(f"Run {run_id}: starting…")
        self.refresh_bindings()
        save_remembered(config, self.preview_mode)
        self._run_worker = self._run_engine(config, run_id)
        return run_id

    def action_cancel(self) -> None:
        if not self.running or self._run_worker is None:
            return
        self._run_worker.cancel()
        self.running = False
        self.main.panel.status("cancelling: stopping after this iteration, keeping the image…")
        self.main.panel.set_ready(self.form_state.problem)
        self.refresh_bindings()

    async def action_quit(self) -> None:
        """Quit now; a run stops after its current iteration (its image kept) as the app exits."""
        message = None
        if self.running and self._run_worker is not None:
            self._run_worker.cancel()
            # Printed as soon as the terminal is restored; the partial's path follows.
            message = "nst-tui: stopping the run after its current iteration, keeping its image…"
        save_remembered(self.form_state.config, self.preview_mode)
        self.exit(0, message=message)

    def action_help(self) -> None:
        from nst_tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen())

    def action_save_preset(self) -> None:
        config = self.form_state.config
        if config is None:
            self.notify(self.form_state.problem, title="Fix the form first", severity="warning")
            return
        self.main.save_preset(config)

    def action_maximise_preview(self) -> None:
        self.main.toggle_preview_size()

    def action_pick_content(self) -> None:
        self.main.pick("content")

    def action_pick_style(self) -> None:
        self.main.pick("style")

    def action_demo_pair(self) -> None:
        self.main.use_demo_pair()

    async def action_toggle_graphics(self) -> None:
        """Switch the preview between half-blocks and the terminal's graphics (remembered)."""
        wanted = self.preview_mode != "graphics"
        self.preview_mode = "graphics" if wanted else "cells"
        shown = await self.main.preview.set_graphics(wanted)
        save_remembered(self.form_state.config, self.preview_mode)
        if not wanted:
            self.notify("Preview: half-blocks.")
        elif shown:
            self.notify("Preview: terminal graphics.")
        else:
            self.notify(
                "No graphics protocol found in this terminal (it is asked when nst-tui starts): "
                "half-blocks for now; the next start asks again.",
                title="Preview",
            )

    # --- the run worker (a thread) --------------------------------------------------------------

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def _run_engine(self, config: RunConfig, run_id: int) -> None:
        worker = get_current_worker()
        if not self._engine_lock.acquire(blocking=False):
            self._post(RunStatus(run_id, "waiting for the previous run to stop…"))
            while not self._engine_lock.acquire(timeout=0.05):
                if worker.is_cancelled:
                    self._post(RunCancelled(run_id, 0, None))
                    return
        try:
            self._engine_thread.submit(self._drive, config, run_id, worker).result()
        finally:
            self._engine_lock.release()

    def _drive(self, config: RunConfig, run_id: int, worker: Worker) -> None:
        """Pull the run's events and turn them into messages (on the engine thread)."""
        from nst_engine.events import Finished, Snapshot, Started, Status, Step
        from nst_engine.transfer import run  # torch: imported here, on the engine thread
        from nst_tui.widgets.cells import CellBuilder

        builder = CellBuilder()
        started_at = time.perf_counter()
        last_progress = last_preview = 0.0
        preview_interval = PREVIEW_INTERVAL
        try:
            with run(config) as events:
                for event in events:
                    if worker.is_cancelled:
                        cancelled = events.cancel()
                        index = cancelled.index if cancelled else 0
                        partial = cancelled.partial_path if cancelled else None
                        if partial is not None:
                            self.session_results.append(f"partial ({index} iterations): {partial}")
                        self._post(RunCancelled(run_id, index, partial))
                        return
                    if isinstance(event, Step):
                        now = time.perf_counter()
                        last = event.index == event.total
                        if last or now - last_progress >= PROGRESS_INTERVAL:
                            last_progress = now
                            elapsed = max(now - started_at, 1e-9)
                            self._post(
                                RunProgress(
                                    run_id,
                                    event.index,
                                    event.total,
                                    elapsed,
                                    event.index / elapsed,
                                    event.loss_values(),
                                )
                            )
                        if last or now - last_preview >= preview_interval:
                            self._post(self._preview_frame(run_id, event, builder))
                            last_preview = time.perf_counter()
                            # Big frames (a maximised preview) cost more to build and more
                            # again to paint: space them out so both stay a few percent.
                            cost = PREVIEW_COST_RATIO * (last_preview - now)
                            preview_interval = min(max(PREVIEW_INTERVAL, cost), 1.0)
                    elif isinstance(event, Status):
                        self._post(RunStatus.of(run_id, event))
                    elif isinstance(event, Started):
                        started_at = time.perf_counter()
                        self._post(RunStarted.of(run_id, event))
                    elif isinstance(event, Snapshot):
                        self._post(RunSnapshot.of(run_id, event))
                    elif isinstance(event, Finished):
                        self.session_results.append(f"result: {event.path}")
                        self._post(RunFinished.of(run_id, event))
        except NSTError as error:
            self._post(RunFailed(run_id, error.title, error.message))
        except Exception as error:
            # A bug: the traceback goes to the log, a short line to the screen.
            log.exception("internal error during run %d", run_id)
            from nst_engine.runlog import log_path

            self._post(
                RunFailed(
                    run_id,
                    "Internal error",
                    f"{type(error).__name__}: {error} (details in {log_path()})",
                    internal=True,
                )
            )

    def _preview_frame(self, run_id: int, step, builder) -> RunPreview:
        """Resize on the run's device and build the cells, here on the engine thread."""
        mode, width, height = self._preview.frame_request()
        image = step.preview(width, height)
        strips = builder.build(image) if mode == "cells" else None
        return RunPreview(run_id, step.index, image, strips)

    def run_ended(self) -> None:
        """The current run finished, failed or stopped: ready for the next one."""
        self.running = False
        if self.closing:
            return
        self.main.panel.set_ready(self.form_state.problem)
        self.main.form.after_run()
        self.refresh_bindings()


def probe_graphics() -> None:
    """Let textual-image ask the terminal about graphics, which it can do only before Textual starts."""
    with contextlib.suppress(Exception):
        import textual_image.widget  # noqa: F401  (the import is the probe)


def run_app() -> int:
    """Run the app until it quits; the exit code."""
    remembered = load_remembered()
    if remembered.preview_mode == "graphics" or os.environ.get("NST_TUI_PREVIEW") == "graphics":
        probe_graphics()
    app = NSTApp(remembered)
    app.run()
    for line in app.session_results:
        print(line)
    return app.return_code or 0

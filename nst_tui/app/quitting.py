"""How the app quits: Ctrl+Q (asking first while jobs run or wait), SIGTERM, or SIGHUP when
the terminal goes away. Running jobs stop after their current iteration, their images and
checkpoints kept; waiting ones stay queued in the history. A stop signal does not ask, and a
watchdog ends the process once the images are saved should the interface not close.

`Quitting` is a part of `NSTApp` (nst_tui/app/app.py), as `QueueActions` is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from typing import TYPE_CHECKING

from nst_tui.app.remembered import save_remembered
from nst_tui.app.screens.queue import QueueEntry, queue_counts
from nst_tui.app.textual_driver import keep_output_from_blocking

if TYPE_CHECKING:
    import asyncio

    from nst_tui.app.engine_thread import EngineThread
    from nst_tui.app.messages import FormChecked
    from nst_tui.app.run_driver import QueueDriver

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # quit as Ctrl+Q does (SIGHUP: terminal gone)
STOPPING_WAIT = 30.0  # seconds the quitting app waits for a stopping run to save its image
STOP_GRACE = 2.0  # seconds after that for the interface to close before the process just ends

log = logging.getLogger("nst.app")


def thread_stacks() -> str:
    """Where every thread of the process is now (for the log, when something is stuck)."""
    import sys
    import traceback

    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(
        f"{names.get(ident, ident)}:\n" + "".join(traceback.format_stack(frame)).rstrip()
        for ident, frame in sys._current_frames().items()
    )


class Quitting:
    """Quitting, by a key or a signal: the way out of `NSTApp`."""

    jobs: dict[int, QueueEntry]  # this session's jobs by run number, oldest first
    running: bool  # the current run is going (not finished, failed or cancelled)
    form_state: FormChecked  # the form as last checked (remembered as the app quits)
    preview_mode: str  # "cells" or "graphics" (remembered too)
    stop_signal: signal.Signals | None  # what made the app quit, if a signal
    stopping: threading.Event  # set by a stop signal: every job stops, whatever else
    _queue: QueueDriver
    _engine_thread: EngineThread
    _event_loop: asyncio.AbstractEventLoop

    def _sequence_running(self) -> bool:
        return any(job.open and job.sequence is not None for job in self.jobs.values())

    def remember_form(self) -> None:
        """The form as last checked (a sequence's fields too) and the preview's mode, for the
        next start (settings.toml)."""
        state = self.form_state
        save_remembered(state.config, self.preview_mode, sequence=state.sequence)

    def _stop_on_signal(self, number: int, frame: object = None) -> None:
        """SIGTERM, or SIGHUP (a dropped SSH session): quit as Ctrl+Q does, keeping the image.

        Once the terminal has gone, Textual's output thread dies on its next write, and the
        writes after it block for good once its queue is full: the interface got stuck
        before it quit (nst_tui/app/textual_driver.py). So that queue is emptied from now on,
        the run is told to stop here, directly, and a watchdog still ends the process when
        the image is saved, should the interface not have closed by then.
        """
        if self.stop_signal is not None:
            return
        self.stop_signal = signal.Signals(number)
        self.stopping.set()
        # If the terminal has gone, its writes are thrown away from now on: the interface
        # may be blocked on one right now (this handler interrupts it there), and its way
        # out writes again. Writes to a terminal still there go on as before.
        keep_output_from_blocking(self)
        threading.Thread(target=self._end_when_saved, name="nst-stop", daemon=True).start()
        with contextlib.suppress(RuntimeError):  # the loop may have closed
            self._event_loop.call_soon_threadsafe(self.call_next, self.action_quit)

    def _end_when_saved(self) -> None:
        """The watchdog of a stop signal (a thread): the process ends once the image is saved."""
        assert self.stop_signal is not None
        log.info("%s received: quitting", self.stop_signal.name)
        self.wait_for_engine()
        time.sleep(STOP_GRACE)  # the way out through the interface normally ends it by now
        log.warning(
            "the interface did not close after %s: ending the process; its threads:\n%s",
            self.stop_signal.name,
            thread_stacks(),
        )
        try:
            self.remember_form()
        except Exception as error:  # the process ends now whatever: only the settings are lost
            log.warning("the settings were not remembered: %s", error)
        logging.shutdown()
        os._exit(128 + self.stop_signal)

    async def action_quit(self) -> None:
        """Quit; with jobs running or waiting, ask first (a second Ctrl+Q or Enter confirms).

        Running jobs stop after their current iteration (image and checkpoint kept) as the
        app exits; waiting ones stay queued in the history. A stop signal does not ask: the
        terminal may be gone.
        """
        from nst_tui.app.screens.confirm import ConfirmScreen, quit_question

        running, waiting = queue_counts(list(self.jobs.values()))
        if self.stop_signal is None and (running or waiting or self.running):
            if isinstance(self.screen, ConfirmScreen) and self.screen.id == "confirm-quit":
                self.screen.dismiss(True)  # the second Ctrl+Q
                return

            def answered(quit_now: bool | None) -> None:
                if quit_now:
                    self.call_next(self.quit_now)

            question = quit_question(
                max(running, int(self.running)), waiting, self._sequence_running()
            )
            self.push_screen(question, answered)
            return
        await self.quit_now()

    async def quit_now(self) -> None:
        """Quit at once; running jobs stop after their current iteration (images kept)."""
        message = None
        running, waiting = queue_counts(list(self.jobs.values()))
        if running or self.running:
            # Printed as soon as the terminal is restored; the partial's path follows.
            message = "nst-tui: stopping the run after its current iteration, keeping its image…"
            if self._sequence_running():
                message = (
                    "nst-tui: stopping the sequence after its current iteration, keeping its "
                    "frames done and a checkpoint of the frame in progress…"
                )
        if waiting:
            message = (message + "\n" if message else "") + (
                f"nst-tui: {waiting} queued run(s) not started: `nst-tui runs` lists them, "
                "`nst-tui resume ID` runs one."
            )
        self._queue.shut_down()
        self._engine_thread.abandon()
        self.remember_form()
        if self.stop_signal is None:
            self.exit(0, message=message)
            return
        if self.stop_signal == signal.SIGHUP:
            message = None  # the terminal is gone: nothing can be printed
        self.exit(0, return_code=128 + self.stop_signal, message=message)  # as a shell shows it

    def wait_for_engine(self, timeout: float = STOPPING_WAIT) -> None:
        """Wait until stopping jobs have saved their images (at most `timeout` seconds).

        Only the runs: the engine thread's other work (a speed measurement) is not waited
        for (`engine_busy`)."""
        self._queue.shut_down()
        self._queue.wait(timeout)

    @property
    def engine_busy(self) -> bool:
        """Whether the engine thread still works for nothing (the app has quit)."""
        return self._engine_thread.busy

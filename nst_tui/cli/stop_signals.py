"""The stop signals of a command-line run or sweep: Ctrl+C, SIGTERM and SIGHUP (a dropped SSH
session) ask it to stop after its iteration, keeping what it made."""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class StopRequest:
    """Stop signals as a flag the run loop checks between iterations. A second Ctrl+C
    interrupts at once, once; after that, or once the stop is reported (`settle`), signals
    change nothing (exit 130 must not become death by SIGINT), and in the command's own
    process (`shield_process_end`) they stay ignored after the block, through the teardown."""

    shield_process_end = False  # set by the command's own entry point, never by tests

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._settled = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        for number in STOP_SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        leave_ignored = self.signal_name is not None and self.shield_process_end
        for number, handler in self._previous.items():
            signal.signal(number, signal.SIG_IGN if leave_ignored else handler)  # type: ignore[arg-type]

    def settle(self) -> None:
        """The stop is being acted on: later signals are ignored."""
        self._settled = True

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signal_name is None:
            self.signal_name = signal.Signals(number).name
        elif number == signal.SIGINT and not self._settled:
            self._settled = True
            raise KeyboardInterrupt  # second Ctrl+C: stop now


def ignore_stop_signals() -> None:
    """From now on the process ends as it is ending, whatever is pressed."""
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)

"""Errors a person can cause, each carrying one line that says what went wrong.

Anything raised by the engine that is not an `NSTError` is a bug: the front ends log it
with its traceback and show a short notice instead of the message. Where a bug must travel
as a value (a job's end, a message from a cluster's worker) it becomes an `InternalError`,
which the front ends recognise by its type and show as a bug.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


class NSTError(Exception):
    """Base of every error caused by input, settings or the machine, not by a bug."""

    title = "Error"

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The setting the error is about, when it is about one: a setting's flat name ("size",
        # "style_size") or, inside an optimiser's own settings, its parameter ("beta1"). Set
        # by the code that raises it (or `about_setting`); the app's form shows the message
        # under that setting's field, and never reads the setting from the message's words.
        self.setting = setting

    def __str__(self) -> str:
        return self.message


@contextlib.contextmanager
def about_setting(setting: str) -> Iterator[None]:
    """An NSTError raised inside is about `setting` (unless it names a setting already)."""
    try:
        yield
    except NSTError as error:
        if error.setting is None:
            error.setting = setting
        raise


class ConfigError(NSTError):
    """A setting is missing, out of range, of the wrong type or unknown."""

    title = "Bad setting"


class InputImageError(NSTError):
    """A content or style image cannot be used: missing, unreadable, too small or too large."""

    title = "Bad image"


class WeightsError(NSTError):
    """VGG19 weights cannot be found, read or trusted."""

    title = "Weights"


class DeviceError(NSTError):
    """The requested device does not exist or ran out of memory."""

    title = "Device"


class OutputError(NSTError):
    """The result cannot be written where it was asked to go."""

    title = "Output"


class NumericalError(NSTError):
    """The optimisation diverged (a loss became NaN or infinite)."""

    title = "Diverged"


class InternalError(NSTError):
    """Not a person's error but a bug: an unexpected exception, made one line where it must
    travel as a value (a job's end, a cluster worker's message). Its traceback is in `log`
    (None: the log file of the process the front end runs in)."""

    title = "Internal error"

    def __init__(self, description: str, host: str | None = None, log: Path | None = None):
        where = f" on {host}" if host else ""
        super().__init__(f"internal error{where}: {description}")
        self.description = description  # "ZeroDivisionError: division by zero"
        self.host = host  # the machine it happened on, when not this one (a cluster's worker)
        self.log = log

    @classmethod
    def of(cls, error: BaseException, host: str | None = None) -> InternalError:
        """The bug `error`, in one line: its type and its message."""
        return cls(f"{type(error).__name__}: {error}", host)

    def __reduce__(self):  # pickled as made (a cluster's worker sends it), not from its text
        return (type(self), (self.description, self.host, self.log))

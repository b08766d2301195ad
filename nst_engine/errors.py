"""Errors a person can cause, each carrying one line that says what went wrong.

Anything raised by the engine that is not an `NSTError` is a bug: the front ends log it
with its traceback and show a short notice instead of the message.
"""

from __future__ import annotations


class NSTError(Exception):
    """Base of every error caused by input, settings or the machine, not by a bug."""

    title = "Error"

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The RunConfig setting the error is about, when it is about one ("size",
        # "style_size"): the app shows the message under that setting's field.
        self.setting = setting

    def __str__(self) -> str:
        return self.message


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

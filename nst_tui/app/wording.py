"""The engine's one-line messages, worded for the app.

The engine's messages end with advice in the command line's terms (`--overwrite`,
`--device cpu`); the app has fields and boxes instead, so its messages name those. A bug
(an InternalError) is said to be one, with where its traceback is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nst_engine.errors import InternalError

# Advice in command-line terms -> the same advice in the app's terms.
APP_ADVICE = {
    "allow overwriting (--overwrite)": "tick 'replace the output if it exists'",
    "use --device cpu": "choose cpu (or auto) as the Device",
    "raise --max-pixels if you trust this file": (
        "raise max_input_pixels (a preset setting) if you trust this file"
    ),
    "pass a weights file with --weights PATH": "choose 'a file…' as the Weights and give its path",
    "a smaller L-BFGS history (--history-size)": "a smaller L-BFGS history size",
}


def for_the_app(message: str) -> str:
    """`message` with command-line advice replaced by what to do in the app."""
    for flag_advice, app_advice in APP_ADVICE.items():
        message = message.replace(flag_advice, app_advice)
    return message


def bug_text(error: InternalError) -> str:
    """What the app says of a bug: what broke (and on which machine, if not this one), that
    it is a bug and not the person's doing, and the log that holds its traceback."""
    from nst_engine.store.runlog import log_path

    where = f" (on {error.host})" if error.host else ""
    return (
        f"{error.description}{where}. This is a bug in nst-tui, not in your settings; "
        f"its traceback is in {error.log or log_path()}"
    )

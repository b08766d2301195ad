"""The log file: each run's settings, device, weights, timings, and errors with tracebacks.

The engine logs to the "nst" logger and never configures it; a front end calls
`setup_logging()` once, so the short messages on screen can stay short.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from nst_engine.store import locations

LOGGER_NAME = "nst"
LOG_FILE_NAME = "nst-tui.log"
_handler: logging.Handler | None = None


def setup_logging() -> Path | None:
    """Send the "nst" logger to the log file in the user state folder; its path, or None."""
    global _handler
    path = locations.log_dir() / LOG_FILE_NAME
    if _handler is not None and Path(getattr(_handler, "baseFilename", "")) == path:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger(LOGGER_NAME)
    if _handler is not None:
        logger.removeHandler(_handler)
        _handler.close()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    _handler = handler
    return path


def log_path() -> Path:
    return locations.log_dir() / LOG_FILE_NAME

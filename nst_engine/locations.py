"""Where nst-tui keeps its files, following each platform's conventions (platformdirs).

Each folder can be moved with an environment variable, which the tests use to stay out of
the user's home: NST_TUI_CACHE_DIR (converted weights), NST_TUI_CONFIG_DIR (remembered form
values, user presets) and NST_TUI_STATE_DIR (logs, rescued results) and NST_TUI_RUNS_DIR (run folders: settings,
checkpoints, loss histories, results; the user data folder's `runs` by default).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "nst-tui"


def _folder(variable: str, default: str) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else Path(default)


def cache_dir() -> Path:
    return _folder("NST_TUI_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME))


def config_dir() -> Path:
    return _folder("NST_TUI_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME))


def state_dir() -> Path:
    return _folder("NST_TUI_STATE_DIR", platformdirs.user_state_dir(APP_NAME))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def runs_dir() -> Path:
    """Where each run gets its folder (nst_engine/runs.py)."""
    return _folder("NST_TUI_RUNS_DIR", str(data_dir() / "runs"))


def user_presets_dir() -> Path:
    return config_dir() / "presets"


def log_dir() -> Path:
    return state_dir() / "logs"


def rescue_dir() -> Path:
    """Where a finished result goes when its requested folder cannot take it."""
    return state_dir() / "rescued"

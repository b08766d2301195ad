"""Where nst-tui keeps its files, following each platform's conventions (platformdirs).

Each folder can be moved with an environment variable, which the tests use to stay out of
the user's home: NST_TUI_CACHE_DIR (converted weights), NST_TUI_CONFIG_DIR (remembered form
values, user presets) and NST_TUI_STATE_DIR (logs, rescued results) and NST_TUI_RUNS_DIR (run folders: settings,
checkpoints, loss histories, results; the user data folder's `runs` by default).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "nst-tui"

try:
    import platformdirs
except ImportError:  # a bare machine (the GPU check's has torch and little else): XDG's folders
    platformdirs = None


def _platform_folder(kind: str) -> str:
    """platformdirs' user folder of `kind` (cache, config, state, data) for this app; without
    platformdirs, the XDG base directories Linux uses (~/.cache/nst-tui and so on)."""
    if platformdirs is not None:
        return getattr(platformdirs, f"user_{kind}_dir")(APP_NAME)
    variable, default = {
        "cache": ("XDG_CACHE_HOME", "~/.cache"),
        "config": ("XDG_CONFIG_HOME", "~/.config"),
        "state": ("XDG_STATE_HOME", "~/.local/state"),
        "data": ("XDG_DATA_HOME", "~/.local/share"),
    }[kind]
    return str(Path(os.environ.get(variable) or default).expanduser() / APP_NAME)


def _folder(variable: str, default: str) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else Path(default)


def cache_dir() -> Path:
    return _folder("NST_TUI_CACHE_DIR", _platform_folder("cache"))


def config_dir() -> Path:
    return _folder("NST_TUI_CONFIG_DIR", _platform_folder("config"))


def state_dir() -> Path:
    return _folder("NST_TUI_STATE_DIR", _platform_folder("state"))


def data_dir() -> Path:
    return Path(_platform_folder("data"))


def runs_dir() -> Path:
    """Where each run gets its folder (nst_engine/store/run_folder.py)."""
    return _folder("NST_TUI_RUNS_DIR", str(data_dir() / "runs"))


def runs_root(root: Path | None = None) -> Path:
    """The runs folder `root` given (`--runs-dir`, a test's), else the usual one."""
    return Path(root) if root is not None else runs_dir()


def user_presets_dir() -> Path:
    return config_dir() / "presets"


def log_dir() -> Path:
    return state_dir() / "logs"


def rescue_dir() -> Path:
    """Where a finished result goes when its requested folder cannot take it."""
    return state_dir() / "rescued"

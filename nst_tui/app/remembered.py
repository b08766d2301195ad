"""Remembered form values and app preferences, in `settings.toml` in the user config folder.

The form's values are a RunConfig written with `RunConfig.to_dict` (without the output path:
a new session proposes a fresh, never-overwriting name in the folder it starts in). Reading
is forgiving: a value that fails to load falls back to its default, and the app says which.
User presets are the engine's (`nst_engine.settings.presets`), in the same config folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nst_engine.errors import ConfigError
from nst_engine.settings.config import RunConfig, tomllib
from nst_engine.store import locations, safe_files

SETTINGS_FILE_NAME = "settings.toml"
PREVIEW_MODES = ("cells", "graphics")  # half-block cells everywhere; a graphics protocol if any

log = logging.getLogger("nst.app")


@dataclass
class Remembered:
    """What the app starts from: the form's config, preferences, and what failed to load."""

    config: RunConfig
    preview_mode: str = "cells"
    problems: list[str] = field(default_factory=list)  # settings that fell back to defaults


def settings_path() -> Path:
    return locations.config_dir() / SETTINGS_FILE_NAME


def default_config() -> RunConfig:
    """The built-in defaults with the demo pair, for a first start."""
    from nst_engine.settings.gallery import demo_pair

    content, style = demo_pair()
    return RunConfig.from_flat(content=content, style=style)


def load_remembered(path: Path | None = None) -> Remembered:
    """The remembered settings, or the defaults; never raises for a bad or missing file."""
    path = path or settings_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Remembered(default_config())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        log.warning("remembered settings %s unreadable: %s", path, error)
        return Remembered(default_config(), problems=[f"{path.name} (unreadable)"])
    form = data.get("form")
    app = data.get("app") if isinstance(data.get("app"), dict) else {}
    preview_mode = app.get("preview", "cells")
    problems: list[str] = []
    if preview_mode not in PREVIEW_MODES:
        problems.append("app.preview")
        preview_mode = "cells"
    if isinstance(form, dict):
        config, bad = config_from_saved(form, default_config())
        problems += bad
    else:
        config = default_config()
        if form is not None:
            problems.append("form")
    return Remembered(config, preview_mode, problems)


def config_from_saved(data: dict[str, Any], base: RunConfig) -> tuple[RunConfig, list[str]]:
    """`data` laid over `base` setting by setting; the names of those that did not load."""
    data = {key: value for key, value in data.items() if key != "output"}
    try:
        return RunConfig.from_dict(data, base), []
    except ConfigError:
        pass  # find which ones: one at a time below
    config = base
    problems: list[str] = []
    for key, value in data.items():
        if key == "optimizer" and isinstance(value, dict):
            # Each optimiser's table (and name, lr) on its own, so one bad number loses little.
            for part, part_value in value.items():
                try:
                    config = RunConfig.from_dict({"optimizer": {part: part_value}}, config)
                except (ConfigError, TypeError):
                    problems.append(f"optimizer.{part}")
            continue
        try:
            config = RunConfig.from_dict({key: value}, config)
        except (ConfigError, TypeError):
            problems.append(key)
    if problems:
        log.warning("remembered settings that fell back to defaults: %s", ", ".join(problems))
    return config, problems


def save_remembered(
    config: RunConfig | None, preview_mode: str = "cells", path: Path | None = None
) -> Path | None:
    """Write the form's config (when it is valid) and preferences; None if it cannot be written.

    When `config` is None (the form is not valid now) the previously remembered form stays.
    """
    import tomli_w  # only needed when writing

    path = path or settings_path()
    data: dict[str, Any] = {"app": {"preview": preview_mode}}
    if config is not None:
        form = config.to_dict(paths=True)
        form.pop("output", None)
        form.pop("overwrite", None)
        data["form"] = form
    else:
        try:
            previous = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            previous = {}
        if isinstance(previous.get("form"), dict):
            data["form"] = previous["form"]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "# nst-tui: the form as last used (written by the app)\n" + tomli_w.dumps(data)
        safe_files.write_atomically(path, text.encode())
    except OSError as error:
        log.warning("cannot remember settings in %s: %s", path, error)
        return None
    return path

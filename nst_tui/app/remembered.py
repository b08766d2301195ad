"""Remembered form values and app preferences, in `settings.toml` in the user config folder.

The form's values are a RunConfig written with `RunConfig.to_dict` (without the output path:
a new session proposes a fresh, never-overwriting name in the folder it starts in). Reading
is forgiving: a value that fails to load falls back to its default, and the app says which.
A sequence's own settings (frame iterations, temporal weight, guided) are the table
`[form.sequence]`, kept while the form holds a picture.
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
from nst_engine.video.settings import SequenceSettings

SETTINGS_FILE_NAME = "settings.toml"
PREVIEW_MODES = ("cells", "graphics")  # half-block cells everywhere; a graphics protocol if any

log = logging.getLogger("nst.app")


@dataclass
class Remembered:
    """What the app starts from: the form's config, preferences, and what failed to load."""

    config: RunConfig
    preview_mode: str = "cells"
    sequence: SequenceSettings = field(default_factory=SequenceSettings)  # a sequence's fields
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
    sequence = SequenceSettings()
    if isinstance(form, dict):
        config, bad = config_from_saved(form, default_config())
        sequence, bad_in_sequence = sequence_from_saved(form.get("sequence"))
        problems += bad + bad_in_sequence
    else:
        config = default_config()
        if form is not None:
            problems.append("form")
    return Remembered(config, preview_mode, sequence, problems)


def _frame_iterations_ok(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _temporal_weight_ok(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e30


def _no(value: Any) -> bool:
    return False  # a name the sequence's settings do not have


# What the form's sequence fields accept (sequence_fields.py), for the saved values.
SEQUENCE_CHECKS = {
    "frame_iterations": _frame_iterations_ok,
    "temporal_weight": _temporal_weight_ok,
    "guided": lambda value: isinstance(value, bool),
}


def sequence_from_saved(data: Any) -> tuple[SequenceSettings, list[str]]:
    """The `[form.sequence]` table's settings over the defaults; the names of those that did
    not load."""
    if data is None:
        return SequenceSettings(), []
    if not isinstance(data, dict):
        return SequenceSettings(), ["sequence"]
    good = {key: value for key, value in data.items() if SEQUENCE_CHECKS.get(key, _no)(value)}
    problems = [f"sequence.{key}" for key in data if key not in good]
    if "temporal_weight" in good:
        good["temporal_weight"] = float(good["temporal_weight"])
    return SequenceSettings(**good), problems


def config_from_saved(data: dict[str, Any], base: RunConfig) -> tuple[RunConfig, list[str]]:
    """`data` laid over `base` setting by setting; the names of those that did not load."""
    # The output is proposed afresh; a sequence's settings are not the RunConfig's.
    data = {key: value for key, value in data.items() if key not in ("output", "sequence")}
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
    config: RunConfig | None,
    preview_mode: str = "cells",
    path: Path | None = None,
    sequence: SequenceSettings | None = None,
) -> Path | None:
    """Write the form's config (when it is valid) and preferences; None if it cannot be written.

    When `config` is None (the form is not valid now) the previously remembered form stays;
    when `sequence` is None (the content is a picture) the previously remembered sequence's.
    """
    import tomli_w  # only needed when writing

    path = path or settings_path()
    data: dict[str, Any] = {"app": {"preview": preview_mode}}
    previous_form = _previous_form(path) if config is None or sequence is None else {}
    if config is not None:
        form = config.to_dict(paths=True)
        form.pop("output", None)
        form.pop("overwrite", None)
        data["form"] = form
    elif previous_form:
        data["form"] = previous_form
    if sequence is not None and "form" in data:
        data["form"]["sequence"] = {
            "frame_iterations": sequence.frame_iterations,
            "temporal_weight": sequence.temporal_weight,
            "guided": sequence.guided,
        }
    elif isinstance(previous_form.get("sequence"), dict) and "form" in data:
        data["form"]["sequence"] = previous_form["sequence"]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "# nst-tui: the form as last used (written by the app)\n" + tomli_w.dumps(data)
        safe_files.write_atomically(path, text.encode())
    except OSError as error:
        log.warning("cannot remember settings in %s: %s", path, error)
        return None
    return path


def _previous_form(path: Path) -> dict[str, Any]:
    """The `[form]` table now in the settings file ({} if none can be read)."""
    try:
        previous = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    form = previous.get("form")
    return form if isinstance(form, dict) else {}

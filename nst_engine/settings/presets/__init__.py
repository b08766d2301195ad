"""Presets: named TOML files of settings, built in (this folder) or the user's own.

A preset holds settings only, never the content, style or output paths. `--preset` also
takes a TOML file path, or an image made by nst-tui (its embedded settings).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

from nst_engine.errors import ConfigError
from nst_engine.settings.config import RunConfig, flat_settings, read_toml_file
from nst_engine.settings.table import PRESET_LEAVES
from nst_engine.store import locations, safe_files

PRESET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}")


def builtin_preset_names() -> list[str]:
    return list(_builtin_names())


@functools.cache
def _builtin_names() -> tuple[str, ...]:
    """The files shipped beside this module, listed once (the app's form asks at every check)."""
    files = resources.files(__name__).iterdir()
    names = (item.name.removesuffix(".toml") for item in files if item.name.endswith(".toml"))
    return tuple(sorted(names))


def user_preset_names() -> list[str]:
    folder = locations.user_presets_dir()
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.glob("*.toml"))


def preset_description(name: str) -> str:
    """The first comment line of a built-in or user preset, for lists."""
    try:
        text = _preset_text(name)
    except ConfigError:
        return ""
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def _preset_text(name: str) -> str:
    if name in _builtin_names():
        return resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    path = locations.user_presets_dir() / f"{name}.toml"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    raise ConfigError(f"no preset called '{name}'")


def _looks_like_path(name: str) -> bool:
    return (
        "/" in name
        or "\\" in name
        or Path(name).suffix.lower() in (".toml", ".png", ".jpg", ".jpeg")
    )


def load_preset(name: str, base: RunConfig | None = None) -> RunConfig:
    """The preset's settings laid over the defaults, with what a preset does not carry
    (its inputs part, the table's PRESET_LEAVES: the images, the output, overwrite) from `base`.

    Only those come from `base`: a setting the preset does not name takes its default,
    so loading one preset after another leaves nothing of the first behind.
    """
    base = base or RunConfig()
    paths_only = RunConfig(inputs=base.inputs)  # a preset carries every part but the inputs
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            data = _settings_from_image(path)
        else:
            data = read_toml_file(path, "preset")
        source = f"preset '{path}'"
    elif name in _builtin_names() or name in user_preset_names():
        data = _named_preset_data(name, _preset_text(name))
        source = f"preset '{name}'"
    else:
        known = ", ".join(builtin_preset_names() + user_preset_names())
        raise ConfigError(f"no preset called '{name}' (known: {known})")
    # Flat or in parts ([look], [plan], ...): what a preset does not carry (the inputs) goes.
    data = {key: value for key, value in flat_settings(data).items() if key not in PRESET_LEAVES}
    blend = data.get("style_blend")
    if isinstance(blend, list) and len(blend) != max(1, len(paths_only.styles)):
        # A blend saved with other style images than these: equal shares instead.
        del data["style_blend"]
    return RunConfig.from_dict(data, paths_only, source)


@functools.lru_cache(maxsize=64)
def _named_preset_data(name: str, text: str) -> dict:
    """A named preset's TOML, read once per text: the app's form compares itself with every
    preset at each check (matching_preset), and reading them all took most of a check's CPU
    outside the screen's layout. A user preset changed on disk is a new text, read anew.
    (Shared between calls: read only; flat_settings makes the dict load_preset works on.)"""
    from nst_engine.settings.config import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"preset '{name}' is not valid TOML: {error}") from None


def matching_preset(config: RunConfig) -> str | None:
    """The built-in or user preset whose settings `config` has, if one has them all.

    Loading the preset over `config` changes nothing. The style blend belongs to the images
    unless the preset has a blend for as many images: one it has not is not compared, and
    a preset that has the blend too is the better match.
    """
    without_blend = None
    for name in (*_builtin_names(), *user_preset_names()):
        try:
            loaded = load_preset(name, config)
        except ConfigError:
            continue
        if loaded.look.style_blend:
            if loaded == config:
                return name
        elif (
            without_blend is None and loaded.replace(style_blend=config.look.style_blend) == config
        ):
            without_blend = name
    return without_blend


def _settings_from_image(path: Path) -> dict:
    from nst_engine.running.images import read_embedded_settings
    from nst_engine.settings.config import tomllib

    try:
        text = read_embedded_settings(path)
    except (OSError, ValueError):
        raise ConfigError(f"preset '{path}' is not a readable image") from None
    if text is None:
        raise ConfigError(f"image '{path}' carries no nst-tui settings")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"the settings in image '{path}' are not valid TOML: {error}") from None


def save_user_preset(name: str, config: RunConfig) -> Path:
    """Write `config`'s settings (no paths) as the user preset `name`; returns its file."""
    name = name.strip()
    if not PRESET_NAME.fullmatch(name):
        raise ConfigError(
            f"preset name '{name}' must start with a letter or digit and use only letters, "
            "digits, spaces and . _ + -"
        )
    if name in builtin_preset_names():
        raise ConfigError(f"'{name}' is a built-in preset; choose another name")
    folder = locations.user_presets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    text = f"# user preset '{name}'\n" + config.to_toml(paths=False)
    safe_files.write_atomically(path, text.encode())
    return path


def delete_user_preset(name: str) -> Path:
    """Delete the user preset `name`; returns the file it was. Built-in presets stay."""
    if name in builtin_preset_names():
        raise ConfigError(f"'{name}' is a built-in preset: it cannot be deleted")
    if name not in user_preset_names():
        raise ConfigError(f"no preset of yours called '{name}'")
    path = locations.user_presets_dir() / f"{name}.toml"
    try:
        path.unlink()
    except OSError as error:
        raise ConfigError(f"cannot delete the preset '{name}' ({path}): {error.strerror}") from None
    return path

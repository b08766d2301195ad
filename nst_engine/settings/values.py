"""Parsing and checking of single values, shared by the command line, the form and TOML.

Each function takes the value as typed (text) or as read from TOML (a number) and returns
it checked, or raises a ConfigError that names the setting and the value that came.
No torch here: the app validates its form with these functions on every keystroke.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from nst_engine.errors import ConfigError, WeightsError


def parse_int(name: str, value: object, minimum: int | None = None) -> int:
    """A whole number at least `minimum`; `value` may be text (typed) or a number (TOML)."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?\d+", text.replace("_", "")):
            raise ConfigError(f"{name} must be a whole number, got '{text}'")
        number = int(text.replace("_", ""))
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    return number


def parse_float(
    name: str,
    value: object,
    minimum: float | None = None,
    *,
    above: float | None = None,
    maximum: float | None = None,
    below: float | None = None,
) -> float:
    """A finite number within the given bounds (`above`/`below` are exclusive)."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            raise ConfigError(f"{name} must be a number, got '{text}'") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a finite number, got {number}")
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {number:g}")
    if above is not None and number <= above:
        raise ConfigError(f"{name} must be greater than {above:g}, got {number:g}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum:g}, got {number:g}")
    if below is not None and number >= below:
        raise ConfigError(f"{name} must be less than {below:g}, got {number:g}")
    return number


def parse_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    aliases = {"l-bfgs": "lbfgs", "average": "avg", "content-noise": "content+noise"}
    text = aliases.get(text, text)
    if text not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got '{value}'")
    return text


def parse_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got '{value}'")


# --- sizes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    """Either the longest side (aspect ratio kept) or an exact width and height."""

    longest: int | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        exact = self.width is not None or self.height is not None
        if exact == (self.longest is not None) or (exact and None in (self.width, self.height)):
            raise ConfigError("a size is either one number (longest side) or WIDTHxHEIGHT")
        for side in (self.longest, self.width, self.height):
            if side is not None and side < 1:
                raise ConfigError(f"a size must be at least 1 pixel, got {side}")

    @classmethod
    def parse(cls, name: str, value: object) -> Size:
        """`512` (longest side) or `'640x480'` (exact); text or a TOML number."""
        if isinstance(value, Size):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(longest=parse_int(name, value, 1))
        text = str(value).strip().lower().replace(" ", "")
        match = re.fullmatch(r"(\d+)[x×*](\d+)", text)
        if match:
            width = parse_int(name, match.group(1), 1)
            height = parse_int(name, match.group(2), 1)
            return cls(width=width, height=height)
        if re.fullmatch(r"[+-]?\d+(\.\d*)?", text) or not text:
            return cls(longest=parse_int(name, text, 1))
        raise ConfigError(
            f"{name} must be a number of pixels (longest side) or WIDTHxHEIGHT, got '{value}'"
        )

    def resolve(self, width: int, height: int) -> tuple[int, int]:
        """The (width, height) this size gives an image of `width` x `height`."""
        if self.longest is None:
            assert self.width is not None and self.height is not None
            return self.width, self.height
        scale = self.longest / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))

    def to_toml(self) -> int | str:
        return self.longest if self.longest is not None else f"{self.width}x{self.height}"

    def __str__(self) -> str:
        return str(self.to_toml())


def parse_device(value: object) -> str:
    """`auto`, `cpu`, `mps`, `cuda` or `cuda:N` (whether it exists is checked at run time)."""
    text = str(value).strip().lower()
    if re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        return text
    raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got '{value}'")


def parse_path(name: str, value: object) -> Path | None:
    """A file path (`~` expanded), or None for nothing given."""
    if value is None or value == "":
        return None
    if isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a file path, got {value!r}")
    return Path(value).expanduser()


def parse_paths(name: str, value: object) -> tuple[Path, ...]:
    """File paths from a list (or one path); empty entries dropped."""
    if value is None or value == "":
        return ()
    if isinstance(value, (str, Path)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name} must be a list of file paths, got {value!r}")
    paths = tuple(parse_path(name, item) for item in value)
    return tuple(path for path in paths if path is not None)


def parse_blend(name: str, value: object) -> tuple[float, ...]:
    """Blend weights: `'0.7,0.3'` or a list of numbers, each at least 0, not all 0."""
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{name} must be numbers separated by commas, got {value!r}")
    weights = tuple(parse_blend_weight(f"{name} weight", item) for item in items)
    if weights and not any(weights):
        raise ConfigError(f"{name}: at least one weight must be above 0")
    return weights


def parse_blend_weight(name: str, value: object) -> float:
    """One style image's weight in a blend (named `name` in errors): a number, at least 0."""
    return parse_float(name, value, 0.0)


# The kinds of weights file the engine reads (nst_engine/method/weights.py, read_weights_file).
WEIGHTS_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".h5")


def check_weights_path(path: Path) -> Path:
    """A weights file a setting names: there, a file, and of a kind the engine reads (whether
    its tensors fit VGG19 only loading it tells); a WeightsError naming it if not."""
    where = f"weights file '{path}'"
    if not path.exists():
        raise WeightsError(f"{where} does not exist")
    if path.is_dir():
        raise WeightsError(f"{where} is a folder, not a file")
    if path.suffix.lower() not in WEIGHTS_SUFFIXES:
        raise WeightsError(f"{where}: expected a .safetensors, .pth, .pt or .h5 file")
    return path

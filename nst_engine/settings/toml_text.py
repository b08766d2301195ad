"""TOML out: tomli_w's where it is installed, else a plain writer of the same data.

Everything nst-tui writes as TOML (settings, presets, run folders' settings.toml, the
settings embedded in pictures) is a table of strings, numbers, booleans, lists and nested
tables. tomli_w is a dependency of the package, but the GPU check runs the engine from the
source tree on a machine with torch and little else (benchmarks/gpu_check.sh), where the
plain writer below stands in for it; what it writes reads back as the same data.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dumps(data: dict[str, Any]) -> str:
    """`data` as a TOML document."""
    try:
        import tomli_w
    except ImportError:
        return plain_dumps(data)
    return tomli_w.dumps(data)


def plain_dumps(data: dict[str, Any]) -> str:
    """`data` as TOML without tomli_w: scalars and lists first, then each table."""
    return "\n".join(_table(data, ())).strip("\n") + "\n"


def _table(data: dict[str, Any], path: tuple[str, ...]) -> list[str]:
    lines = []
    if path:
        lines.append(f"\n[{'.'.join(_key(part) for part in path)}]")
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables:
        lines.extend(_table(value, (*path, key)))
    return lines


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):  # before int: True is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"TOML cannot hold {type(value).__name__} values ({value!r})")


def _string(text: str) -> str:
    # A JSON string is a TOML basic string but for DEL, which TOML wants escaped; keeping
    # non-ASCII as it is avoids JSON's surrogate pairs, which TOML forbids.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")

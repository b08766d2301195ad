"""Output paths: checked before a run, never clobbered, with clear names for partial images.

Cheap to import (no numpy, no Pillow, no torch): the app checks its output field with it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Container
from pathlib import Path

from nst_engine.errors import OutputError
from nst_engine.store.safe_files import remove_stale_temporaries

OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def output_format(path: Path) -> str:
    try:
        return OUTPUT_FORMATS[path.suffix.lower()]
    except KeyError:
        raise OutputError(
            f"output '{path}' must end in .png or .jpg (got '{path.suffix or 'no suffix'}')"
        ) from None


OVERWRITE_ADVICE = " or allow overwriting (--overwrite)"


def check_output_path(path: Path, overwrite: bool = False, advice: str = OVERWRITE_ADVICE) -> None:
    """Fail now, before any work, if `path` could not be written at the end (`advice`: how
    the caller's command allows overwriting, "" where it cannot)."""
    output_format(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise OutputError(f"output folder '{folder}' does not exist")
    if not folder.is_dir():
        raise OutputError(f"output folder '{folder}' is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder '{folder}' is not writable")
    if path.is_dir():
        raise OutputError(f"output '{path}' is a folder; give a file name such as result.png")
    if path.exists() and not overwrite:
        raise OutputError(f"output '{path}' already exists; choose another name{advice}")
    remove_stale_temporaries(path)


def unique_path(path: Path) -> Path:
    """`path` itself if free, else the first free `stem-2.suffix`, `stem-3.suffix`, ..."""
    if not path.exists():
        return path
    number = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        if not candidate.exists():
            return candidate
        number += 1


# `NAME-N` as numbering makes it (N from 2 to 999, no leading zero); a year (`trip-2024`) or a
# zero-padded count (`scan-07`) is part of the name.
_NUMBERED = re.compile(r"(?P<base>.+)-(?P<number>[2-9]|[1-9][0-9]{1,2})")


def free_output_path(path: Path, taken: Container[Path] = ()) -> Path:
    """`path` if no file has that name and `taken` (absolute paths: names that runs own) does
    not hold it; else the next free number of its name: `mine.png` -> `mine-2.png`, and
    `mine-2.png` -> `mine-3.png` (not `mine-2-2.png`)."""

    def free(candidate: Path) -> bool:
        absolute = Path(os.path.abspath(candidate.expanduser()))
        return absolute not in taken and not candidate.exists()

    if free(path):
        return path
    match = _NUMBERED.fullmatch(path.stem)
    base, number = (match["base"], int(match["number"])) if match else (path.stem, 1)
    while True:
        number += 1
        candidate = path.with_name(f"{base}-{number}{path.suffix}")
        if free(candidate):
            return candidate


def unnumbered_stem(path: Path) -> str:
    """`rocket-swirl` for `rocket-swirl-3.png`: the name before numbering made it free."""
    match = _NUMBERED.fullmatch(path.stem)
    return match["base"] if match else path.stem


def partial_output_path(output: Path, index: int, total: int) -> Path:
    """Where a stopped run's image goes: beside the output, named for how far it got."""
    digits = len(str(total))
    name = f"{output.stem}.partial-{index:0{digits}d}-of-{total}{output.suffix or '.png'}"
    return unique_path(output.with_name(name))


def snapshot_path(output: Path, index: int, total: int) -> Path:
    digits = len(str(total))
    return unique_path(output.with_name(f"{output.stem}.step-{index:0{digits}d}{output.suffix}"))


def default_output_path(
    content: Path | None,
    style: Path | None,
    folder: Path | None = None,
    runs_root: Path | None = None,
    suffix: str = "",
) -> Path:
    """`CONTENT-STYLE{suffix}.png` in `folder` (default: here), numbered so that it names no
    file and no output that a run not finished yet owns (in `runs_root`, default the runs
    folder): a stopped run keeps its name for its resume."""
    from nst_engine.store.output_index import owned_outputs  # the runs folder's index: no torch

    content_name = content.stem if content else "result"
    style_name = style.stem if style else "style"
    path = (folder or Path.cwd()) / f"{content_name}-{style_name}{suffix}.png"
    return free_output_path(path, owned_outputs(runs_root))

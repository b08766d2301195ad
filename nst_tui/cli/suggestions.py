"""Did you mean: the closest known word to a mistyped one (a flag, a command, a status) and
the file or gallery image a path that does not exist was probably meant to name.

Light (difflib and the file system): the command line uses it before anything heavy loads.
"""

from __future__ import annotations

import difflib
import itertools
import os
from collections.abc import Iterable
from pathlib import Path

# A folder's first entries looked at for a near-miss name: a huge folder must not stall an
# error message.
MOST_ENTRIES = 5000
# File names are long and share suffixes (`.jpg`), so they must be closer than words to count.
FILE_NAME_CUTOFF = 0.75


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`; did you mean --iterations?` for the closest of `known`, or "" if none is close.
    Compared without the leading dashes (which every flag shares: `--colour` is not `--lr`)."""
    names = {name.lstrip("-"): name for name in known}
    close = difflib.get_close_matches(word.lstrip("-"), list(names), n=1, cutoff=0.6)
    return f"; did you mean {names[close[0]]}?" if close else ""


def did_you_mean_image(text: str) -> str:
    """For an image path that does not exist: `; did you mean photo.png?` for a file of a
    close name in the same folder (written as the path was typed), else `; did you mean the
    gallery's astronaut? ...` for a close gallery name, else ""."""
    from nst_engine.settings.gallery import closest_gallery_name

    file = closest_file(text)
    if file is not None:
        return f"; did you mean {file}?"
    typed = Path(text.strip())
    # `astronot.jpg` may be a misspelt `astronaut`; `photos/astronot.jpg` names a file only.
    name = closest_gallery_name(text) or (
        closest_gallery_name(typed.stem) if typed.name == text.strip() else None
    )
    if name is None:
        return ""
    return f"; did you mean the gallery's {name}? (nst-tui gallery lists them)"


def closest_file(text: str) -> str | None:
    """The file beside where `text` points whose name is closest to the one typed (case
    aside), as `text` would read with that name (`inputs/astronaut.jpg`), or None."""
    typed_name = Path(text).name
    if not typed_name or text.endswith(("/", os.sep)):
        return None
    folder = Path(text).expanduser().parent
    try:
        with os.scandir(folder) as entries:
            names = [
                entry.name
                for entry in itertools.islice(entries, MOST_ENTRIES)
                if entry.is_file() and not entry.name.startswith(".")
            ]
    except OSError:
        return None
    by_lower = {name.lower(): name for name in names}
    close = difflib.get_close_matches(
        typed_name.lower(), list(by_lower), n=1, cutoff=FILE_NAME_CUTOFF
    )
    if not close:
        return None
    return text[: len(text) - len(typed_name)] + by_lower[close[0]]

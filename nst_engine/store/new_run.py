"""What a new run's folder starts from: a name of its own in the runs folder (when the run
was made and what it styles: `20261128-031502-astronaut-mosaic`), and settings whose paths
are absolute, so that the run resumes from any folder (nst_engine/store/run_folder.py)."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_engine.errors import OutputError
from nst_engine.store import locations

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig


def make_run_folder(config: RunConfig, root: Path | None = None) -> Path:
    """A new, empty folder for `config`'s run in the runs folder `root` (made if needed);
    OutputError if it cannot be made."""
    root = locations.runs_root(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"cannot create the runs folder '{root}': {error.strerror or error}"
        ) from None
    stem = time.strftime("%Y%m%d-%H%M%S") + "-" + _slug(config)
    for attempt in range(100):
        name = stem if attempt == 0 else f"{stem}-{attempt + 1}"
        try:
            (root / name).mkdir()
            break
        except FileExistsError:
            continue
        except OSError as error:
            raise OutputError(
                f"cannot create a run folder in '{root}': {error.strerror or error}"
            ) from None
    else:  # pragma: no cover - a hundred runs in one second with the same names
        name = f"{stem}-{secrets.token_hex(3)}"
        (root / name).mkdir()
    return root / name


def absolute_paths(config: RunConfig) -> RunConfig:
    """`config` with its files named from the root, so that a run resumes from any folder."""
    from nst_engine.settings.config import INITS, WEIGHT_SOURCES

    def absolute(path: Path | None) -> Path | None:
        return None if path is None else Path(os.path.abspath(path.expanduser()))

    changes: dict[str, Any] = {
        "content": absolute(config.inputs.content),
        "style": absolute(config.inputs.style),
        "output": absolute(config.inputs.output),
        "extra_styles": tuple(Path(os.path.abspath(path)) for path in config.inputs.extra_styles),
        "style_masks": tuple(Path(os.path.abspath(path)) for path in config.inputs.style_masks),
    }
    if config.look.init not in INITS:
        changes["init"] = os.path.abspath(config.look.init)
    if config.look.weights not in WEIGHT_SOURCES:
        changes["weights"] = os.path.abspath(Path(config.look.weights).expanduser())
    return config.replace(**changes)


def _slug(config: RunConfig) -> str:
    """`astronaut-mosaic`: the content's and first style's names, safe for a folder name."""
    names = [Path(path).stem for path in (config.inputs.content, config.inputs.style) if path]
    text = "-".join(names) or "run"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60].strip("._-") or "run"

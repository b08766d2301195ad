"""The settings a checkpoint was made with: kept in it, compared when a run resumes from it.

settings.toml may be edited after a run stopped. An edit that changes the shapes (the size,
the optimiser, the pooling) would fail deep in the restore; one that keeps them (a layer's
weight set to 0, L-BFGS's history size) would resume silently into another run. So each
checkpoint keeps the settings that make the run what it is, and a resume with others is
refused in one line that names them. Cheap to import: no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nst_engine.errors import ConfigError
from nst_engine.settings.config import tomllib
from nst_engine.settings.table import SETTINGS
from nst_engine.settings.toml_text import dumps

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.runs import RunFolder

# Settings a resume may change without changing the run: its inputs (where the result goes;
# where its images are: a cluster's worker has them in a folder of its own, different at each
# attempt, and a user may move them), the machine it runs on and what it records. The look
# and the plan make the run what it is.
FREE_PARTS = ("inputs", "machine", "recording")
FREE_TO_CHANGE = tuple(setting.name for setting in SETTINGS if setting.part in FREE_PARTS)


def settings_fingerprint(config: RunConfig) -> str:
    """The settings that make the run what it is, as TOML text (kept in its checkpoints):
    every setting but FREE_TO_CHANGE (and an init image's path), and only the optimiser in
    use's own table. Made from the flat table (`to_dict`), as before settings had parts, so
    the same settings give the same text and older checkpoints still resume."""
    from nst_engine.settings.config import INITS

    data = config.to_dict()
    for name in FREE_TO_CHANGE:
        data.pop(name, None)
    if config.look.init not in INITS:
        data["init"] = "an image file"  # its path, as the images' paths, may change
    optimizer = data["optimizer"]
    data["optimizer"] = {
        key: optimizer[key] for key in ("name", "lr", optimizer["name"]) if key in optimizer
    }
    return dumps(data)  # tomli_w's, or the plain writer on a bare GPU machine


def check_same_settings(state: dict[str, Any], config: RunConfig, folder: RunFolder) -> None:
    """Refuse, in one line, to resume from a checkpoint made with other settings than
    `config` (settings.toml edited after a stop). A checkpoint of an earlier version, made
    before checkpoints kept their settings, is taken as it is."""
    kept = state.get("settings")
    if not isinstance(kept, str):
        return
    now = settings_fingerprint(config)
    if kept == now:
        return
    try:
        before, after = tomllib.loads(kept), tomllib.loads(now)
    except tomllib.TOMLDecodeError:  # not what a checkpoint of ours keeps
        before, after = {"settings": kept}, {}
    if before == after:  # the same settings, written by the other TOML writer
        return
    changed = sorted(
        key for key in before.keys() | after.keys() if before.get(key) != after.get(key)
    )
    raise ConfigError(
        f"the checkpoint of run '{folder.id}' was made with other settings "
        f"({', '.join(changed)} changed since); delete {folder.checkpoint_path} to start it "
        "again from the beginning"
    )

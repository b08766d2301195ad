"""nst_engine: neural style transfer (Gatys, Ecker and Bethge) as a generator of events.

Importing the package is cheap; torch loads when a run, the weights or the extractor are
first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "run": "nst_engine.running.transfer",
    "Run": "nst_engine.running.transfer",
    "RunConfig": "nst_engine.settings.config",
    "NSTError": "nst_engine.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nst_engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

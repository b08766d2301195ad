"""A widget found by its id, or None: `query_one`'s quick way, for one that may not be there.

`node.query("#name")` matches every widget under `node` against the selector (250 on the main
screen, about 1 ms each time); `query_one("#name")` goes straight to the id. The form asks for
a few widgets that may be missing (the sequence's fields, mounted when first needed) at every
check, after every key typed.
"""

from __future__ import annotations

from typing import TypeVar

from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.widget import Widget

W = TypeVar("W", bound=Widget)


def by_id(node: DOMNode, name: str, kind: type[W]) -> W | None:
    """The `kind` widget with id `name` under `node`; None if there is none."""
    try:
        return node.query_one(f"#{name}", kind)
    except NoMatches:
        return None

"""The built-in gallery (the `nst_styles` package, `styles/` in the source tree).

A gallery name (`mosaic`) stands for its file wherever an image path is taken: on the
command line and in the app's path fields. A file of that name in the current folder wins.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nst_engine.errors import ConfigError
from nst_engine.settings.config import tomllib


@dataclass(frozen=True)
class GalleryImage:
    key: str
    path: Path
    kind: str  # "content" or "style"
    title: str
    credit: str
    license: str


def _folder() -> Path:
    return Path(str(resources.files("nst_styles")))


def _index() -> dict:
    return tomllib.loads((_folder() / "gallery.toml").read_text(encoding="utf-8"))


def gallery() -> list[GalleryImage]:
    folder = _folder()
    items = []
    for key, entry in _index().items():
        if isinstance(entry, dict):
            items.append(
                GalleryImage(
                    key,
                    folder / entry["file"],
                    entry["kind"],
                    entry["title"],
                    entry["credit"],
                    entry["license"],
                )
            )
    return items


def gallery_image(key: str) -> GalleryImage:
    for item in gallery():
        if item.key == key:
            return item
    raise ConfigError(f"no gallery image called '{key}'")


def demo_pair() -> tuple[Path, Path]:
    """The content and style images of the built-in demo."""
    content, style = _index()["demo"]
    return gallery_image(content).path, gallery_image(style).path


def resolve_image_path(text: str) -> Path:
    """The image `text` names: the file of that path if it exists, else the gallery image of
    that name, else the path as given (whose loading then says what is wrong with it)."""
    path = Path(text).expanduser()
    if path.exists():
        return path
    for item in gallery():
        if item.key == text.strip():
            return item.path
    return path


def gallery_name_of(path: Path) -> str | None:
    """The gallery name of the image at `path`, or None if it is not a gallery file."""
    for item in gallery():
        if item.path == path:
            return item.key
    return None


def closest_gallery_name(text: str) -> str | None:
    """The gallery name `text` was probably meant to be (`mosiac` -> `mosaic`), or None.
    Only a bare word (no folder, no suffix) can be a misspelt name."""
    text = text.strip()
    if not text or any(mark in text for mark in "/\\.~"):
        return None
    matches = difflib.get_close_matches(text, [item.key for item in gallery()], n=1, cutoff=0.6)
    return matches[0] if matches else None

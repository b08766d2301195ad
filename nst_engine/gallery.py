"""The built-in gallery (the `nst_styles` package, `styles/` in the source tree)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nst_engine.config import tomllib
from nst_engine.errors import ConfigError


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

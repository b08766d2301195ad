"""Gallery names stand for image paths: `mosaic` is the built-in mosaic unless a file of that
name is here."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_engine.settings.gallery import gallery, gallery_image, resolve_image_path


def test_a_gallery_name_resolves_to_its_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    resolved = resolve_image_path("mosaic")
    assert resolved == gallery_image("mosaic").path
    assert resolved.is_file()


def test_every_gallery_name_resolves_to_an_existing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for item in gallery():
        assert resolve_image_path(item.key) == item.path
        assert item.path.is_file()


def test_a_file_of_that_name_here_wins_over_the_gallery(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mosaic").write_bytes(b"mine")
    assert resolve_image_path("mosaic") == Path("mosaic")


@pytest.mark.parametrize("text", ["photo.jpg", "nosuch", "~/x.png", "styles/mosaic.jpg", ""])
def test_anything_else_is_the_path_as_given(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    assert resolve_image_path(text) == Path(text).expanduser()


def test_surrounding_spaces_are_ignored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_image_path("  swirl ") == gallery_image("swirl").path


def test_a_near_miss_is_suggested():
    from nst_engine.settings.gallery import closest_gallery_name

    assert closest_gallery_name("mosiac") == "mosaic"
    assert closest_gallery_name("photo.jpg") is None
    assert closest_gallery_name("/some/folder/mosaic.png") is None


def test_a_file_whose_name_has_spaces_at_its_ends_is_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / " swirl ").write_bytes(b"mine")
    assert resolve_image_path(" swirl ") == Path(" swirl ")

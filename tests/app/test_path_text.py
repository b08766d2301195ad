"""Eliding paths: the file name stays in sight, the middle of the folder part gives way."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from nst_tui.app.widgets.form.path_text import elide_path

LONG = "/home/ana/pictures/holidays/2024/portugal/lisbon/tram_28_at_dusk.jpg"


def test_a_path_that_fits_is_shown_whole() -> None:
    assert elide_path(LONG, len(LONG)) == LONG
    assert elide_path("photo.jpg", 40) == "photo.jpg"


@pytest.mark.parametrize("width", [60, 40, 30, 25, 21])
def test_the_middle_of_the_folder_gives_way_and_the_name_stays(width: int) -> None:
    shown = elide_path(LONG, width)
    assert cell_len(shown) == width
    assert shown.endswith("/tram_28_at_dusk.jpg")
    assert shown.count("…") == 1
    start, end = shown.split("…")
    assert LONG.startswith(start) and LONG.endswith(end)  # only the middle went


def test_the_start_and_the_nearest_folder_are_kept_while_there_is_room() -> None:
    assert elide_path(LONG, 40) == "/home/…rtugal/lisbon/tram_28_at_dusk.jpg"


def test_a_name_alone_is_shown_when_no_folder_fits() -> None:
    assert elide_path("/a/b/c.png", 5) == "c.png"
    assert elide_path(LONG, 20) == "…tram_28_at_dusk.jpg"


def test_a_name_too_long_keeps_its_start_and_extension() -> None:
    shown = elide_path(LONG, 12)
    assert shown == "tr…_dusk.jpg" and cell_len(shown) == 12


@pytest.mark.parametrize("width", [0, 1, 2, 3])
def test_tiny_widths_never_overflow(width: int) -> None:
    assert cell_len(elide_path(LONG, width)) == width


def test_wide_characters_are_measured_in_cells() -> None:
    path = "/写真/とても長いフォルダの名前/夕暮れの路面電車.jpg"
    for width in (30, 25, 20):
        shown = elide_path(path, width)
        assert cell_len(shown) <= width
        assert shown.endswith("夕暮れの路面電車.jpg")


def test_windows_separators() -> None:
    path = r"C:\Users\ana\Pictures\holidays\2024\lisbon\tram.jpg"
    assert elide_path(path, 24, sep="\\") == r"C:\Us…24\lisbon\tram.jpg"

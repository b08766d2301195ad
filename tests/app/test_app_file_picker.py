"""The file dialog: a preview of the highlighted image, or why it cannot be shown."""

from __future__ import annotations

import shutil
from pathlib import Path

from app_helpers import form_settled, wait_for

from nst_tui.app.screens.file_picker import FilePickerScreen, file_size_text
from nst_tui.app.widgets.picture.cells import CellImage


async def open_picker(pilot, folder: Path) -> FilePickerScreen:
    app = pilot.app
    app.main.form.set_path("style", folder / "none-yet.jpg")  # the dialog opens in its folder
    await form_settled(pilot)
    await app.run_action("pick_style")
    await wait_for(pilot, lambda: isinstance(app.screen, FilePickerScreen), what="the dialog")
    await pilot.pause()
    return app.screen


async def highlight(pilot, picker: FilePickerScreen, name: str) -> None:
    tree = picker.query_one("#picker-tree")
    await wait_for(pilot, lambda: tree.root.children, what="the folder's files")
    names = [Path(node.data.path).name for node in tree.root.children]
    tree.move_cursor(tree.root.children[names.index(name)])
    await pilot.pause()


def info_text(picker: FilePickerScreen) -> str:
    return str(picker.query_one("#picker-info").content)


async def test_the_dialog_previews_the_highlighted_image(
    make_app, tmp_path: Path, demo_pair
) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    shutil.copy(demo_pair[0], folder / "a_photo.jpg")
    (folder / "b_notes.jpg").write_text("not a picture")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await form_settled(pilot)
        picker = await open_picker(pilot, folder)
        preview = picker.query_one("#picker-image", CellImage)
        assert not preview.has_picture
        await highlight(pilot, picker, "a_photo.jpg")
        await wait_for(pilot, lambda: preview.has_picture, what="the preview")
        columns, rows = preview.picture_size
        assert columns >= 20 and rows >= 8  # larger than a thumbnail
        assert columns <= preview.size.width and rows <= preview.size.height
        size = (folder / "a_photo.jpg").stat().st_size
        assert info_text(picker) == f"640x427 pixels · {file_size_text(size)}"
        # A file that is not an image: one line saying why, and no picture.
        await highlight(pilot, picker, "b_notes.jpg")
        await wait_for(pilot, lambda: not preview.has_picture, what="the picture gone")
        await wait_for(pilot, lambda: "Pillow" in info_text(picker), what="the reason")
        assert info_text(picker) == "Not an image Pillow can read"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FilePickerScreen), what="closed")


def test_file_sizes_read_as_people_write_them() -> None:
    assert file_size_text(812) == "812 bytes"
    assert file_size_text(45_000) == "44 KB"
    assert file_size_text(3_500_000) == "3.3 MB"


async def test_thumbnails_are_larger_where_the_terminal_has_room(make_app) -> None:
    from nst_tui.app.widgets.form.path_field import PathField

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        thumbnail = app.main.query_one("#content-field", PathField).query_one(CellImage)
        await wait_for(pilot, lambda: thumbnail.picture_size[1] > 4, what="a larger thumbnail")
        columns, rows = thumbnail.picture_size
        assert (columns, rows) == (21, 7)  # 640x427 in 22x7 cells, was 12x4
        assert thumbnail.size.width >= columns and thumbnail.size.height >= rows
        await pilot.resize_terminal(80, 24)  # no room: back to the small one
        await wait_for(pilot, lambda: thumbnail.picture_size[1] == 4, what="the small one")
        assert thumbnail.size.height == 4


def tree_lines(picker: FilePickerScreen) -> list[str]:
    """The painted lines of the dialog's folder tree."""
    from screen_text import screen_lines

    region = picker.query_one("#picker-tree").region
    lines = screen_lines(picker.app)[region.y : region.bottom]
    return [line[region.x : region.right] for line in lines]


async def test_at_80x24_names_alike_but_for_their_ends_are_told_apart(
    make_app, tmp_path: Path, demo_pair
) -> None:
    """A result and the partials beside it: the names show whole where they fit, and a
    longer one is cut in the middle, keeping the end that tells them apart."""
    folder = tmp_path / "pictures"
    folder.mkdir()
    names = [
        "X-3.png",
        "X-3.partial-16-of-20.png",
        "holiday-harbour-at-dusk-swirl-3.png",
        "holiday-harbour-at-dusk-swirl-3.partial-16-of-20.png",
    ]
    for name in names:
        shutil.copy(demo_pair[0], folder / name)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        picker = await open_picker(pilot, folder)
        tree = picker.query_one("#picker-tree")
        await wait_for(pilot, lambda: len(tree.root.children) == len(names), what="the files")
        await pilot.pause()
        shown = "\n".join(tree_lines(picker))
        assert "X-3.png" in shown and "X-3.partial-16-of-20.png" in shown, shown
        assert "holiday-harbour-at-dusk-swirl-3.png" in shown, shown  # 35 characters, whole
        assert "…" in shown and "3.partial-16-of-20.png" in shown.split("…")[-1], shown

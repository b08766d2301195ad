"""An image path: typed with completion (→ accepts it) or picked in a dialog (the … button).

Each change is checked in a background thread with the engine's own loader (so what is
accepted here is exactly what a run accepts): the field shows a thumbnail when the image
is usable and the loader's one-line reason when it is not.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Static

from nst_engine.settings.config import DEFAULT_MAX_INPUT_PIXELS, IMAGE_SUFFIXES
from nst_tui.app.messages import ImageChecked
from nst_tui.app.widgets.form.path_text import PathInput
from nst_tui.app.widgets.picture.cells import CellBuilder, CellImage, fit_cells
from nst_tui.app.wording import for_the_app

CHECK_DELAY = 0.2  # seconds of quiet typing before a path is checked
THUMBNAIL_CELLS = (14, 4)
LARGE_THUMBNAIL_CELLS = (22, 7)  # where the terminal is tall and the form wide enough
LARGE_THUMBNAIL_MIN_ROWS = 36  # terminal rows: below, the form would scroll more than it gains
LABEL_AND_INFO_CELLS = 14 + 15  # the label column and the room "640x427 pixels" needs
MAX_LISTED = 5000  # entries looked at per folder when completing


class PathSuggester(Suggester):
    """Completes the last part of a path from the files in its folder."""

    def __init__(self, suffixes: tuple[str, ...] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.suffixes = suffixes

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        head, _, tail = value.rpartition(os.sep)
        head = head + os.sep if _ else ""
        folder = Path(head).expanduser() if head else Path(".")
        names: list[str] = []
        try:
            with os.scandir(folder) as entries:
                for count, entry in enumerate(entries):
                    if count > MAX_LISTED:
                        break
                    name = entry.name
                    if not name.startswith(tail):
                        continue
                    if name.startswith(".") and not tail.startswith("."):
                        continue  # hidden files only when asked for
                    is_dir = entry.is_dir()
                    if not is_dir and self.suffixes and not name.lower().endswith(self.suffixes):
                        continue
                    completion = name + (os.sep if is_dir else "")
                    if completion != tail:
                        names.append(completion)
        except OSError:
            return None
        if not names:
            return None
        return head + min(names)


class ImageInfo(Static):
    """Beside the thumbnail: the image's size and notes, or the check's message. The size
    says "pixels" where the column has room and "px" where it has not, never wrapped."""

    def __init__(self) -> None:
        super().__init__("", classes="path-info", markup=False)
        self._image_size: tuple[int, int] | None = None
        self._image_notes: tuple[str, ...] = ()

    def show_text(self, text: str) -> None:
        self._image_size = None
        self.update(text)

    def show_size(self, size: tuple[int, int], notes: tuple[str, ...]) -> None:
        self._image_size, self._image_notes = size, notes
        self._show_size()

    def _show_size(self) -> None:
        if self._image_size is None:
            return
        width, height = self._image_size
        size = f"{width}x{height} pixels"
        room = self.content_region.width  # 0 before the first layout: shown again on resize
        if room and len(size) > room:
            size = f"{width}x{height} px"
        self.update("\n".join([size, *self._image_notes]))

    def on_resize(self) -> None:
        self._show_size()


class ImageField(Vertical):
    """Path input, browse button, thumbnail and the check's result: a PathField (an image the
    run reads) or a MaskField (mask_field.py; kept apart so that a query of PathFields is of
    the images, as before masks came)."""

    DEFAULT_CSS = """
    .browse {
        width: 3;
        min-width: 3;
        margin-left: 1;
    }
    .thumb-row {
        height: auto;
        padding-left: 14;
    }
    CellImage.thumb {
        width: 14;
        height: 4;
        background: $panel;
    }
    .path-info {
        width: 1fr;
        height: auto;
        padding-left: 1;
        color: $text-muted;
    }
    PathField.-invalid .path-info {
        color: $text-error;
    }
    """

    class Checked(Message):
        """The field's image was checked (usable or not); the form rechecks itself."""

        def __init__(self, field: ImageField) -> None:
            super().__init__()
            self.field = field

    def __init__(self, label: str, name: str, role: str, value: str = "") -> None:
        super().__init__(id=f"{name}-field", classes="field path-field")
        self._label = label
        self.role = role  # "content image": how the engine's messages name it
        self.input = PathInput(
            value,
            id=name,
            placeholder="path to an image (→ completes)",
            suggester=PathSuggester(IMAGE_SUFFIXES),
            compact=True,
        )
        self.problem: str | None = None  # None while checking; "" when usable
        self.image_size: tuple[int, int] | None = None  # (width, height) once usable
        self.frames = 0  # a sequence's frames, once checked (0: an image)
        self.max_pixels = DEFAULT_MAX_INPUT_PIXELS  # until the form gives the config's
        self._timer = None
        self._check_id = 0  # the latest check started; older answers are dropped
        self.thumbnail_cells = THUMBNAIL_CELLS

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self._label, classes="field-label")
            yield self.input
            browse = Button("…", id=f"{self.input.id}-browse", classes="browse", compact=True)
            browse.tooltip = f"Choose the {self.role} in a file dialog"
            yield browse
        with Horizontal(classes="thumb-row"):
            yield CellImage(classes="thumb")
            yield ImageInfo()

    def on_mount(self) -> None:
        # Checked once laid out, so that the thumbnail is made at once at the size it will have.
        self.call_after_refresh(self._first_check)

    def _first_check(self) -> None:
        self._set_thumbnail_cells(self.wanted_thumbnail_cells())
        self.check_now()
        self.screen.screen_layout_refresh_signal.subscribe(self, self._room_changed)

    def _set_thumbnail_cells(self, cells: tuple[int, int]) -> None:
        self.thumbnail_cells = cells
        thumb = self.query_one(CellImage)
        thumb.styles.width, thumb.styles.height = cells

    def wanted_thumbnail_cells(self) -> tuple[int, int]:
        """The thumbnail's size in cells: larger where the terminal and the form have room."""
        # Measured on the form's outer width, less room for its scrollbar, so that a thumbnail
        # that makes the form scroll (its scrollbar takes a column) does not flip back.
        form = next((widget for widget in self.ancestors if widget.id == "form"), self.parent)
        width = form.outer_size.width - form.styles.gutter.width - 1 if form else 0
        room = width - LABEL_AND_INFO_CELLS
        if self.app.size.height >= LARGE_THUMBNAIL_MIN_ROWS and room >= LARGE_THUMBNAIL_CELLS[0]:
            return LARGE_THUMBNAIL_CELLS
        return THUMBNAIL_CELLS

    def _room_changed(self, _screen: object = None) -> None:
        """After a layout pass: a thumbnail of another size is made when the room changed."""
        cells = self.wanted_thumbnail_cells()
        if cells == self.thumbnail_cells or not self.size.width:
            return
        self._set_thumbnail_cells(cells)
        if self.problem in ("", None) and self._timer is None and self.input.value.strip():
            self.check_now()  # the image is read again, in the thread, for the new size

    @property
    def path(self) -> Path | None:
        from nst_engine.settings.gallery import (
            resolve_image_path,  # a gallery name stands for its file
        )

        text = self.input.value.strip()
        return resolve_image_path(text) if text else None

    @property
    def text(self) -> str:
        return self.input.value

    @text.setter
    def text(self, value: str) -> None:
        self.input.value = value

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input is self.input:
            self.recheck()

    def recheck(self) -> None:
        """Check the path again after a short quiet spell; until then it is 'checking…'."""
        self.problem = None
        self.image_size = None
        self.set_class(False, "-invalid")
        self.query_one(ImageInfo).show_text("checking…")
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(CHECK_DELAY, self.check_now)

    def check_now(self) -> None:
        self._timer = None
        self._check_id += 1
        text = self.input.value.strip()
        if not text:
            article = "an" if self.role[0] in "aeiou" else "a"
            self._checked(ImageChecked("", f"choose {article} {self.role}: type a path or press …"))
            return
        self._check(text, self.max_pixels, self._check_id, self.thumbnail_cells)

    @work(thread=True, exclusive=True, group="check-image", exit_on_error=False)
    def _check(
        self, text: str, max_pixels: int, check_id: int, cells: tuple[int, int] = THUMBNAIL_CELLS
    ) -> None:
        from nst_engine.errors import NSTError
        from nst_engine.settings.gallery import resolve_image_path

        try:
            path = resolve_image_path(text)  # a gallery name (`mosaic`) stands for its file
            image, notes, sequence, frames = self._read(path, max_pixels)
        except NSTError as error:
            message = ImageChecked(text, for_the_app(error.message), check_id=check_id)
        except Exception as error:  # a bug: logged with its traceback, named in the field
            logging.getLogger("nst.app").exception("checking %s failed", text)
            problem = f"{self.role} '{text}' could not be checked: {error}"
            message = ImageChecked(text, problem, check_id=check_id)
        else:
            fitted = image.resize(fit_cells(image.size, cells))
            strips = CellBuilder(bits=8).build(fitted)
            if path != Path(text).expanduser():
                notes = (f"gallery: {path.name}", *notes)  # the name: the column is narrow
            message = ImageChecked(text, "", image.size, notes, strips, check_id, sequence, frames)
        with contextlib.suppress(RuntimeError):  # the app may be closing
            self.post_message(message)

    def _read(self, path: Path, max_pixels: int):
        """(the image, its notes, "" and 0: not a sequence), as a run reads it; or NSTError."""
        from nst_engine.running.images import load_image

        loaded = load_image(path, self.role, max_pixels)
        return loaded.image, loaded.notes, "", 0

    def on_image_checked(self, message: ImageChecked) -> None:
        message.stop()
        if message.check_id == self._check_id and self._timer is None:
            self._checked(message)

    def set_max_pixels(self, max_pixels: int) -> None:
        """The pixel limit (a setting): the image is checked again when it changes."""
        if max_pixels != self.max_pixels:
            self.max_pixels = max_pixels
            self.recheck()

    def _checked(self, message: ImageChecked) -> None:
        self.problem = message.problem
        self.image_size = None if message.problem else message.size
        self.frames = message.frames
        self.set_class(bool(message.problem), "-invalid")
        info = self.query_one(ImageInfo)
        thumb = self.query_one(CellImage)
        thumb.display = not message.problem  # a message needs the whole width
        if message.problem:
            info.show_text(message.problem)
            thumb.clear()
        elif message.sequence:  # a video or a folder of frames: what it holds
            info.show_text(message.sequence)
            thumb.show(message.strips or [])
        else:
            info.show_size(message.size or (0, 0), tuple(message.notes))
            thumb.show(message.strips or [])
        self.post_message(self.Checked(self))


class PathField(ImageField):
    """An image the run reads: the content, a style image, the init image."""

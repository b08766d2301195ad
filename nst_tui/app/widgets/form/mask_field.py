"""A style image's mask (issue 22.1, regions): a path field under the style's own, optional.

Empty, the style covers the whole picture. A mask is read with the engine's loader, as any
image is (its thumbnail shows the region: white is where the style goes). What involves the
other fields (a mask of another shape than the content, or masks for some style images and
not others) is checked by `mask_problems` when the form checks itself, and shown under the
mask it is about: the run would refuse it with the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import Label, Static

from nst_engine.errors import NSTError
from nst_tui.app.widgets.form.path_field import ImageField
from nst_tui.app.widgets.lines import show
from nst_tui.app.wording import for_the_app

MASK_TOOLTIP = (
    "A greyscale image of the content's shape: white is where this style goes, black where "
    "it does not, grey part; empty: the whole picture"
)
NO_MASK = "no mask: this style covers the whole picture"


def mask_role(number: int) -> str:
    return f"style mask {number}"


class MaskField(ImageField):
    """The mask of one style image; empty is no mask (never an error on its own)."""

    DEFAULT_CSS = """
    MaskField .field-error {
        padding-left: 14;
    }
    MaskField.-invalid .path-info {
        color: $text-error;
    }
    """

    def __init__(self, stem: str, number: int, value: str = "") -> None:
        super().__init__("└ mask", f"{stem}-mask", mask_role(number), value)
        self.add_class("mask-field", update=False)  # styled when mounted
        self.input.placeholder = "none: the whole picture (→ completes)"
        self.error = ""  # a problem with the other fields, shown under this one

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("", classes="field-error", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(".field-label", Label).tooltip = MASK_TOOLTIP

    def check_now(self) -> None:
        if self.input.value.strip():
            super().check_now()
            return
        self._timer = None
        self._check_id += 1  # an answer still on its way is for text no longer there
        self.problem = ""
        self.image_size = None
        self.set_class(False, "-invalid")
        self.query_one(".thumb").display = False
        self.query_one(".path-info", Static).update(NO_MASK)
        self.post_message(self.Checked(self))

    def renumber(self, number: int) -> None:
        self.role = mask_role(number)
        self.recheck()

    def set_error(self, text: str) -> None:
        """Show `text` under the field ('' hides it): a problem with the other fields."""
        self.error = text
        show(self.query_one(".field-error", Static), text)
        self.set_class(bool(text) or bool(self.problem), "-invalid")


def mask_problems(
    masks: Sequence[MaskField], styles: Sequence[Path | None], content_size: tuple[int, int] | None
) -> list[str]:
    """What is wrong with the masks together (shown under the mask each is about), the
    engine's own words: a mask for some style images and not all, or another shape than the
    content's. `styles`: each style image's path, in order (None: empty)."""
    from nst_engine.running.masks import check_aspect

    problems: list[str] = []
    given = [field for field in masks if field.path is not None]
    for field in masks:
        field.set_error("")
    if not given:
        return problems
    missing = [field for field in masks if field.path is None]
    if missing:
        images = sum(1 for style in styles if style is not None)
        problem = (
            f"{len(given)} style mask{'s' * (len(given) != 1)} for {images} style images: "
            "give one mask per style image, or none"
        )
        missing[0].set_error(problem)
        problems.append(problem)
    for field in given:
        if content_size is None or field.image_size is None or field.path is None:
            continue
        try:
            check_aspect(field.path, field.role, field.image_size, content_size)
        except NSTError as error:
            field.set_error(for_the_app(error.message))
            problems.append(field.error)
    return problems

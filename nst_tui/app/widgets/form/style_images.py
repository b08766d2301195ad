"""The style images: the Style field, more images to blend with it, and each one's weight.

The first style image is the `style` setting; those added with "+ Add a style image" are
`extra_styles`, and the weights (shown once there are two images or more) are `style_blend`:
each image's share of the style targets is its weight over their sum. With one image there
is nothing to blend and `style_blend` stays empty. Under each image, its mask (`style_masks`,
nst_tui/app/widgets/form/mask_field.py): removing an image removes its mask.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import count
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import AwaitMount
from textual.widgets import Button, Label

from nst_engine.errors import NSTError
from nst_engine.settings.config import parse_blend
from nst_engine.settings.values import parse_blend_weight
from nst_tui.app.widgets.form.fields import TextField
from nst_tui.app.widgets.form.mask_field import MaskField, mask_problems
from nst_tui.app.widgets.form.path_field import PathField

BLEND_TOOLTIP = "This image's weight in the blend: its share is its weight over the sum of all"
ADD_TOOLTIP = "Blend several style images; each one's weight sets its share of the style"


def weight_text(weight: float) -> str:
    return f"{weight:g}"


def fitted_weights(blend: Sequence[float], images: int) -> list[str]:
    """`blend`'s weights as text, or all 1 (equal shares) when they do not fit `images`."""
    if len(blend) == images:
        return [weight_text(weight) for weight in blend]
    return ["1"] * images


def fitted_masks(masks: Sequence[str], images: int) -> list[str]:
    """`masks`, one per image, or none (all empty) when they do not fit `images`."""
    return list(masks) if len(masks) == images else [""] * images


def blend_parser(number: int):
    def parse(text: str) -> float:
        return parse_blend_weight(f"weight of style image {number}", text)

    return parse


class BlendField(TextField):
    """One style image's weight in the blend; the added images' have a Remove button too."""

    def __init__(self, stem: str, number: int, value: str, removable: bool) -> None:
        # "└": the weight belongs to the image above it, not to the next one below.
        super().__init__(
            "└ blend", f"{stem}-blend", blend_parser(number), value, tooltip=BLEND_TOOLTIP
        )
        self.stem = stem
        self.removable = removable

    def compose(self) -> ComposeResult:
        label = Label(self._label, classes="field-label")
        label.tooltip = BLEND_TOOLTIP
        yield label
        with Horizontal(classes="blend-row"):
            yield self.input
            if self.removable:
                remove = Button(
                    "✕ remove", id=f"{self.stem}-remove", classes="remove-style", compact=True
                )
                remove.tooltip = "Leave this style image out of the blend"
                yield remove

    def renumber(self, number: int) -> None:
        self.parse_text = blend_parser(number)


class ExtraStyle(Vertical):
    """A style image after the first: its path field, its mask and its blend weight."""

    def __init__(self, stem: str, number: int, path: str, weight: str, mask: str = "") -> None:
        super().__init__(id=f"{stem}-box", classes="extra-style")
        self.path_field = PathField(f"Style {number}", stem, f"style image {number}", path)
        self.mask_field = MaskField(stem, number, mask)
        self.blend_field = BlendField(stem, number, weight, removable=True)

    def compose(self) -> ComposeResult:
        yield self.path_field
        yield self.mask_field
        yield self.blend_field

    def renumber(self, number: int) -> None:
        """Name this image by its place (after one above it was removed)."""
        role = f"style image {number}"
        if self.path_field.role == role:
            return
        self.path_field.role = role
        self.path_field.query_one(".field-label", Label).update(f"Style {number}")
        self.blend_field.renumber(number)
        self.mask_field.renumber(number)
        self.path_field.recheck()  # its message names it


class StyleImages(Vertical):
    """The Style field, the added style images, the blend weights and the Add button."""

    DEFAULT_CSS = """
    StyleImages {
        height: auto;
    }
    .extra-style {
        height: auto;
    }
    .blend-row {
        height: 1;
    }
    /* `BlendField` outweighs the form's `.field Input` (a blend field is a field). */
    BlendField .blend-row Input {
        width: 8;
    }
    .remove-style {
        width: auto;
        min-width: 10;
        margin-left: 1;
    }
    #add-style-row {
        height: auto;
        padding-left: 14;
    }
    #add-style {
        width: auto;
    }
    """

    class Changed(Message):
        """A style image was added or removed: the form checks itself again."""

    def __init__(
        self,
        config_style: str,
        extras: Sequence[str],
        blend: Sequence[float],
        masks: Sequence[str] = (),
    ) -> None:
        super().__init__(id="style-images")
        self._stems = (f"style-{number}" for number in count(2))  # ids never reused
        weights = fitted_weights(blend, 1 + len(extras))
        masks = fitted_masks(masks, 1 + len(extras))
        self.first = PathField("Style", "style", "style image", config_style)
        self.first_mask = MaskField("style", 1, masks[0])
        self.first_blend = BlendField("style", 1, weights[0], removable=False)
        self._blocks = [
            ExtraStyle(next(self._stems), number, path, weight, mask)
            for number, (path, weight, mask) in enumerate(
                zip(extras, weights[1:], masks[1:], strict=True), start=2
            )
        ]

    def compose(self) -> ComposeResult:
        yield self.first
        yield self.first_mask
        if self._blocks:  # else mounted with the second image: hidden, it costs every layout
            yield self.first_blend
        yield from self._blocks
        with Horizontal(id="add-style-row"):
            add = Button("+ Add a style image", id="add-style", compact=True)
            add.tooltip = ADD_TOOLTIP
            yield add

    def on_mount(self) -> None:
        self._blending_shown()

    def _blending_shown(self) -> None:
        """With several images, the first is "Style 1" and each shows its weight."""
        blending = bool(self._blocks)
        if blending and self.first_blend.parent is None:
            self.mount(self.first_blend, after=self.first_mask)  # kept once mounted
        self.first_blend.display = blending
        if self.first.is_mounted:
            label = self.first.query_one(".field-label", Label)
            label.update("Style 1" if blending else "Style")

    # --- adding and removing ------------------------------------------------------------------

    @property
    def extras(self) -> list[ExtraStyle]:
        """The added style images' blocks, in order (kept here: a removed block leaves the DOM
        only after this refresh)."""
        return list(self._blocks)

    def add(self, path: str = "", weight: str = "1", mask: str = "") -> AwaitMount:
        """Add a style image after those there are (awaitable until it is mounted)."""
        block = ExtraStyle(next(self._stems), len(self._blocks) + 2, path, weight, mask)
        self._blocks.append(block)
        mounted = self.mount(block, before=self.query_one("#add-style-row"))
        self._blending_shown()
        self.post_message(self.Changed())
        return mounted

    def remove_extra(self, block: ExtraStyle) -> None:
        self._blocks.remove(block)
        block.remove()
        for number, extra in enumerate(self._blocks, start=2):
            extra.renumber(number)
        self._blending_shown()
        self.post_message(self.Changed())

    @on(Button.Pressed, "#add-style")
    async def _add_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.add()
        # At once, not after the queued keys as focus() would: a path typed right after
        # pressing the button goes into the new field.
        self.screen.set_focus(self._blocks[-1].path_field.input)

    @on(Button.Pressed, ".remove-style")
    def _remove_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        for block in self._blocks:
            if block in event.button.ancestors:
                self.remove_extra(block)
                self.query_one("#add-style", Button).focus()
                return

    # --- reading and filling in ---------------------------------------------------------------

    def path_fields(self) -> Iterator[PathField]:
        """Every style image's field, the first first."""
        yield self.first
        for extra in self.extras:
            yield extra.path_field

    def mask_fields(self) -> list[MaskField]:
        """Every style image's mask field, the first first."""
        return [self.first_mask, *(extra.mask_field for extra in self.extras)]

    def mask_paths(self) -> tuple[Path, ...]:
        """The masks typed, in order (empty fields left out)."""
        return tuple(field.path for field in self.mask_fields() if field.path is not None)

    def masks(self, problems: list[str], content_size: tuple[int, int] | None) -> tuple[Path, ...]:
        """The style masks (`style_masks`); what is wrong with them is shown under the mask it
        is about and added to `problems`."""
        fields = self.mask_fields()
        for field in fields:
            if field.problem is None:
                problems.append(f"checking the {field.role}…")
            elif field.problem:
                problems.append(field.problem)
        styles = [field.path for field in self.path_fields()]
        problems.extend(mask_problems(fields, styles, content_size))
        return self.mask_paths()

    def blend(self, problems: list[str]) -> tuple[float, ...]:
        """The blend weights (empty with one image); a bad one is shown and added to `problems`."""
        extras = self.extras
        if not extras:
            self.first_blend.set_error("")
            return ()
        weights: list[float] = []
        for field in (self.first_blend, *(extra.blend_field for extra in extras)):
            try:
                weights.append(field.parse())
            except NSTError as error:
                problems.append(error.message)
        if len(weights) != 1 + len(extras):
            return ()
        try:
            return parse_blend("style blend", weights)
        except NSTError as error:  # every weight 0
            self.first_blend.set_error(error.message)
            problems.append(error.message)
            return ()

    def load(
        self,
        style: Path | None,
        extras: Sequence[Path] | None,
        blend: Sequence[float],
        masks: Sequence[Path] = (),
    ) -> None:
        """Show `blend`'s weights; with `extras` (not None) the images and their `masks` too,
        `style` first.

        Weights that do not fit the number of images (or none) are all 1: equal shares. With
        the images kept (a preset loaded) and no blend for them, the weights stay: they are
        the images', and a preset without a blend has nothing to say of them.
        """
        if extras is None and not blend:
            return
        mask_texts = fitted_masks([str(path) for path in masks], 1 + len(extras or ()))
        if extras is not None:
            self.first.text = str(style or "")
            self.first_mask.text = mask_texts[0]
            for block in self.extras:
                self.remove_extra(block)
        weights = fitted_weights(blend, 1 + len(extras if extras is not None else self._blocks))
        if self.first_blend.parent is None:  # not mounted yet: given its text as it is made
            self.first_blend = BlendField("style", 1, weights[0], removable=False)
        else:
            self.first_blend.text = weights[0]
        if extras is not None:
            for path, weight, mask in zip(extras, weights[1:], mask_texts[1:], strict=True):
                self.add(str(path), weight, mask)
        else:
            for block, weight in zip(self._blocks, weights[1:], strict=True):
                block.blend_field.text = weight
        self._blending_shown()

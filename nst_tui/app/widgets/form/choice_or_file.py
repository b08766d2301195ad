"""Settings that take a fixed choice or a file: Init (or an image to start from) and Weights
(or a weights file).

The drop-down's last option, "a file…", shows a path field under it; the setting is then
that path (as `--init PATH` and `--weights PATH` on the command line). A path given by a
preset or remembered settings chooses "a file…" with the path filled in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical

from nst_engine.errors import ConfigError, NSTError
from nst_engine.settings.config import parse_init
from nst_engine.settings.table import BY_NAME
from nst_engine.settings.values import WEIGHTS_SUFFIXES, check_weights_path
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.fields import SelectField, TextField
from nst_tui.app.widgets.form.path_field import PathField, PathSuggester
from nst_tui.app.widgets.form.path_text import PathInput

FILE = "file"  # the drop-down's value for "a file…"


def parse_weights_file(text: str) -> str:
    """A weights file's path, refused at once as the engine refuses it before a run (missing,
    a folder, of another kind); whether its tensors fit VGG19 is checked when a run loads it."""
    text = text.strip()
    if not text:
        raise ConfigError("give a weights file (.safetensors, .pth, .pt or .h5)")
    return str(check_weights_path(Path(text).expanduser()))


def image_path_text(path: Path | None) -> str:
    """`path` as the setting takes it: a bare name without an image suffix (`photo`) could be
    taken for a misspelt choice, so it is given whole."""
    text = str(path or "")
    try:
        parse_init(text)
    except ConfigError:
        return str(Path(text).absolute())
    return text


class ChoiceOrFile(Vertical):
    """A drop-down of fixed choices and "a file…", and the file's field when that is chosen.

    The file's field is mounted only when "a file…" is first chosen (or a setting that is a
    path is loaded): hidden, it would still cost its styling and layout at every start and
    every key. Once mounted it is kept, hidden or shown, so that its text survives a switch.
    """

    DEFAULT_CSS = """
    ChoiceOrFile {
        height: auto;
    }
    """

    def __init__(
        self,
        select: SelectField,
        make_file_field: Callable[[str], PathField | TextField],
        choices: tuple[str, ...],
        value: str,
    ) -> None:
        super().__init__(id=f"{select.select.id}-choice", classes="choice-or-file")
        self.select_field = select
        self.make_file_field = make_file_field  # the file's field, given its text
        self.file_field: PathField | TextField | None = None  # None until first needed
        self.choices = choices
        if value not in choices:
            self.file_field = make_file_field(value)

    def compose(self) -> ComposeResult:
        yield self.select_field
        if self.file_field is not None:
            yield self.file_field

    @on(Dropdown.Changed)
    async def _chosen(self, event: Dropdown.Changed) -> None:
        if event.dropdown is not self.select_field.select:
            return
        if event.value == FILE and self.file_field is None:
            self.file_field = self.make_file_field("")
            # Awaited: the form, which hears of the change next, reads the field mounted.
            await self.mount(self.file_field)
        self._show_file()

    def _show_file(self) -> None:
        if self.file_field is not None:
            self.file_field.display = self.select_field.value == FILE

    def value(self, problems: list[str]) -> str:
        """The setting: the choice or the file's path; a problem with the file is added to
        `problems` (and the first choice returned in its place)."""
        choice = self.select_field.value
        field = self.file_field
        if choice != FILE:
            return choice
        if field is None:  # "a file…" chosen, its field not mounted yet: no path yet
            problems.append(f"checking the {self.select_field.select.id} file…")
            return self.choices[0]
        if isinstance(field, PathField):
            if field.problem is None:
                problems.append(f"checking the {field.role}…")
            elif field.problem:
                problems.append(field.problem)
            else:
                return image_path_text(field.path)
            return self.choices[0]
        try:
            return field.parse()
        except NSTError as error:
            problems.append(error.message)
            return self.choices[0]

    def load(self, value: str) -> None:
        """Choose `value`, or "a file…" with `value` as the path when it is not a choice (its
        field mounted now if it was not)."""
        if value in self.choices:
            self.select_field.set_value(value)
        else:
            self.select_field.set_value(FILE)
            if self.file_field is None:
                self.file_field = self.make_file_field(value)
                self.mount(self.file_field)
            else:
                self.file_field.text = value
        self._show_file()


def init_choice(value: str) -> ChoiceOrFile:
    inits = BY_NAME["init"].rule.choices  # or an image file's path
    select = SelectField(
        "Init",
        "init",
        [*((name, name) for name in inits), ("an image file…", FILE)],
        value if value in inits else FILE,
        tooltip="Where the image starts: the content (with noise), noise, the style image, "
        "or an image file of your choice",
    )
    return ChoiceOrFile(select, init_file_field, inits, value)


def init_file_field(text: str) -> PathField:
    return PathField("  image", "init_file", "init image", text)


def weights_choice(value: str) -> ChoiceOrFile:
    sources = BY_NAME["weights"].rule.choices  # or a weights file's path
    select = SelectField(
        "Weights",
        "weights",
        [*((name, name) for name in sources), ("a file…", FILE)],
        value if value in sources else FILE,
        tooltip="VGG19 weights: oxford (the paper's), torchvision, random (tests only), "
        "or a .safetensors, .pth or .h5 file",
    )
    return ChoiceOrFile(select, weights_file_field, sources, value)


def weights_file_field(text: str) -> TextField:
    path = TextField(
        "  file",
        "weights_file",
        parse_weights_file,
        text,
        placeholder="path to .safetensors, .pth or .h5",
        tooltip="A VGG19 weights file (→ completes the path)",
        input_class=PathInput,
    )
    path.input.suggester = PathSuggester(WEIGHTS_SUFFIXES)
    return path

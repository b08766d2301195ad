"""The settings form: every field of a run, checked as it is typed, made into a RunConfig.

The form starts from a RunConfig (remembered or the defaults) and keeps it as its `base`, so
settings it does not show (snapshots, the pixel limit) pass through unchanged. Whenever a
field changes, the form checks itself (once per refresh) and posts `FormChecked` with the
config it makes or the first reason it cannot.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, Collapsible, Input, Static

from nst_engine.errors import NSTError
from nst_engine.settings.config import RunConfig
from nst_engine.settings.sizes import check_fits_network, resolve_sizes
from nst_engine.settings.table import BY_NAME
from nst_engine.video.settings import SequenceSettings
from nst_tui.app.messages import FormChecked
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.choice_or_file import ChoiceOrFile, init_choice, weights_choice
from nst_tui.app.widgets.form.fields import Field, SelectField, TextField, choice_field
from nst_tui.app.widgets.form.layers import LayerChecklist, summarise
from nst_tui.app.widgets.form.look_fields import (
    LOOK_CHOICES,
    LOOK_TEXTS,
    LOSS_CHOICES,
    look_fields,
    look_texts,
    loss_fields,
    size_text,
)
from nst_tui.app.widgets.form.optimizer_fields import OptimizerFields
from nst_tui.app.widgets.form.output_name import OutputName
from nst_tui.app.widgets.form.path_field import ImageField, PathField
from nst_tui.app.widgets.form.path_text import PathInput
from nst_tui.app.widgets.form.preset_row import PresetRow
from nst_tui.app.widgets.form.scale_fields import (
    COARSE_TO_FINE_FIELDS,
    SPEED_FIELDS,
    coarse_to_fine_fields,
    scales_hint,
    speed_fields,
)
from nst_tui.app.widgets.form.sequence_fields import ContentField, SequenceForm
from nst_tui.app.widgets.form.style_images import StyleImages
from nst_tui.app.widgets.lines import show

BASIC_DEVICES = [("auto", "auto"), ("cpu", "cpu")]
RANDOM_WEIGHTS_WARNING = "random weights: for tests only; the result will not look styled"


class SettingsForm(OutputName, SequenceForm, VerticalScroll, can_focus=False):
    """The form, in the order Tab visits it (it scrolls to the focused field)."""

    DEFAULT_CSS = """
    /* The form's words for its parts, shared by its fields (fields.py, path_field.py, ...). */
    .section { margin-top: 1; text-style: bold; color: $text-accent; }
    .field { height: auto; }
    .field-row { height: auto; }
    .field-label { width: 14; height: 1; color: $text-muted; }
    .field Input { width: 1fr; }
    .field Dropdown { width: 1fr; }
    /* Focus shows the same way on every control (app.tcss): the primary colour over it.
       SettingsForm outweighs Textual's `Input.-textual-compact.-invalid` (focused and wrong). */
    SettingsForm .field Input:focus { background-tint: $primary 25%; }
    .field-error {
        display: none;
        height: auto;
        column-span: 2;
        padding-left: 14;
        color: $text-error;
    }
    .field-warning { height: auto; padding-left: 14; color: $text-warning; }
    .field.-invalid > .field-error { display: block; }
    /* A line under a group of fields that says what they add up to (coarse to fine's scales). */
    .field-hint { display: none; height: auto; padding-left: 14; color: $text-muted; }
    #form-error { height: auto; color: $text-error; }
    /* The layer lists' boxes, as flat as the rest of the form. Textual's own look for them is
       a default rule too, `Collapsible` (and `Collapsible:ansi` in ANSI colours): these name
       SettingsForm to outweigh it. */
    SettingsForm Collapsible { padding: 0; border-top: none; background: transparent; }
    SettingsForm Collapsible:ansi { border-top: none; background: transparent; }
    SettingsForm Collapsible > Contents { padding: 0 0 0 2; }
    """

    def __init__(
        self, config: RunConfig, output: Path, sequence: SequenceSettings | None = None
    ) -> None:
        super().__init__(id="form")
        self.base = config
        self.sequence_base = sequence or SequenceSettings()  # a sequence's fields start so
        self._initial_output = output
        self.output_auto = True  # the output is the proposed name, to follow the inputs
        self.chosen_output: str | None = None  # the name typed in, which later runs number
        self._offered_output: str | None = None  # the numbered name put in after a run
        self._check_pending = False
        self.last_check: FormChecked | None = None  # the latest result posted

    def compose(self) -> ComposeResult:
        config = self.base
        yield PresetRow()
        yield from self._image_fields(config)
        yield Static("Look", classes="section")
        yield from look_fields(config)
        yield Static("Optimisation", classes="section")
        yield TextField(
            "Iterations",
            "iterations",
            BY_NAME["iterations"].read,
            str(config.plan.iterations),
        )
        yield TextField(
            "Compute size", "size", BY_NAME["size"].read, str(config.plan.size),
            tooltip="Longest side in pixels (512) or exact WIDTHxHEIGHT (640x480)",
        )  # fmt: skip
        yield TextField(
            "Output size", "output_size", BY_NAME["output_size"].read, size_text(config.plan.output_size),
            placeholder="same as compute size", tooltip="Size of the saved image; empty: the compute size",
        )  # fmt: skip
        yield from coarse_to_fine_fields(config)
        yield OptimizerFields(config.plan.optimizer)
        yield init_choice(config.look.init)
        yield TextField(
            "Init noise", "init_noise", BY_NAME["init_noise"].read, f"{config.look.init_noise:g}",
            tooltip="Strength of the noise added by content+noise (0-1)",
        )  # fmt: skip
        yield TextField("Seed", "seed", BY_NAME["seed"].read, str(config.plan.seed))
        yield choice_field("pooling", "Pooling", config.look.pooling)
        yield from loss_fields(config)
        yield Static("Machine", classes="section")
        yield SelectField(
            "Device", "device", BASIC_DEVICES, config.machine.device,
            tooltip="auto: the first GPU, else the CPU (GPUs appear once detected)",
        )  # fmt: skip
        yield weights_choice(config.look.weights)
        yield Static(RANDOM_WEIGHTS_WARNING, id="weights-warning", classes="field-warning")
        yield from speed_fields(config)
        yield Static("Layers", classes="section")
        for kind, pairs in (
            ("content", config.look.content_layers),
            ("style", config.look.style_layers),
        ):
            with Collapsible(title=self._layers_title(kind, pairs), id=f"{kind}-layers-box"):
                yield LayerChecklist(kind, pairs)
        yield Static("", id="form-error", markup=False)

    def _image_fields(self, config: RunConfig) -> ComposeResult:
        """The Images section: content, styles, output and what to do when it exists."""
        yield Static("Images", classes="section")
        yield ContentField("Content", "content", "content image", str(config.inputs.content or ""))
        yield StyleImages(
            str(config.inputs.style or ""),
            [str(path) for path in config.inputs.extra_styles],
            config.look.style_blend,
            [str(path) for path in config.inputs.style_masks],
        )
        yield TextField(
            "Output", "output", self._parse_output, str(self._initial_output),
            tooltip="Where the result goes (.png or .jpg); the proposed name never overwrites",
            input_class=PathInput,  # its file name stays in sight
        )  # fmt: skip
        warning = Static("", id="output-warning", classes="field-warning", markup=False)
        warning.display = False  # until a run owns the name typed (widgets/output_name.py)
        yield warning
        yield Field(
            "", Checkbox("replace the output if it exists", False, id="overwrite", compact=True)
        )

    @staticmethod
    def _layers_title(kind: str, pairs) -> str:
        return f"{kind.capitalize()} layers: {summarise(pairs)}"

    # --- checking -----------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.check_soon()

    @on(Collapsible.Expanded)
    async def _opened(self, event: Collapsible.Expanded) -> None:
        for checklist in event.collapsible.query(LayerChecklist):
            await checklist.populate()

    @on(Input.Changed)
    @on(Dropdown.Changed)
    @on(Checkbox.Changed)
    @on(ImageField.Checked)
    @on(StyleImages.Changed)
    def _something_changed(self, event) -> None:
        if isinstance(event, Input.Changed) and event.input.id in ("content", "style"):
            self._follow_inputs()
        if isinstance(event, Input.Changed) and event.input.id == "output":
            self.output_auto = event.value == str(self._initial_output)
            if not self.output_auto and event.value != self._offered_output:
                self.chosen_output = event.value  # typed (or picked) by the person
        if isinstance(event, Dropdown.Changed) and event.dropdown.id == "preset":
            return  # handled by the screen (it loads the preset)
        self.check_soon()

    def check_soon(self) -> None:
        """Check the whole form once, after the current burst of changes."""
        if not self._check_pending:
            self._check_pending = True
            self.call_after_refresh(self.check)

    def check(self) -> FormChecked | None:
        """Check every field, show each one's error, and post the result."""
        self._check_pending = False
        if not self.is_attached or getattr(self.app, "closing", False):
            return None
        result = self.read()
        self.last_check = result
        if result.config is not None:
            self.query_one(PresetRow).show_matching(result.config)
        # Sent by the form whatever called check(): Textual stops a message that reaches
        # its sender's child, and the App (which handles it) may be the caller.
        self.post_message(result.set_sender(self))
        return result

    def read(self) -> FormChecked:
        problems: list[str] = []
        changes: dict = {}
        image_sizes = self._read_images(changes, problems)
        for name in (
            "output",
            *LOOK_TEXTS,
            "iterations",
            "size",
            "output_size",
            "init_noise",
            "seed",
            *COARSE_TO_FINE_FIELDS,
        ):
            try:
                changes[name] = self.query_one(f"#{name}-field", TextField).parse()
            except NSTError as error:
                problems.append(error.message)
        if self.query_one("#min_size-field", TextField).error:
            self.query_one("#scales-hint").display = False  # no scales, not the last ones
        for name in (*LOOK_CHOICES, "pooling", *LOSS_CHOICES, "device", *SPEED_FIELDS):
            changes[name] = self.query_one(f"#{name}-field", SelectField).value
        for field in self.query(SelectField).results(SelectField):
            if field.error:
                field.set_error("")  # a check between fields (below) that may pass now
        for name in ("init", "weights"):
            changes[name] = self.query_one(f"#{name}-choice", ChoiceOrFile).value(problems)
        self.query_one("#weights-warning").display = changes["weights"] == "random"
        changes["overwrite"] = self.query_one("#overwrite", Checkbox).value
        changes["ema"] = self.query_one("#ema", Checkbox).value
        try:
            changes["optimizer"] = self.query_one(OptimizerFields).value(self.base.plan.optimizer)
        except NSTError as error:
            problems.append(error.message)
        self._read_layers(changes, problems)
        sequence = self.read_sequence(problems)  # a video or folder of frames (its fields)
        if problems:
            self.query_one("#form-error", Static).update("")
            return FormChecked(None, problems[0], problems)
        checked = self._checked(changes, image_sizes)
        checked.sequence = sequence if checked.config is not None else None
        return checked

    def _read_images(self, changes: dict, problems: list[str]) -> list:
        """The images' paths and the style blend into `changes`, what is wrong with them into
        `problems`; each image's size (None: not known yet)."""
        styles = self.query_one(StyleImages)
        content_field = self.query_one("#content-field", PathField)
        image_fields = [content_field, *styles.path_fields()]
        for field in image_fields:
            field.set_max_pixels(self.base.machine.max_input_pixels)
            if field.problem is None:
                problems.append(f"checking the {field.role}…")
            elif field.problem:
                problems.append(field.problem)
        changes["content"] = content_field.path
        changes["style"] = image_fields[1].path
        changes["extra_styles"] = tuple(field.path for field in image_fields[2:] if field.path)
        changes["style_blend"] = styles.blend(problems)
        changes["style_masks"] = styles.masks(problems, content_field.image_size)
        return [field.image_size for field in image_fields]

    def _read_layers(self, changes: dict, problems: list[str]) -> None:
        for kind in ("content", "style"):
            checklist = self.query_one(f"#{kind}-layers", LayerChecklist)
            try:
                pairs = checklist.value()
                changes[f"{kind}_layers"] = pairs
            except NSTError as error:
                problems.append(error.message)
                pairs = ()
            self.query_one(f"#{kind}-layers-box", Collapsible).title = self._layers_title(
                kind, pairs
            )

    def _checked(self, changes: dict, image_sizes: list) -> FormChecked:
        """The form's settings checked together (each field alone was already)."""
        error_line = self.query_one("#form-error", Static)
        try:
            config = self.base.replace(**changes)
            content_size, style_size = image_sizes[:2]
            # Unknown images count as square, as the estimate does.
            sizes = resolve_sizes(config, content_size or (1, 1), style_size or (1, 1))
            hint = self.query_one("#scales-hint", Static)
            show(hint, scales_hint(config, sizes))
            hint.display = bool(config.plan.min_size)
            if all(image_sizes):
                # What the run would refuse after loading the network, refused now.
                check_fits_network(config, sizes, image_sizes[1:])
        except NSTError as error:
            # Under the field of the setting it is about; at the form's end if about none.
            field = self._field_of(error.setting)
            if field is not None:
                field.set_error(error.message)
            show(error_line, "" if field is not None else error.message)
            return FormChecked(None, error.message, [error.message])
        show(error_line, "")
        return FormChecked(config)

    def _field_of(self, setting: str | None) -> Field | None:
        """The field that shows `setting` (a RunConfig name), if the form has one."""
        if setting is None:
            return None
        fields = self.query(f"#{setting}-field")
        return fields.first(Field) if fields else None

    # --- filling in ---------------------------------------------------------------------------

    def load(self, config: RunConfig, *, paths: bool = False) -> None:
        """Fill every field from `config` (the paths too when `paths`)."""
        self.base = config
        if paths:
            self.query_one("#content-field", PathField).text = str(config.inputs.content or "")
        self.query_one(StyleImages).load(
            config.inputs.style,
            config.inputs.extra_styles if paths else None,
            config.look.style_blend,
            config.inputs.style_masks,
        )
        texts = {
            **look_texts(config),
            "iterations": str(config.plan.iterations),
            "size": str(config.plan.size),
            "output_size": size_text(config.plan.output_size),
            "init_noise": f"{config.look.init_noise:g}",
            "seed": str(config.plan.seed),
            **{name: str(config.value(name)) for name in COARSE_TO_FINE_FIELDS},
        }
        for name, text in texts.items():
            self.query_one(f"#{name}-field", TextField).text = text
        for name in (*LOOK_CHOICES, "pooling", *LOSS_CHOICES, "device", *SPEED_FIELDS):
            self.query_one(f"#{name}-field", SelectField).set_value(config.value(name))
        for name in ("init", "weights"):
            self.query_one(f"#{name}-choice", ChoiceOrFile).load(config.value(name))
        self.query_one("#ema", Checkbox).value = config.look.ema
        self.query_one(OptimizerFields).load(config.plan.optimizer)
        self.query_one("#content-layers", LayerChecklist).load(config.look.content_layers)
        self.query_one("#style-layers", LayerChecklist).load(config.look.style_layers)
        self.check_soon()

    def paths_base(self) -> RunConfig:
        """`base` with the images now in the form: what a preset loaded over it keeps."""
        styles = list(self.query_one(StyleImages).path_fields())
        extras = tuple(field.path for field in styles[1:] if field.path)
        masks = self.query_one(StyleImages).mask_paths()
        return self.base.replace(
            content=self.query_one("#content-field", PathField).path,
            style=styles[0].path,
            extra_styles=extras,
            style_blend=(),  # the preset's, if it has as many weights as there are images
            style_masks=masks if len(masks) == 1 + len(extras) else (),  # kept where they fit
        )

    def set_path(self, name: str, path: Path) -> None:
        self.query_one(f"#{name}-field", ImageField).text = str(path)  # a mask too

    def set_devices(self, devices: list[tuple[str, str]]) -> str | None:
        """Offer the devices found here; a chosen one not among them gives way to `auto`.

        Returns the device that gave way (a remembered `cuda:1` on a machine without it).
        """
        field = self.query_one("#device-field", SelectField)
        options = [(description, setting) for setting, description in devices]
        chosen = field.value
        if chosen in [setting for setting, _ in devices]:
            field.set_options(options)
            return None
        field.set_options(options, keep="auto")
        return chosen

    def refresh_presets(self, select: str | None = None) -> None:
        self.query_one(PresetRow).refresh_presets(select)

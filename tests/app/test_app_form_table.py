"""The form's choices, layer weights and optimiser parameters come from the engine's one table
(nst_engine/settings/table.py, layers.py, optimizer_settings.py), not from copies in the
widgets: a choice added to a row shows in its drop-down, a bound changed in an optimiser's
settings is the bound under its field, and a bad value gets the engine's own sentence.
"""

from __future__ import annotations

import dataclasses

import pytest
from app_helpers import form_settled, open_layers, run_is_off_because, set_text, wait_for
from textual.widgets import Input

import nst_engine.settings.optimizer_settings as optimizer_settings
from nst_engine.errors import ConfigError, NSTError
from nst_engine.running.preflight import check_weights_file
from nst_engine.settings.config import RunConfig
from nst_engine.settings.table import BY_NAME, IMAGE_SUFFIXES, choice
from nst_engine.settings.values import parse_blend
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form import look_fields
from nst_tui.app.widgets.form.choice_or_file import parse_weights_file
from nst_tui.app.widgets.form.fields import SelectField
from nst_tui.app.widgets.form.optimizer_fields import parameter_fields
from nst_tui.app.widgets.form.path_field import PathField
from nst_tui.app.widgets.form.style_images import blend_parser

# Each drop-down of the form that shows one of the table's choice settings.
CHOICE_FIELDS = (
    "style_loss",
    "preserve_color",
    "padding",
    "loss_scale",
    "pooling",
    "precision",
    "memory_format",
    "cuda_graph",
)

OR_A_FILE = ("init", "weights")  # a choice, or "a file…" and its path


def message_of(parse, value: str) -> str:
    with pytest.raises(NSTError) as refused:
        parse(value)
    return refused.value.message


async def test_the_drop_downs_and_tooltips_say_what_the_engine_says(make_app, monkeypatch) -> None:
    """Each drop-down offers its table row's choices; Style scale's range and Style weight's
    default in the tooltips are the engine's (one app start for all)."""
    monkeypatch.setattr(look_fields, "STYLE_SCALE_RANGE", (0.2, 3.0))
    monkeypatch.setattr(look_fields, "DEFAULT_STYLE_WEIGHT", 20.0)
    for name in (*CHOICE_FIELDS, *OR_A_FILE):
        row = BY_NAME[name]
        more = (*row.rule.choices, "added-here")
        # init's and weights' rules read a file's path too: only their list of choices grows.
        widened = dataclasses.replace(row.rule, choices=more) if name in OR_A_FILE else choice(more)
        monkeypatch.setitem(BY_NAME, name, dataclasses.replace(row, rule=widened))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        for name in (*CHOICE_FIELDS, *OR_A_FILE):
            field = app.main.query_one(f"#{name}-field", SelectField)
            assert "added-here" in field.choices, name
            assert set(BY_NAME[name].rule.choices) <= set(field.choices), name
        optimizer = app.main.query_one("#optimizer-field", SelectField)
        assert optimizer.choices == BY_NAME["optimizer"].rule.choices
        scale = app.main.query_one("#style_scale", Input)
        assert "(0.2 to 3)" in str(scale.tooltip)
        weight = app.main.query_one("#style_weight", Input)
        assert "(20 by default; 200 for bolder, 2 for subtler)" in str(weight.tooltip)


def test_each_optimiser_parameter_is_refused_in_its_settings_own_words() -> None:
    """The form's message for a bad parameter == the one the optimiser's settings give."""
    for name, kind in optimizer_settings.OPTIMIZER_PARAMETERS.items():
        for parameter, _, parse in parameter_fields(name):
            for bad in ("abc", "-1", "1.5", "nan", "0.5x"):
                try:
                    kind(**{parameter: bad})
                except ConfigError as error:
                    assert message_of(parse, bad) == error.message, (name, parameter, bad)
                else:
                    parse(bad)  # fine for both


async def test_an_optimiser_parameters_bound_is_its_settings(make_app, monkeypatch) -> None:
    """A stricter bound in the optimiser's settings is the bound under the form's field."""

    @dataclasses.dataclass(frozen=True)
    class StricterAdam(optimizer_settings.AdamSettings):
        def __post_init__(self) -> None:
            super().__post_init__()
            if self.beta1 > 0.95:
                raise ConfigError(f"adam beta1 must be at most 0.95, got {self.beta1:g}")

    monkeypatch.setitem(optimizer_settings.OPTIMIZER_PARAMETERS, "adam", StricterAdam)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        app.main.query_one("#optimizer", Dropdown).value = "adam"
        await wait_for(pilot, lambda: bool(app.main.query("#params-adam")), what="adam")
        await form_settled(pilot)
        await set_text(pilot, "#adam-beta1", "0.97")
        message = "adam beta1 must be at most 0.95, got 0.97"
        assert app.main.query_one("#adam-beta1-field").error == message
        run_is_off_because(app, message)


async def test_a_bad_layer_weight_gets_the_tables_sentence(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await open_layers(pilot, "content")
        for bad in ("-1", "heavy", "nan"):
            await set_text(pilot, "#content-relu4_2-weight", bad)
            said = message_of(BY_NAME["content_layers"].read, f"relu4_2={bad}")
            run_is_off_because(app, said)
            shown = app.main.query_one("#content-layers .field-error").content
            assert str(shown) == said, bad


def test_a_blend_weight_is_refused_where_the_engine_refuses_it() -> None:
    """The form's blend field and the engine's `style_blend` refuse the same weights, with
    the same sentence but for its subject (the form names the image)."""
    parse = blend_parser(2)
    for value in ("-1", "abc", "nan", "inf", "-0.5"):
        said = message_of(lambda text: parse_blend("style blend", [1.0, text]), value)
        assert said.startswith("style blend weight ")
        subject = "weight of style image 2 "
        assert message_of(parse, value) == subject + said.removeprefix("style blend weight ")
    for value in ("0", "0.3", "12"):
        assert parse(value) == parse_blend("style blend", [1.0, value])[1]


def test_a_weights_file_is_refused_in_the_engines_words(tmp_path, monkeypatch) -> None:
    """Missing (typed with ~), a folder, of another kind: the form's sentence under the
    Weights file field is the one the engine refuses the same setting with before a run."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "folder.pth").mkdir()
    (tmp_path / "notes.txt").write_text("not weights")
    for typed in ("~/none.pth", "~/folder.pth", str(tmp_path / "notes.txt")):
        said = message_of(check_weights_file, typed)
        assert message_of(parse_weights_file, typed) == said, typed
    assert "expected a .safetensors, .pth, .pt or .h5 file" in said


def test_an_image_field_takes_the_engines_image_kinds_and_pixel_limit() -> None:
    """Completion offers the files the engine takes for images (the table's suffixes), and a
    field checks against RunConfig's pixel limit until the form gives it the config's."""
    field = PathField("Content", "content", "content image")
    assert field.input.suggester.suffixes == IMAGE_SUFFIXES
    assert field.max_pixels == RunConfig().machine.max_input_pixels

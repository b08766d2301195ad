"""Every number of the form, typed wrong: text, negative, zero (where it is not allowed), NaN
and infinity. Each value goes through its field's own parser; on screen, one bad value per
field is named under it and beside Run, which stays off; the app stays up; a good number typed
after it turns Run on again. One app start for the main fields, one for the optimisers' (an
app start costs more than all the values). Then the layer lists, emptied.
"""

from __future__ import annotations

import pytest
from app_helpers import (
    form_settled,
    open_layers,
    run_is_off_because,
    run_is_on,
    set_text,
    wait_for,
)
from textual.widgets import Checkbox, Collapsible, Input

from nst_engine.errors import NSTError
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.fields import TextField

BAD_VALUES = ("abc", "-1", "0", "nan", "inf")


def whole(name: str, minimum: int) -> dict[str, str | None]:
    """What a whole-number field says about each bad value (None: the value is fine)."""
    return {
        "abc": f"{name} must be a whole number, got 'abc'",
        "-1": f"{name} must be at least {minimum}, got -1",
        "0": None if minimum <= 0 else f"{name} must be at least {minimum}, got 0",
        "nan": f"{name} must be a whole number, got 'nan'",
        "inf": f"{name} must be a whole number, got 'inf'",
        "2.5": f"{name} must be a whole number, got '2.5'",
    }


def number(name: str, *, positive: bool = False, below_one: bool = False, at_most_one=False):
    """What a decimal field says about each bad value (None: the value is fine)."""
    low = f"{name} must be greater than 0, got" if positive else f"{name} must be at least 0, got"
    said = {
        "abc": f"{name} must be a number, got 'abc'",
        "-1": f"{low} -1",
        "0": f"{low} 0" if positive else None,
        "nan": f"{name} must be a finite number, got nan",
        "inf": f"{name} must be a finite number, got inf",
        "1e999": f"{name} must be a finite number, got inf",
    }
    if below_one:
        said["1"] = f"{name} must be less than 1, got 1"
    if at_most_one:
        said["1.5"] = f"{name} must be at most 1, got 1.5"
    return said


def size(name: str) -> dict[str, str | None]:
    return {
        "abc": f"{name} must be a number of pixels (longest side) or WIDTHxHEIGHT, got 'abc'",
        "-1": f"{name} must be at least 1, got -1",
        "0": f"{name} must be at least 1, got 0",
        "nan": f"{name} must be a number of pixels (longest side) or WIDTHxHEIGHT, got 'nan'",
        "inf": f"{name} must be a number of pixels (longest side) or WIDTHxHEIGHT, got 'inf'",
        "0x10": f"{name} must be at least 1, got 0",
        "10x": f"{name} must be a number of pixels (longest side) or WIDTHxHEIGHT, got '10x'",
    }


def scale(name: str) -> dict[str, str | None]:
    """What the style scale (0.1 to 4, or empty) says about each bad value."""
    return {
        "abc": f"{name} must be a number, got 'abc'",
        "-1": f"{name} must be at least 0.1, got -1",
        "0": f"{name} must be at least 0.1, got 0",
        "nan": f"{name} must be a finite number, got nan",
        "inf": f"{name} must be a finite number, got inf",
        "4.5": f"{name} must be at most 4, got 4.5",
    }


TYPED = ("lr",)  # typed key by key (slower); the others are pasted

# input id -> (optimiser it belongs to, or None; good value; bad value -> message or None)
NUMBER_FIELDS = {
    "iterations": (None, "3", whole("iterations", 1)),
    "size": (None, "32", size("compute size")),
    "output_size": (None, "40", size("output size")),
    "style_size": (None, "32", size("style size")),
    "style_weight": (
        None,
        "20",
        {
            **number("style weight", positive=True),
            "1e13": "style weight must be at most 1e+12, got 1e+13",
        },
    ),
    "style_scale": (None, "0.5", scale("style scale")),
    "lr": (None, "1.5", number("learning rate", positive=True)),
    "tv_weight": (None, "0.001", number("TV weight")),
    "init_noise": (None, "0.2", number("init noise")),
    "seed": (None, "7", whole("seed", 0)),
    "adam-beta1": ("adam", "0.8", number("adam beta1", below_one=True)),
    "adam-beta2": ("adam", "0.99", number("adam beta2", below_one=True)),
    "adam-eps": ("adam", "1e-6", number("adam eps", positive=True)),
    "adadelta-rho": ("adadelta", "0.8", number("adadelta rho", at_most_one=True)),
    "adadelta-eps": ("adadelta", "1e-6", number("adadelta eps", positive=True)),
    "rmsprop-alpha": ("rmsprop", "0.9", number("rmsprop alpha", at_most_one=True)),
    "rmsprop-eps": ("rmsprop", "1e-6", number("rmsprop eps", positive=True)),
    "rmsprop-momentum": ("rmsprop", "0.5", number("rmsprop momentum", below_one=True)),
    "sgd-momentum": ("sgd", "0.5", number("sgd momentum", below_one=True)),
    "lbfgs-history_size": ("lbfgs", "20", whole("lbfgs history_size", 1)),
}


async def type_into(pilot, input_id: str, text: str) -> None:
    """Focus the field, clear it and type `text` key by key, as a person would."""
    field = pilot.app.main.query_one(f"#{input_id}", Input)
    field.focus()
    await pilot.press("end", *["backspace"] * len(field.value), *text)
    await form_settled(pilot)


async def enter(pilot, input_id: str, text: str) -> None:
    """Typed in the first field tested, pasted (the value set at once) in the others."""
    if input_id in TYPED:
        await type_into(pilot, input_id, text)
    else:
        await set_text(pilot, f"#{input_id}", text)


def values_of(said: dict[str, str | None]) -> list[str]:
    return [*BAD_VALUES, *[extra for extra in said if extra not in BAD_VALUES]]


def check_parser(field: TextField, input_id: str) -> None:
    """Every bad value through the field's own parser (the one the form calls): refused with
    its message, or accepted where it is fine; the good value accepted."""
    _, good, said = NUMBER_FIELDS[input_id]
    for value in values_of(said):
        message = said[value]
        if message is None:  # zero is a fine value here
            field.parse_text(value)
            continue
        with pytest.raises(NSTError) as refused:
            field.parse_text(value)
        assert refused.value.message == message, (input_id, value)
    field.parse_text(good)


async def check_number_field(pilot, input_id: str) -> None:
    """Each value through the field's parser; then, on screen, -1 named under the field and
    beside Run, which stays off, zero accepted where it is fine, and a good value typed after
    them turning Run on again. The field's first text is put back for the next field."""
    app = pilot.app
    _, good, said = NUMBER_FIELDS[input_id]
    field = app.main.query_one(f"#{input_id}-field", TextField)
    check_parser(field, input_id)
    first = field.text
    await enter(pilot, input_id, "-1")
    message = said["-1"]
    assert field.error == message, (input_id, field.error)
    assert field.has_class("-invalid")
    run_is_off_because(app, message)
    if said["0"] is None:
        await enter(pilot, input_id, "0")
        assert field.error == "", (input_id, field.error)
        run_is_on(app)
    await enter(pilot, input_id, good)
    assert field.error == "", (input_id, field.error)
    run_is_on(app)
    await set_text(pilot, f"#{input_id}", first)


MAIN_FIELDS = [name for name, (optimizer, _, _) in NUMBER_FIELDS.items() if optimizer is None]


async def test_a_bad_number_is_named_under_its_field_and_run_stays_off(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        for input_id in MAIN_FIELDS:
            await check_number_field(pilot, input_id)


async def test_a_bad_optimiser_parameter_is_named_and_run_stays_off(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        for optimizer in ("adam", "adadelta", "rmsprop", "sgd", "lbfgs"):
            app.main.query_one("#optimizer", Dropdown).value = optimizer
            await wait_for(
                pilot, lambda name=optimizer: bool(app.main.query(f"#params-{name}")), what="panel"
            )
            await form_settled(pilot)
            for input_id, (owner, _, _) in NUMBER_FIELDS.items():
                if owner == optimizer:
                    await check_number_field(pilot, input_id)


async def test_a_bad_layer_weight_is_named_and_run_stays_off(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        for kind in ("content", "style"):
            await open_layers(pilot, kind)
            layer = "relu4_2" if kind == "content" else "relu3_1"
            name = f"weight of {kind} layers {layer}"  # as the table words it
            for value, message in number(name).items():
                await set_text(pilot, f"#{kind}-{layer}-weight", value)
                if message is None and kind == "style":  # 0 is fine: other style layers weigh
                    run_is_on(app)
                    continue
                if message is None:  # the only content layer, weighing nothing
                    message = "choose at least one content layer with a weight above 0"
                run_is_off_because(app, message)
                assert app.main.query_one(f"#{kind}-layers").has_class("-invalid"), value
            await set_text(pilot, f"#{kind}-{layer}-weight", "2e-9")
            run_is_on(app)
            assert (layer, 2e-9) in app.form_state.config.value(f"{kind}_layers")


async def test_all_content_layers_unticked_is_refused(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await open_layers(pilot, "content")
        for checkbox in app.main.query("#content-layers Checkbox").results(Checkbox):
            checkbox.value = False
        await pilot.pause()
        await form_settled(pilot)
        run_is_off_because(app, "choose at least one content layer with a weight above 0")
        checkbox = app.main.query_one("#content-conv4_1", Checkbox)
        checkbox.focus()
        await pilot.press("space")  # ticked by hand: it gets a weight of 1, the first one
        await form_settled(pilot)
        run_is_on(app)
        assert app.form_state.config.look.content_layers == (("conv4_1", 1.0),)


async def test_every_style_weight_zero_is_refused(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await open_layers(pilot, "style")
        ticked = [name for name, _ in app.form_state.config.look.style_layers]
        for name in ticked:
            await set_text(pilot, f"#style-{name}-weight", "0")
        run_is_off_because(app, "choose at least one style layer with a weight above 0")
        assert str(app.main.query_one("#style-layers-box", Collapsible).title).endswith("none")
        await type_into(pilot, f"style-{ticked[0]}-weight", "1e-9")
        run_is_on(app)
        assert app.form_state.config.active_style_layers == ((ticked[0], 1e-9),)

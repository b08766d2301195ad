"""The form's fields for issue 10's settings: style weight and statistic, colour, style scale,
EMA, padding, loss scale, several style images with their blend weights, init from an image
file and weights from a file. Each reaches the config the app runs, comes from presets and
remembered settings, and a bad value is named in one line with Run off (the numbers' bad
values are in test_app_bad_numbers.py with the other numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import form_settled, run_is_off_because, run_is_on, set_text, wait_for
from textual.widgets import Button, Checkbox, Input

from nst_engine.settings.config import RunConfig
from nst_engine.store import locations
from nst_tui.app.app import NSTApp
from nst_tui.app.remembered import load_remembered
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.choice_or_file import FILE
from nst_tui.app.widgets.form.path_field import LARGE_THUMBNAIL_CELLS, PathField


async def choose(pilot, selector: str, value: str) -> None:
    """Choose `value` in a drop-down and wait for the form's check."""
    app = pilot.app
    before = app.main.form.last_check
    app.main.query_one(selector, Dropdown).value = value
    await wait_for(pilot, lambda: app.main.form.last_check is not before, what=selector)
    await form_settled(pilot)


async def tick(pilot, selector: str, value: bool) -> None:
    app = pilot.app
    before = app.main.form.last_check
    app.main.query_one(selector, Checkbox).value = value
    await wait_for(pilot, lambda: app.main.form.last_check is not before, what=selector)
    await form_settled(pilot)


async def run_and_capture(pilot) -> RunConfig:
    """Press Run (ctrl+r) and return the config the app starts, without running it."""
    app = pilot.app
    started: list[RunConfig] = []

    def start_run(config: RunConfig, sequence=None) -> int:
        started.append(config)
        return 0

    app.start_run = start_run  # type: ignore[method-assign]
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: bool(started), what="the run to start")
    return started[0]


async def add_style(pilot, path: Path) -> str:
    """Press "+ Add a style image", type `path` in the new field; the new input's id."""
    app = pilot.app
    before = {field.id for field in app.main.query(PathField)}
    app.main.query_one("#add-style", Button).press()
    await wait_for(
        pilot, lambda: len(app.main.query(PathField)) > len(before), what="the new style field"
    )
    (field,) = [field for field in app.main.query(PathField) if field.id not in before]
    await set_text(pilot, f"#{field.input.id}", str(path))
    return field.input.id


async def test_added_styles_style_size_with_scale_and_blend_weights_are_checked_with_run_off(
    make_app, demo_pair
) -> None:
    """Every part in one app (an app start costs more than a part), each from the tiny form:
    one style image, no style size or scale, Run on."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        # An added style image is checked like the first.
        second = await add_style(pilot, Path("/no/such/style.jpg"))
        run_is_off_because(app, "style image 2 '/no/such/style.jpg' does not exist")
        await set_text(pilot, f"#{second}", "")
        run_is_off_because(app, "choose a style image 2")
        await remove_style(pilot, second)
        one_style_and_run_on(app, "after the added style image")

        # Style size and style scale together are refused.
        await set_text(pilot, "#style_size", "256")
        await set_text(pilot, "#style_scale", "2")
        reason = run_is_off_because(app, "style_size and style_scale are both given: choose one")
        assert "\n" not in reason, f"size and scale: {reason}"
        error = app.main.query_one("#style_size-field").error
        assert error.startswith("style_size and style"), f"size and scale: {error}"
        await set_text(pilot, "#style_size", "")
        run_is_on(app)
        assert app.form_state.config.look.style_scale == 2.0, "size and scale: the scale kept"
        assert app.main.query_one("#style_size-field").error == "", "size and scale: no error"
        await set_text(pilot, "#style_scale", "")
        one_style_and_run_on(app, "after style size and scale")
        assert app.form_state.config.look.style_scale is None, "size and scale: set back"

        # Bad blend weights are named.
        await bad_blend_weights_are_named(pilot, demo_pair[0])


async def bad_blend_weights_are_named(pilot, content: Path) -> None:
    app = pilot.app
    second = await add_style(pilot, content)
    await set_text(pilot, f"#{second}-blend", "-1")
    message = "weight of style image 2 must be at least 0, got -1"
    run_is_off_because(app, message)
    assert app.main.query_one(f"#{second}-blend-field").error == message, "blend: under it"
    await set_text(pilot, f"#{second}-blend", "0")
    await set_text(pilot, "#style-blend", "0")
    run_is_off_because(app, "style blend: at least one weight must be above 0")
    await set_text(pilot, "#style-blend", "1")
    run_is_on(app)
    assert app.form_state.config.look.style_blend == (1.0, 0.0), "blend: the weights"


async def remove_style(pilot, stem: str) -> None:
    """Press a style image's remove button; wait until its field (and its mask's) is gone."""
    app = pilot.app
    app.main.query_one(f"#{stem}-remove", Button).press()
    await wait_for(pilot, lambda: not app.main.query(f"#{stem}-field"), what="removal")
    await form_settled(pilot)


def one_style_and_run_on(app, part: str) -> None:
    """The known state between parts: one style image, Run on."""
    run_is_on(app)
    assert app.form_state.config.inputs.extra_styles == (), part


async def test_init_and_weights_files_and_each_new_setting_reach_the_config_the_app_runs(
    make_app, demo_pair, tmp_path: Path
) -> None:
    """Every part in one app (an app start costs more than a part), Run pressed with the
    app's start replaced (nothing runs), each part from a form with Run on."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        # Init from an image file.
        await init_from_an_image_file(pilot, demo_pair[0], tmp_path)
        run_is_on(app)
        # Weights from a file.
        await weights_from_a_file(pilot, tmp_path)
        run_is_on(app)
        # Each new setting reaches the config the app runs.
        await each_new_setting_reaches_the_config_the_app_runs(pilot)


async def init_from_an_image_file(pilot, content: Path, tmp_path: Path) -> None:
    app = pilot.app
    assert not shown(app, "#init_file-field"), "init file: shown only for 'an image file…'"
    await choose(pilot, "#init", FILE)
    assert app.main.query_one("#init_file-field", PathField).display, "init file: shown"
    run_is_off_because(app, "choose an init image")
    await set_text(pilot, "#init_file", str(tmp_path / "missing.png"))
    run_is_off_because(app, f"init image '{tmp_path / 'missing.png'}' does not exist")
    await set_text(pilot, "#init_file", str(content))
    run_is_on(app)
    config = await run_and_capture(pilot)
    assert config.look.init == str(content), "init file: in the config run"


def shown(app, selector: str) -> bool:
    """Whether the field is on the screen: a hidden field may not be mounted at all yet."""
    fields = app.main.query(selector)
    return bool(fields) and fields.first().display


async def weights_from_a_file(pilot, tmp_path: Path) -> None:
    app = pilot.app
    weights = tmp_path / "vgg19.safetensors"
    weights.write_bytes(b"not checked until a run loads it")
    assert not shown(app, "#weights_file-field"), "weights file: hidden"
    await choose(pilot, "#weights", FILE)
    assert app.main.query_one("#weights_file-field").display, "weights file: shown"
    run_is_off_because(app, "give a weights file")
    await set_text(pilot, "#weights_file", str(tmp_path / "none.pth"))
    run_is_off_because(app, f"weights file '{tmp_path / 'none.pth'}' does not exist")
    await set_text(pilot, "#weights_file", str(tmp_path))
    run_is_off_because(app, "is a folder, not a file")
    await set_text(pilot, "#weights_file", str(weights))
    run_is_on(app)
    assert not app.main.query_one("#weights-warning").display, "weights file: no warning"
    config = await run_and_capture(pilot)
    assert config.look.weights == str(weights), "weights file: in the config run"
    await choose(pilot, "#weights", "oxford")  # a fixed choice again
    assert not app.main.query_one("#weights_file-field").display, "weights file: hidden again"
    assert app.form_state.config.look.weights == "oxford", "weights file: a fixed choice"


async def each_new_setting_reaches_the_config_the_app_runs(pilot) -> None:
    app = pilot.app
    await set_text(pilot, "#style_weight", "30")
    await set_text(pilot, "#style_scale", "0.5")
    await choose(pilot, "#style_loss", "w2")
    await choose(pilot, "#preserve_color", "luminance")
    await tick(pilot, "#ema", False)
    await choose(pilot, "#padding", "zeros")
    await choose(pilot, "#loss_scale", "raw")
    await choose(pilot, "#init", "style")
    run_is_on(app)
    config = await run_and_capture(pilot)
    look = config.look
    assert (look.style_weight, look.style_scale, look.style_loss) == (30.0, 0.5, "w2"), look
    assert (look.preserve_color, look.ema, look.padding) == ("luminance", False, "zeros"), look
    assert (look.loss_scale, look.init) == ("raw", "style"), look
    assert config.inputs.extra_styles == () and look.style_blend == (), "new settings: one style"


async def test_two_style_images_with_weights_reach_the_blend(make_app, demo_pair) -> None:
    content, style = demo_pair
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        assert not shown(app, "#style-blend-field")  # one image: no weights
        second = await add_style(pilot, content)
        assert app.main.query_one("#style-blend-field").display
        assert str(app.main.query_one(f"#{second}-field .field-label").content) == "Style 2"
        await set_text(pilot, "#style-blend", "0.7")
        await set_text(pilot, f"#{second}-blend", "0.3")
        run_is_on(app)
        config = await run_and_capture(pilot)
        assert config.inputs.style == style
        assert config.inputs.extra_styles == (content,)
        assert config.look.style_blend == (0.7, 0.3)
        assert config.styles == (style, content)

        # A third, then the second removed: the third becomes "Style 2", its weight kept.
        third = await add_style(pilot, style)
        await set_text(pilot, f"#{third}-blend", "2")
        app.main.query_one(f"#{second}-remove", Button).press()
        await wait_for(pilot, lambda: not app.main.query(f"#{second}-field"), what="removal")
        await form_settled(pilot)
        assert str(app.main.query_one(f"#{third}-field .field-label").content) == "Style 2"
        assert app.form_state.config.inputs.extra_styles == (style,)
        assert app.form_state.config.look.style_blend == (0.7, 2.0)
        app.main.query_one(f"#{third}-remove", Button).press()
        await wait_for(pilot, lambda: not app.main.query(f"#{third}-field"), what="removal")
        await form_settled(pilot)
        assert app.form_state.config.inputs.extra_styles == ()
        assert app.form_state.config.look.style_blend == ()
        assert not app.main.query_one("#style-blend-field").display


@pytest.mark.slow  # runs the engine
async def test_a_tiny_run_blends_two_styles_from_an_init_file(make_app, demo_pair) -> None:
    """Through the engine: two style images, an init image file and kept colours."""
    content, style = demo_pair
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await add_style(pilot, content)
        await choose(pilot, "#init", FILE)
        await set_text(pilot, "#init_file", str(style))
        await choose(pilot, "#preserve_color", "luminance")
        output = app.form_state.config.inputs.output
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=300, what="the run")
        assert output.is_file(), str(app.main.panel.query_one("#run-result").content)
    remembered = load_remembered()
    assert remembered.config.inputs.extra_styles == (content,)
    assert remembered.config.look.init == str(style)


PRESET = """
style_weight = 55.0
style_loss = "w2"
preserve_color = "histogram"
style_scale = 1.5
ema = false
padding = "zeros"
loss_scale = "raw"
init = "{init}"
weights = "{weights}"
"""


async def test_a_preset_fills_the_new_fields_and_its_blend_the_weights_of_the_forms_styles(
    make_app, demo_pair, tmp_path: Path
) -> None:
    """Both parts in one app (an app start costs more than a part). A preset saved with two
    style images: its weights apply to the two in the form (the images are the form's, added
    after it started), not to the images it was saved with; they replace the weights typed
    before (a preset without a blend keeps them)."""
    content, _ = demo_pair
    weights = tmp_path / "mine.pth"
    weights.write_bytes(b"x")
    presets = locations.user_presets_dir()
    presets.mkdir(parents=True)
    text = PRESET.format(init=content, weights=weights)
    (presets / "artist.toml").write_text(text, encoding="utf-8")
    (presets / "blend.toml").write_text("style_blend = [0.25, 0.75]\n", encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        # A preset fills the new fields (and the default preset takes them back).
        await a_preset_fills_the_new_fields(pilot, content, weights)
        one_style_and_run_on(app, "after the preset's fields")
        # A preset's blend fills the weights of the styles in the form.
        second = await add_style(pilot, content)
        await set_text(pilot, "#style-blend", "3")
        await choose(pilot, "#preset", "blend")
        await wait_for(pilot, lambda: app.form_state.config is not None, what="the preset")
        assert app.main.query_one("#style-blend", Input).value == "0.25", "blend: the first"
        assert app.main.query_one(f"#{second}-blend", Input).value == "0.75", "blend: the second"
        assert app.form_state.config.inputs.extra_styles == (content,), "blend: the form's image"
        assert app.form_state.config.look.style_blend == (0.25, 0.75), "blend: the config"


async def a_preset_fills_the_new_fields(pilot, content: Path, weights: Path) -> None:
    app, main = pilot.app, pilot.app.main
    await choose(pilot, "#preset", "artist")
    await wait_for(pilot, lambda: app.form_state.config is not None, what="the preset")
    assert main.query_one("#style_weight", Input).value == "55"
    assert main.query_one("#style_scale", Input).value == "1.5"
    assert main.query_one("#style_loss", Dropdown).value == "w2"
    assert main.query_one("#preserve_color", Dropdown).value == "histogram"
    assert main.query_one("#ema", Checkbox).value is False
    assert main.query_one("#padding", Dropdown).value == "zeros"
    assert main.query_one("#loss_scale", Dropdown).value == "raw"
    assert main.query_one("#init", Dropdown).value == FILE
    assert main.query_one("#init_file", Input).value == str(content)
    assert main.query_one("#weights", Dropdown).value == FILE
    assert main.query_one("#weights_file", Input).value == str(weights)
    look = app.form_state.config.look
    assert (look.style_weight, look.style_scale, look.ema) == (55.0, 1.5, False), look
    assert look.init == str(content) and look.weights == str(weights), look
    # The default preset takes every one of them back.
    await choose(pilot, "#preset", "default")
    assert main.query_one("#style_scale", Input).value == "", "default: the scale"
    assert main.query_one("#init", Dropdown).value == "content+noise", "default: init"
    assert main.query_one("#weights", Dropdown).value == "auto", "default: weights"
    assert not main.query_one("#init_file-field").display, "default: no init file"
    assert main.query_one("#ema", Checkbox).value is True, "default: EMA"


async def test_remembered_settings_bring_back_styles_and_files(demo_pair, tmp_path) -> None:
    """What the form held when the app closed (settings.toml) fills it at the next start."""
    from nst_tui.app.remembered import Remembered, save_remembered

    content, style = demo_pair
    weights = tmp_path / "vgg.safetensors"
    weights.write_bytes(b"x")
    config = RunConfig.from_flat(
        content=content,
        style=style,
        extra_styles=(content,),
        style_blend=(3.0, 1.0),
        style_weight=25.0,
        preserve_color="luminance",
        style_scale=0.75,
        init=str(content),
        weights=str(weights),
        device="cpu",
    )
    save_remembered(config)
    remembered = load_remembered()
    assert remembered.problems == []
    app = NSTApp(Remembered(remembered.config), folder=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        run_is_on(app)
        fields = list(app.main.query(PathField))
        assert [field.role for field in fields[1:3]] == ["style image", "style image 2"]
        assert fields[2].input.value == str(content)
        # Each style image's thumbnail as large as the content's where there is room.
        assert {field.thumbnail_cells for field in fields[:3]} == {LARGE_THUMBNAIL_CELLS}
        assert app.main.query_one("#style-blend", Input).value == "3"
        shown = app.form_state.config
        assert shown.replace(output=None) == config.replace(output=None)

"""The form's hidden parts are mounted only when first shown (issue 21.7: fewer widgets to
style and lay out at every start and every key), and kept once mounted: the optimisers' panels
other than the chosen one's, the init image's path field, the weights file's field and the
first style image's blend weight (shown only with a second style image). What
the form reads is the same as when they were all there: the values of a part never mounted
are its config's. Few app starts: several parts in each, each named in its assertions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from app_helpers import form_settled, run_is_off_because, run_is_on, set_text, wait_for
from textual.widgets import Input

from nst_engine.settings.config import RunConfig
from nst_engine.settings.optimizer_settings import RMSpropSettings, SGDSettings
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.choice_or_file import FILE
from nst_tui.app.widgets.form.style_images import StyleImages

HIDDEN_AT_START = (
    "#params-lbfgs",
    "#params-sgd",
    "#params-rmsprop",
    "#init_file-field",
    "#style-blend-field",
)


def mounted(app, selector: str) -> bool:
    return bool(app.main.query(selector))


async def choose(pilot, selector: str, value: str, shown: str) -> None:
    """Choose `value` in a drop-down; wait for `shown` to be mounted and the form's check."""
    app = pilot.app
    app.main.query_one(selector, Dropdown).value = value
    await wait_for(pilot, lambda: mounted(app, shown), what=shown)
    await form_settled(pilot)


def read_config(app) -> RunConfig:
    """What a run started now would run: the form as read, its output aside (a new name)."""
    config = app.main.form.read().config
    assert config is not None, app.main.form.read().problems
    return config.replace(output=None)


async def test_hidden_parts_are_mounted_when_first_shown_and_kept(make_app, tiny_config) -> None:
    app = make_app()  # adam chosen, init from the content, weights random
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        for selector in (*HIDDEN_AT_START, "#weights_file-field"):
            assert not mounted(app, selector), f"at start: {selector} mounted while hidden"
        # Unmounted parts read as their config's: the form reads the config it was given.
        assert read_config(app) == tiny_config.replace(output=None), "at start: config read"
        await optimiser_panel_keeps_its_values(pilot)
        await init_file_field_mounts_and_checks(pilot, tiny_config.inputs.content)
        await blend_weight_mounts_with_a_second_style(pilot, tiny_config.inputs.content)


async def optimiser_panel_keeps_its_values(pilot) -> None:
    app = pilot.app
    # Optimiser sgd: its panel is mounted when chosen, what is typed survives a switch.
    await choose(pilot, "#optimizer", "sgd", "#params-sgd")
    await set_text(pilot, "#sgd-momentum", "0.5")
    await choose(pilot, "#optimizer", "adam", "#params-adam")
    assert mounted(app, "#params-sgd"), "optimiser sgd: panel dropped when hidden"
    assert not app.main.query_one("#params-sgd").display, "optimiser sgd: panel still shown"
    assert read_config(app).plan.optimizer.sgd.momentum == 0.5, "optimiser sgd: hidden value"
    await choose(pilot, "#optimizer", "sgd", "#params-sgd")
    momentum = app.main.query_one("#sgd-momentum", Input).value
    assert momentum == "0.5", "optimiser sgd: typed momentum lost after a switch"
    assert read_config(app).plan.optimizer.sgd.momentum == 0.5, "optimiser sgd: config"
    await choose(pilot, "#optimizer", "adam", "#params-adam")


async def init_file_field_mounts_and_checks(pilot, content: Path) -> None:
    app = pilot.app
    # Init file: its path field is mounted when "an image file…" is chosen, and checked.
    await choose(pilot, "#init", FILE, "#init_file-field")
    assert app.main.query_one("#init_file-field").display, "init file: not shown"
    run_is_off_because(app, "choose an init image")
    await set_text(pilot, "#init_file", "/no/such/picture.png")
    run_is_off_because(app, "init image '/no/such/picture.png' does not exist")
    await set_text(pilot, "#init_file", str(content))
    run_is_on(app)
    assert read_config(app).look.init == str(content), "init file: not in the config"
    # Back to a fixed choice and to the file again: the path is kept.
    await choose(pilot, "#init", "noise", "#init_file-field")
    assert not app.main.query_one("#init_file-field").display, "init file: shown for noise"
    assert read_config(app).look.init == "noise", "init file: read though not chosen"
    await choose(pilot, "#init", FILE, "#init_file-field")
    path = app.main.query_one("#init_file", Input).value
    assert path == str(content), "init file: path lost after a switch"


async def test_a_loaded_config_fills_parts_never_mounted(make_app, tiny_config, tmp_path) -> None:
    """What the history's Load and a preset do (form.load): another optimiser's parameters,
    an init image and a weights file land in their parts, mounted or not."""
    weights = tmp_path / "mine.pth"
    weights.write_bytes(b"checked when a run loads it")
    optimizer = dataclasses.replace(
        tiny_config.plan.optimizer,
        rmsprop=RMSpropSettings(alpha=0.9, momentum=0.25),
        sgd=SGDSettings(momentum=0.75, nesterov=True),
    )
    config = tiny_config.replace(
        optimizer=optimizer, init=str(tiny_config.inputs.style), weights=str(weights)
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        app.main.form.load(config)
        await wait_for(pilot, lambda: mounted(app, "#weights_file-field"), what="weights file")
        await form_settled(pilot)
        # Config read: unmounted optimisers' parameters, the init image, the weights file.
        assert read_config(app) == config.replace(output=None), "loaded config: read back"
        init = app.main.query_one("#init_file", Input).value
        assert init == str(tiny_config.inputs.style), "loaded init file: not in its field"
        shown = app.main.query_one("#weights_file", Input).value
        assert shown == str(weights), "loaded weights file: not in its field"
        # Optimiser rmsprop, never mounted: its panel shows the loaded values when chosen.
        await choose(pilot, "#optimizer", "rmsprop", "#params-rmsprop")
        alpha = app.main.query_one("#rmsprop-alpha", Input).value
        assert alpha == "0.9", "optimiser rmsprop: loaded alpha not in its panel"
        assert read_config(app).plan.optimizer.rmsprop.momentum == 0.25, "optimiser rmsprop"
        # Optimiser sgd: the Nesterov switch too.
        await choose(pilot, "#optimizer", "sgd", "#params-sgd")
        assert app.main.query_one("#sgd-nesterov").value is True, "optimiser sgd: Nesterov"


async def blend_weight_mounts_with_a_second_style(pilot, content: Path) -> None:
    app = pilot.app
    # Style blend: the first image's weight is mounted with a second image, kept after.
    styles = app.main.query_one(StyleImages)
    await styles.add(str(content))
    await wait_for(pilot, lambda: mounted(app, "#style-blend"), what="the blend weight")
    await form_settled(pilot)
    assert app.main.query_one("#style-blend-field").display, "style blend: not shown"
    await set_text(pilot, "#style-blend", "3")
    assert read_config(app).look.style_blend == (3.0, 1.0), "style blend: not in the config"
    styles.remove_extra(styles.extras[0])
    await form_settled(pilot)
    assert not app.main.query_one("#style-blend-field").display, "style blend: one image"
    assert read_config(app).look.style_blend == (), "style blend: read with one image"

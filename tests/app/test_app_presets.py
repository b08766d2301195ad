"""Presets from the form (save, list, load, broken ones refused) and the form values remembered
between sessions."""

from __future__ import annotations

from pathlib import Path

from app_helpers import form_settled, run_is_on, set_text, wait_for
from textual.widgets import Input

from nst_engine.settings.config import RunConfig
from nst_engine.settings.presets import load_preset
from nst_engine.store import locations
from nst_tui.app.app import NSTApp
from nst_tui.app.remembered import (
    config_from_saved,
    load_remembered,
    save_remembered,
    settings_path,
)
from nst_tui.app.screens.save_preset import SavePresetScreen, name_problem
from nst_tui.app.widgets.dropdown import Dropdown


async def test_save_as_preset_load_it_back_and_a_preset_sets_every_field(make_app) -> None:
    """Both parts in one app (an app start costs more than a part)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        # Save as a preset, then load it back.
        await set_text(pilot, "#iterations", "77")
        await set_text(pilot, "#tv_weight", "0.5")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SavePresetScreen), what="the dialog")
        await pilot.press(*"my look", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, SavePresetScreen), what="saving")
        path = locations.user_presets_dir() / "my look.toml"
        assert path.is_file()
        saved = load_preset("my look")
        assert saved.plan.iterations == 77 and saved.look.tv_weight == 0.5
        assert "rocket" not in path.read_text()  # settings only, never the image paths
        preset = app.main.query_one("#preset", Dropdown)
        assert "my look" in [value for _, value in preset.options]

        # Load a built-in preset: every setting changes, the images stay.
        content = app.main.query_one("#content", Input).value
        preset.value = "reference-2022"
        await pilot.pause()
        await form_settled(pilot)
        reference = load_preset("reference-2022")
        config = app.form_state.config
        assert config.plan.iterations == reference.plan.iterations
        assert config.plan.optimizer.name == "adam"
        assert config.look.style_layers == reference.look.style_layers
        assert app.main.query_one("#content", Input).value == content

        # And back to the user's own.
        preset.value = "my look"
        await pilot.pause()
        await form_settled(pilot)
        assert app.form_state.config.plan.iterations == 77
        assert app.main.query_one("#tv_weight", Input).value == "0.5"

        # A preset sets every field, leaving nothing of the previous one (here: "my look").
        await a_preset_sets_every_field_leaving_nothing_of_the_previous_one(pilot)


def test_preset_names_are_checked_before_saving() -> None:
    assert name_problem("") == "type a name"
    assert "built-in" in name_problem("default")
    assert "start with a letter or digit" in name_problem("../evil")
    assert name_problem("Soft 2") == ""


async def test_the_form_is_remembered_between_sessions(make_app, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#seed", "42")
        await pilot.press("ctrl+q")
    assert settings_path().is_file()
    remembered = load_remembered()
    assert remembered.config.plan.seed == 42
    assert remembered.problems == []
    again = NSTApp(remembered, folder=tmp_path)
    async with again.run_test() as pilot:
        await form_settled(pilot)
        assert again.main.query_one("#seed", Input).value == "42"
        assert again.form_state.config.look.weights == "random"


def test_a_bad_remembered_value_falls_back_to_its_default(tmp_path: Path) -> None:
    base = RunConfig()
    data = {
        "iterations": -3,
        "seed": 5,
        "optimizer": {"name": "adam", "adam": {"beta1": 7}, "lr": 0.5},
        "style_layers": {"relu9_9": 1.0},
        "nonsense": True,
    }
    config, problems = config_from_saved(data, base)
    assert (
        config.plan.seed == 5
        and config.plan.optimizer.name == "adam"
        and config.plan.optimizer.lr == 0.5
    )
    assert config.plan.iterations == base.plan.iterations
    assert config.plan.optimizer.adam == base.plan.optimizer.adam
    assert config.look.style_layers == base.look.style_layers
    assert sorted(problems) == ["iterations", "nonsense", "optimizer.adam", "style_layers"]


def test_an_unreadable_settings_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("this is [not toml", encoding="utf-8")
    remembered = load_remembered(path)
    assert remembered.config.plan.iterations == RunConfig().plan.iterations
    assert remembered.problems == ["settings.toml (unreadable)"]


def test_saving_without_a_valid_form_keeps_the_last_good_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    save_remembered(RunConfig.from_flat(seed=9), "cells", path)
    save_remembered(None, "graphics", path)
    remembered = load_remembered(path)
    assert remembered.config.plan.seed == 9
    assert remembered.preview_mode == "graphics"
    assert "output" not in path.read_text()


# --- broken presets (the form's side of tests/cli/test_cli_bad_input.py) --------------------------


BROKEN_PRESETS = {
    "syntax error": ("iterations = = 3\n", "preset 'broken' is not valid TOML"),
    "unknown key": ("iteration = 3\n", "unknown setting 'iteration'"),
    "unknown layer": ("[style_layers]\nrelu9_9 = 1.0\n", "unknown VGG19 layer 'relu9_9'"),
    "all weights zero": ("[content_layers]\nrelu4_2 = 0\n", "choose at least one content layer"),
    "bad number": ("iterations = -4\n", "iterations must be at least 1, got -4"),
}


async def test_a_broken_user_preset_is_named_and_the_form_kept(make_app) -> None:
    """Every case in one app (an app start costs more than a case), each from a good form: the
    preset file is read when it is chosen, so each case rewrites it before choosing it."""
    presets = locations.user_presets_dir()
    presets.mkdir(parents=True)
    (presets / "broken.toml").write_text("iterations = 3\n", encoding="utf-8")
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        preset = app.main.query_one("#preset", Dropdown)
        assert "broken" in [value for _, value in preset.options]
        for case, (text, message) in BROKEN_PRESETS.items():
            # Each case: the broken preset is named in one line, the form kept.
            (presets / "broken.toml").write_text(text, encoding="utf-8")
            before = app.form_state.config
            assert before is not None, case
            seen = list(app._notifications)  # (old ones may expire: not counted by index)
            preset.value = "broken"
            await pilot.pause()
            await form_settled(pilot)
            notes = [
                n for n in app._notifications if n not in seen and n.title == "Preset not loaded"
            ]
            assert len(notes) == 1 and message in notes[0].message, (case, notes)
            assert "\n" not in notes[0].message, case
            assert preset.value is None, case  # blank: can be chosen again once fixed
            run_is_on(app)
            assert app.form_state.config == before, case
            preset.value = "default"  # a good one still loads
            await pilot.pause()
            await form_settled(pilot)
            run_is_on(app)
            assert preset.value == "default", case


async def a_preset_sets_every_field_leaving_nothing_of_the_previous_one(pilot) -> None:
    """reference-2022 sets an output size; default does not name one, so it goes back to
    the default (the compute size) instead of staying 224x224. The images stay."""
    app = pilot.app
    content = app.main.query_one("#content", Input).value
    output = app.main.query_one("#output", Input).value
    preset = app.main.query_one("#preset", Dropdown)
    preset.value = "reference-2022"
    await pilot.pause()
    await form_settled(pilot)
    assert app.main.query_one("#output_size", Input).value == "224x224", "every field: ref"
    preset.value = "default"
    await pilot.pause()
    await form_settled(pilot)
    assert app.main.query_one("#output_size", Input).value == "", "every field: no output size"
    assert app.main.query_one("#size", Input).value == "512", "every field: the size"
    config = app.form_state.config
    assert config.plan.output_size is None, "every field: none in the config"
    # Every setting is the default preset's (the fixture's random weights and CPU too).
    assert config.replace(content=None, style=None, output=None) == load_preset("default")
    assert app.main.query_one("#content", Input).value == content, "every field: content"
    assert app.main.query_one("#output", Input).value == output, "every field: output"


def test_the_form_is_remembered_through_the_atomic_write(tmp_path: Path, atomic_writes) -> None:
    path = tmp_path / "settings.toml"
    assert save_remembered(RunConfig.from_flat(seed=9), "cells", path) == path
    assert atomic_writes == [path]
    assert load_remembered(path).config.plan.seed == 9


def test_a_bad_remembered_sequence_value_is_named_and_its_default_used(tmp_path: Path) -> None:
    from nst_engine.video.settings import SequenceSettings

    path = tmp_path / "settings.toml"
    save_remembered(RunConfig.from_flat(seed=9), "cells", path, SequenceSettings(7, 5.0, False))
    assert load_remembered(path).sequence == SequenceSettings(7, 5.0, guided=False)
    save_remembered(RunConfig.from_flat(seed=9), "cells", path)  # a picture: the last kept
    assert load_remembered(path).sequence == SequenceSettings(7, 5.0, guided=False)
    text = path.read_text().replace("frame_iterations = 7", "frame_iterations = 0")
    path.write_text(text.replace("temporal_weight = 5.0", 'temporal_weight = "x"'))
    remembered = load_remembered(path)
    assert remembered.sequence == SequenceSettings(guided=False)
    assert remembered.problems == ["sequence.frame_iterations", "sequence.temporal_weight"]
    assert remembered.config.plan.seed == 9

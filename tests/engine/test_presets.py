"""Presets: the built-in ones, the user's own, and settings taken from an nst-tui image."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from nst_engine.errors import ConfigError
from nst_engine.running.images import save_image
from nst_engine.settings.config import RunConfig
from nst_engine.settings.presets import (
    builtin_preset_names,
    delete_user_preset,
    load_preset,
    preset_description,
    save_user_preset,
    user_preset_names,
)
from nst_engine.settings.values import Size
from nst_engine.store import locations


def test_the_built_in_presets_are_default_and_reference_2022():
    assert {"default", "reference-2022"} <= set(builtin_preset_names())
    assert preset_description("reference-2022").startswith("The documented defaults")


def test_the_default_preset_is_the_dataclass_defaults():
    assert load_preset("default") == RunConfig()


def test_reference_2022_has_exactly_the_documented_settings():
    config = load_preset("reference-2022")
    # Keras's block1_conv1.. include their ReLU: the rectified outputs (issue 10, item 10).
    assert config.look.style_layers == (
        ("relu1_1", 1.0),
        ("relu2_1", 1.5),
        ("relu3_1", 2.0),
        ("relu4_1", 2.5),
        ("relu5_1", 3.0),
    )
    assert config.look.content_layers == (("relu4_2", 10.0),)
    assert config.look.tv_weight == 100.0
    # The 2022 formulas exactly: raw sums, no style factor, zero padding, no averaging.
    assert (config.look.loss_scale, config.look.style_weight, config.look.style_loss) == (
        "raw",
        1.0,
        "gram",
    )
    assert (config.look.padding, config.look.ema, config.look.preserve_color) == (
        "zeros",
        False,
        "off",
    )
    assert config.plan.optimizer.name == "adam"
    assert config.plan.optimizer.lr == 0.05
    assert config.plan.optimizer.adam.beta1 == 0.99
    assert config.plan.optimizer.adam.eps == 0.1
    assert config.plan.size == Size(width=224, height=224)
    assert config.plan.output_size == Size(width=224, height=224)
    assert config.plan.iterations == 5000
    assert config.look.init == "content+noise"


def test_print_goes_coarse_to_fine_to_2048_px_with_the_default_look():
    config = load_preset("print")
    assert config.plan.size == Size(longest=2048)
    assert (config.plan.min_size, config.plan.scale_iterations, config.plan.iterations) == (
        256,
        100,
        100,
    )
    assert config.plan.optimizer.name == "lbfgs"
    default = RunConfig()
    assert (config.look.content_layers, config.look.style_layers) == (
        default.look.content_layers,
        default.look.style_layers,
    )
    # Normalised terms do not grow with the side: the default's weights as they are.
    assert (config.look.style_weight, config.look.tv_weight) == (
        default.look.style_weight,
        default.look.tv_weight,
    )
    assert preset_description("print").startswith("Large prints")


def test_the_default_preset_has_coarse_to_fine_off():
    assert load_preset("default").plan.min_size == 0


def test_a_preset_keeps_the_base_paths(tmp_path):
    base = RunConfig.from_flat(content=tmp_path / "c.jpg", style=tmp_path / "s.jpg")
    config = load_preset("reference-2022", base)
    assert config.inputs.content == tmp_path / "c.jpg"
    assert config.inputs.style == tmp_path / "s.jpg"
    assert config.plan.iterations == 5000


def test_what_a_preset_does_not_name_takes_the_default_not_the_base(tmp_path):
    base = load_preset(
        "reference-2022", RunConfig.from_flat(content=tmp_path / "c.jpg", output=tmp_path / "o.png")
    )
    config = load_preset("default", base)
    assert config.plan.output_size is None  # reference-2022's 224x224 does not stay behind
    assert config.replace(content=None, output=None) == RunConfig()
    assert (
        config.inputs.content == tmp_path / "c.jpg" and config.inputs.output == tmp_path / "o.png"
    )


def test_a_compute_size_laid_over_a_preset_lets_the_output_size_follow_it():
    """Issue 18: reference-2022's output size (224x224, for its own compute size) stayed
    behind a size laid over it (a sweep file, --set), saving a stretched picture."""
    from nst_engine.settings.sizes import resolve_sizes

    reference = load_preset("reference-2022")
    config = RunConfig.from_dict({"size": 192}, reference)
    assert config.plan.output_size is None
    sizes = resolve_sizes(config, (640, 480), (300, 300))
    assert sizes.compute == sizes.output == (192, 144)
    both = RunConfig.from_dict({"size": 192, "output_size": 400}, reference)
    assert resolve_sizes(both, (640, 480), (300, 300)).output == (400, 300)
    # Settings that do not name the size leave the output size alone.
    assert (
        RunConfig.from_dict({"tv_weight": 5}, reference).plan.output_size
        == reference.plan.output_size
    )


def test_a_user_preset_can_be_deleted_a_built_in_one_cannot():
    path = save_user_preset("gone soon", RunConfig.from_flat(iterations=7))
    assert delete_user_preset("gone soon") == path
    assert not path.exists()
    assert "gone soon" not in user_preset_names()
    with pytest.raises(ConfigError, match="'default' is a built-in preset: it cannot be deleted"):
        delete_user_preset("default")
    with pytest.raises(ConfigError, match="no preset of yours called 'gone soon'"):
        delete_user_preset("gone soon")
    assert "default" in builtin_preset_names()


def test_a_user_preset_is_saved_and_loaded_by_name():
    config = RunConfig.from_flat(
        iterations=77, tv_weight=5.0, optimizer={"name": "rmsprop", "lr": 0.3}
    )
    path = save_user_preset("my look", config)
    assert path.is_file()
    assert "my look" in user_preset_names()
    assert load_preset("my look") == config
    assert preset_description("my look") == "user preset 'my look'"


def test_a_user_preset_holds_no_paths(tmp_path):
    config = RunConfig.from_flat(content=tmp_path / "secret.jpg", iterations=12)
    path = save_user_preset("nopaths", config)
    assert "secret.jpg" not in path.read_text(encoding="utf-8")
    assert load_preset("nopaths").inputs.content is None


@pytest.mark.parametrize("name", ["default", "reference-2022"])
def test_a_built_in_name_is_refused_for_a_user_preset(name):
    with pytest.raises(ConfigError, match="is a built-in preset"):
        save_user_preset(name, RunConfig())


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "-dash"])
def test_a_preset_name_that_is_not_a_plain_name_is_refused(name):
    with pytest.raises(ConfigError, match="must start with a letter or digit"):
        save_user_preset(name, RunConfig())


def test_an_unknown_preset_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        load_preset("nonesuch")
    assert "no preset called 'nonesuch'" in caught.value.message
    assert "default" in caught.value.message and "reference-2022" in caught.value.message


def test_a_preset_file_is_loaded_from_its_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("iterations = 12\n[optimizer]\nname = 'sgd'\n", encoding="utf-8")
    config = load_preset(str(path))
    assert config.plan.iterations == 12
    assert config.plan.optimizer.name == "sgd"


def test_a_preset_file_with_an_unknown_key_names_the_key(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text("iteration = 12\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_preset(str(path))
    assert "unknown setting 'iteration'" in caught.value.message
    assert str(path) in caught.value.message


def test_a_preset_file_with_a_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("iterations = \n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_preset(str(path))
    assert "is not valid TOML" in caught.value.message
    assert str(path) in caught.value.message


def test_a_preset_from_an_nst_tui_image_gives_its_settings(tmp_path):
    config = RunConfig.from_flat(
        content=tmp_path / "c.jpg",
        style=tmp_path / "s.jpg",
        output=tmp_path / "o.png",
        iterations=33,
        optimizer={"name": "adam", "lr": 4.0},
        style_layers={"relu2_1": 3.0},
    )
    image_path = tmp_path / "made.png"
    save_image(Image.new("RGB", (20, 20)), image_path, "# made by nst-tui\n" + config.to_toml())
    loaded = load_preset(str(image_path))
    # Settings come from the image; paths never do.
    assert loaded == config.replace(content=None, style=None, output=None)


def test_a_preset_from_an_image_without_settings_is_refused(tmp_path):
    image_path = tmp_path / "plain.png"
    Image.new("RGB", (20, 20)).save(image_path)
    with pytest.raises(ConfigError, match="carries no nst-tui settings"):
        load_preset(str(image_path))


def test_a_preset_from_an_image_whose_settings_are_not_toml_is_refused(tmp_path):
    image_path = tmp_path / "garbled.png"
    save_image(Image.new("RGB", (20, 20)), image_path, "this = is = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_preset(str(image_path))


def test_a_preset_path_that_is_not_an_image_is_refused(tmp_path: Path):
    fake = tmp_path / "fake.png"
    fake.write_text("hello", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a readable image"):
        load_preset(str(fake))
    with pytest.raises(ConfigError, match="is not a readable image"):
        load_preset(str(tmp_path / "missing.png"))


def test_a_preset_brings_no_style_paths_and_drops_a_blend_that_does_not_fit(tmp_path):
    made = RunConfig.from_flat(
        style=tmp_path / "a.jpg", extra_styles=[tmp_path / "b.jpg"], style_blend=(0.7, 0.3)
    )
    preset = tmp_path / "made.toml"
    preset.write_text(made.to_toml(), encoding="utf-8")
    one = load_preset(str(preset), RunConfig.from_flat(style=tmp_path / "mine.jpg"))
    assert (one.styles, one.look.style_blend) == ((tmp_path / "mine.jpg",), ())
    two = RunConfig.from_flat(style=tmp_path / "x.jpg", extra_styles=[tmp_path / "y.jpg"])
    assert load_preset(str(preset), two).look.style_blend == (0.7, 0.3)


def test_the_preset_a_config_matches_is_named_and_a_changed_one_is_none(demo_pair) -> None:
    from nst_engine.settings.presets import matching_preset

    content, style = demo_pair
    base = RunConfig.from_flat(
        content=content, style=style, extra_styles=(content,), style_blend=(3, 1)
    )
    painterly = load_preset("painterly", base)
    assert painterly.look.style_blend == ()  # the preset has no blend: the images' is not its
    assert matching_preset(painterly.replace(style_blend=(3, 1))) == "painterly"
    assert matching_preset(painterly.replace(iterations=201)) is None
    assert matching_preset(RunConfig()) == "default"
    # A preset of one's own that has this blend names it better than the default does.
    folder = locations.user_presets_dir()
    folder.mkdir(parents=True)
    (folder / "blend.toml").write_text("style_blend = [0.25, 0.75]\n", encoding="utf-8")
    assert matching_preset(load_preset("blend", base)) == "blend"
    assert matching_preset(load_preset("blend", base).replace(style_blend=(3, 1))) == "default"

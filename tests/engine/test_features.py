"""The truncated, frozen VGG19 feature extractor and the preprocessing of each weight source."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision_vgg import torchvision_features

from nst_engine.method.features import (
    CAFFE_MEAN_BGR,
    IMAGENET_MEAN,
    IMAGENET_STD,
    FeatureExtractor,
    Preprocess,
    ScaledAvgPool,
)
from nst_engine.method.weights import Weights, random_weights
from nst_engine.settings.layers import LAYERS


@pytest.fixture(scope="module")
def weights() -> Weights:
    return random_weights(11)


def test_only_the_requested_layers_come_back_with_their_shapes(weights):
    layers = ["relu1_1", "pool1", "conv3_2", "relu5_1"]
    extractor = FeatureExtractor(weights, layers)
    outputs = extractor(torch.rand(1, 3, 64, 48))
    assert list(outputs) == layers
    assert outputs["relu1_1"].shape == (1, 64, 64, 48)
    assert outputs["pool1"].shape == (1, 64, 32, 24)
    assert outputs["conv3_2"].shape == (1, 256, 16, 12)
    assert outputs["relu5_1"].shape == (1, 512, 4, 3)


def test_nothing_past_the_deepest_requested_layer_is_built_or_run(weights):
    extractor = FeatureExtractor(weights, ["relu2_1", "conv1_2"])
    assert len(extractor.features) == LAYERS["relu2_1"].index + 1
    extractor = FeatureExtractor(weights, ["pool5"])
    assert len(extractor.features) == 37


def test_the_extractor_is_frozen_and_stays_in_eval_mode(weights):
    extractor = FeatureExtractor(weights, ["relu3_1"])
    assert not any(parameter.requires_grad for parameter in extractor.parameters())
    assert not extractor.training
    extractor.train()
    assert not extractor.training
    assert not any(module.training for module in extractor.modules())


def test_gradients_flow_to_the_image_but_not_the_weights(weights):
    extractor = FeatureExtractor(weights, ["relu2_1"])
    image = torch.rand(1, 3, 20, 20, requires_grad=True)
    extractor(image)["relu2_1"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(parameter.grad is None for parameter in extractor.parameters())


def test_a_relu_output_is_not_overwritten_in_place(weights):
    # conv1_1 and relu1_1 both requested: the conv output must keep its negative values.
    outputs = FeatureExtractor(weights, ["conv1_1", "relu1_1"])(torch.rand(1, 3, 16, 16))
    assert (outputs["conv1_1"] < 0).any()
    assert torch.equal(outputs["relu1_1"], outputs["conv1_1"].clamp_min(0))


@pytest.mark.parametrize(("pooling", "kind"), [("max", nn.MaxPool2d), ("avg", ScaledAvgPool)])
def test_pooling_option_chooses_the_pooling_module(weights, pooling, kind):
    extractor = FeatureExtractor(weights, ["pool5"], pooling=pooling)
    pools = [extractor.features[LAYERS[f"pool{block}"].index] for block in range(1, 6)]
    assert all(type(module) is kind for module in pools)


def test_the_extractor_matches_torchvision_vgg19_with_the_same_weights(weights):
    reference = torchvision_features(20, weights.state_dict)  # up to relu4_1
    reference.eval()
    image = torch.rand(1, 3, 32, 32)
    ours = FeatureExtractor(weights, ["relu4_1"])(image)["relu4_1"]
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        theirs = reference((image - mean) / std)
    torch.testing.assert_close(ours, theirs)


def test_caffe_preprocessing_flips_to_bgr_scales_to_255_and_subtracts_the_means():
    rgb = torch.tensor([0.1, 0.5, 0.9]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    out = Preprocess("caffe")(rgb)
    blue, green, red = 0.9 * 255, 0.5 * 255, 0.1 * 255
    expected = torch.tensor(
        [blue - CAFFE_MEAN_BGR[0], green - CAFFE_MEAN_BGR[1], red - CAFFE_MEAN_BGR[2]]
    )
    torch.testing.assert_close(out[0, :, 1, 1], expected)
    assert CAFFE_MEAN_BGR == (103.939, 116.779, 123.68)


def test_imagenet_preprocessing_keeps_rgb_and_normalises_by_mean_and_std():
    rgb = torch.tensor([0.1, 0.5, 0.9]).view(1, 3, 1, 1)
    out = Preprocess("imagenet")(rgb)
    expected = torch.tensor(
        [(0.1 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0.9 - 0.406) / 0.225]
    ).view(1, 3, 1, 1)
    torch.testing.assert_close(out, expected)


def test_the_extractor_uses_the_preprocessing_of_its_weights(weights):
    caffe = Weights(weights.state_dict, "caffe", "as caffe")
    extractor = FeatureExtractor(caffe, ["conv1_1"])
    image = torch.rand(1, 3, 16, 16)
    conv = extractor.features[0]
    with torch.no_grad():
        expected = conv(image.flip(1) * 255 - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1))
    torch.testing.assert_close(extractor(image)["conv1_1"], expected)


# --- in-place ReLU and channels_last (issue 9, item 3) -----------------------------------------


def _reference_features(weights: Weights, layers: list[str], image: torch.Tensor) -> dict:
    """The activations as torchvision's plain VGG19 (no in-place ReLU, contiguous) gives them."""
    last = max(LAYERS[name].index for name in layers)
    reference = torchvision_features(last, weights.state_dict)
    for module in reference:
        if isinstance(module, nn.ReLU):
            module.inplace = False
    wanted = {LAYERS[name].index: name for name in layers}
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    x = (image - mean) / std
    outputs = {}
    with torch.no_grad():
        for index, module in enumerate(reference):
            x = module(x)
            if index in wanted:
                outputs[wanted[index]] = x.clone()
    return outputs


LAYER_MIXES = [
    ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"],  # the default preset
    ["conv1_1", "relu1_1", "conv2_2", "pool2", "conv4_2"],  # conv outputs requested
]


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("layers", LAYER_MIXES)
def test_the_activations_are_the_plain_networks_with_and_without_channels_last(
    weights, layers, channels_last
):
    image = torch.rand(1, 3, 48, 40)
    ours = FeatureExtractor(weights, layers, channels_last=channels_last)(image)
    theirs = _reference_features(weights, layers, image)
    assert list(ours) == layers
    for name in layers:
        assert ours[name].shape == theirs[name].shape
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-4, atol=1e-4)


def test_relus_run_in_place_except_after_a_requested_conv(weights):
    extractor = FeatureExtractor(weights, ["conv1_1", "relu1_2", "conv3_1", "relu3_1"])
    relus = {
        name: extractor.features[layer.index]
        for name, layer in LAYERS.items()
        if layer.kind == "relu" and layer.index < len(extractor.features)
    }
    assert not relus["relu1_1"].inplace  # conv1_1 is requested: its output must stay intact
    assert not relus["relu3_1"].inplace
    assert relus["relu1_2"].inplace  # conv1_2 is not requested; relu1_2's own output is fine
    assert relus["relu2_1"].inplace


@pytest.mark.parametrize("channels_last", [False, True])
def test_requested_conv_outputs_keep_their_negative_values_and_gradients_match(
    weights, channels_last
):
    layers = ["conv1_1", "relu1_1", "conv2_1", "relu3_1"]
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    outputs = FeatureExtractor(weights, layers, channels_last=channels_last)(image)
    assert (outputs["conv1_1"] < 0).any() and (outputs["conv2_1"] < 0).any()
    torch.testing.assert_close(outputs["relu1_1"], outputs["conv1_1"].clamp_min(0))
    sum(value.square().sum() for value in outputs.values()).backward()
    ours = image.grad.clone()

    image.grad = None
    plain = FeatureExtractor(weights, layers)
    for module in plain.features:
        if isinstance(module, nn.ReLU):
            module.inplace = False
    sum(value.square().sum() for value in plain(image).values()).backward()
    torch.testing.assert_close(ours, image.grad, rtol=1e-4, atol=1e-3)


def test_channels_last_puts_the_weights_and_the_activations_in_that_format(weights):
    extractor = FeatureExtractor(weights, ["relu2_1"], channels_last=True)
    assert extractor.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    output = extractor(torch.rand(1, 3, 24, 24))["relu2_1"]
    assert output.is_contiguous(memory_format=torch.channels_last)
    contiguous = FeatureExtractor(weights, ["relu2_1"])(torch.rand(1, 3, 24, 24))["relu2_1"]
    assert contiguous.is_contiguous()


# --- the border of the first convolution (issue 20, item 5) -----------------------------------


def test_replicate_padding_is_built_from_edge_slices_with_the_same_values_and_gradient():
    """The first convolution's border is the image's edge pixels, as PyTorch's replicate
    padding makes it, but built with torch.cat of slices: its backward is slices added up,
    not ReplicationPad2d's atomic adds (not deterministic on CUDA, and slow on the CPU)."""
    import torch
    from torch import nn

    from nst_engine.method.features import build_features

    torch.manual_seed(0)
    ours = build_features(0, padding="replicate")[0]
    theirs = nn.Conv2d(3, 64, kernel_size=3, padding=1, padding_mode="replicate")
    theirs.load_state_dict(ours.state_dict())  # the same weights, by the same names
    image = torch.rand(1, 3, 9, 13)
    mine, reference = image.clone().requires_grad_(), image.clone().requires_grad_()
    out, expected = ours(mine), theirs(reference)
    torch.testing.assert_close(out, expected)
    weights = torch.rand_like(out)
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    torch.testing.assert_close(mine.grad, reference.grad)

    def backward_names(node, seen=None) -> set[str]:
        seen = set() if seen is None else seen
        if node is not None and node.name() not in seen:
            seen.add(node.name())
            for parent, _ in node.next_functions:
                backward_names(parent, seen)
        return seen

    names = backward_names(out.grad_fn)
    assert any("Cat" in name for name in names)
    assert not any("Replication" in name or "Pad" in name for name in names), names

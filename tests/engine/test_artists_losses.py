"""Issue 10's loss pieces against hand computations: W2, blended targets, the normalised
terms, the moving average, replicate padding and calibrated average pooling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nst_engine.method.features import FeatureExtractor, ScaledAvgPool
from nst_engine.method.losses import ContentLoss, TotalVariationLoss, build_loss
from nst_engine.method.statistics import StyleLoss, WassersteinStyleLoss
from nst_engine.method.weights import random_weights
from nst_engine.running.tensors import MovingAverage
from nst_engine.settings.layers import LAYERS


def features_of(seed: int, channels: int = 3, side: int = 4) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, channels, side, side + 1, generator=generator, dtype=torch.float64) * 3


def square_root(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T


def w2_by_hand(output: np.ndarray, style: np.ndarray) -> float:
    """Squared 2-Wasserstein distance between the Gaussians of two N x M activations."""
    mean_o, mean_s = output.mean(axis=1), style.mean(axis=1)
    cov_o = np.cov(output, bias=True)
    cov_s = np.cov(style, bias=True)
    root_s = square_root(cov_s)
    cross = np.trace(square_root(root_s @ cov_o @ root_s))
    return float(((mean_o - mean_s) ** 2).sum() + np.trace(cov_o) + np.trace(cov_s) - 2 * cross)


def test_the_w2_loss_matches_a_hand_computation_on_small_matrices():
    output, style = features_of(1), features_of(2, side=6)
    by_hand = w2_by_hand(output[0].reshape(3, -1).numpy(), style[0].reshape(3, -1).numpy())
    assert WassersteinStyleLoss(style, 1.0)(output).item() == pytest.approx(by_hand, rel=1e-6)
    assert WassersteinStyleLoss(style, 2.5)(output).item() == pytest.approx(2.5 * by_hand, rel=1e-6)
    # Normalised: over |mu_s|^2 + tr(S_s), the distance of an all-zero image.
    flat = style[0].reshape(3, -1).numpy()
    size = (flat.mean(axis=1) ** 2).sum() + np.trace(np.cov(flat, bias=True))
    normalized = WassersteinStyleLoss(style, 1.0, normalized=True)(output).item()
    assert normalized == pytest.approx(by_hand / size, rel=1e-6)


def test_the_w2_loss_is_zero_at_its_target_and_its_gradient_is_finite():
    style = features_of(3, side=5)
    assert WassersteinStyleLoss(style, 1.0)(style).item() == pytest.approx(0.0, abs=1e-9)
    output = features_of(4).float().requires_grad_(True)
    WassersteinStyleLoss(style.float(), 1.0, normalized=True)(output).backward()
    assert torch.isfinite(output.grad).all() and output.grad.abs().sum() > 0


def test_the_normalised_gram_loss_is_the_relative_error_of_per_position_grams():
    output, style = features_of(5), features_of(6, side=7)
    gram = lambda f: (f[0].reshape(3, -1) @ f[0].reshape(3, -1).T / f[0][0].numel()).numpy()  # noqa: E731
    difference = ((gram(output) - gram(style)) ** 2).sum()
    normalized = StyleLoss(style, 1.0, normalized=True)(output).item()
    assert normalized == pytest.approx(difference / (gram(style) ** 2).sum(), rel=1e-9)
    assert StyleLoss(style, 1.0)(output).item() == pytest.approx(difference / 4, rel=1e-9)


def test_a_loss_with_two_blended_styles_has_the_hand_blended_gram_target():
    extractor = FeatureExtractor(random_weights(1), ["relu1_1", "relu2_1"])
    generator = torch.Generator().manual_seed(0)
    content, first, second = (torch.rand(1, 3, 24, 24, generator=generator) * 255 for _ in "abc")
    second = F.interpolate(second, size=(16, 32))  # a different size and shape
    loss = build_loss(
        extractor,
        content,
        [first, second],
        (("relu2_1", 1.0),),
        (("relu1_1", 1.0),),
        0.0,
        blend=(0.25, 0.75),
        normalized=True,
    )
    per_position = []
    for image in (first, second):
        flat = extractor(image / 255)["relu1_1"][0].reshape(64, -1).double()
        per_position.append(flat @ flat.T / flat.shape[1])
    # Each image's activations at one size (root mean square 1), then the blend's own size
    # (tests/engine/test_blend.py says why).
    sizes = [(gram.trace() / 64).sqrt() for gram in per_position]
    size = 0.25 * sizes[0] + 0.75 * sizes[1]
    expected = size**2 * (
        0.25 * per_position[0] / sizes[0] ** 2 + 0.75 * per_position[1] / sizes[1] ** 2
    )
    target = loss.style_losses["relu1_1"].target_per_position.double()
    torch.testing.assert_close(target, expected, rtol=1e-5, atol=1e-5)


def test_normalised_content_and_tv_terms_are_relative_to_their_targets():
    target = features_of(9).float()
    output = features_of(10).float()
    relative = ((output - target) ** 2).mean() / (target**2).mean()
    assert ContentLoss(target, 2.0, normalized=True)(output).item() == pytest.approx(
        2.0 * relative.item(), rel=1e-5
    )
    content = torch.arange(48.0).reshape(1, 3, 4, 4) * 7
    image = torch.rand(1, 3, 4, 4) * 255

    def roughness(picture):
        # Every pair of adjacent pixels, per pixel of the picture.
        across = picture[..., :, 1:] - picture[..., :, :-1]
        down = picture[..., 1:, :] - picture[..., :-1, :]
        return ((across**2).sum() + (down**2).sum()) / picture.numel()

    tv = TotalVariationLoss(0.5, content)(image).item()
    assert tv == pytest.approx(0.5 * (roughness(image) / roughness(content)).item(), rel=1e-5)
    assert TotalVariationLoss(0.5, content)(content).item() == pytest.approx(0.5)


@pytest.mark.parametrize("statistic", ["gram", "w2"])
def test_normalised_terms_do_not_change_when_the_network_is_scaled(statistic, scaled_network):
    # A ReLU network without biases is scaled through by its first convolution's factor.
    weights = random_weights(2)
    layers = (("relu3_1", 1.0),), (("relu1_1", 1.0), ("relu2_1", 1.0), ("relu3_1", 1.0))
    generator = torch.Generator().manual_seed(1)
    content, style, image = (torch.rand(1, 3, 32, 32, generator=generator) * 255 for _ in "abc")
    values = {}
    for factor in (1.0, 50.0):
        extractor = FeatureExtractor(
            scaled_network(weights, factor), ["relu3_1", "relu1_1", "relu2_1"]
        )
        for normalized in (True, False):
            loss = build_loss(
                extractor,
                content,
                style,
                *layers,
                0.1,
                normalized=normalized,
                statistic=statistic,
            )
            values[factor, normalized] = {k: v.item() for k, v in loss(image).items()}
    for term in ("content", "style", "tv"):
        assert values[50.0, True][term] == pytest.approx(values[1.0, True][term], rel=1e-4)
    # The raw terms grow with the activations (content by 50^2; Gram style by 50^4).
    assert values[50.0, False]["content"] == pytest.approx(
        2500 * values[1.0, False]["content"], rel=1e-3
    )


def test_the_moving_average_of_a_known_sequence():
    average = MovingAverage(torch.zeros(2), decay=0.5)
    assert average.empty
    with pytest.raises(ValueError):
        average.value()
    for value in (1.0, 2.0, 3.0):
        average.update(torch.full((2,), value))
    # sum_i d^(t-i) x_i (1 - d) / (1 - d^t) = (0.125 + 0.5 + 1.5) / 0.875
    torch.testing.assert_close(average.value(), torch.full((2,), 2.125 / 0.875))
    one = MovingAverage(torch.zeros(1), decay=0.9)
    one.update(torch.tensor([5.0]))
    torch.testing.assert_close(one.value(), torch.tensor([5.0]))  # no pull towards zero


def test_replicate_padding_pads_the_first_convolution_with_border_pixels():
    weights = random_weights(3)
    image = torch.rand(1, 3, 10, 12)
    replicate = FeatureExtractor(weights, ["conv1_1", "conv1_2"], padding="replicate")(image)
    zeros = FeatureExtractor(weights, ["conv1_1"])(image)
    preprocessed = FeatureExtractor(weights, ["conv1_1"]).preprocess(image)
    expected = F.conv2d(
        F.pad(preprocessed, (1, 1, 1, 1), mode="replicate"),
        weights.state_dict["0.weight"],
        weights.state_dict["0.bias"],
    )
    torch.testing.assert_close(replicate["conv1_1"], expected)
    assert not torch.allclose(replicate["conv1_1"][..., 0, :], zeros["conv1_1"][..., 0, :])
    torch.testing.assert_close(
        replicate["conv1_1"][..., 1:-1, 1:-1], zeros["conv1_1"][..., 1:-1, 1:-1]
    )
    second = FeatureExtractor(weights, ["conv1_2"], padding="replicate").features[2]
    assert second.padding_mode == "zeros"  # only the first convolution


def test_calibrated_average_pooling_matches_max_poolings_mean():
    weights = random_weights(4)
    image = torch.rand(1, 3, 32, 32)
    extractor = FeatureExtractor(weights, ["pool1", "pool2"], pooling="avg")
    before = extractor(image)["pool1"].mean().item()
    extractor.calibrate_pooling(image)
    pools = [m for m in extractor.features if isinstance(m, ScaledAvgPool)]
    assert len(pools) == 2 and all(pool.factor.item() > 1 for pool in pools)
    relu = FeatureExtractor(weights, ["relu1_2"])(image)["relu1_2"]
    assert extractor(image)["pool1"].mean().item() == pytest.approx(
        F.max_pool2d(relu, 2, 2).mean().item(), rel=1e-5
    )
    assert extractor(image)["pool1"].mean().item() > before
    assert LAYERS["pool1"].index == 4

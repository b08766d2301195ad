"""The loss formulas, checked against sums written out by hand on tiny tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nst_engine.method.features import FeatureExtractor
from nst_engine.method.losses import (
    ContentLoss,
    StyleLoss,
    StyleTransferLoss,
    TotalVariationLoss,
    build_loss,
    gram_matrix,
)
from nst_engine.method.weights import random_weights


def features_of(seed: int, channels: int, height: int, width: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, channels, height, width, generator=generator, dtype=torch.float64)


def gram_by_hand(features: torch.Tensor) -> np.ndarray:
    """G_ij = sum over positions k of F_ik F_jk, with explicit loops."""
    array = features[0].numpy()
    channels = array.shape[0]
    flat = array.reshape(channels, -1)
    gram = np.zeros((channels, channels))
    for i in range(channels):
        for j in range(channels):
            gram[i, j] = sum(flat[i, k] * flat[j, k] for k in range(flat.shape[1]))
    return gram


def test_gram_matrix_is_f_times_f_transposed():
    features = features_of(0, 3, 2, 4)
    np.testing.assert_allclose(gram_matrix(features).numpy(), gram_by_hand(features), rtol=1e-12)


def test_gram_matrix_of_a_known_tensor():
    features = torch.tensor([[[[1.0, 2.0]], [[3.0, -1.0]]]])  # N=2 maps, M=2 positions
    expected = torch.tensor([[1 + 4, 3 - 2], [3 - 2, 9 + 1]], dtype=torch.float32)
    assert torch.equal(gram_matrix(features), expected)


def test_content_loss_is_mean_over_positions_of_squared_differences_times_weight():
    output, content = features_of(1, 3, 2, 5), features_of(2, 3, 2, 5)
    positions = 2 * 5
    by_hand = sum(
        (output[0, n, y, x] - content[0, n, y, x]).item() ** 2
        for n in range(3)
        for y in range(2)
        for x in range(5)
    )
    assert ContentLoss(content, 1.0)(output).item() == pytest.approx(by_hand / positions)
    assert ContentLoss(content, 7.5)(output).item() == pytest.approx(7.5 * by_hand / positions)


def test_content_loss_is_zero_at_the_target():
    content = features_of(3, 4, 3, 3)
    assert ContentLoss(content, 2.0)(content.clone()).item() == 0.0


def test_style_loss_is_one_over_four_m_squared_times_squared_gram_difference():
    output, style = features_of(4, 3, 3, 2), features_of(5, 3, 3, 2)
    positions = 3 * 2
    difference = gram_by_hand(output) - gram_by_hand(style)
    by_hand = (difference**2).sum() / (4 * positions**2)
    assert StyleLoss(style, 1.0)(output).item() == pytest.approx(by_hand, rel=1e-10)
    assert StyleLoss(style, 0.25)(output).item() == pytest.approx(0.25 * by_hand, rel=1e-10)


def test_style_loss_with_a_differently_sized_style_image_compares_grams_per_position():
    output, style = features_of(6, 3, 4, 3), features_of(7, 3, 2, 5)  # M 12 against 10
    m_out, m_style = 12, 10
    difference = gram_by_hand(output) / m_out - gram_by_hand(style) / m_style
    by_hand = (difference**2).sum() / 4
    assert StyleLoss(style, 1.0)(output).item() == pytest.approx(by_hand, rel=1e-10)


def test_style_loss_of_a_texture_tiled_larger_is_near_zero():
    # The same statistics at twice the size: the per-position rescaling makes them match.
    style = features_of(8, 2, 3, 3)
    tiled = style.repeat(1, 1, 2, 2)
    assert StyleLoss(style, 1.0)(tiled).item() == pytest.approx(0.0, abs=1e-20)


def tv_by_hand(image: torch.Tensor) -> float:
    """sqrt of the sum, over every pair of adjacent pixels and every channel, of their squared
    difference (the last row's across and the last column's down differences included)."""
    array = image[0].numpy()
    channels, height, width = array.shape
    total = 0.0
    for c in range(channels):
        for y in range(height):
            for x in range(width):
                if x + 1 < width:
                    total += (array[c, y, x + 1] - array[c, y, x]) ** 2
                if y + 1 < height:
                    total += (array[c, y + 1, x] - array[c, y, x]) ** 2
    return float(np.sqrt(total))


def test_total_variation_is_weight_times_sqrt_of_summed_squared_forward_differences():
    image = features_of(9, 3, 4, 5) * 50
    assert TotalVariationLoss(1.0)(image).item() == pytest.approx(tv_by_hand(image), rel=1e-9)
    assert TotalVariationLoss(3.0)(image).item() == pytest.approx(3 * tv_by_hand(image), rel=1e-9)


def test_total_variation_of_a_known_ramp():
    # Across differences are 1 everywhere, down differences 10; a 3x3 image has 6 of each.
    image = torch.tensor([[[[0.0, 1.0, 2.0], [10.0, 11.0, 12.0], [20.0, 21.0, 22.0]]]])
    assert TotalVariationLoss(1.0)(image).item() == pytest.approx(np.sqrt(6 * (1 + 100)))


@pytest.mark.parametrize("normalised", [False, True], ids=["raw", "normalised"])
def test_total_variation_smooths_every_pixel_the_last_row_column_and_corner_included(normalised):
    # Issue 18: the last column's down differences and the bottom-right pixel were left out,
    # so nothing smoothed them and results had a dotted last column and a lone white corner.
    generator = torch.Generator().manual_seed(4)
    image = (torch.rand(1, 3, 6, 7, generator=generator) * 255).requires_grad_(True)
    content = torch.rand(1, 3, 6, 7, generator=generator) * 255
    TotalVariationLoss(1.0, content if normalised else None)(image).backward()
    pulled = image.grad.abs().amax(dim=1)[0]  # each pixel's largest pull, over R, G, B
    assert (pulled > 0).all(), pulled
    # A bright corner alone on a flat image is pulled back towards its neighbours.
    flat = torch.full((1, 3, 6, 7), 100.0)
    flat[..., -1, -1] = 255.0
    flat.requires_grad_(True)
    TotalVariationLoss(1.0, content if normalised else None)(flat).backward()
    assert (flat.grad[..., -1, -1] > 0).all()


def test_total_variation_of_a_flat_image_is_zero_with_a_finite_gradient():
    image = torch.full((1, 3, 5, 5), 128.0, requires_grad=True)
    loss = TotalVariationLoss(2.0)(image)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-5)
    assert torch.isfinite(image.grad).all()


@pytest.fixture(scope="module")
def tiny_extractor() -> FeatureExtractor:
    return FeatureExtractor(random_weights(1), ["relu1_1", "relu2_1", "relu2_2"])


def test_style_transfer_loss_is_style_plus_content_plus_tv_with_weighted_sums(tiny_extractor):
    generator = torch.Generator().manual_seed(10)
    content = torch.rand(1, 3, 16, 20, generator=generator) * 255
    style = torch.rand(1, 3, 18, 18, generator=generator) * 255
    image = torch.rand(1, 3, 16, 20, generator=generator) * 255
    content_layers = (("relu2_2", 3.0),)
    style_layers = (("relu1_1", 0.5), ("relu2_1", 2.0))
    loss = build_loss(tiny_extractor, content, style, content_layers, style_layers, tv_weight=4.0)
    assert isinstance(loss, StyleTransferLoss)
    parts = loss(image)

    # The same sums, built from the loss modules and the features directly.
    with torch.no_grad():
        image_features = tiny_extractor(image / 255)
        content_features = tiny_extractor(content / 255)
        style_features = tiny_extractor(style / 255)
    expected_content = 3.0 * ContentLoss(content_features["relu2_2"], 1.0)(
        image_features["relu2_2"]
    )
    expected_style = sum(
        weight * StyleLoss(style_features[name], 1.0)(image_features[name])
        for name, weight in style_layers
    )
    expected_tv = TotalVariationLoss(4.0)(image)
    assert parts["content"].item() == pytest.approx(expected_content.item(), rel=1e-5)
    assert parts["style"].item() == pytest.approx(expected_style.item(), rel=1e-5)
    assert parts["tv"].item() == pytest.approx(expected_tv.item(), rel=1e-5)
    assert parts["total"].item() == pytest.approx(
        (parts["content"] + parts["style"] + parts["tv"]).item(), rel=1e-6
    )


def test_style_transfer_loss_without_tv_reports_zero_tv(tiny_extractor):
    # A noisy image: its total variation is far from zero, so only the weight can make it 0.
    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3)) * 255
    layers = (("relu2_2", 1.0),), (("relu1_1", 1.0),)
    assert build_loss(tiny_extractor, image, image, *layers, 1.0)(image)["tv"].item() > 1.0
    loss = build_loss(tiny_extractor, image, image, *layers, 0.0)
    parts = loss(image)
    assert parts["tv"].item() == 0.0
    assert parts["content"].item() == 0.0
    assert parts["style"].item() == pytest.approx(0.0, abs=1e-6)


def test_the_loss_targets_do_not_carry_gradients(tiny_extractor):
    image = torch.rand(1, 3, 16, 16) * 255
    loss = build_loss(tiny_extractor, image, image, (("relu2_2", 1.0),), (("relu1_1", 1.0),), 0.0)
    assert not any(buffer.requires_grad for buffer in loss.buffers())

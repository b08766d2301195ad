"""Regions (issue 22.1), the method: guided statistics under a mask, the masked style loss."""

from __future__ import annotations

import pytest
import torch

from nst_engine.method.features import FeatureExtractor
from nst_engine.method.losses import Network, build_loss
from nst_engine.method.regions import guided_mean_and_covariance, guided_moments, mask_at
from nst_engine.method.statistics import StyleLoss, WassersteinStyleLoss, moments
from nst_engine.method.weights import random_weights

LAYERS = (("relu1_1", 1.0), ("relu2_1", 1.0), ("relu3_1", 1.0))


def activations(seed: int = 0, size: tuple[int, int] = (12, 16)) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, 8, *size, generator=generator) * 3


def white(size: tuple[int, int]) -> torch.Tensor:
    return torch.ones(1, 1, *size)


def left_half(size: tuple[int, int]) -> torch.Tensor:
    mask = torch.zeros(1, 1, *size)
    mask[..., : size[1] // 2] = 1.0
    return mask


def test_guided_gram_of_an_all_white_mask_is_the_plain_gram():
    features = activations()
    mean, gram = guided_moments(features, white((12, 16)))
    plain_mean, plain_gram = moments(features)
    torch.testing.assert_close(gram, plain_gram, rtol=1e-6, atol=0)
    torch.testing.assert_close(mean, plain_mean, rtol=1e-6, atol=1e-7)
    _, covariance = guided_mean_and_covariance(features, white((12, 16)))
    flat = features.reshape(8, -1)
    torch.testing.assert_close(covariance, torch.cov(flat, correction=0), rtol=1e-5, atol=1e-6)


def test_guided_gram_of_a_half_mask_is_the_gram_of_that_half_alone():
    features = activations()
    _, gram = guided_moments(features, left_half((12, 16)))
    _, half = moments(features[..., :8].contiguous())
    torch.testing.assert_close(gram, half, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss_class", [StyleLoss, WassersteinStyleLoss])
def test_a_style_loss_under_an_all_white_mask_is_the_plain_loss(loss_class):
    style, output = activations(1), activations(2)
    target = moments(style)
    plain = loss_class.from_moments(*target, 3.0, True)
    masked = loss_class.from_moments(*target, 3.0, True, mask=white((12, 16)))
    torch.testing.assert_close(masked(output), plain(output), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss_class", [StyleLoss, WassersteinStyleLoss])
def test_a_masked_style_loss_neither_sees_nor_moves_what_is_outside_its_mask(loss_class):
    style, output = activations(1), activations(2).requires_grad_(True)
    masked = loss_class.from_moments(*moments(style), 1.0, True, mask=left_half((12, 16)))
    masked(output).backward()
    assert output.grad[..., 8:].abs().max() == 0  # the right half: no pull toward the style
    assert output.grad[..., :8].abs().max() > 0
    changed = output.detach().clone()
    changed[..., 8:] = 100.0  # whatever is outside leaves the term as it was
    torch.testing.assert_close(masked(changed), masked(output.detach()))


def test_a_half_masks_term_counts_by_its_coverage():
    """A region half the picture gets half the style term a whole picture would."""
    style, output = activations(1), activations(2)
    whole = StyleLoss.from_moments(*moments(style), 1.0, True)
    half = StyleLoss.from_moments(*moments(style), 1.0, True, mask=left_half((12, 16)))
    left = output[..., :8].contiguous()
    torch.testing.assert_close(half(output), whole(left) / 2, rtol=1e-5, atol=0)


def test_mask_at_a_layers_size_averages_and_stays_between_0_and_1():
    mask = left_half((64, 96))
    small = mask_at(mask, (16, 24))
    assert small.shape == (1, 1, 16, 24)
    assert small.min() >= 0 and small.max() <= 1
    assert small.mean().item() == pytest.approx(0.5)
    large = mask_at(mask_at(mask, (5, 7)), (20, 28))  # upscaled: bilinear, still in 0..1
    assert large.min() >= 0 and large.max() <= 1


@pytest.fixture(scope="module")
def network() -> Network:
    torch.manual_seed(0)
    return Network(FeatureExtractor(random_weights(3), [name for name, _ in LAYERS], "max"))


def images(seed: int) -> torch.Tensor:
    return torch.rand(1, 3, 32, 40, generator=torch.Generator().manual_seed(seed)) * 255


@pytest.mark.parametrize("statistic", ["gram", "w2"])
def test_build_loss_with_all_white_masks_is_the_plain_loss_of_one_style(network, statistic):
    content, style, output = images(0), images(1), images(2)
    common = dict(normalized=True, statistic=statistic, style_weight=5.0)
    plain = build_loss(network, content, style, LAYERS[-1:], LAYERS, 0.1, **common)
    masked = build_loss(
        network, content, style, LAYERS[-1:], LAYERS, 0.1, masks=[white((32, 40))], **common
    )
    expected, got = plain(output), masked(output)
    for part in ("content", "style", "tv", "total"):
        torch.testing.assert_close(got[part], expected[part], rtol=1e-5, atol=1e-6)


def test_build_loss_with_two_masked_styles_sums_each_style_under_its_own_mask(network):
    content, first, second, output = images(0), images(1), images(3), images(2)
    left = left_half((32, 40))
    both = build_loss(
        network, content, [first, second], LAYERS[-1:], LAYERS, 0.0,
        normalized=True, masks=[left, 1 - left],
    )  # fmt: skip
    alone = [
        build_loss(network, content, style, LAYERS[-1:], LAYERS, 0.0, normalized=True, masks=[m])
        for style, m in ((first, left), (second, 1 - left))
    ]
    expected = sum(loss(output)["style"] for loss in alone)
    torch.testing.assert_close(both(output)["style"], expected, rtol=1e-5, atol=0)

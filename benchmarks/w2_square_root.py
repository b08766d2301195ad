"""W2's matrix square root: Newton-Schulz in float32 against the float64 eigenvalues.

The W2 style loss needs tr((S_s^1/2 S S_s^1/2)^1/2) per style layer per iteration. The
float64 eigenvalue route (torch.linalg.eigvalsh) ends in a host sync, so no CUDA graph can
hold it; Newton-Schulz iterations are matrix products only (nst_engine/method/statistics.py).
This compares the two on real activations: VGG19 features of the demo pair (the oxford
weights where installed, else random ones), each style layer, the image being the content
photo against the painting's statistics: the cross term, the whole distance, and the
gradient with respect to the features (cosine and relative size), and times both.

    python benchmarks/w2_square_root.py [--size 256] [--device cpu] [--weights auto]
        [--layers relu1_1 ...] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch
from demo_activations import STYLE_LAYERS, activations

from nst_engine.method import statistics


def loss_and_gradient(loss: statistics.WassersteinStyleLoss, feature: torch.Tensor, method: str):
    loss.square_root = method
    image = feature.detach().clone().requires_grad_(True)
    value = loss(image)
    (gradient,) = torch.autograd.grad(value, image)
    return value.detach(), gradient


def timed(loss, feature, method: str, device: torch.device, repeats: int = 5) -> float:
    loss_and_gradient(loss, feature, method)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        loss_and_gradient(loss, feature, method)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - started) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", default="auto")
    parser.add_argument("--layers", nargs="+", default=STYLE_LAYERS, choices=STYLE_LAYERS)
    parser.add_argument("--repeats", type=int, default=5, help="timed calls of each")
    arguments = parser.parse_args()
    device = torch.device(arguments.device)
    (content, style), label = activations(arguments.size, device, arguments.weights)
    repeats = arguments.repeats
    print(
        f"W2 square root at {arguments.size} px, {label} weights, on {device}, torch "
        f"{torch.__version__}; Newton-Schulz: {statistics.NEWTON_SCHULZ_STEPS} steps, float32"
    )
    print("layer    N   distance rel. error  gradient cosine  |g_ns|/|g_eig|  ms eig  ms NS")
    for name in arguments.layers:
        loss = statistics.WassersteinStyleLoss(style[name], 1.0, normalized=True)
        exact, exact_gradient = loss_and_gradient(loss, content[name], "eigvalsh")
        fast, fast_gradient = loss_and_gradient(loss, content[name], "newton-schulz")
        cosine = torch.nn.functional.cosine_similarity(
            exact_gradient.flatten(), fast_gradient.flatten(), dim=0
        )
        size_ratio = fast_gradient.norm() / exact_gradient.norm()
        error = (fast - exact).abs() / exact.abs()
        print(
            f"{name:8} {style[name].shape[1]:3}  {float(error):18.2e}  {float(cosine):15.6f}  "
            f"{float(size_ratio):14.4f}  {timed(loss, content[name], 'eigvalsh', device, repeats):6.1f}"
            f"  {timed(loss, content[name], 'newton-schulz', device, repeats):5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

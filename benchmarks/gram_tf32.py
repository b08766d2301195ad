"""What TF32 costs the Gram matrices' accuracy, and (on a GPU) what it saves in time.

A bf16 run's features come out of the network in bf16 and are cast to float32 for the
Gram matrices (nst_engine/method/losses.py). TF32 keeps 10 mantissa bits of float32's 23, bf16 7:
the forward products' inputs lose nothing. Their gradients' products take dG, which is not
bf16, and round it to TF32. On the CPU (no TF32) this emulates TF32's rounding of every
product input, and compares the Gram style loss and its gradient with respect to the
features against strict float32, for bf16 features (what a bf16 run has) and float32 ones
(what an fp32 run has, which keeps strict float32). On CUDA it also uses the real switch
(nst_engine/optimise/precision.py) and times the Gram loss's forward and backward both ways.

    python benchmarks/gram_tf32.py [--size 256] [--device cpu] [--weights auto]
"""

from __future__ import annotations

import argparse
import time

import torch
from demo_activations import STYLE_LAYERS, activations

from nst_engine.method.statistics import StyleLoss
from nst_engine.optimise.precision import float32_matmuls


def to_tf32(values: torch.Tensor) -> torch.Tensor:
    """float32 values rounded to TF32's 10-bit mantissa (to nearest, ties to even)."""
    bits = values.contiguous().view(torch.int32)
    low = bits & 0x1FFF
    keep = bits & ~0x1FFF
    odd = (bits >> 13) & 1
    up = (low > 0x1000) | ((low == 0x1000) & (odd == 1))
    return (keep + up.int() * 0x2000).view(torch.float32)


class TF32Product(torch.autograd.Function):
    """a @ b.T with every product's inputs rounded to TF32, forward and backward."""

    @staticmethod
    def forward(context, a, b):
        context.save_for_backward(a, b)
        return to_tf32(a) @ to_tf32(b).T

    @staticmethod
    def backward(context, grad):
        a, b = context.saved_tensors
        grad = to_tf32(grad)
        return grad @ to_tf32(b), grad.T @ to_tf32(a)


def emulated_gram(features: torch.Tensor) -> torch.Tensor:
    flat = features.reshape(features.shape[1], -1)
    return TF32Product.apply(flat, flat)


def loss_and_gradient(loss: StyleLoss, features: torch.Tensor, tf32: str):
    import nst_engine.method.statistics as statistics

    image = features.detach().clone().requires_grad_(True)
    real_gram = statistics.gram_matrix
    if tf32 == "emulated":
        statistics.gram_matrix = emulated_gram
    try:
        with float32_matmuls(image.device, tf32=tf32 == "real"):
            value = loss(image)
            (gradient,) = torch.autograd.grad(value, image)
    finally:
        statistics.gram_matrix = real_gram
    return value.detach(), gradient


def compare(content, style, tf32: str) -> list[str]:
    rows = []
    for name in STYLE_LAYERS:
        loss = StyleLoss(style[name], 1.0, normalized=True)
        exact, exact_gradient = loss_and_gradient(loss, content[name], "off")
        fast, fast_gradient = loss_and_gradient(loss, content[name], tf32)
        value_error = float((fast - exact).abs() / exact.abs())
        gradient_error = float((fast_gradient - exact_gradient).norm() / exact_gradient.norm())
        rows.append(f"  {name:8} loss {value_error:9.2e}  gradient {gradient_error:9.2e}")
    return rows


def timed(content, style, tf32: bool, device, repeats: int = 20) -> float:
    losses = [StyleLoss(style[name], 1.0, normalized=True) for name in STYLE_LAYERS]
    images = [content[name].detach().clone().requires_grad_(True) for name in STYLE_LAYERS]

    def once():
        with float32_matmuls(device, tf32=tf32):
            total = sum(loss(image) for loss, image in zip(losses, images, strict=True))
            total.backward()

    once()
    torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        once()
    torch.cuda.synchronize(device)
    return (time.perf_counter() - started) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", default="auto")
    arguments = parser.parse_args()
    device = torch.device(arguments.device)
    for bf16 in (True, False):
        (content, style), label = activations(arguments.size, device, arguments.weights, bf16)
        kind = "bf16 features (a bf16 run)" if bf16 else "float32 features (an fp32 run)"
        print(f"Gram loss, TF32 against strict float32, {kind}, {arguments.size} px, {label}:")
        print("\n".join(compare(content, style, "emulated")))
        if device.type == "cuda":
            print("  the same with the GPU's own TF32:")
            print("\n".join(compare(content, style, "real")))
            strict, tf32 = timed(content, style, False, device), timed(content, style, True, device)
            print(f"  Gram losses' forward+backward: {strict:.3f} ms strict, {tf32:.3f} ms TF32")


if __name__ == "__main__":
    main()

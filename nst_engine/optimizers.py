"""The optimiser factory and one step of each optimiser, L-BFGS's closure included."""

from __future__ import annotations

from collections.abc import Callable

import torch

from nst_engine.config import OptimizerSettings

LossFunction = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def make_optimizer(settings: OptimizerSettings, image: torch.Tensor) -> torch.optim.Optimizer:
    """The chosen optimiser over the single parameter `image`, with its own parameters."""
    parameters = settings.parameters
    lr = settings.lr
    if settings.name == "adam":
        return torch.optim.Adam(
            [image], lr=lr, betas=(parameters.beta1, parameters.beta2), eps=parameters.eps
        )
    if settings.name == "adadelta":
        return torch.optim.Adadelta([image], lr=lr, rho=parameters.rho, eps=parameters.eps)
    if settings.name == "rmsprop":
        return torch.optim.RMSprop(
            [image], lr=lr, alpha=parameters.alpha, eps=parameters.eps, momentum=parameters.momentum
        )
    if settings.name == "sgd":
        return torch.optim.SGD(
            [image], lr=lr, momentum=parameters.momentum, nesterov=parameters.nesterov
        )
    # One L-BFGS iteration per engine step (max_iter=1) keeps progress and cancellation at
    # the granularity of an iteration; the history survives between calls to step().
    return torch.optim.LBFGS(
        [image],
        lr=lr,
        max_iter=1,
        history_size=parameters.history_size,
    )


# Optimisers whose steps depend on the scale of the gradient, which here is huge (raw losses
# reach 1e16 with the 2022 weights; gradients 1e12 per pixel): L-BFGS's float32 dot products
# overflow into NaN, and an SGD learning rate would need to be 1e-12. For these two the
# gradient is divided by the largest entry of the first one, so that lr=1 first moves the
# most-pushed pixel by 1 (of 255). The minimiser is the same, and L-BFGS, invariant to the
# objective's scale, takes the same steps after the first. Adam, RMSprop and Adadelta
# normalise gradients themselves and see them raw, as in the 2022 reference.
SCALE_NORMALISED = (torch.optim.LBFGS, torch.optim.SGD)


def step(
    optimizer: torch.optim.Optimizer, image: torch.Tensor, loss_function: LossFunction
) -> dict[str, torch.Tensor]:
    """One iteration; returns the losses of the image as it was before the update.

    No value is read back from the device here, so a GPU run does not wait on it, except
    for L-BFGS, whose algorithm compares losses and gradients on the host by design.
    """
    evaluated: dict[str, torch.Tensor] = {}  # one evaluation per step: L-BFGS has max_iter=1
    normalised = isinstance(optimizer, SCALE_NORMALISED)

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        losses = loss_function(image)
        evaluated.update(losses)
        losses["total"].backward()
        if not normalised:
            return losses["total"]
        assert image.grad is not None
        scale = getattr(optimizer, "nst_gradient_scale", None)
        if scale is None:
            scale = 1 / image.grad.abs().max().clamp_min(1e-30)
            optimizer.nst_gradient_scale = scale  # type: ignore[attr-defined]
        image.grad.mul_(scale)
        return losses["total"].detach() * scale

    if isinstance(optimizer, torch.optim.LBFGS):
        optimizer.step(closure)
    else:
        closure()
        optimizer.step()
    return {name: value.detach() for name, value in evaluated.items()}

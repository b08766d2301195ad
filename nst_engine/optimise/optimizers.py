"""The optimiser factory: each optimiser with its own parameters, in eager or device-resident form.

How an iteration calls it (closure, gradient scaling, CUDA graphs) is nst_engine/optimise/stepper.py.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nst_engine.optimise.lbfgs import DeviceLBFGS
from nst_engine.settings.config import OptimizerSettings

LossFunction = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def _skip_the_dynamo_import() -> None:
    """Keep torch.optim.Optimizer's bookkeeping from importing torch._dynamo.

    `zero_grad`, `add_param_group`, `state_dict` and `load_state_dict` are wrapped by torch so
    that their first call imports torch._dynamo (about 890 modules, 2-6 s on a small CPU)
    only to mark them as never compiled. Nothing here compiles, so each is marked with
    itself, which is what the wrapper looks for before importing. Without the wrapper (another
    torch version) this does nothing.
    """
    for name in ("add_param_group", "zero_grad", "state_dict", "load_state_dict"):
        function = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if function is not None and getattr(function, "__dynamo_disable", None) is None:
            function.__dynamo_disable = function


_skip_the_dynamo_import()


def make_optimizer(
    settings: OptimizerSettings,
    image: torch.Tensor,
    capturable: bool = False,
    iterations: int | None = None,
) -> torch.optim.Optimizer:
    """The chosen optimiser over the single parameter `image`, with its own parameters.

    `capturable`: in a form whose step never reads the device from the host, so that it can
    be captured in a CUDA graph (torch's `capturable` forms). L-BFGS is always
    nst_engine.optimise.lbfgs's, which never reads the device: the same steps as torch's with
    max_iter=1 (one iteration per engine step keeps progress and cancellation at the
    granularity of an iteration), in a fifth of the operations, and its memory allocated at
    the first step for the whole run. `iterations`: how many steps this optimiser will take;
    a history longer than that would never fill, so it is not allocated.
    """
    parameters = settings.parameters
    lr = settings.lr
    device_resident = {"capturable": True} if capturable else {}
    if settings.name == "adam":
        return torch.optim.Adam(
            [image],
            lr=lr,
            betas=(parameters.beta1, parameters.beta2),
            eps=parameters.eps,
            **device_resident,
        )
    if settings.name == "adadelta":
        return torch.optim.Adadelta(
            [image], lr=lr, rho=parameters.rho, eps=parameters.eps, **device_resident
        )
    if settings.name == "rmsprop":
        return torch.optim.RMSprop(
            [image],
            lr=lr,
            alpha=parameters.alpha,
            eps=parameters.eps,
            momentum=parameters.momentum,
            **device_resident,
        )
    if settings.name == "sgd":
        return torch.optim.SGD(
            [image], lr=lr, momentum=parameters.momentum, nesterov=parameters.nesterov
        )
    history = parameters.history_size
    if iterations is not None:
        history = max(1, min(history, iterations))
    return DeviceLBFGS([image], lr=lr, history_size=history)


# Optimisers whose steps depend on the scale of the gradient, which can be huge (raw losses
# reach 1e16 with the 2022 weights; gradients 1e12 per pixel) or tiny (the normalised loss's
# gradients are about 1e-6 per pixel): L-BFGS's float32 dot products overflow into NaN, an
# SGD learning rate would need to be 1e-12 or 1e6, and Adadelta's epsilon (1e-6, under a
# square root next to the squared gradient) swamps gradients below about 1e-3, so that it
# barely moves. For these the gradient is divided by the largest entry of the first one, so
# that lr=1 first moves the most-pushed pixel by 1 (of 255) (Adadelta: by its own measure).
# The minimiser is the same, and L-BFGS, invariant to the objective's scale, takes the same
# steps after the first. Adam and RMSprop normalise gradients themselves (their epsilons of
# 1e-8 are well below either loss's gradients) and see them raw, as in the 2022 reference.
SCALE_NORMALISED = ("lbfgs", "sgd", "adadelta")


def match_capturable(optimizer: torch.optim.Optimizer, capturable: bool) -> None:
    """Give a loaded optimiser this run's `capturable` form, whatever its checkpoint said.

    torch keeps `capturable` in the state dict, so a checkpoint made with CUDA graphs would
    resume on the CPU as capturable (Adam, RMSprop and Adadelta then fail an assertion at
    their first step) and one made without them would never be captured on a GPU. The step
    counts move with the flag: a device tensor for the capturable forms, a host one else.
    SGD and the device L-BFGS have no such flag; they are left alone.
    """
    for group in optimizer.param_groups:
        if "capturable" not in group:
            continue
        group["capturable"] = capturable
        for parameter in group["params"]:
            state = optimizer.state.get(parameter, {})
            step = state.get("step")
            if isinstance(step, torch.Tensor):
                device = parameter.device if capturable else torch.device("cpu")
                state["step"] = step.to(device=device, dtype=torch.float32)

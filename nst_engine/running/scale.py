"""One scale of a run: its targets, the image it optimises, and its iterations.

Coarse to fine runs several scales, each at a larger size than the last and starting from
its result; a run without it has one. The run loop (transfer.iterate) checks a scale's
iterations for divergence every CHECK_EVERY of them (nst_engine/optimise/guard.py: without a
GPU sync); the ledger (nst_engine/running/ledger.py) keeps its snapshots and checkpoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from nst_engine.errors import NumericalError
from nst_engine.method.colour import ColourMode
from nst_engine.method.losses import Network, loss_for
from nst_engine.optimise.guard import LastGoodImage
from nst_engine.optimise.stepper import Stepper, Switches
from nst_engine.running.checkpointing import Checkpoint
from nst_engine.running.masks import mask_tensor
from nst_engine.running.tensors import MovingAverage, image_to_tensor, initial_image, rescale
from nst_engine.settings.config import RunConfig
from nst_engine.settings.sizes import style_sizes_at

if TYPE_CHECKING:
    from nst_engine.running.prepare import Inputs
    from nst_engine.video.temporal import FrameGuide

# How often the image is kept and its loss checked to be finite; the image at the last
# passing check is what a diverged run keeps.
CHECK_EVERY = 10
# The moving average of the iterates (`ema`) weighs about the last 1 / (1 - EMA_DECAY).
EMA_DECAY = 0.9


class Scale:
    """One scale's optimisation: the image, the Stepper that changes it, the moving average
    and the last good image that watch it, and the content whose colours it may take."""

    def __init__(
        self,
        number: int,
        iterations: int,
        stepper: Stepper,
        network: Network,
        content: torch.Tensor,
        colour: ColourMode,
        average: MovingAverage | None,
        completed: int,
    ) -> None:
        self.number = number  # 1-based, coarse to fine
        self.iterations = iterations
        self.stepper: Stepper | None = stepper  # None once the scale is done with it
        self.image = stepper.image
        self.network = network
        self.content = content  # at this scale's size, for its colours
        self.colour = colour
        self.average = average
        self.last_good = LastGoodImage(self.image, completed)  # the start, after `completed`
        self.local = 0  # iterations done at this scale

    def step(self) -> dict[str, torch.Tensor]:
        """One iteration; the losses of the image as it was before it (device tensors)."""
        assert self.stepper is not None
        losses = self.stepper.step()
        if self.average is not None:
            self.average.update(self.image)
        self.local += 1
        return losses

    def release_stepper(self) -> None:
        """Let the optimiser's state go (L-BFGS's history, a CUDA graph's memory): the image,
        its average and the last good one stay."""
        self.stepper = None

    def current(self) -> torch.Tensor:
        """The optimised image, or its moving average once there is one (as optimised)."""
        if self.average is not None and not self.average.empty:
            return self.average.value()
        return self.image.detach()

    def present(self, image: torch.Tensor) -> torch.Tensor:
        """An optimised image as people see it (the content's colours put back, if kept)."""
        return self.colour.present(image, self.content)

    def shown(self) -> torch.Tensor:
        """The current image as saved and previewed."""
        return self.present(self.current())

    def best(self, completed: int) -> tuple[torch.Tensor, int]:
        """The current image if it is finite, else the last one that passed the check; with
        the iteration that made it (`completed`: the run's iterations so far)."""
        current = self.current().detach()
        if completed > self.last_good.index and bool(torch.isfinite(current).all()):
            return current, completed
        return self.last_good.image, self.last_good.index

    # --- checkpoints: made from, and put back into, the objects that own the state -----------

    def checkpoint(
        self,
        completed: int,
        total: int,
        losses: dict[str, torch.Tensor],
        seconds: float,
        keep_history: bool,
    ) -> Checkpoint:
        """This scale's state, for the run to go on from after its `completed` iterations."""
        assert self.stepper is not None
        return Checkpoint(
            completed=completed,
            total=total,
            scale=self.number,
            local=self.local,
            image=self.image,
            stepper=self.stepper.state_dict(keep_history),
            average=None if self.average is None else self.average.state_dict(),
            last_good=self.last_good.state_dict(),
            pooling=self.network.extractor.pooling_factors(),
            losses=dict(losses),
            seconds=seconds,
        )

    def restore(self, checkpoint: Checkpoint) -> None:
        """Go on from `checkpoint`, made at this scale (in this run's form: GPU or not)."""
        with torch.no_grad():
            self.image.copy_(checkpoint.image)
        assert self.stepper is not None
        self.stepper.load_state_dict(checkpoint.stepper)
        if self.average is not None and checkpoint.average is not None:
            self.average.load_state_dict(checkpoint.average)
        self.last_good.load_state_dict(checkpoint.last_good)
        self.local = checkpoint.local


def prepare_scale(
    config: RunConfig,
    network: Network,
    inputs: Inputs,
    number: int,
    switches: Switches,
    previous: Scale | None,
    completed: int,
    resume: Checkpoint | None,
    guide: FrameGuide | None = None,
) -> Scale:
    """Scale `number`'s targets at its sizes, and the image to optimise: the start, or the
    `previous` scale's result enlarged, after the run's `completed` iterations; with a fresh
    optimiser (its history was of other sizes). The first scale a run prepares sets the
    average poolings' factors: measured on the content, or the `resume` checkpoint's. A
    frame of a sequence has a `guide`: its start and a temporal term (nst_engine/video/)."""
    compute_size, _ = inputs.sizes.scales[number - 1]
    style_sizes = style_sizes_at(config, inputs.sizes, number - 1, inputs.style_image_sizes)
    colour = ColourMode(config.look.preserve_color)
    device = next(network.extractor.parameters()).device
    content = image_to_tensor(inputs.content.image, compute_size, device)
    seen_content = colour.content(content)
    if previous is None and config.look.pooling == "avg":
        if resume is not None:
            network.extractor.set_pooling_factors(resume.pooling)
        else:
            network.extractor.calibrate_pooling(seen_content / 255)
    style_tensors = [
        colour.style(image_to_tensor(loaded.image, size, device), content)
        for loaded, size in zip(inputs.styles, style_sizes, strict=True)
    ]
    # The masks follow each scale: resized to its compute size (then to each layer's).
    masks = [mask_tensor(mask, compute_size, device) for mask in inputs.masks]
    loss_function = loss_for(config, network, seen_content, style_tensors, masks or None)
    del style_tensors
    if guide is not None:
        loss_function = guide.loss(loss_function, compute_size, device, colour.start)
    if previous is None and guide is not None:
        image = colour.start(guide.start(compute_size, device))
    elif previous is None:
        start = None
        if inputs.start is not None:
            start = colour.start(image_to_tensor(inputs.start, compute_size, device))
        image = initial_image(
            seen_content, config.look.init, config.look.init_noise, config.plan.seed, start
        )
    else:
        image = rescale(previous.current(), compute_size)
    image.requires_grad_(True)
    average = MovingAverage(image, EMA_DECAY) if config.look.ema else None
    iterations = inputs.plan[number - 1]
    stepper = Stepper(loss_function, image, config.plan.optimizer, switches, iterations)
    return Scale(number, iterations, stepper, network, content, colour, average, completed)


def diverged(index: int, config: RunConfig) -> NumericalError:
    return NumericalError(
        f"the loss became NaN or infinite by iteration {index}; try a lower learning rate "
        f"(now {config.plan.optimizer.lr:g})"
    )

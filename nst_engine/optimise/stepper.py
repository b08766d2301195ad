"""One iteration of the optimisation, and how it runs: eager, or replayed from a CUDA graph.

The run loop asks a `Stepper` for the next iteration and gets the loss terms of the image as
it was before the update, as device tensors. How the iteration runs is the stepper's
business, chosen by three switches (RunConfig's `precision`, `memory_format`, `cuda_graph`;
`auto` picks per device):

- **CUDA graph.** On a GPU at a few hundred iterations a second, launching the ~300 small
  kernels of an iteration one by one from Python takes longer than running them. The whole
  iteration (forward, backward, the optimiser's update) is captured once in a CUDA graph and
  replayed: one launch per iteration, and the host never waits for the device. That needs
  optimisers with no host reads: Adam, RMSprop and Adadelta in their `capturable` forms, SGD
  as it is, and L-BFGS as nst_engine/optimise/lbfgs.py's device-resident one. The first iterations
  run eagerly on a side stream (the warm-up CUDA graphs need before capture); they are real
  iterations of the run.
- **bf16.** The network runs under autocast in bfloat16; Gram matrices, losses and the
  optimiser stay in float32 (nst_engine/method/losses.py casts the features back). Not for L-BFGS
  by default (see resolve_switches).
- **channels_last.** The network's weights and input in NHWC order, which cuDNN's fastest
  convolutions (and oneDNN's on the CPU) use without transposing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from nst_engine.optimise import capture
from nst_engine.optimise.lbfgs import DeviceLBFGS
from nst_engine.optimise.optimizers import (
    SCALE_NORMALISED,
    LossFunction,
    make_optimizer,
    match_capturable,
)
from nst_engine.optimise.precision import float32_matmuls
from nst_engine.settings.config import OptimizerSettings, RunConfig

log = logging.getLogger("nst.engine")

# Eager iterations before capture: CUDA graphs need the first runs of autograd and of the
# optimisers (which allocate their state) done outside a capture, on a side stream.
GRAPH_WARMUP = 3


@dataclass(frozen=True)
class Switches:
    """The speed switches resolved for one device."""

    bf16: bool
    channels_last: bool
    graph: bool

    def describe(self) -> str:
        parts = ["bf16" if self.bf16 else "fp32"]
        if self.channels_last:
            parts.append("channels_last")
        if self.graph:
            parts.append("CUDA graph")
        return ", ".join(parts)


# On the CPU, channels_last measured 0.886x the time per iteration at 256 px and 0.871x at
# 512 px, but 1.11x at 128 px, where converting formats costs more than it saves
# (`nst-tui bench --compare memory_format=contiguous,channels_last`, benchmarks/RESULTS.md).
CPU_CHANNELS_LAST_FROM = 256  # longest side, px


def resolve_switches(config: RunConfig, device: torch.device, longest_side: int = 0) -> Switches:
    """What `auto` means on `device` for a run whose largest image has `longest_side` px.

    On CUDA: a graph and channels_last; bf16 for the first-order optimisers (Adam, RMSprop,
    Adadelta, SGD) but not for L-BFGS, whose curvature pairs bf16's noisy gradients spoil: on
    the CPU with the oxford weights its loss after 10 iterations was 1.44 times float32's
    (Adam's 1.006; tests/engine/test_scales.py). On the CPU: float32, no graph (there is
    nothing to capture), channels_last from CPU_CHANNELS_LAST_FROM px. Elsewhere (mps):
    float32 and the default layout.
    """
    cuda = device.type == "cuda"
    bf16_ok = device.type == "cpu" or (cuda and torch.cuda.is_bf16_supported())
    if config.machine.precision == "auto":
        bf16 = cuda and bf16_ok and config.plan.optimizer.name != "lbfgs"
    else:
        bf16 = config.machine.precision == "bf16" and bf16_ok
    if config.machine.memory_format == "auto":
        channels_last = cuda or (device.type == "cpu" and longest_side >= CPU_CHANNELS_LAST_FROM)
    else:
        channels_last = config.machine.memory_format == "channels_last"
    # W2 too: on CUDA its square root is Newton-Schulz's, with no host sync (statistics.py).
    # After a failed capture graphs are off for the whole process (nst_engine/optimise/capture.py).
    graph = cuda and config.machine.cuda_graph != "off" and capture.graphs_usable()
    return Switches(bf16, channels_last, graph)


class Stepper:
    """Owns the image's optimiser and runs one iteration per `step()`."""

    def __init__(
        self,
        loss_function: LossFunction,
        image: torch.Tensor,
        settings: OptimizerSettings,
        switches: Switches,
        iterations: int | None = None,
    ) -> None:
        self.loss_function = loss_function
        self.image = image
        self.switches = switches
        # L-BFGS and SGD see the gradient divided by the largest entry of the first one
        # (optimizers.SCALE_NORMALISED says why); kept as a device tensor, read by no one.
        self.normalised = settings.name in SCALE_NORMALISED
        self._gradient_scale: torch.Tensor | None = None
        self._count = 0
        self._graph: torch.cuda.CUDAGraph | None = None
        self._graph_losses: dict[str, torch.Tensor] = {}
        # False from a failed capture on (this run's, or any earlier one in the process).
        self._graphing = switches.graph and capture.graphs_usable()
        # The warm-up and the capture run on this stream, made on the image's device: the
        # Stepper's own, never torch's one capture stream per process (nst_engine/optimise/capture.py).
        self.capture_stream = torch.cuda.Stream(image.device) if self._graphing else None
        # Optimisers in their device-resident forms for a graph (torch has them for CUDA only).
        self.capturable = self._graphing and image.device.type == "cuda"
        self.optimizer = make_optimizer(settings, image, self.capturable, iterations)

    @property
    def graphing(self) -> bool:
        """Whether the iterations go (or will go, after the warm-up) through a CUDA graph."""
        return self._graphing

    def state_dict(self, keep_history: bool = True) -> dict:
        """What a checkpoint keeps of the stepper: the optimiser's state (L-BFGS's history
        left out unless `keep_history`) and the gradient's scale. Live tensors, not copies."""
        return {
            "optimizer": self.optimizer_state(keep_history),
            "gradient_scale": self._gradient_scale,
        }

    def load_state_dict(self, state: dict) -> None:
        """Go on from `state_dict()`'s state, made on this device or another."""
        self.load_optimizer_state(state["optimizer"])
        gradient_scale = state["gradient_scale"]
        if gradient_scale is not None:
            self._gradient_scale = gradient_scale.to(self.image.device)

    def load_optimizer_state(self, state_dict: dict) -> None:
        """A checkpoint's optimiser state, in this run's form (optimizers.match_capturable:
        a checkpoint may come from a GPU run with graphs, or a CPU run without)."""
        self.optimizer.load_state_dict(state_dict)
        match_capturable(self.optimizer, self.capturable)
        if state_dict.get("history") is False:
            log.info(
                "the checkpoint was written without L-BFGS's history (left out to keep "
                "checkpoints quick); the next iterations rebuild it"
            )

    def history_bytes(self) -> int:
        """What the optimiser holds as L-BFGS's history (0 for the others)."""
        history_bytes = getattr(self.optimizer, "history_bytes", None)
        return history_bytes() if history_bytes is not None else 0

    def optimizer_state(self, keep_history: bool) -> dict:
        """The optimiser's state dict for a checkpoint, L-BFGS's history left out if asked."""
        if isinstance(self.optimizer, DeviceLBFGS):
            return self.optimizer.state_dict(keep_history=keep_history)
        return self.optimizer.state_dict()

    def step(self) -> dict[str, torch.Tensor]:
        """One iteration; the losses of the image as it was before the update (on the device)."""
        self._count += 1
        if not self._graphing:
            return self._eager()
        if self._count <= GRAPH_WARMUP:
            return self._warm_up()
        if self._graph is None:
            try:
                self._capture()
            except capture.CaptureFailed as failure:
                self._graphing = False
                log.warning("this run goes on without a CUDA graph: %s", failure)
                # Nothing of a failed capture ran, but for one that recorded nothing: its
                # iteration ran outside the graph and is this step.
                losses, self._graph_losses = self._graph_losses, {}
                return losses if failure.ran else self._eager()
        assert self._graph is not None
        self._graph.replay()
        return self._graph_losses

    # --- the iteration ------------------------------------------------------------------------

    def _evaluate(self) -> dict[str, torch.Tensor]:
        """Loss and gradient of the current image, the gradient scaled where it must be.

        In bf16, float32 matrix products (the Gram matrices and their gradients) run in
        TF32: bf16 features are exact in it, so the Gram matrices are float32's, and the
        gradients go back through bf16 anyway (nst_engine/optimise/precision.py). W2's square root
        and L-BFGS ask for full precision themselves.
        """
        with float32_matmuls(self.image.device, tf32=self.switches.bf16):
            losses = self.loss_function(self.image)
            losses["total"].backward()
        if self.normalised:
            grad = self.image.grad
            assert grad is not None
            if self._gradient_scale is None:
                self._gradient_scale = 1 / grad.abs().max().clamp_min(1e-30)
            grad.mul_(self._gradient_scale)
        return {name: value.detach() for name, value in losses.items()}

    def _eager(self) -> dict[str, torch.Tensor]:
        self.optimizer.zero_grad(set_to_none=True)
        losses = self._evaluate()
        self.optimizer.step()
        return losses

    # --- CUDA graphs --------------------------------------------------------------------------

    def _warm_up(self) -> dict[str, torch.Tensor]:
        stream = self.capture_stream
        assert stream is not None
        stream.wait_stream(torch.cuda.current_stream(self.image.device))
        with torch.cuda.stream(stream):
            losses = self._eager()
        torch.cuda.current_stream(self.image.device).wait_stream(stream)
        return losses

    def _capture(self) -> None:
        """Record one whole iteration; its replays are the iterations from now on.

        Raises capture.CaptureFailed if it could not be captured (an operation of this torch
        version or device that graphs do not allow, or nothing recorded): the run goes on
        eagerly, as it would with `cuda_graph = "off"`, and so does every later run of the
        process (nst_engine/optimise/capture.py says why).
        """
        assert self.capture_stream is not None
        self.optimizer.zero_grad(set_to_none=True)  # the graph's backward allocates the grad
        graph = torch.cuda.CUDAGraph()
        with capture.capturing(graph, self.capture_stream):
            self._graph_losses = self._evaluate()
            self.optimizer.step()
        self._graph = graph
        log.info("iteration captured in a CUDA graph after %d eager ones", GRAPH_WARMUP)

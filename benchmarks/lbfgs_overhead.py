"""What one L-BFGS step costs beyond the loss: DeviceLBFGS against torch.optim.LBFGS.

At an image's size (default 3 x 512 x 342 values, the demo job) with a full history (default
100), on a cheap loss (a diagonal quadratic, condition 1e4, so the optimiser dominates and the
gradient stays well above tolerance for the whole run). Prints, for each optimiser, the
median of the timed steps' optimiser time (the step minus the loss and backward) and the aten
ops one step issues (a GPU runs about one kernel per op that is not a view), then the ratio.

    python benchmarks/lbfgs_overhead.py [--height 342] [--width 512] [--history 100]
        [--timed 20] [--threads N] [--device cpu]

On the CPU this measures arithmetic and memory traffic; on a GPU, launches and host syncs
dominate instead, and only a CUDA graph (DeviceLBFGS) removes them.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from nst_engine.optimise.lbfgs import DeviceLBFGS

# Ops that only make views or bookkeeping: no kernel on a GPU.
NO_KERNEL = {
    "view",
    "_unsafe_view",
    "select",
    "slice",
    "unsqueeze",
    "t",
    "transpose",
    "unbind",
    "diagonal",
    "detach",
    "alias",
    "expand",
    "as_strided",
    "empty",
    "empty_like",
    "scalar_tensor",
    "_record_function_enter_new",
    "_record_function_exit",
    "lift_fresh",
}


class CountOps(TorchDispatchMode):
    """Counts aten ops while `counting` is true (the loss's own ops are left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.counting = True
        self.names: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.counting:
            self.names.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def make_loss(numel: int, device: str):
    generator = torch.Generator().manual_seed(0)
    curvature = torch.logspace(-2, 2, numel)[torch.randperm(numel, generator=generator)]
    target = torch.randn(numel, generator=generator)
    start = torch.randn(numel, generator=generator) * 10
    curvature, target, start = curvature.to(device), target.to(device), start.to(device)

    def loss(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (curvature * x * x).sum() - (target * x).sum()

    return start, loss


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


class Runner:
    """One optimiser on its own copy of the start, timing its steps without the loss."""

    def __init__(self, kind: str, start, loss_fn, history: int, device: str) -> None:
        self.kind, self.device, self.loss_fn = kind, device, loss_fn
        self.x = start.clone().requires_grad_()
        if kind == "torch":
            self.optimizer = torch.optim.LBFGS([self.x], max_iter=1, history_size=history)
        else:
            self.optimizer = DeviceLBFGS([self.x], history_size=history)
        self.loss_seconds = 0.0
        self.counter: CountOps | None = None

    def closure(self) -> torch.Tensor:
        if self.counter is not None:
            self.counter.counting = False
        synchronize(self.device)
        began = time.perf_counter()
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.x)
        loss.backward()
        synchronize(self.device)
        self.loss_seconds = time.perf_counter() - began
        if self.counter is not None:
            self.counter.counting = True
        return loss

    def step(self) -> float:
        """Seconds of one step, the loss and backward left out."""
        if self.kind == "torch":
            began = time.perf_counter()
            self.optimizer.step(self.closure)
            synchronize(self.device)
            return time.perf_counter() - began - self.loss_seconds
        self.closure()
        began = time.perf_counter()
        self.optimizer.step()
        synchronize(self.device)
        return time.perf_counter() - began

    def history_kept(self) -> int:
        if self.kind == "torch":
            return len(self.optimizer.state[self.x]["old_dirs"])
        return self.optimizer.history_length()

    def ops_per_step(self) -> tuple[int, int]:
        """aten ops of one step, and those of them that are not views (GPU kernels)."""
        self.counter = CountOps()
        with self.counter:
            self.step()
        names, self.counter = self.counter.names, None
        return len(names), len([name for name in names if name not in NO_KERNEL])


KINDS = {"torch": "torch.optim.LBFGS", "device": "DeviceLBFGS"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=342)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--history", type=int, default=100)
    parser.add_argument("--timed", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's own)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    numel = 3 * args.height * args.width
    start, loss_fn = make_loss(numel, args.device)
    print(
        f"n = 3 x {args.height} x {args.width} = {numel}, history {args.history}, "
        f"{args.device}, {torch.get_num_threads()} threads, median of {args.timed} steps"
    )
    runners = {kind: Runner(kind, start, loss_fn, args.history, args.device) for kind in KINDS}
    for _ in range(args.history + 10):  # fill the histories (a quadratic keeps every pair)
        for runner in runners.values():
            runner.step()
    for kind, runner in runners.items():
        kept = runner.history_kept()
        assert kept == args.history, f"{kind}: history holds {kept} of {args.history}"
    # Alternating, so that other work on the machine weighs on both alike.
    seconds: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(args.timed):
        for kind, runner in runners.items():
            seconds[kind].append(runner.step())
    medians = {kind: statistics.median(values) for kind, values in seconds.items()}
    for kind, runner in runners.items():
        ops, kernels = runner.ops_per_step()
        print(
            f"{KINDS[kind]:18} {medians[kind] * 1000:9.2f} ms per step (optimiser only), "
            f"{ops} aten ops per step, {kernels} not views"
        )
    print(f"DeviceLBFGS / torch.optim.LBFGS: {medians['device'] / medians['torch']:.2f}")


if __name__ == "__main__":
    main()

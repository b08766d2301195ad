"""The device-resident L-BFGS (nst_engine.optimise.lbfgs) against torch.optim.LBFGS(max_iter=1).

It must take torch's steps (same pairs kept and dropped, same step lengths, same stops) while
never reading a device value on the host, so that its steps can be replayed in a CUDA graph.
The CPU cannot capture a graph, so it proves the second part by recording every aten op of a
step: no `_local_scalar_dense` (what .item(), float() and bool() become) and no op whose output
shape depends on the data.
"""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from nst_engine.optimise.lbfgs import DeviceLBFGS

# --- problems -----------------------------------------------------------------------------


def quadratic(dims: int, dtype: torch.dtype, device: str = "cpu"):
    """0.5 x'Ax - b'x with eigenvalues from 0.1 to 10 (condition 100): L-BFGS's home ground."""
    generator = torch.Generator().manual_seed(dims)
    basis, _ = torch.linalg.qr(torch.randn(dims, dims, generator=generator, dtype=torch.float64))
    eigenvalues = torch.logspace(-1, 1, dims, dtype=torch.float64)
    matrix = ((basis * eigenvalues) @ basis.T).to(dtype).to(device)
    target = torch.randn(dims, generator=generator, dtype=torch.float64).to(dtype).to(device)
    start = torch.randn(dims, generator=generator, dtype=torch.float64).to(dtype).to(device)
    return start, lambda x: 0.5 * x @ (matrix @ x) - target @ x


def rosenbrock(dims: int, dtype: torch.dtype):
    """The chained Rosenbrock valley from near (-1.2, 1, ...): curved, badly scaled, not convex."""
    start = torch.tensor([-1.2, 1.0] * (dims // 2), dtype=dtype) * 0.5

    def loss(x: torch.Tensor) -> torch.Tensor:
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

    return start, loss


def tiny_style_loss(dtype: torch.dtype, device: str = "cpu"):
    """A 1x3x16x16 image through two random convolutions: Gram-matrix and content terms."""
    generator = torch.Generator().manual_seed(5)
    first = (torch.randn(8, 3, 3, 3, generator=generator, dtype=dtype) * 0.3).to(device)
    second = (torch.randn(8, 8, 3, 3, generator=generator, dtype=dtype) * 0.2).to(device)
    style = torch.rand(1, 3, 16, 16, generator=generator, dtype=dtype).to(device)
    start = torch.rand(1, 3, 16, 16, generator=generator, dtype=dtype).to(device)
    content = start.clone()

    def features(image: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(torch.nn.functional.conv2d(image, first, padding=1))
        return torch.relu(torch.nn.functional.conv2d(hidden, second, padding=1)).flatten(2)

    def gram(image: torch.Tensor) -> torch.Tensor:
        flat = features(image)
        return flat @ flat.transpose(1, 2) / flat.shape[-1]

    style_gram = gram(style)
    content_features = features(content)

    def loss(image: torch.Tensor) -> torch.Tensor:
        return (
            10 * ((gram(image) - style_gram) ** 2).sum()
            + ((features(image) - content_features) ** 2).mean()
        )

    return start, loss


# name: (problem, lr). Rosenbrock at lr=1 without a line search bounces across the valley
# and the path becomes chaotic: two runs 1e-16 apart part by 1e-5 within 50 steps. At 0.25 it
# walks down the valley, and any difference between the optimisers shows.
PROBLEMS = {
    "quadratic": (lambda dtype: quadratic(200, dtype), 1.0),
    "rosenbrock": (lambda dtype: rosenbrock(20, dtype), 0.25),
    "style": (tiny_style_loss, 1.0),
}


# --- helpers ------------------------------------------------------------------------------


def closure_for(optimizer: torch.optim.Optimizer, x: torch.Tensor, loss_fn):
    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        return loss

    return closure


def path(optimizer: torch.optim.Optimizer, x: torch.Tensor, loss_fn, steps: int):
    """The parameter after each of `steps` steps."""
    positions = []
    for _ in range(steps):
        optimizer.step(closure_for(optimizer, x, loss_fn))
        positions.append(x.detach().clone())
    return positions


def torch_lbfgs(x: torch.Tensor, history: int, lr: float = 1.0, **options):
    return torch.optim.LBFGS([x], lr=lr, max_iter=1, history_size=history, **options)


def side_by_side(start: torch.Tensor, loss_fn, steps: int, history: int, lr: float = 1.0):
    """Parameters after each step from torch's L-BFGS and from DeviceLBFGS, and the two."""
    reference = start.clone().requires_grad_()
    on_device = start.clone().requires_grad_()
    torch_optimizer = torch_lbfgs(reference, history, lr)
    device_optimizer = DeviceLBFGS([on_device], lr=lr, history_size=history)
    expected = path(torch_optimizer, reference, loss_fn, steps)
    actual = path(device_optimizer, on_device, loss_fn, steps)
    return list(zip(expected, actual, strict=True)), torch_optimizer, device_optimizer


def relative_difference(expected: torch.Tensor, actual: torch.Tensor) -> float:
    return float((expected - actual).abs().max() / expected.abs().max().clamp_min(1e-30))


# --- following torch ----------------------------------------------------------------------


@pytest.mark.parametrize("history", [3, 10])
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_in_float64_it_takes_torchs_steps_to_rounding(problem, history):
    # In float64 the compact form and torch's two-loop recursion are the same algebra summed
    # in a different order: they part by rounding (1e-16) times what the problem makes of a
    # difference over the run (measured worst: 2e-10 here, the style loss at step 40).
    # 1e-8 fails on any real difference (a wrong pair kept, a wrong step length), which
    # moves the path by 1e-3 or more.
    make_problem, lr = PROBLEMS[problem]
    start, loss_fn = make_problem(torch.float64)
    pairs, torch_optimizer, device_optimizer = side_by_side(start, loss_fn, 40, history, lr)
    for index, (expected, actual) in enumerate(pairs):
        assert relative_difference(expected, actual) < 1e-8, f"step {index + 1}"
    # The history wrapped around (more pairs kept over the run than it holds).
    (torch_state,) = torch_optimizer.state.values()
    assert len(torch_state["old_dirs"]) == history
    assert device_optimizer.history_length() == history


@pytest.mark.parametrize("history", [3, 10])
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_in_float32_it_follows_torch_as_closely_as_torch_follows_itself(problem, history):
    # In float32 the two orders of summation round differently (6e-8 per operation) at every
    # step, and the problem amplifies such differences: the style loss's ReLUs switch on and
    # off, and torch from a start moved by 1e-6 of its size parts from torch by 2e-2 within
    # 40 steps. So the bound at each step is 4 times how far that perturbed torch run has
    # drifted so far (measured worst ratio: 1.1), and at least 1e-4 where the problem damps
    # differences (the quadratic and Rosenbrock: measured at most 1.3e-5).
    make_problem, lr = PROBLEMS[problem]
    start, loss_fn = make_problem(torch.float32)
    pairs, _, _ = side_by_side(start, loss_fn, 40, history, lr)
    nudged = (start * (1 + 1e-6)).requires_grad_()
    drift = 0.0
    nudged_path = path(torch_lbfgs(nudged, history, lr), nudged, loss_fn, 40)
    for index, ((expected, actual), nudged_position) in enumerate(
        zip(pairs, nudged_path, strict=True)
    ):
        drift = max(drift, relative_difference(expected, nudged_position))
        bound = max(1e-4, 4 * drift)
        assert relative_difference(expected, actual) < bound, f"step {index + 1}"


def test_step_without_closure_uses_the_gradient_as_it_stands():
    start, loss_fn = quadratic(50, torch.float64)
    with_closure = start.clone().requires_grad_()
    without = start.clone().requires_grad_()
    first = DeviceLBFGS([with_closure], history_size=5)
    second = DeviceLBFGS([without], history_size=5)
    for _ in range(12):
        returned = first.step(closure_for(first, with_closure, loss_fn))
        assert returned is not None
        second.zero_grad()
        loss_fn(without).backward()
        assert second.step() is None
        assert torch.equal(with_closure, without)


def test_more_than_one_parameter_is_refused():
    with pytest.raises(ValueError, match="one parameter"):
        DeviceLBFGS([torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)])


def test_a_nan_gradient_makes_the_image_nan_as_in_torch():
    # Not a skip (NaN is not below tolerance_grad): the run's divergence check must see it.
    x = torch.ones(4, requires_grad=True)
    optimizer = DeviceLBFGS([x])
    for factor in (1.0, 1.0, float("nan")):
        optimizer.step(closure_for(optimizer, x, lambda x, f=factor: (x * x).sum() * f))
    assert x.isnan().all()


# --- torch's special cases ----------------------------------------------------------------


def scripted_gradients(gradients: list[torch.Tensor]):
    """A loss whose gradient at call k is gradients[k] whatever x is: any y can be built."""
    calls = {"count": 0}

    def loss(x: torch.Tensor) -> torch.Tensor:
        gradient = gradients[calls["count"] // 2]  # called once by each optimiser per step
        calls["count"] += 1
        return (x * gradient).sum()

    return loss


def test_pairs_with_too_little_curvature_are_dropped_as_torch_drops_them():
    generator = torch.Generator().manual_seed(3)
    gradients = [torch.randn(30, generator=generator, dtype=torch.float64) for _ in range(14)]
    gradients[4] = gradients[3].clone()  # y = 0: y.s = 0, dropped
    gradients[8] = gradients[7] + 1e-13  # y.s tiny (<= 1e-10), dropped
    gradients[11] = gradients[10] * 3  # y along -s: y.s < 0, dropped
    # A case ending exactly at the threshold would depend on rounding; these do not.
    loss_fn = scripted_gradients(gradients)
    start = torch.zeros(30, dtype=torch.float64)
    reference = start.clone().requires_grad_()
    on_device = start.clone().requires_grad_()
    torch_optimizer = torch_lbfgs(reference, 4)
    device_lbfgs = DeviceLBFGS([on_device], history_size=4)
    kept = []
    for _ in range(len(gradients)):
        torch_optimizer.step(closure_for(torch_optimizer, reference, loss_fn))
        device_lbfgs.step(closure_for(device_lbfgs, on_device, loss_fn))
        torch_state = torch_optimizer.state[reference]
        assert device_lbfgs.history_length() == len(torch_state["old_dirs"])
        assert float(device_lbfgs.state[on_device]["h_diag"]) == pytest.approx(
            float(torch_state["H_diag"]), rel=1e-12
        )
        assert relative_difference(reference.detach(), on_device.detach()) < 1e-10
        kept.append(len(torch_state["old_dirs"]))
    # The script really exercised dropping: the history did not grow at steps 5, 9 and 12.
    assert kept[4] == kept[3] and kept[8] == kept[7] and kept[11] == kept[10]


def test_no_step_while_the_gradient_is_below_tolerance_grad():
    # tolerance_grad 1e-2 and gradients of about 1e-3 there: small enough to stop, large
    # enough that the step would otherwise pass the tolerance_change test (g.d ~ -2e-5).
    generator = torch.Generator().manual_seed(4)
    gradients = [torch.randn(20, generator=generator, dtype=torch.float64) for _ in range(10)]
    gradients[0] = gradients[0] * 1e-3  # at the very start: not even the first step counts
    gradients[5] = gradients[5] * 1e-3  # in the middle: nothing moves, no state changes
    assert all(gradients[index].abs().max() < 1e-2 for index in (0, 5))
    loss_fn = scripted_gradients(gradients)
    reference = torch.zeros(20, dtype=torch.float64, requires_grad=True)
    on_device = torch.zeros(20, dtype=torch.float64, requires_grad=True)
    torch_optimizer = torch_lbfgs(reference, 3, tolerance_grad=1e-2)
    device_lbfgs = DeviceLBFGS([on_device], history_size=3, tolerance_grad=1e-2)
    for index in range(len(gradients)):
        before = on_device.detach().clone()
        torch_optimizer.step(closure_for(torch_optimizer, reference, loss_fn))
        device_lbfgs.step(closure_for(device_lbfgs, on_device, loss_fn))
        if index in (0, 5):
            assert torch.equal(before, on_device.detach())
        assert relative_difference(reference.detach(), on_device.detach()) < 1e-10
        torch_count = torch_optimizer.state[reference].get("n_iter", 0)
        assert int(device_lbfgs.state[on_device]["n_iter"]) == torch_count


def test_no_move_when_the_direction_is_not_downhill_by_tolerance_change():
    # Gradient entries of 1e-5 over 5 values: g.d = -5e-10 > -1e-9, so torch keeps the new
    # direction and step length in its state but does not move; the next pair uses them.
    generator = torch.Generator().manual_seed(6)
    gradients = [torch.randn(5, generator=generator, dtype=torch.float64) for _ in range(8)]
    gradients[3] = torch.full((5,), 1e-5, dtype=torch.float64)
    loss_fn = scripted_gradients(gradients)
    reference = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    on_device = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    torch_optimizer = torch_lbfgs(reference, 3)
    device_lbfgs = DeviceLBFGS([on_device], history_size=3)
    for index in range(len(gradients)):
        before = reference.detach().clone()
        torch_optimizer.step(closure_for(torch_optimizer, reference, loss_fn))
        device_lbfgs.step(closure_for(device_lbfgs, on_device, loss_fn))
        if index == 3:
            assert torch.equal(before, reference.detach())  # the case really happened
        assert relative_difference(reference.detach(), on_device.detach()) < 1e-10


# --- no host reads ------------------------------------------------------------------------

# What .item(), float(), bool() and `if tensor:` dispatch to, and ops whose output shape
# depends on the values (a CUDA graph fixes every shape when it is recorded).
HOST_READS = {"_local_scalar_dense", "is_nonzero", "equal", "allclose"}
DATA_DEPENDENT_SHAPES = {"nonzero", "nonzero_static", "masked_select", "argwhere"} | {
    "unique",
    "_unique",
    "_unique2",
    "unique_consecutive",
    "unique_dim",
}


class RecordOps(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def test_steps_after_the_first_never_read_the_device_and_repeat_the_same_ops():
    start, loss_fn = tiny_style_loss(torch.float32)
    image = start.clone().requires_grad_()
    optimizer = DeviceLBFGS([image], history_size=4)
    sequences = []
    for index in range(9):  # past the point where the history of 4 is full and wraps
        optimizer.zero_grad()
        loss_fn(image).backward()
        if index == 0:
            optimizer.step()  # allocates the state: allowed to differ
            continue
        with RecordOps() as recorder:
            optimizer.step()
        sequences.append(recorder.names)
    for names in sequences:
        assert not HOST_READS & set(names), sorted(HOST_READS & set(names))
        assert not DATA_DEPENDENT_SHAPES & set(names), sorted(DATA_DEPENDENT_SHAPES & set(names))
    # A graph replays one fixed sequence: every step must issue exactly the same ops.
    assert all(names == sequences[0] for names in sequences)


# --- checkpoints --------------------------------------------------------------------------


@pytest.mark.parametrize("saved_after", [2, 7])
def test_a_loaded_state_dict_continues_exactly_as_the_saved_optimiser(saved_after):
    start, loss_fn = tiny_style_loss(torch.float32)
    image = start.clone().requires_grad_()
    optimizer = DeviceLBFGS([image], history_size=3)
    for _ in range(saved_after):
        optimizer.step(closure_for(optimizer, image, loss_fn))
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    resumed_image = image.detach().clone().requires_grad_()
    resumed = DeviceLBFGS([resumed_image], history_size=3)
    buffer.seek(0)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    for _ in range(8):
        optimizer.step(closure_for(optimizer, image, loss_fn))
        resumed.step(closure_for(resumed, resumed_image, loss_fn))
        assert torch.equal(image, resumed_image)


# --- CUDA graphs (skipped without a GPU; benchmarks/gpu_check.sh runs it) ------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("problem", ["quadratic", "style"])
def test_steps_replayed_from_a_cuda_graph_equal_eager_steps(problem, monkeypatch):
    # Deterministic convolutions: eager and graph then run the same kernels on the same data
    # and should agree exactly; atomics' order in a backward would otherwise differ, and the
    # style loss amplifies differences (see the float32 test above).
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    if problem == "quadratic":
        start, loss_fn = quadratic(200, torch.float32, device="cuda")
    else:
        start, loss_fn = tiny_style_loss(torch.float32, device="cuda")
    eager_image = start.clone().requires_grad_()
    graph_image = start.clone().requires_grad_()
    eager = DeviceLBFGS([eager_image], history_size=5)
    captured = DeviceLBFGS([graph_image], history_size=5)

    def iteration(optimizer: DeviceLBFGS, image: torch.Tensor, no_sync: bool = False):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(image)
        loss.backward()
        if no_sync:  # any host wait inside the step raises
            torch.cuda.set_sync_debug_mode("error")
        try:
            optimizer.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
        return loss.detach()

    warm_up = 3
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warm_up):
            iteration(captured, graph_image)
    torch.cuda.current_stream().wait_stream(side)
    for index in range(warm_up):
        iteration(eager, eager_image, no_sync=index > 0)

    captured.zero_grad(set_to_none=True)  # the graph's backward allocates the gradient
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        graph_loss = loss_fn(graph_image)
        graph_loss.backward()
        captured.step()
    # Capture records without running: the image is still where the warm-up left it. 20
    # replays go well past the history of 5 wrapping around.
    for index in range(20):
        graph.replay()
        eager_loss = iteration(eager, eager_image, no_sync=True)
        torch.cuda.synchronize()
        # Same kernels, same data: equal in principle; 1e-5 relative leaves room for a
        # library picking another algorithm under capture, far below one step's move.
        assert relative_difference(eager_image.detach(), graph_image.detach()) < 1e-5, index
        assert math.isclose(float(graph_loss), float(eager_loss), rel_tol=1e-5), index

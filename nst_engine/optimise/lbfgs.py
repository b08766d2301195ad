"""L-BFGS that lives on the device: no host reads, fixed shapes, so its steps replay in a CUDA graph.

torch.optim.LBFGS turns device values into Python numbers several times per step (the
gradient test, y.s, every alpha and beta of the two-loop recursion) and branches on them, so
the host waits for the GPU at each and nothing can be captured. DeviceLBFGS takes the same
steps as torch's with max_iter=1 and no line search (the engine's setting):

- first step: d = -g, t = min(1, 1/|g|_1) * lr;
- later steps: y = g - g_prev, s = t_prev * d_prev; the pair is kept when y.s > 1e-10 (the
  oldest dropped when the history is full) and then H_diag = y.s / y.y; d = -H g with L-BFGS's
  inverse-Hessian estimate over the kept pairs and H_diag * I; t = lr;
- no move when g.d > -tolerance_change (the new d and t are kept for the next pair, as torch
  keeps them), and nothing at all, not even the step count, when max|g| <= tolerance_grad.

What differs is how. Decisions are masks and `torch.where`, never Python branches; every
counter is a device tensor; every state tensor is allocated at the first step and only ever
written in place, so steps 2.. issue the same kernels on the same memory each time.

H g is computed in the compact form of Byrd, Nocedal and Schnabel (1994), not by the two-loop
recursion. The two-loop does 2 x history dependent dot-product-and-axpy pairs per step: torch's
step issues about 1000 ops at history 100, each a kernel of a few microseconds on a GPU even
inside a graph. The compact form gives the same matrix (in exact arithmetic) with a fixed number
of ops whatever the history (79 that are not views; benchmarks/lbfgs_overhead.py counts them):

    H = c I + [S  cY] [ R^-T (D + c Y'Y) R^-1   -R^-T ] [ S'  ]
                      [ -R^-1                    0    ] [ cY' ]

with c = H_diag, S and Y the pairs as columns (oldest first), R = triu(S'Y), D = diag(S'Y).
So d = -H g needs S'g and Y'g (one matrix-vector product over the history), two small
triangular solves, and one more matrix-vector product to combine the pairs. S'Y and Y'Y are
kept as (history+1) x (history+1) matrices, one row and column replaced per step: y_i.s_new
costs a product over the y half; s_i.y_new and y_i.y_new are this step's S'g and Y'g minus the
last step's (y_new = g - g_prev). In all 2.5 passes over the history per step, where torch's
two-loop reads it twice and writes a vector 2 x history times. A single matrix product of the
history with [g, y_new, s_new] would do in one pass what takes 1.5 here, but BLAS is not tuned
for three columns and a 500k-long reduction: on the CPU it ran 4 times slower than one
matrix-vector product. The subtraction rounds where torch's dot product of y_new does not; in
float32 the path stays as close to float64's as torch's own (measured on the tests' problems).

The pairs sit in a ring of history+1 slots: the spare slot takes the candidate pair before y.s
is known, so a rejected candidate never overwrites a kept pair and no write is conditional.
Slots are used in turn, so oldest-first order is a rotation of the ring; only the small matrices
are permuted into it. Slots not in the history get a row and column of the identity in R and
zeros elsewhere, so they contribute exactly nothing. A skipped step (gradient below tolerance)
may scribble on the spare slot: it is rewritten before it is next read.

Memory: 2 x (history + 1) + 3 image-sized vectors (torch: 2 x history + 2, plus the
candidate pair while it tests it) and two small matrices; nothing grows with the step count.

In float64 the two forms agree to rounding; in float32 they follow each other closely but not
bit for bit (tests/engine/test_lbfgs.py says how closely). The products run at full float32
precision on CUDA even where the caller allows TF32 for matrix products: a 10-bit mantissa
would wreck the curvature pairs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from nst_engine.optimise.precision import float32_matmuls

# torch's threshold for keeping a pair (y.s), a constant in torch.optim.LBFGS too.
CURVATURE_THRESHOLD = 1e-10


class DeviceLBFGS(torch.optim.Optimizer):
    """L-BFGS over exactly one parameter tensor, one iteration per step(), graph-capturable.

    Use either like torch's L-BFGS, `step(closure)`, or like Adam: zero the gradient, compute
    the loss, backward, `step()`. The update reads `param.grad` as it stands after the closure
    (if any). `lr` is read on the host at each step: inside a captured graph it is fixed.
    """

    def __init__(
        self,
        params,
        lr: float = 1.0,
        history_size: int = 100,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
    ) -> None:
        if lr < 0:
            raise ValueError(f"lr must be at least 0, got {lr}")
        if history_size < 1:
            raise ValueError(f"history_size must be at least 1, got {history_size}")
        defaults = {
            "lr": lr,
            "history_size": history_size,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
        }
        super().__init__(params, defaults)
        parameters = [p for group in self.param_groups for p in group["params"]]
        if len(parameters) != 1:
            raise ValueError(
                f"DeviceLBFGS optimises exactly one parameter tensor, got {len(parameters)}"
            )
        self._param = parameters[0]
        # Index and mask tensors that never change, made once per device (not state: they
        # are not part of a checkpoint, and a graph must find them at the same address).
        self._constants: dict[tuple, tuple[torch.Tensor, ...]] = {}

    def history_length(self) -> int:
        """How many pairs the history holds now. Reads the device: for tests and reports."""
        state = self.state[self._param]
        return int(state["valid"].sum()) if state else 0

    def history_bytes(self) -> int:
        """The size of the pairs held for the history (0 before the first step)."""
        pairs = self.state[self._param].get("pairs")
        return 0 if pairs is None else pairs.numel() * pairs.element_size()

    def state_dict(self, keep_history: bool = True) -> dict:
        """As torch's; without the history's pairs if `keep_history` is False (a checkpoint
        that must be quick to write, nst_engine/running/checkpointing.py). Everything else stays:
        the last gradient and step, the counters, the step scale, so a resume goes on from
        the same point with an empty history, which its next iterations fill again."""
        state_dict = super().state_dict()
        state_dict["history"] = keep_history
        state = state_dict["state"].get(0)
        if keep_history or not state or "pairs" not in state:
            return state_dict
        state = {key: value for key, value in state.items() if key != "pairs"}
        # Nothing in the history: no valid slot, and their products zero, as the pairs are.
        for key in ("valid", "g_dots", "products"):
            state[key] = torch.zeros_like(state[key])
        state_dict["state"] = {0: state}
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """As torch's, then the counters and the mask back to their own types, and empty
        pairs where the state was saved without them.

        torch casts every state tensor but "step" to the parameter's floating type; the slot
        number, the iteration count and the mask are exact small integers, so they survive.
        """
        super().load_state_dict(state_dict)
        state = self.state[self._param]
        for key, dtype in (("slot", torch.long), ("n_iter", torch.long), ("valid", torch.bool)):
            if key in state:
                state[key] = state[key].to(dtype)
        if "vectors" in state and "pairs" not in state:
            vectors = state["vectors"]
            slots = state["valid"].shape[0]
            state["pairs"] = vectors.new_zeros(2 * slots, vectors.shape[1])

    def step(self, closure: Callable[[], torch.Tensor] | None = None):  # type: ignore[override]
        """One L-BFGS iteration; returns the closure's loss (None without a closure)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad(), _full_precision_matmuls(self._param.device):
            self._update()
        return loss

    # --- the iteration ----------------------------------------------------------------------

    def _constants_for(self, slots: int, gradient: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Slot numbers, the upper-triangle mask and the identity, for this device and type."""
        key = (slots, gradient.device, gradient.dtype)
        if key not in self._constants:
            device = gradient.device
            self._constants[key] = (
                torch.arange(slots, device=device),
                torch.ones(slots, slots, dtype=torch.bool, device=device).triu(),
                torch.eye(slots, dtype=gradient.dtype, device=device),
            )
        return self._constants[key]

    def _allocate(self, state: dict, gradient: torch.Tensor, history: int) -> None:
        slots = history + 1
        zeros = {"dtype": gradient.dtype, "device": gradient.device}
        n = gradient.numel()
        # Rows 0..slots-1: s; slots..2*slots-1: y.
        state["pairs"] = torch.zeros(2 * slots, n, **zeros)
        # g_prev, the candidate y, the candidate s (t * d of the last step).
        state["vectors"] = torch.zeros(3, n, **zeros)
        # s_i.g and y_i.g of the last step.
        state["g_dots"] = torch.zeros(2 * slots, **zeros)
        # [0]: s_i.y_j, [1]: y_i.y_j, over slots.
        state["products"] = torch.zeros(2, slots, slots, **zeros)
        state["valid"] = torch.zeros(slots, dtype=torch.bool, device=gradient.device)
        state["slot"] = torch.zeros((), dtype=torch.long, device=gradient.device)
        state["h_diag"] = torch.ones((), **zeros)
        state["n_iter"] = torch.zeros((), dtype=torch.long, device=gradient.device)

    def _update(self) -> None:
        group = self.param_groups[0]
        param = self._param
        grad = param.grad if param.grad is not None else torch.zeros_like(param)
        gradient = grad.reshape(-1)
        state = self.state[param]
        if not state:
            self._allocate(state, gradient, group["history_size"])
        pairs, vectors, products = state["pairs"], state["vectors"], state["products"]
        previous_g_dots = state["g_dots"]
        valid, slot, h_diag, n_iter = (state[key] for key in ("valid", "slot", "h_diag", "n_iter"))
        slots = valid.shape[0]
        order, upper, eye = self._constants_for(slots, gradient)

        # torch returns before anything when the gradient is this small; here every write
        # below is masked by `live` instead. A NaN gradient is live, as in torch: the image
        # turns NaN, which the run's divergence check sees. `started`: not the first iteration.
        live = ~(torch.linalg.vector_norm(gradient, float("inf")) <= group["tolerance_grad"])
        started = n_iter > 0

        # The candidate pair: y = g - g_prev into vectors[1]; s is already in vectors[2].
        torch.sub(gradient, vectors[0], out=vectors[1])
        torch.where(live, gradient, vectors[0], out=vectors[0])
        # Into the spare slot (y's row, s's row), even when skipping: it is not in the history.
        pairs.index_copy_(0, torch.stack((slot + slots, slot)), vectors[1:])

        # The new pair's own products, y.y and s.y, in one pass over the two vectors.
        yy, ys = torch.mv(vectors[1:], vectors[1]).unbind()
        accept = (ys > CURVATURE_THRESHOLD) & started & live

        # The history's products with g (needed for the direction) and with s_new: one pass
        # over all pairs and one over the y half. The products with y_new = g - g_prev are
        # the difference of this step's and the last step's products with g, for every pair
        # that was already there (the new pair's slot gets its own, above): a third pass
        # saved, at the price of a subtraction where torch takes one dot product.
        g_dots = torch.mv(pairs, gradient)
        s_dots = torch.mv(pairs[slots:], vectors[2])
        y_dots = (g_dots - previous_g_dots).view(2, slots)
        torch.where(live, g_dots, previous_g_dots, out=previous_g_dots)

        _note_candidate(products, slot, s_dots, y_dots, ys, yy)
        chronological = _advance_ring(order, slot, valid, accept)
        h_diag.copy_(torch.where(started, torch.where(accept, ys / yy, h_diag), 1.0))
        n_iter.add_(live.long())

        direction = _direction(
            gradient, pairs, g_dots, products, valid, chronological, h_diag, upper, eye
        )

        # Step length: torch's first-step scaling, then lr; no move unless downhill enough.
        gtd = torch.dot(gradient, direction)
        first_length = torch.linalg.vector_norm(gradient, 1).reciprocal().clamp(max=1.0)
        length = torch.where(started, 1.0, first_length) * group["lr"]
        moves = live & ~(gtd > -group["tolerance_change"])
        param.addcmul_(direction.view_as(param), torch.where(moves, length, 0.0))
        torch.where(live, direction * length, vectors[2], out=vectors[2])


def _note_candidate(products, slot, s_dots, y_dots, ys, yy) -> None:
    """The candidate's row and column of S'Y and Y'Y (junk if it is dropped: its slot stays
    out of the history and is rewritten before it joins)."""
    slots = products.shape[-1]
    one_slot = slot.view(1)
    products.index_copy_(2, one_slot, y_dots.unsqueeze(2))
    products.index_copy_(1, one_slot, torch.stack((s_dots, y_dots[1])).unsqueeze(1))
    corner = (slot * (slots + 1)).view(1)  # (slot, slot) in each flattened matrix
    products.view(2, -1).index_copy_(1, corner, torch.stack((ys, yy)).view(2, 1))


def _advance_ring(order, slot, valid, accept):
    """Keep the candidate or not (`accept`): `valid` and `slot` updated in place; the slots
    oldest first, from the slot after this one, which holds the newest pair if it is kept
    (and is left out of the history if not)."""
    slots = valid.shape[0]
    following = torch.remainder(slot + 1, slots)
    chronological = torch.remainder(order + following, slots)
    # Keep it: its slot joins the history, and the following one (the oldest pair when the
    # history is full, an empty slot otherwise) leaves it and becomes the spare.
    leaving = (order == following) & accept
    torch.where(order == slot, accept, valid & ~leaving, out=valid)
    torch.where(accept, following, slot, out=slot)
    return chronological


def _direction(gradient, pairs, g_dots, products, valid, chronological, h_diag, upper, eye):
    """-H g by the compact form, over the slots in `valid`, taken in `chronological` order."""
    slots = valid.shape[0]
    kept = valid.index_select(0, chronological)
    kept_values = kept.to(gradient.dtype)
    both = kept[:, None] & kept[None, :]
    # S'q and Y'q for q = -g, zero outside the history.
    sq_yq = g_dots.view(2, slots).index_select(1, chronological) * -kept_values
    sy_yy = products.index_select(1, chronological).index_select(2, chronological)
    sy, yy = sy_yy.unbind()
    r = torch.where(upper & both, sy, eye)
    curvature = torch.where(kept, sy.diagonal(), 0.0)
    yy = torch.where(both, yy, 0.0)

    p = torch.linalg.solve_triangular(r, sq_yq[0].unsqueeze(1), upper=True)
    rhs = curvature.unsqueeze(1) * p + h_diag * (yy @ p - sq_yq[1].unsqueeze(1))
    u = torch.linalg.solve_triangular(r.mT, rhs, upper=False)
    # Weights of s_i and y_i, back from oldest-first to slot order.
    weights_chronological = torch.cat((u, p * -h_diag), dim=1).t()
    weights = torch.empty_like(weights_chronological)
    weights.index_copy_(1, chronological, weights_chronological)
    pairs_part = torch.mv(pairs.t(), weights.reshape(-1))
    return torch.addcmul(pairs_part, gradient, h_diag, value=-1)


def _full_precision_matmuls(device: torch.device) -> contextlib.AbstractContextManager:
    """Float32 products at full precision on CUDA for the duration of a step (not TF32)."""
    return float32_matmuls(device, tf32=False)

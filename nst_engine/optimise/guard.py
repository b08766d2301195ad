"""The last good image: kept every few iterations, checked without stalling a GPU."""

from __future__ import annotations

import torch


class LastGoodImage:
    """The latest image that was finite, and its iteration.

    `offer` copies the image and asks, on the device, whether it is finite: its own values
    (an update can make them NaN while the loss the step reported, which belongs to the image
    before the update, is still finite) and that loss. On a GPU
    the answer is read back asynchronously and looked at the next time (or at `settle`),
    by when the device has long computed it: the host never waits for the iterations still
    in flight, so checking costs no sync. On the CPU the answer is looked at at once.
    """

    def __init__(self, image: torch.Tensor, index: int = 0) -> None:
        self.image = image.detach().clone()
        self.index = index  # the iteration that made `image` (0: the starting image)
        self._pending: tuple[torch.Tensor, torch.Tensor, torch.cuda.Event | None, int] | None = None

    def state_dict(self) -> dict:
        """The kept image and its iteration, for a checkpoint (the image is not copied)."""
        return {"image": self.image, "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        """Keep a copy of `state`'s image, on this guard's device; nothing queued."""
        self.image = state["image"].to(self.image.device).detach().clone()
        self.index = int(state["index"])
        self._pending = None

    def offer(self, image: torch.Tensor, loss: torch.Tensor, index: int) -> int | None:
        """Queue `image` of iteration `index`; the iteration that diverged, if one did."""
        diverged = self.settle()
        if diverged is not None:
            return diverged
        finite = torch.isfinite(loss.detach()) & torch.isfinite(image.detach()).all()
        event = None
        if finite.is_cuda:
            finite, event = read_back_later(finite, image.device)
        self._pending = (image.detach().clone(), finite, event, index)
        return self.settle() if event is None else None

    def settle(self) -> int | None:
        """Look at the queued answer (waiting, at most, for its own iteration to end)."""
        if self._pending is None:
            return None
        candidate, finite, event, index = self._pending
        self._pending = None
        if event is not None:
            event.synchronize()
        if not bool(finite):
            return index
        self.image, self.index = candidate, index
        return None


def read_back_later(
    value: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.cuda.Event]:
    """A host copy of a device scalar on its way, and the event that says it has landed.

    The copy goes on the current stream of `device`, the value's (torch copies on the
    device tensor's stream), and the event is recorded on that same stream: recorded on the
    current device's instead (cuda:0 while the image is on cuda:1) it could fire before the
    copy lands, and the answer read would be stale.
    """
    answer = torch.empty((), dtype=value.dtype, pin_memory=True)
    answer.copy_(value, non_blocking=True)
    event = torch.cuda.Event()
    event.record(torch.cuda.current_stream(device))
    return answer, event

"""Which device a run uses: choosing, describing, making it reproducible, freeing it."""

from __future__ import annotations

import contextlib

import torch

from nst_engine.errors import DeviceError
from nst_engine.optimise import capture


def resolve_device(name: str) -> torch.device:
    """The torch device for a `device` setting, or a DeviceError saying what exists."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"{name} was asked for, but this machine has no usable CUDA device; use --device cpu"
            )
        count = torch.cuda.device_count()
        index = int(name.partition(":")[2] or 0)
        if index >= count:
            raise DeviceError(
                f"{name} does not exist: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
            )
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise DeviceError("mps was asked for, but this machine has no Apple GPU; use --device cpu")
    return torch.device(name)


def available_devices() -> list[tuple[str, str]]:
    """(setting, description) of every device this machine can run on, `auto` first."""
    devices = [
        ("auto", "auto (the first GPU, else the CPU)"),
        ("cpu", describe_device(torch.device("cpu"))),
    ]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices.append((f"cuda:{index}", describe_device(torch.device("cuda", index))))
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        devices.append(("mps", "mps (Apple GPU)"))
    return devices


def make_reproducible(device: torch.device) -> None:
    """Make a seeded run give the same pixels every time on this device.

    The CPU always does. On CUDA, cuDNN's default convolution algorithms are not
    bit-reproducible, and L-BFGS amplifies their last-bit differences: two runs with the same
    seed differed in 12% of their values, by up to 137 levels (512 px, 100 iterations, H200,
    `benchmarks/determinism.py`). Deterministic algorithms made them identical for about 2%
    more time per iteration. The setting is process-wide, as cuDNN's flags are.
    """
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def device_scope(device: torch.device) -> contextlib.AbstractContextManager:
    """Make `device` the thread's current CUDA device while the block runs (nothing to do
    for other devices). What torch does on "the current device" then follows the run's:
    CUDA graph capture and replay, the caching allocator's calls, the syncs of
    torch.cuda.graph; `--device cuda:1` would otherwise do them on cuda:0."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    return torch.cuda.device(device)


def release_memory(device: torch.device) -> None:
    """Give back the memory a failed run held (its tensors must be gone already).

    Not after a failed CUDA graph capture: torch may still believe it under way, and its
    empty_cache would raise (nst_engine/optimise/capture.py).
    """
    if device.type == "cuda" and capture.graphs_usable():
        torch.cuda.empty_cache()


def out_of_memory_advice(
    size: tuple[int, int], needs: str = "", history_first: bool = False
) -> str:
    """The one-line advice after running out of GPU memory at `size`; `needs` says what the
    run needed (nst_engine.cost.estimate), and the largest part is advised first."""
    remedies = ["lower the compute size", "choose fewer or shallower layers"]
    history = "a smaller L-BFGS history (--history-size)"
    remedies = [history, *remedies] if history_first else [*remedies, history]
    return (
        f"out of GPU memory at {size[0]}x{size[1]}{f' ({needs})' if needs else ''}; "
        f"{', '.join(remedies[:-1])}, or {remedies[-1]}"
    )

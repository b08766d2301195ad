"""How float32 matrix products run on CUDA: at full IEEE precision or in TF32, per region.

torch's switch is process-wide (`torch.backends.cuda.matmul`), read by cuBLAS at each
launch (or at capture, for a CUDA graph), while runs on several GPUs go on in threads of one
process. So a region sets it under one process-wide lock and puts the previous value back;
regions nest (the lock is re-entrant). torch 2.9 introduced `matmul.fp32_precision` and
refuses a mix of it with the older `allow_tf32`: the newer is used where it exists, the older
elsewhere (torch 2.1-2.8). Nothing happens off CUDA.

Who asks for what: a run in bf16 computes its Gram matrices (and their gradients) in TF32:
bf16 features are exact in TF32's 10-bit mantissa, so the products are those of float32
(benchmarks/gram_tf32.py measures it). L-BFGS's curvature pairs and W2's matrix square
root ask for IEEE, which a 10-bit mantissa would spoil.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch

_LOCK = threading.RLock()


@contextlib.contextmanager
def float32_matmuls(device: torch.device, tf32: bool) -> Iterator[None]:
    """Float32 matrix products on `device` in TF32 (`tf32`) or at full precision, meanwhile."""
    if device.type != "cuda":
        yield
        return
    with _LOCK:
        matmul = torch.backends.cuda.matmul
        if hasattr(matmul, "fp32_precision"):  # torch 2.9 and later
            name, value = "fp32_precision", "tf32" if tf32 else "ieee"
        else:
            name, value = "allow_tf32", tf32
        previous = getattr(matmul, name)
        setattr(matmul, name, value)
        try:
            yield
        finally:
            setattr(matmul, name, previous)

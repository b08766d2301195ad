"""Float32 matrix products on CUDA (issue 20, item 7): the switch works on torch before 2.9
(no `matmul.fp32_precision`), regions put it back beside other threads, and a run asks for
TF32 exactly when it runs in bf16 (where its Gram matrices lose nothing by it)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import torch

from nst_engine.optimise import lbfgs, precision, stepper
from nst_engine.optimise.stepper import Stepper, Switches
from nst_engine.settings.config import OptimizerSettings

GPU = torch.device("cuda", 0)


def test_before_torch_2_9_the_older_switch_is_used(monkeypatch):
    matmul = SimpleNamespace(allow_tf32=True)  # torch 2.1-2.8: no fp32_precision
    monkeypatch.setattr(torch.backends.cuda, "matmul", matmul)
    with precision.float32_matmuls(GPU, tf32=False):
        assert matmul.allow_tf32 is False
    assert matmul.allow_tf32 is True
    with lbfgs._full_precision_matmuls(GPU):  # L-BFGS's every CUDA step
        assert matmul.allow_tf32 is False
    assert matmul.allow_tf32 is True


def test_from_torch_2_9_the_newer_switch_alone_is_used(monkeypatch):
    matmul = SimpleNamespace(fp32_precision="none", allow_tf32=False)
    monkeypatch.setattr(torch.backends.cuda, "matmul", matmul)
    with precision.float32_matmuls(GPU, tf32=True):
        assert matmul.fp32_precision == "tf32"
        with precision.float32_matmuls(GPU, tf32=False):  # W2 inside a bf16 iteration
            assert matmul.fp32_precision == "ieee"
        assert matmul.fp32_precision == "tf32"
    assert matmul.fp32_precision == "none"
    assert matmul.allow_tf32 is False  # never mixed: torch 2.9 refuses a mix of the two


def test_regions_in_two_threads_leave_the_switch_as_it_was(monkeypatch):
    matmul = SimpleNamespace(fp32_precision="none")
    monkeypatch.setattr(torch.backends.cuda, "matmul", matmul)
    seen = []

    def region(tf32: bool) -> None:
        for _ in range(200):
            with precision.float32_matmuls(GPU, tf32=tf32):
                seen.append(matmul.fp32_precision == ("tf32" if tf32 else "ieee"))

    threads = [threading.Thread(target=region, args=(tf32,)) for tf32 in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(seen) and len(seen) == 400
    assert matmul.fp32_precision == "none"


def test_nothing_changes_off_cuda(monkeypatch):
    matmul = SimpleNamespace()  # would fail on any read or write
    monkeypatch.setattr(torch.backends.cuda, "matmul", matmul)
    with precision.float32_matmuls(torch.device("cpu"), tf32=True):
        pass


def test_an_iteration_asks_for_tf32_exactly_when_it_runs_in_bf16(monkeypatch):
    asked = []

    def recorded(device, tf32):
        asked.append(tf32)
        return precision.float32_matmuls(device, tf32)

    monkeypatch.setattr(stepper, "float32_matmuls", recorded)
    for bf16 in (True, False):
        image = torch.zeros(1, 3, 4, 4, requires_grad=True)
        settings = OptimizerSettings(name="adam", lr=1.0)

        def loss_function(picture):
            return {"total": picture.pow(2).sum()}

        Stepper(loss_function, image, settings, Switches(bf16, False, False)).step()
    assert asked == [True, False]


def test_bf16_values_are_exact_in_tf32():
    """Why TF32 costs a bf16 run's Gram matrices nothing: their inputs lose no bit."""
    values = torch.randn(100_000).bfloat16().float()
    bits = values.view(torch.int32)
    # TF32 keeps 10 of float32's 23 mantissa bits; bf16 keeps 7.
    assert (bits & 0x1FFF).eq(0).all()

"""Out of GPU memory in the middle of a run (issue 20, item 7): the run's Stepper (the
optimiser's state, L-BFGS's history, a CUDA graph's memory pool) is freed before the
allocator's cache is given back, or the memory it holds would stay taken."""

from __future__ import annotations

import gc
import weakref

import pytest

from nst_engine.errors import DeviceError
from nst_engine.optimise.stepper import Stepper
from nst_engine.running import transfer


def test_the_stepper_is_gone_when_the_memory_is_given_back(
    tiny_config, monkeypatch, out_of_memory_at
):
    steppers: list[weakref.ref] = []
    real_init = Stepper.__init__

    def remembered_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        steppers.append(weakref.ref(self))

    alive_at_release = []

    def release_memory(device):
        gc.collect()
        alive_at_release.append([ref() is not None for ref in steppers])

    monkeypatch.setattr(Stepper, "__init__", remembered_init)
    monkeypatch.setattr(transfer, "release_memory", release_memory)
    out_of_memory_at(3)
    with pytest.raises(DeviceError, match="out of GPU memory") as caught:
        list(transfer.run(tiny_config(iterations=6)))
    assert alive_at_release == [[False]]
    assert "the image so far is in" in caught.value.message  # what was made is still kept

"""The optimisers as the engine makes them."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow  # imports torch in a new process
def test_making_and_stepping_an_optimiser_does_not_import_torch_dynamo():
    # A fresh process: this one imported torch._dynamo long ago. torch's optimiser
    # bookkeeping would import it (about 890 modules) on the first zero_grad.
    code = """
import sys, torch
from nst_engine.settings.config import OptimizerSettings
from nst_engine.optimise.optimizers import make_optimizer
image = torch.zeros(1, 3, 8, 8, requires_grad=True)
optimizer = make_optimizer(OptimizerSettings(), image)
for _ in range(3):
    optimizer.zero_grad(set_to_none=True)
    (image - 1).pow(2).sum().backward()
    optimizer.step()
optimizer.load_state_dict(optimizer.state_dict())
assert abs(float(image.mean()) - 1) < 0.5, float(image.mean())
print("torch._dynamo" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr

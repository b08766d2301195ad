"""The temporal loss, and a run guided by the previous frame (its start and its loss)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nst_engine.running.events import Finished, Step
from nst_engine.running.images import load_image
from nst_engine.running.transfer import run
from nst_engine.video.temporal import TEMPORAL_UNIT, FrameGuide, TemporalLoss


def no_terms(image: torch.Tensor) -> dict[str, torch.Tensor]:
    zero = image.new_zeros(())
    return {"content": zero, "style": zero, "tv": zero, "total": zero}


def test_the_temporal_term_is_the_masked_mean_squared_difference_over_its_unit() -> None:
    target = torch.full((1, 3, 8, 8), 100.0)
    mask = torch.ones(1, 1, 8, 8)
    loss = TemporalLoss(no_terms, target, mask, weight=3.0)
    off_by_a_tenth = target + 25.5  # a tenth of the 0-255 range, everywhere
    losses = loss(off_by_a_tenth)
    assert float(losses["temporal"]) == pytest.approx(3.0 * 0.1**2 / TEMPORAL_UNIT)
    assert float(losses["total"]) == pytest.approx(float(losses["temporal"]))


def test_an_occlusion_is_left_free() -> None:
    target = torch.zeros(1, 3, 8, 8)
    mask = torch.ones(1, 1, 8, 8)
    mask[..., :4] = 0  # the left half occluded
    image = target.clone()
    image[..., :4] = 200.0  # different only there
    assert float(TemporalLoss(no_terms, target, mask, 5.0)(image)["temporal"]) == 0.0


def test_a_guided_run_starts_from_the_warped_result_and_is_pulled_toward_it(
    tiny_config,
) -> None:
    config = tiny_config(iterations=3)
    picture = load_image(config.inputs.content, "content").image
    picture = picture.resize((48, round(48 * picture.height / picture.width)))
    content = np.asarray(picture, dtype=np.float32)
    grey = np.full_like(content, 128)
    guide = FrameGuide.from_arrays(grey, np.ones(grey.shape[:2]), weight=1000.0)
    steps: list[Step] = []
    with run(config, guide=guide) as events:
        for event in events:
            if isinstance(event, Step):
                steps.append(event)
            if isinstance(event, Finished):
                result = np.asarray(load_image(event.path, "result").image, dtype=np.float32)
    assert "temporal" in steps[0].losses
    # Started on the grey and held there: far nearer to it than to the content.
    assert np.abs(result - grey).mean() < np.abs(result - content).mean() / 4
    assert float(steps[0].losses["temporal"]) == pytest.approx(0.0, abs=1e-6)

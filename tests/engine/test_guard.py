"""The last good image keeps the latest image whose loss was finite."""

from __future__ import annotations

import math

import torch

from nst_engine.optimise.guard import LastGoodImage


def test_a_finite_loss_keeps_a_copy_of_the_image_and_its_iteration():
    image = torch.zeros(1, 3, 4, 4)
    guard = LastGoodImage(image)
    image += 7
    assert guard.offer(image, torch.tensor(1.5), 10) is None
    image += 1  # later changes to the live image do not reach the kept copy
    assert guard.index == 10
    assert torch.equal(guard.image, torch.full((1, 3, 4, 4), 7.0))


def test_a_nan_or_infinite_loss_reports_its_iteration_and_keeps_the_previous_image():
    image = torch.ones(1, 3, 4, 4)
    guard = LastGoodImage(image)
    assert guard.offer(image * 2, torch.tensor(3.0), 10) is None
    for bad in (math.nan, math.inf):
        assert guard.offer(image * 5, torch.tensor(bad), 20) == 20
        assert guard.index == 10
        assert torch.equal(guard.image, torch.full((1, 3, 4, 4), 2.0))


def test_settle_with_nothing_queued_reports_nothing():
    guard = LastGoodImage(torch.zeros(1, 3, 2, 2))
    assert guard.settle() is None
    assert guard.index == 0

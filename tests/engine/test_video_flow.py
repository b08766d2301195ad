"""Optical flow (OpenCV's DIS), warping by it, and Ruder et al.'s consistency mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("cv2")

from nst_engine.video.flow import consistency_mask, flows, warp  # noqa: E402


def texture(width: int = 96, height: int = 64, seed: int = 3) -> Image.Image:
    """A smooth random texture: something DIS can follow."""
    noise = np.random.default_rng(seed).random((height // 4, width // 4, 3)) * 255
    small = Image.fromarray(noise.astype(np.uint8))
    return small.resize((width, height), Image.Resampling.BICUBIC)


def crop(picture: Image.Image, left: int, side: int = 48) -> Image.Image:
    return picture.crop((left, 8, left + side, 8 + side))


def test_the_flow_of_a_window_moved_2_px_is_2_px_and_warps_the_frame_onto_the_next(
    shared_image,
) -> None:
    try:
        picture = Image.open(shared_image("chelsea.png")).convert("RGB").reduce(4)
    except pytest.skip.Exception:
        picture = texture()
    previous, current = crop(picture, 20), crop(picture, 22)
    backward, forward = flows(previous, current)
    assert np.median(backward[..., 0]) == pytest.approx(2, abs=0.2)
    assert np.median(forward[..., 0]) == pytest.approx(-2, abs=0.2)
    mask = consistency_mask(backward, forward)
    warped = warp(np.asarray(previous, dtype=np.float32), backward)
    trusted = mask > 0
    error = np.abs(warped - np.asarray(current, dtype=np.float32))[trusted].mean()
    unwarped = np.abs(np.asarray(previous, np.float32) - np.asarray(current, np.float32)).mean()
    assert error < unwarped / 5
    assert trusted.mean() > 0.8
    assert not trusted[:, -1].any()  # what came in at the right edge was not in the previous


def test_flows_that_do_not_cancel_are_an_occlusion() -> None:
    backward = np.zeros((32, 32, 2), np.float32)
    backward[..., 0] = 1.0
    forward = -backward.copy()
    assert consistency_mask(backward, forward)[:, :-2].all()  # consistent: trusted
    forward[10:20, 10:20] = 0.0  # the way back is lost there: occluded
    mask = consistency_mask(backward, forward)
    assert not mask[12:18, 11:18].any()
    assert mask[:8, :-2].all() and mask[24:, :-2].all()


def test_a_motion_boundary_is_not_trusted() -> None:
    backward = np.zeros((32, 32, 2), np.float32)
    backward[:, 16:, 0] = 4.0  # the right half moves, the left does not
    forward = np.zeros_like(backward)
    forward[:, 20:, 0] = -4.0
    mask = consistency_mask(backward, forward)
    assert not mask[:, 15:17].any()
    assert mask[:, :12].all()


def test_warp_reads_each_pixel_from_where_the_flow_points(tmp_path: Path) -> None:
    image = np.arange(16 * 16, dtype=np.float32).reshape(16, 16)
    flow = np.zeros((16, 16, 2), np.float32)
    flow[..., 1] = 3.0  # read three rows down
    assert np.array_equal(warp(image, flow)[:10], image[3:13])

"""Optical flow between two frames, warping by it, and where the warp can be trusted.

Flow is OpenCV's DIS (Kroeger et al. 2016, preset medium): on the CPU, no weights to download.
A flow here is an HxWx2 float32 array in pixels, in the convention of cv2.calcOpticalFlow*:
`flow = dis_flow(first, second)` means first(x) ~ second(x + flow(x)). So the flow from the
current frame to the previous one carries the previous frame's result onto the current frame
(`warp(previous_result, flow)`), as Ruder, Dosovitskiy and Brox ("Artistic style transfer for
videos", 2016) start each frame.

The consistency mask is theirs: a pixel's warp is trusted where the backward flow and the
forward flow (read at where the pixel came from) cancel, and away from motion boundaries.
OpenCV (`cv2`, the `video` extra) is imported where first needed.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from nst_engine.errors import InputImageError
from nst_engine.video.frames import VIDEO_EXTRA

# Ruder et al., eq. 7-8: |w + w~|^2 <= CONSISTENT_SHARE (|w|^2 + |w~|^2) + CONSISTENT_SLACK,
# and a motion boundary where |grad u|^2 + |grad v|^2 > BOUNDARY_SHARE |w|^2 + BOUNDARY_SLACK.
CONSISTENT_SHARE = 0.01
CONSISTENT_SLACK = 0.5
BOUNDARY_SHARE = 0.01
BOUNDARY_SLACK = 0.002


def import_cv2():
    """OpenCV, or an error in one line that says how to install it."""
    try:
        import cv2  # the `video` extra: only when a sequence needs its flow
    except ImportError:
        raise InputImageError(f"optical flow needs OpenCV: {VIDEO_EXTRA}") from None
    return cv2


def grey(image: Image.Image | np.ndarray) -> np.ndarray:
    """A frame as the 8-bit grey array DIS takes."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("L"))
    return np.asarray(Image.fromarray(image).convert("L"))


def dis_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The flow from `first` to `second` (8-bit grey, same size): first(x) ~ second(x + flow)."""
    cv2 = import_cv2()
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(first, second, None)


def flows(previous: Image.Image, current: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """(backward, forward): current -> previous (what warps the previous result onto the
    current frame) and previous -> current."""
    before, now = grey(previous), grey(current)
    return dis_flow(now, before), dis_flow(before, now)


def _sampling_map(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel reads from: its own coordinates plus the flow (cv2.remap's maps)."""
    height, width = flow.shape[:2]
    columns, rows = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height))
    return columns + flow[..., 0], rows.astype(np.float32) + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """`image` (HxW or HxWxC) carried by `flow`: out(x) = image(x + flow(x)), bilinear, the
    edge continued past the border."""
    cv2 = import_cv2()
    map_x, map_y = _sampling_map(flow)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistency_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """HxW float32: 1 where the previous result warped by `backward` is trusted, 0 in
    occlusions, at motion boundaries and where the flow reads from outside the frame.

    `backward`: current -> previous; `forward`: previous -> current (flows())."""
    returned = warp(forward, backward)  # w~: the forward flow at where each pixel came from
    disagreement = np.sum((backward + returned) ** 2, axis=-1)
    lengths = np.sum(backward**2, axis=-1) + np.sum(returned**2, axis=-1)
    occluded = disagreement > CONSISTENT_SHARE * lengths + CONSISTENT_SLACK
    du_y, du_x = np.gradient(backward[..., 0])
    dv_y, dv_x = np.gradient(backward[..., 1])
    roughness = du_x**2 + du_y**2 + dv_x**2 + dv_y**2
    boundary = roughness > BOUNDARY_SHARE * np.sum(backward**2, axis=-1) + BOUNDARY_SLACK
    # Not in Ruder et al.: a pixel whose source is outside the previous frame (a border the
    # camera moved past) has nothing to keep there; its warp only repeats the edge.
    map_x, map_y = _sampling_map(backward)
    height, width = backward.shape[:2]
    outside = (map_x < 0) | (map_x > width - 1) | (map_y < 0) | (map_y > height - 1)
    return (~(occluded | boundary | outside)).astype(np.float32)

"""Short clips for the tests of sequences: a smooth texture seen through a window that moves
2 px right a frame (the known motion a test undoes), written as numbered PNG frames; a tiny
video of flat coloured frames, with sound or without."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHIFT = 2  # px a frame


def write_moving_texture(folder: Path, frames: int, size: tuple[int, int], seed: int) -> Path:
    """`frames` frames of `size` (width, height) into the new `folder`, named 0.png, 1.png..."""
    width, height = size
    folder.mkdir()
    noise = np.random.default_rng(seed).random((12, 20, 3)) * 255
    texture = Image.fromarray(noise.astype(np.uint8)).resize((80, 48), Image.Resampling.BICUBIC)
    for number in range(frames):
        left = SHIFT * number
        texture.crop((left, 8, left + width, 8 + height)).save(folder / f"{number}.png")
    return folder


def coloured(number: int, size: tuple[int, int] = (48, 32)) -> Image.Image:
    """A flat frame whose colour says its number (so that order can be checked)."""
    return Image.new("RGB", size, (number * 30, 255 - number * 30, 100))


def make_video(path: Path, count: int, rate: int, audio: bool) -> Path:
    """A tiny H.264 video of `count` coloured frames, with a second of sine tone if `audio`."""
    av = pytest.importorskip("av")
    with av.open(str(path), mode="w") as output:
        video = output.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        sound = output.add_stream("aac", rate=8000) if audio else None
        for number in range(count):
            for packet in video.encode(av.VideoFrame.from_image(coloured(number))):
                output.mux(packet)
        for packet in video.encode():
            output.mux(packet)
        if sound is not None:
            tone = np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(tone[None, :], format="fltp", layout="mono")
            frame.sample_rate = 8000
            for packet in [*sound.encode(frame), *sound.encode()]:
                output.mux(packet)
    return path

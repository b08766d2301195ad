"""A sequence split into chunks that run in parallel, and joined again (issue 22).

The F frames are shared out among N chunks of consecutive frames, as evenly as they go; each
chunk after the first starts K frames (the overlap) before its share, so that it has settled
by the time its own frames come. Each chunk is a sequence of its own (its first frame a full
run, the next ones guided: nst_engine/video/sequence.py). The join: a frame outside the
overlaps is its chunk's; in an overlap, frame j (0-based) of K is the blend

    (1 - w_j) * earlier + w_j * later,    w_j = (j + 1) / (K + 1)

so the weight moves linearly from the earlier chunk to the later one across the overlap, and
neither end is a hard cut. Without blending (`blend=False`, for comparisons) the overlap is
the earlier chunk's alone: a hard cut where the later chunk's share begins.

Pure (numpy, Pillow): no torch. Frame numbers are 1-based, as frame files' names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from nst_engine.errors import ConfigError


@dataclass(frozen=True)
class ChunkRange:
    """Chunk `number` (1-based) runs frames `start` to `stop` (inclusive); from `share` on they
    are its own (before it: the overlap with the chunk before)."""

    number: int
    start: int
    share: int
    stop: int

    @property
    def frames(self) -> int:
        return self.stop - self.start + 1

    def local(self, frame: int) -> int:
        """The 1-based position of sequence frame `frame` in this chunk."""
        return frame - self.start + 1


@dataclass(frozen=True)
class Source:
    """Part of an output frame: the frame `local` (1-based) of chunk `chunk`, at `weight`."""

    chunk: int
    local: int
    weight: float


def chunks_folder(output: Path) -> Path:
    """Where each chunk's frames are kept until the join: beside the output."""
    return output.with_name(output.name + ".chunks")


def chunk_ranges(frames: int, chunks: int, overlap: int) -> list[ChunkRange]:
    """`frames` split into `chunks` chunks overlapping by `overlap` frames. More chunks than
    frames are clamped to one frame each; an overlap that is not less than a chunk's own
    frames is a one-line ConfigError (the chunks would overlap three deep)."""
    if chunks < 1:
        raise ConfigError(f"--chunks must be at least 1, got {chunks}")
    if overlap < 0:
        raise ConfigError(f"--overlap must be 0 or more frames, got {overlap}")
    if frames < 1:
        raise ConfigError("a sequence to split into chunks needs at least one frame")
    chunks = min(chunks, frames)
    base, extra = divmod(frames, chunks)
    shares = [base + (1 if number < extra else 0) for number in range(chunks)]
    if chunks > 1 and overlap >= min(shares):
        raise ConfigError(
            f"--overlap {overlap} needs chunks of more than {overlap} frames of their own, but "
            f"{frames} frames in {chunks} chunks give {min(shares)}; give a smaller --overlap "
            "or fewer --chunks"
        )
    ranges, share = [], 1
    for number, size in enumerate(shares, start=1):
        start = share if number == 1 else share - overlap
        ranges.append(ChunkRange(number, start, share, share + size - 1))
        share += size
    return ranges


def frame_sources(ranges: list[ChunkRange], *, blend: bool = True) -> list[list[Source]]:
    """For each frame of the sequence, in order, the chunk frames it is made of."""
    sources = []
    for index, chunk in enumerate(ranges):
        later = ranges[index + 1] if index + 1 < len(ranges) else None
        for frame in range(chunk.share, chunk.stop + 1):
            if blend and later is not None and frame >= later.start:
                overlap = later.share - later.start
                weight = (frame - later.start + 1) / (overlap + 1)
                sources.append(
                    [
                        Source(chunk.number, chunk.local(frame), 1.0 - weight),
                        Source(later.number, later.local(frame), weight),
                    ]
                )
            else:
                sources.append([Source(chunk.number, chunk.local(frame), 1.0)])
    return sources


def seams(ranges: list[ChunkRange]) -> list[range]:
    """Each seam's frames: from the frame before an overlap to the first after it (so every
    frame-to-frame step that the overlap's blend or a hard cut touches is in it)."""
    return [range(max(chunk.start - 1, 1), chunk.share + 1) for chunk in ranges[1:]]


def blended(pictures: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """The weighted sum of 8-bit RGB pictures of one size, as 8-bit RGB."""
    total = sum(
        weight * picture.astype(np.float32)
        for picture, weight in zip(pictures, weights, strict=True)
    )
    return np.clip(np.rint(total), 0, 255).astype(np.uint8)


def joined_frame(sources: list[Source], chunk_frames: dict[int, Path], name) -> Image.Image:
    """One output frame from its sources; `chunk_frames`: chunk number -> its frames folder,
    `name(local)`: the file name of a chunk's frame."""
    pictures = []
    for source in sources:
        with Image.open(chunk_frames[source.chunk] / name(source.local)) as image:
            pictures.append(np.asarray(image.convert("RGB")))
    if len(pictures) == 1:
        return Image.fromarray(pictures[0])
    if len({picture.shape for picture in pictures}) > 1:  # chunks' sizes should agree
        size = pictures[0].shape[1::-1]
        pictures = [
            np.asarray(Image.fromarray(p).resize(size, Image.Resampling.LANCZOS)) for p in pictures
        ]
    return Image.fromarray(blended(pictures, [source.weight for source in sources]))

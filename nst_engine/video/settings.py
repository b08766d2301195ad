"""How a sequence is run, beyond each frame's RunConfig (cheap to import: no torch, for `--help`)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_FRAME_ITERATIONS = 100
# The temporal term's weight (nst_engine/video/temporal.py says its unit).
DEFAULT_TEMPORAL_WEIGHT = 20.0
# A folder of frames has no frame rate of its own: a video made from it plays at this one.
FOLDER_FRAME_RATE = 24
# Frames a chunk starts before its share, blended with the chunk before (video/chunks.py).
DEFAULT_OVERLAP = 3


@dataclass(frozen=True)
class SequenceSettings:
    """`frame_iterations`: each frame's after the first; `temporal_weight`: how strongly a
    frame keeps the warped previous result (0: a warm start only); `guided=False` runs every
    frame on its own, as a normal run (the flickering way, for comparisons); `frame_rate`:
    frames a second of a video output (None: the input video's, or 24 from a folder);
    `chunks`, `overlap`: the sequence split into that many chunks run at once, overlapping by
    that many frames (nst_engine/video/chunks.py; 1: one sequential run)."""

    frame_iterations: int = DEFAULT_FRAME_ITERATIONS
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT
    guided: bool = True
    frame_rate: float | None = None
    chunks: int = 1
    overlap: int = DEFAULT_OVERLAP

"""How a sequence is run, beyond each frame's RunConfig (cheap to import: no torch, for `--help`)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_FRAME_ITERATIONS = 100
# The temporal term's weight (nst_engine/video/temporal.py says its unit).
DEFAULT_TEMPORAL_WEIGHT = 20.0


@dataclass(frozen=True)
class SequenceSettings:
    """`frame_iterations`: each frame's after the first; `temporal_weight`: how strongly a
    frame keeps the warped previous result (0: a warm start only); `guided=False` runs every
    frame on its own, as a normal run (the flickering way, for comparisons)."""

    frame_iterations: int = DEFAULT_FRAME_ITERATIONS
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT
    guided: bool = True

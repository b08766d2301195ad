"""A sequence's flicker and cost per frame on the CPU (issue 22): guided frames against frames
run on their own.

A synthetic clip: a window over a photo (../shared/images/chelsea.png, else a smooth random
texture) moving SHIFT px right per frame, FRAMES frames of SIZE px. It is styled twice with
the project's own run_sequence (nst_engine/video/sequence.py): guided (each frame after the
first starts from the previous result warped by the optical flow, with the temporal loss, and
--frame-iterations iterations), and independent (every frame a normal run of --iterations).
Printed, from this one run:

    temporal error   the mean absolute change from frame to frame, 0-255, once the known
                     motion is undone (frame t+1 shifted back by SHIFT px against frame t),
                     for both, and their ratio
    cost per frame   seconds of a guided frame after the first, split into the flow (DIS,
                     both ways), the warping (the previous result and the consistency mask),
                     the iterations (first iteration to last), and the rest (reading the
                     images, building the network, writing the frame); and an independent
                     frame's, for the ratio

With `--chunks N [--overlap K]`, also what splitting the sequence into chunks costs in
consistency (nst_engine/video/chunks.py): the clip's N chunks made one after the other (where
they run changes nothing of what they make), joined with the blend of the overlaps and with
hard cuts (the overlap the earlier chunk's alone), and the temporal error of the four
(sequential guided, chunks blended, chunks cut, independent) over the whole clip and at the
seams alone (each seam: from the frame before an overlap to the first frame after it).

    python benchmarks/video.py [--frames 8] [--size 64] [--iterations 60]
        [--frame-iterations 30] [--weights oxford] [--style PATH] [--threads N]
        [--chunks N [--overlap 3]]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import quality
import torch
from PIL import Image

from nst_engine.jobs.chunk_runs import chunk_inputs, join
from nst_engine.running.events import Started, Step
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import demo_pair
from nst_engine.video import sequence
from nst_engine.video.chunks import ChunkRange, chunk_ranges, seams
from nst_engine.video.frames import open_frames, write_frame
from nst_engine.video.sequence import FrameDone, FrameEvent, run_sequence
from nst_engine.video.settings import SequenceSettings

SHIFT = 2  # px per frame
PHOTO = Path(__file__).resolve().parents[2] / "shared" / "images" / "chelsea.png"


def make_clip(folder: Path, frames: int, size: int) -> Path:
    """`frames` crops of `size` px of the photo (or a texture), moving SHIFT px a frame."""
    folder.mkdir()
    if PHOTO.is_file():
        photo = Image.open(PHOTO).convert("RGB")
        photo = photo.resize((size * 3, size * 3 * photo.height // photo.width))
    else:
        noise = np.random.default_rng(5).random((24, 40, 3)) * 255
        photo = Image.fromarray(noise.astype(np.uint8)).resize((size * 3, size * 2))
    for number in range(frames):
        left = SHIFT * number
        write_frame(photo.crop((left, 0, left + size, size)), folder, number + 1)
    return folder


def frames_of(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p), dtype=np.float32) for p in sorted(folder.glob("*.png"))]


def temporal_error(folder: Path) -> float:
    """The mean change from frame to frame once the known motion is undone."""
    return quality.temporal_error(frames_of(folder), SHIFT)


def seam_error(folder: Path, ranges: list[ChunkRange]) -> float:
    """The temporal error over the seams' frames alone, the mean of the seams'."""
    frames = frames_of(folder)
    return statistics.mean(
        quality.temporal_error(frames[seam.start - 1 : seam.stop - 1], SHIFT)
        for seam in seams(ranges)
    )


def largest_seam_step(folder: Path, ranges: list[ChunkRange]) -> float:
    """The largest change from one frame to the next in a seam (a blend spreads a seam's
    jump over the overlap's steps: the sum of the changes may stay, the jump shrinks)."""
    frames = frames_of(folder)
    return max(
        quality.temporal_error(frames[number - 1 : number + 1], SHIFT)
        for seam in seams(ranges)
        for number in range(seam.start, seam.stop - 1)
    )


def chunked(config: RunConfig, clip: Path, scratch: Path, settings, chunks: int, overlap: int):
    """The clip's chunks made one after the other, joined blended and cut: (the chunks'
    ranges, {"blended": folder, "cut": folder})."""
    source = open_frames(clip)
    ranges = chunk_ranges(source.count, chunks, overlap)
    (scratch / "chunk-inputs").mkdir()
    inputs = chunk_inputs(source, ranges, scratch / "chunk-inputs")
    folders = {chunk.number: scratch / f"chunk-{chunk.number}" for chunk in ranges}
    for chunk in ranges:
        for _ in run_sequence(config, inputs[chunk.number], folders[chunk.number], settings):
            pass
    joined = {}
    for name, blend in (("blended", True), ("cut", False)):
        joined[name] = join(ranges, folders, scratch / f"chunks-{name}", None, source, blend=blend)
    return ranges, joined


def report_chunks(options, ranges: list[ChunkRange], folders: dict[str, Path]) -> None:
    """The four sequences' temporal error, whole and at the seams, and each to sequential."""
    parts = ", ".join(f"{chunk.start}-{chunk.stop}" for chunk in ranges)
    print(f"{options.chunks} chunks overlapping by {options.overlap} frames: frames {parts}")
    print("temporal error (0-255): whole clip, seams alone, largest step in a seam; x seq.:")
    columns = {"whole": temporal_error, "seams": seam_error, "largest": largest_seam_step}
    figures = {
        column: {
            name: measure(folder) if column == "whole" else measure(folder, ranges)
            for name, folder in folders.items()
        }
        for column, measure in columns.items()
    }
    print(f"{'':<18}" + "".join(f"{column:>9} {'x seq.':>6}" for column in columns))
    for name in folders:
        row = "".join(
            f"{figures[c][name]:9.2f} {figures[c][name] / figures[c]['sequential']:6.2f}"
            for c in columns
        )
        print(f"{name:<18}{row}")


class Timed:
    """While entered, sequence.flows, warp and consistency_mask timed (seconds added up by
    frame); put back on leaving."""

    PARTS = (("flows", "flow"), ("warp", "warping"), ("consistency_mask", "warping"))

    def __init__(self) -> None:
        self.frame = 0
        self.seconds: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self._originals = {name: getattr(sequence, name) for name, _ in self.PARTS}

    def __enter__(self) -> Timed:
        for name, part in self.PARTS:
            setattr(sequence, name, self._wrap(self._originals[name], part))
        return self

    def __exit__(self, *exc_info) -> None:
        for name, function in self._originals.items():
            setattr(sequence, name, function)

    def _wrap(self, function, part: str):
        def timed(*arguments):
            began = time.perf_counter()
            result = function(*arguments)
            self.seconds[part][self.frame] += time.perf_counter() - began
            return result

        return timed


def styled(config: RunConfig, clip: Path, output: Path, settings, timed: Timed | None) -> dict:
    """The sequence made; each frame's seconds: whole, and its iterations."""
    whole, iterations, first_step = {}, {}, {}  # by frame
    for event in run_sequence(config, clip, output, settings):
        if isinstance(event, FrameEvent):
            now = time.perf_counter()
            if isinstance(event.event, Started):
                first_step[event.number] = now
            elif isinstance(event.event, Step):
                iterations[event.number] = now - first_step[event.number]
        elif isinstance(event, FrameDone):
            whole[event.number] = event.seconds
            if timed is not None:  # the guide of the next frame is made before its run
                timed.frame = event.number + 1
    return {"whole": whole, "iterations": iterations}


def later_median(values: dict[int, float]) -> float:
    """The median over the frames after the first (the first is a full run)."""
    return statistics.median(value for number, value in values.items() if number > 1)


def report(options, guided: dict, alone: dict, timed: Timed, errors: tuple[float, float]) -> None:
    print(f"temporal error, guided:      {errors[0]:8.2f}  (0-255, mean per pixel)")
    print(f"temporal error, independent: {errors[1]:8.2f}")
    print(f"ratio guided/independent:    {errors[0] / errors[1]:8.2f}")
    frame = later_median(guided["whole"])
    parts = {
        "flow": later_median(timed.seconds["flow"]),
        "warping": later_median(timed.seconds["warping"]),
        "iterations": later_median(guided["iterations"]),
    }
    parts["rest"] = frame - sum(parts.values())
    print(f"guided frame after the first ({options.frame_iterations} iterations), median s:")
    for name, seconds in parts.items():
        print(f"  {name:<11} {seconds:8.3f}  ({100 * seconds / frame:4.1f} %)")
    print(f"  {'whole':<11} {frame:8.3f}")
    alone_frame = statistics.median(alone["whole"].values())
    print(f"independent frame ({options.iterations} iterations), median s: {alone_frame:.3f}")
    print(f"ratio guided/independent frame cost: {frame / alone_frame:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--frame-iterations", type=int, default=30)
    parser.add_argument("--weights", default="oxford")
    parser.add_argument("--style", type=Path, default=demo_pair()[1])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's own)")
    parser.add_argument("--chunks", type=int, default=0, help="also N chunks (0: not)")
    parser.add_argument("--overlap", type=int, default=3, help="the chunks' overlap, frames")
    options = parser.parse_args()
    if options.threads:
        torch.set_num_threads(options.threads)
    with tempfile.TemporaryDirectory(prefix="nst-video-bench-") as scratch:
        clip = make_clip(Path(scratch) / "clip", options.frames, options.size)
        config = RunConfig.from_flat(
            content=clip,
            style=options.style,
            size=options.size,
            iterations=options.iterations,
            weights=options.weights,
            device="cpu",
        )
        guided_out, alone_out = Path(scratch) / "guided", Path(scratch) / "alone"
        settings = SequenceSettings(frame_iterations=options.frame_iterations)
        with Timed() as timed:
            guided = styled(config, clip, guided_out, settings, timed)
        alone = styled(config, clip, alone_out, SequenceSettings(guided=False), None)
        errors = (temporal_error(guided_out), temporal_error(alone_out))
        print(f"{options.frames} frames of {options.size} px, {torch.get_num_threads()} threads")
        report(options, guided, alone, timed, errors)
        if options.chunks:
            ranges, joined = chunked(
                config, clip, Path(scratch), settings, options.chunks, options.overlap
            )
            folders = {"sequential": guided_out, "chunks, blended": joined["blended"]}
            folders |= {"chunks, hard cut": joined["cut"], "independent": alone_out}
            report_chunks(options, ranges, folders)


if __name__ == "__main__":
    main()

"""`nst-tui video ... --chunks N [--overlap K]`: a sequence split into chunks run at once on
several devices (`--device cuda:0,cuda:1`) or on a Ray cluster (`--cluster ADDRESS`), joined
by blending the overlaps (nst_engine/jobs/chunk_runs.py). Progress lines say each chunk's
frames ("chunk 2/3: frame 4/10 done in 1.2 s") and the sequence's time left.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from nst_engine.errors import ConfigError
from nst_engine.video.settings import DEFAULT_OVERLAP

# How often a chunk's iterations are reported while it runs, at most.
STEP_LINE_SECONDS = 5.0


def add_chunk_arguments(parser: argparse.ArgumentParser) -> None:
    chunks = parser.add_argument_group("chunks (several devices, or a Ray cluster)")
    chunks.add_argument(
        "--chunks",
        type=int,
        metavar="N",
        help="split the sequence into N chunks of consecutive frames run at once, one per "
        "device of --device (a list: cuda:0,cuda:1) or on --cluster, each guided on its own, "
        "joined by blending where they overlap (default: one chunk per device listed)",
    )
    chunks.add_argument(
        "--overlap",
        type=int,
        default=DEFAULT_OVERLAP,
        metavar="K",
        help="frames each chunk starts before its share, blended with the chunk before "
        f"(default {DEFAULT_OVERLAP}; 0: hard cuts)",
    )


def device_list(arguments: argparse.Namespace) -> list[str]:
    """The devices of `--device a,b,...` (each checked; `arguments.device` becomes the first,
    for the frames' settings), or [] when one device (or none) is given."""
    from nst_engine.settings.values import parse_device

    given = getattr(arguments, "device", None)
    if not given or "," not in given:
        return []
    devices = [parse_device(name) for name in given.split(",") if name.strip()]
    arguments.device = devices[0]
    return devices


def wants_chunks(arguments: argparse.Namespace, devices: list[str]) -> bool:
    """Whether the flags ask for chunks (--chunks 1 alone: the sequence in one go)."""
    asked = arguments.chunks is not None and arguments.chunks != 1
    return asked or bool(arguments.cluster) or len(devices) > 1


def run_in_chunks(
    arguments, config, source: Path, output: Path, settings, devices, drive, folder=None
) -> int:
    """The sequence in chunks (new, or the recorded one in `folder`: a resume), its events
    said by `drive` (video_command's)."""
    if folder is None:
        settings = _chunked(arguments, settings, devices)
    address = getattr(arguments, "cluster", None)
    if address and devices:
        raise ConfigError("give --cluster or a list of devices, not both")
    with _cluster(address, config.machine.device) as cluster:
        runner = slots = None
        if cluster is not None:
            from nst_engine.jobs.chunk_ray import cluster_runner

            runner, slots = cluster_runner(cluster, settings), cluster.slots()
            for note in cluster.notes:
                _say(f"note: {note}")
        else:
            from nst_engine.jobs.queue import local_slots

            slots = devices or local_slots(config.machine.device)

        def start(_run_sequence):
            from nst_engine.jobs.chunk_runs import run_chunks  # torch: once the flags are good

            return run_chunks(
                config, source, output, settings, slots=slots, runner=runner, folder=folder,
                record=folder is None, root=getattr(arguments, "runs_dir", None),
            )  # fmt: skip

        return drive(start, output)


def _chunked(arguments, settings, devices: list[str]):
    """`settings` with --chunks (default: one per device listed) and --overlap."""
    chunks = arguments.chunks if arguments.chunks is not None else max(len(devices), 1)
    if chunks < 1:
        raise ConfigError(f"--chunks must be at least 1, got {chunks}")
    if arguments.overlap < 0:
        raise ConfigError(f"--overlap must be 0 or more frames, got {arguments.overlap}")
    return replace(settings, chunks=chunks, overlap=arguments.overlap)


@contextlib.contextmanager
def _cluster(address: str | None, device: str):
    """The Ray cluster `--cluster` names (connected, checked), or None; closed after."""
    if not address:
        yield None
        return
    from nst_engine.jobs.cluster import connect

    cluster = connect(address, device)
    try:
        yield cluster
    finally:
        cluster.close()


class ChunkLines:
    """What a chunked sequence says as it goes, a line at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = 0.0
        self._started = False
        self._frames: dict[int, str] = {}  # chunk -> its frames of the sequence, "3-7"
        self._began = 0.0  # when the chunks were planned
        self._left = 0  # chunk frames (overlaps counted in each chunk) still to make
        self._made = 0  # chunk frames made since `_began` (not those kept from before)

    def planned(self, event) -> None:
        self._frames = {chunk.number: f"{chunk.start}-{chunk.stop}" for chunk in event.ranges}
        self._began, self._left = self._clock(), sum(chunk.frames for chunk in event.ranges)
        frames = ", ".join(f"{chunk.start}-{chunk.stop}" for chunk in event.ranges)
        _say(f"{len(event.ranges)} chunk(s) of frames {frames}, on {', '.join(event.slots)}")

    def offer(self, chunk_event) -> None:
        from nst_engine.video.sequence import FrameDone, FrameEvent, FrameStarted

        event = chunk_event.event
        number = chunk_event.chunk
        where = f"chunk {number}/{chunk_event.chunks} (frames {self._frames.get(number)}): frame"
        if isinstance(event, FrameStarted):
            _say(f"{where} {event.number}/{event.total} ...")
        elif isinstance(event, FrameDone):
            self._left -= 1
            self._made += not event.skipped
            made = "was made before: kept" if event.skipped else f"done in {event.seconds:.1f} s"
            eta = "" if event.skipped else self._time_left()
            _say(f"{where} {event.number}/{event.total} {made}{eta}")
        elif isinstance(event, FrameEvent):
            self._frame_event(where, event)

    def _time_left(self) -> str:
        """`; sequence: 6 frames left, about 1 min (0.10 frames/s)`: the chunks run at once,
        so their frames a second together, measured since they began, make the ETA."""
        from nst_engine.cost.estimate import format_seconds

        elapsed = self._clock() - self._began
        if self._made == 0 or elapsed <= 0 or self._left <= 0:
            return ""
        rate = self._made / elapsed
        about = format_seconds(self._left / rate)
        frames = f"{self._left} frame{'s' if self._left > 1 else ''}"
        return f"; sequence: {frames} left, about {about} ({rate:.2f} frames/s)"

    def _frame_event(self, where: str, frame_event) -> None:
        from nst_engine.running.events import Started, Step

        event = frame_event.event
        if isinstance(event, Started) and not self._started:
            self._started = True
            width, height = event.compute_size
            _say(f"device {event.device}, weights {event.weights_source}, at {width}x{height}")
        elif isinstance(event, Step):
            now = time.monotonic()
            if now - self._last >= STEP_LINE_SECONDS:
                self._last = now
                _say(f"{where} {frame_event.number}: iteration {event.index}/{event.total}")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)

"""`nst-tui video INPUT STYLE [STYLE ...] -o OUTPUT`: a sequence styled frame by frame, each
frame starting from the previous result carried by the optical flow (nst_engine/video/).

Progress is plain lines on stderr ("frame 3/8 ..."), the output's path on stdout. Ctrl+C,
SIGTERM or SIGHUP stop it after the current iteration; the frames finished are kept, and
`nst-tui resume ID` (the sequence's run folder, said first) goes on after them, the frame in
progress from its checkpoint; the same command started again also goes on after them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from nst_engine.errors import ConfigError, InternalError, NSTError
from nst_engine.video.settings import (
    DEFAULT_FRAME_ITERATIONS,
    DEFAULT_TEMPORAL_WEIGHT,
    FOLDER_FRAME_RATE,
    SequenceSettings,
)
from nst_tui.cli.stop_signals import StopRequest
from nst_tui.cli.video_chunks import (
    ChunkLines,
    add_chunk_arguments,
    device_list,
    run_in_chunks,
    wants_chunks,
)

VIDEO_DESCRIPTION = (
    "Style every frame of INPUT (a video file, or a folder of frames sorted by name) after "
    "STYLE, without flicker: each frame starts from the previous result warped by the "
    "optical flow, with a temporal loss where the flow is trusted (Ruder et al. 2016). "
    "OUTPUT is a video file (.mp4, .mkv, .mov, .webm, .avi: the input's frame rate and "
    "audio kept; --frame-rate to change the rate, which leaves the audio out) or a folder of "
    "PNG frames. Stopped, the same command goes on after the "
    "frames done. Needs pip install 'nst-tui[video]' (OpenCV; PyAV for video files). Run "
    "flags as for `run`."
)
# How often a frame's iterations are reported while it runs, at most.
STEP_LINE_SECONDS = 5.0


def add_video_command(commands) -> argparse.ArgumentParser:
    """`nst-tui video`, among the `nst-tui` commands."""
    video = commands.add_parser(
        "video",
        help="style a video or a folder of frames, frame by frame without flicker",
        description=VIDEO_DESCRIPTION,
    )
    add_video_arguments(video)
    return video


def add_video_arguments(parser: argparse.ArgumentParser) -> None:
    from nst_tui.cli.run_options import add_run_arguments, add_runs_dir_argument

    add_run_arguments(parser)
    add_runs_dir_argument(parser)
    for action in parser._actions:  # `run`'s CONTENT is a sequence here
        if action.dest == "content":
            action.metavar = "INPUT"
            action.help = "a video file or a folder of frames (image files, sorted by name)"
        elif action.dest == "output":
            action.help = "a video file (.mp4, .mkv, ...) or a folder for PNG frames (required)"
    sequence = parser.add_argument_group("sequence")
    sequence.add_argument(
        "--frame-iterations",
        type=int,
        default=DEFAULT_FRAME_ITERATIONS,
        metavar="N",
        help="iterations of each frame after the first, which starts from the previous result "
        f"(default {DEFAULT_FRAME_ITERATIONS}; the first frame has --iterations)",
    )
    sequence.add_argument(
        "--temporal-weight",
        type=float,
        default=DEFAULT_TEMPORAL_WEIGHT,
        metavar="X",
        help="how strongly a frame keeps the previous result where the flow is trusted "
        f"(default {DEFAULT_TEMPORAL_WEIGHT:g}; 0: a warm start only)",
    )
    sequence.add_argument(
        "--independent",
        action="store_true",
        help="run every frame on its own, as `run` would (flickers; for comparison)",
    )
    sequence.add_argument(
        "--frame-rate",
        metavar="FPS",
        help="frames a second of a video OUTPUT (default: the input video's; from a folder "
        f"of frames {FOLDER_FRAME_RATE}); another rate than the input video's changes its "
        "length and not its sound's: the audio is left out",
    )
    add_chunk_arguments(parser)


def sequence_settings(arguments: argparse.Namespace) -> SequenceSettings:
    if arguments.frame_iterations < 1:
        raise ConfigError(
            f"--frame-iterations must be at least 1, got {arguments.frame_iterations}"
        )
    if not arguments.temporal_weight >= 0:
        raise ConfigError(f"--temporal-weight must be 0 or more, got {arguments.temporal_weight}")
    return SequenceSettings(
        arguments.frame_iterations,
        arguments.temporal_weight,
        not arguments.independent,
        _frame_rate(arguments.frame_rate),
    )


def _frame_rate(given: str | None) -> float | None:
    """--frame-rate's frames a second: a number above 0 (at most 1000)."""
    if given is None:
        return None
    try:
        rate = float(given)
    except ValueError:
        rate = float("nan")
    if not 0 < rate <= 1000:
        raise ConfigError(
            f"--frame-rate must be a number of frames a second above 0 (24, 29.97, ...), "
            f"got '{given}'"
        )
    return rate


def run_video_command(arguments: argparse.Namespace) -> int:
    """Check the arguments (one line for each mistake, before torch loads), then run."""
    from nst_engine.store.runlog import setup_logging
    from nst_tui.cli.run_options import config_from_arguments

    setup_logging()
    if arguments.demo:
        raise ConfigError("--demo is for `run`; give an INPUT video or folder and a STYLE")
    if not arguments.output:
        raise ConfigError("give -o OUTPUT: a video file (.mp4, ...) or a folder for PNG frames")
    source = Path(arguments.content or "").expanduser()
    if not arguments.content or not source.exists():
        raise ConfigError(f"input '{arguments.content or ''}' does not exist")
    devices = device_list(arguments)
    settings = sequence_settings(arguments)
    config = config_from_arguments(arguments)  # the style images checked, the flags read
    output = Path(arguments.output).expanduser()
    _say_audio_note(settings, source, output)
    if wants_chunks(arguments, devices):
        return run_in_chunks(arguments, config, source, output, settings, devices, _drive)
    return _drive(
        lambda run_sequence: run_sequence(
            config, source, output, settings, record=True, root=arguments.runs_dir
        ),
        output,
    )


def resume_video(folder, arguments: argparse.Namespace) -> int:
    """`nst-tui resume ID` of a sequence: its frames done kept, the frame in progress going
    on from its checkpoint (nst_engine/video/sequence_record.py). Its output stays its own
    (its frames are there); --device changes the device of the frames to come (a list, or
    --cluster, for a sequence in chunks)."""
    from nst_engine.video.sequence_record import resume_sequence

    if arguments.output:
        raise ConfigError(
            f"run '{folder.id}' is a sequence: its frames go on in its own output; "
            "--output cannot move them"
        )
    from nst_engine.video.chunks import chunks_folder

    devices = device_list(arguments)
    config, source, output, settings = resume_sequence(folder)
    _say_audio_note(settings, source, output)
    if settings.chunks > 1 or chunks_folder(output).is_dir():
        return run_in_chunks(arguments, config, source, output, settings, devices, _drive, folder)
    if devices or getattr(arguments, "cluster", None):
        raise ConfigError(
            f"run '{folder.id}' is a sequence made in one go: it goes on on one device; a list "
            "of devices or --cluster is for a sequence started in chunks (--chunks N)"
        )
    if getattr(arguments, "device", None):
        from nst_engine.settings.values import parse_device

        config = config.replace(device=parse_device(arguments.device))
    return _drive(
        lambda run_sequence: run_sequence(config, source, output, settings, folder=folder), output
    )


def _say_audio_note(settings: SequenceSettings, source: Path, output: Path) -> None:
    """With --frame-rate, a line when the input video's audio is left out (video/frames.py)."""
    from nst_engine.video.frames import audio_note, is_video_path, open_frames

    if settings.frame_rate is None or source.is_dir() or not is_video_path(output):
        return
    note = audio_note(settings.frame_rate, open_frames(source))
    if note:
        _say(f"note: {note}")


def _drive(start, output: Path) -> int:
    """The sequence `start(run_sequence)` makes, its progress said line by line."""
    from nst_engine.jobs.chunk_runs import ChunkEvent, ChunksPlanned
    from nst_engine.video.sequence import (
        FrameDone,
        FrameEvent,
        FrameStarted,
        SequenceDone,
        SequenceRecorded,
        frames_folder,
    )

    steps, chunk_lines = _StepLines(), ChunkLines()
    times: list[float] = []  # seconds of each frame made by this start, in order
    recorded = None
    kept = frames_folder(output)  # where the frames done are, when stopped
    with StopRequest() as stop:
        sequence = _events(start)
        try:
            for event in sequence:
                if stop.signal_name is not None:
                    stop.settle()
                    sequence.close()  # the frame in progress keeps its partial image
                    return _stopped(stop.signal_name, kept, recorded)
                if isinstance(event, SequenceRecorded):
                    recorded = event.folder.id
                    _say(f"run {recorded}")
                elif isinstance(event, FrameStarted):
                    _say(f"frame {event.number}/{event.total} ...")
                elif isinstance(event, FrameEvent):
                    steps.offer(event)
                elif isinstance(event, FrameDone):
                    _say_done(event, times)
                elif isinstance(event, ChunksPlanned):
                    kept = event.folder
                    chunk_lines.planned(event)
                elif isinstance(event, ChunkEvent):
                    chunk_lines.offer(event)
                elif isinstance(event, SequenceDone):
                    _say(f"done: {event.frames} frames in {event.seconds:.1f} s")
                    print(event.output)
        except KeyboardInterrupt:  # a second Ctrl+C
            sequence.close()
            return _stopped("SIGINT", kept, recorded)
        except NSTError:
            raise  # one line, by the command's edge (command.report_error)
        except Exception as error:  # a bug: one line here, its traceback in the log
            return _report_bug(error)
    return 0


def _events(start):
    from nst_engine.video.sequence import run_sequence  # torch: only once the flags are good

    return start(run_sequence)


def _report_bug(error: Exception) -> int:
    from nst_engine.store.runlog import log_path

    logging.getLogger("nst.engine").exception("nst-tui video failed with an internal error")
    message = InternalError.of(error).message
    _say(f"nst-tui: {message} (a bug in nst-tui; details in {log_path()})")
    return 1


class _StepLines:
    """A frame's iterations as a line now and then: "frame 3/8: iteration 20/50"; what the
    first frame made says when it starts (device, weights, sizes, notes), once."""

    def __init__(self) -> None:
        self._last = 0.0
        self._started = False

    def offer(self, frame_event) -> None:
        from nst_engine.running.events import Started, Step

        event = frame_event.event
        if isinstance(event, Started) and not self._started:
            self._started = True
            width, height = event.compute_size
            _say(f"device {event.device}, weights {event.weights_source}, at {width}x{height}")
            for note in event.notes:
                _say(f"note: {note}")
        if not isinstance(event, Step):
            return
        now = time.monotonic()
        if now - self._last >= STEP_LINE_SECONDS or event.index == event.total:
            self._last = now
            _say(
                f"frame {frame_event.number}/{frame_event.total}: "
                f"iteration {event.index}/{event.total}"
            )


def _say_done(event, times: list[float]) -> None:
    """A frame's end, with the time the rest should take (`times`: each frame's so far)."""
    if event.skipped:
        _say(f"frame {event.number}/{event.total} was made before: kept ({event.path})")
        return
    times.append(event.seconds)
    left = event.total - event.number
    # The first frame has the full run's iterations: the later ones time each other.
    later = times[1:] or times
    eta = f"; about {left * sum(later) / len(later):.0f} s left" if left else ""
    _say(f"frame {event.number}/{event.total} done in {event.seconds:.1f} s: {event.path}{eta}")


def _stopped(signal_name: str, kept: Path, recorded: str | None) -> int:
    again = f"nst-tui resume {recorded}" if recorded else "the same command"
    _say(f"stopped; the frames done are in {kept}; {again} goes on after them")
    return 128 + int(getattr(signal, signal_name, signal.SIGINT))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)

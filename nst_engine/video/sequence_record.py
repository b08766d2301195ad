"""A sequence as one run folder (nst_engine/store/run_folder.py), so that it is listed,
resumed and deleted as any run is:

    20261206-170000-clip-mosaic/
        run.json        kind "sequence", frames_done of frames_total, the output, and the
                        SequenceSettings (`sequence`); status as a run's
        settings.toml   each frame's RunConfig (its content: the input video or folder)
        frame-00003/    the frame in progress: a run folder of its own, whose run checkpoints
                        as any run does (the Ledger's checkpoints); removed once the frame is
                        written whole into the output

The finished frames themselves are the output's (a folder of PNG frames, or the `.frames`
folder beside a video output: nst_engine/video/sequence.py). A sequence stopped (Ctrl+C,
SIGHUP) or killed (SIGKILL: its record reads `interrupted`) is resumed by resume_sequence():
the frames finished are kept, and the frame in progress goes on from its checkpoint.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from nst_engine.store.new_run import absolute_paths
from nst_engine.store.resume import NotResumable, not_resumable_reason
from nst_engine.store.run_folder import RunFolder
from nst_engine.store.run_record import (
    FAILED,
    FINISHED,
    QUEUED,
    RUN_FILE,
    RUNNING,
    SEQUENCE,
    STOPPED,
    queued_record,
)
from nst_engine.video.settings import SequenceSettings

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig


def create_sequence_folder(
    config: RunConfig,
    source: Path,
    output: Path,
    settings: SequenceSettings,
    total: int,
    root: Path | None = None,
) -> RunFolder:
    """A new run folder in the runs folder `root` for the sequence of `total` frames of
    `source` into `output`: queued, no frame done."""
    folder = RunFolder.create(config.replace(content=source, output=output), root)
    # Left out when not given (a frame rate): the record's `sequence` holds numbers only.
    given = {name: value for name, value in asdict(settings).items() if value is not None}
    folder.update(kind=SEQUENCE, frames_total=total, sequence=given)
    return folder


def resume_sequence(folder: RunFolder) -> tuple[RunConfig, Path, Path, SequenceSettings]:
    """What run_sequence needs to go on with `folder`'s sequence: (config, source, output,
    settings); NotResumable (one line) if it finished or still runs."""
    record = folder.record()
    reason = not_resumable_reason(record)
    if reason is not None:
        raise NotResumable(reason)
    config = folder.config()
    settings = SequenceSettings(**record.sequence)
    return config, Path(record.content), Path(record.output), settings


def sequence_running(folder: RunFolder, total: int) -> None:
    record = folder.record()
    folder.update(
        status=RUNNING,
        pid=os.getpid(),
        host=socket.gethostname(),
        frames_total=total,
        resumed=record.resumed + (0 if record.status == QUEUED else 1),
        error=None,
        ended=None,
    )


def frame_done(folder: RunFolder, number: int, seconds: float) -> None:
    """Frame `number` is written whole: counted, and its run folder (checkpoint) removed."""
    shutil.rmtree(frame_folder_path(folder, number), ignore_errors=True)
    record = folder.record()
    folder.update(frames_done=number, seconds=record.seconds + seconds)


def sequence_ended(folder: RunFolder, status: str, *, result: Path | None = None, error=None):
    """The sequence finished (`result`: its output), stopped or failed (`error`: why)."""
    assert status in (FINISHED, STOPPED, FAILED)
    changes = {"status": status, "ended": time.time(), "error": error}
    if result is not None:
        changes["result"] = os.path.abspath(result)
    folder.update(**changes)


def chunk_run_folder(folder: RunFolder, number: int, config: RunConfig, total: int) -> RunFolder:
    """The sequence folder of chunk `number` (`total` frames) in the chunked sequence's
    `folder`: the one an earlier start left (its frame in progress checkpointed), or a new one,
    queued."""
    path = folder.path / f"chunk-{number}"
    new = not (path / RUN_FILE).is_file()
    chunk = _inner_run_folder(path, config)
    if new:
        chunk.update(kind=SEQUENCE, frames_total=total)
    return chunk


def frame_folder_path(folder: RunFolder, number: int) -> Path:
    return folder.path / f"frame-{number:05d}"


def frame_run_folder(folder: RunFolder, number: int, frame_config: RunConfig) -> RunFolder:
    """The run folder of frame `number`: the one an earlier start left (its checkpoint is
    where the frame goes on from), or a new one, queued."""
    return _inner_run_folder(frame_folder_path(folder, number), frame_config)


def _inner_run_folder(path: Path, config: RunConfig) -> RunFolder:
    """The run folder at `path` inside a sequence's: the one an earlier start left, or a new
    one, queued, with `config`."""
    inner = RunFolder(path)
    if (path / RUN_FILE).is_file():
        return inner
    path.mkdir(exist_ok=True)
    config = absolute_paths(config)
    inner.write_settings(config)
    inner.write_record(queued_record(path, config))
    return inner

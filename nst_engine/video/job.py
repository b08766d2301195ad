"""A sequence as one job of the job queue (nst_engine/jobs/queue.py): the app's Run of a video
or a folder of frames, and the history's Resume of one.

The job's run folder is the sequence's (nst_engine/video/sequence_record.py); its config's
content is the video or folder of frames and its output the sequence's. Its events, handed
over one by one as a run's are, are the sequence's (SequenceRecorded, FrameStarted,
FrameEvent, FrameDone, SequenceDone). Told to stop, the sequence is closed: the frame in
progress checkpoints in its frame folder, the frames done stay, and the job ends `stopped`
(resumable, from the last finished frame).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from nst_engine.errors import InternalError, NSTError
from nst_engine.store.run_record import FAILED, FINISHED, STOPPED

if TYPE_CHECKING:
    from nst_engine.jobs.queue import HandOver, Job, JobEnded
    from nst_engine.settings.config import RunConfig

log = logging.getLogger("nst.engine")


def execute_sequence(job: Job, config: RunConfig, hand_over: HandOver) -> JobEnded:
    """Run `job`'s sequence with `config` (the job's, on its slot's device), passing each
    event to `hand_over`; stop as soon as it returns False. Never raises."""
    from nst_engine.jobs.queue import JobEnded
    from nst_engine.video.sequence import SequenceDone, run_sequence

    assert job.sequence is not None
    content, output = config.inputs.content, config.inputs.output
    finished = False
    try:
        events = run_sequence(
            config, Path(content or ""), Path(output or ""), job.sequence, folder=job.folder
        )
        try:
            for event in events:
                finished = finished or isinstance(event, SequenceDone)
                if not hand_over(event):
                    break
        finally:
            events.close()  # a stop: the frame in progress checkpoints, the record says so
    except NSTError as error:
        return JobEnded(job.id, FAILED, error)
    except Exception as error:  # a bug: logged with its traceback, one line for people
        log.exception("sequence job %s failed with an internal error", job.id)
        return JobEnded(job.id, FAILED, InternalError.of(error))
    return JobEnded(job.id, FINISHED if finished else STOPPED)

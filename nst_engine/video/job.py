"""A sequence as one job of the job queue (nst_engine/jobs/queue.py): the app's Run of a video
or a folder of frames, and the history's Resume of one. `SequenceExecutor` runs a slot's jobs
as LocalExecutor does, and the jobs with a `sequence` as sequences.

The job's run folder is the sequence's (nst_engine/video/sequence_record.py); its config's
content is the video or folder of frames and its output the sequence's. Its events, handed
over one by one as a run's are, are the sequence's (SequenceRecorded, FrameStarted,
FrameEvent, FrameDone, SequenceDone). Told to stop, the sequence is closed: the frame in
progress checkpoints in its frame folder, the frames done stay, and the job ends `stopped`
(resumable, from the last finished frame); the frame's Cancelled (the iteration it kept) is
handed over last, as a stopped run's is.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from nst_engine.errors import InternalError, NSTError
from nst_engine.jobs.queue import HandOver, Job, JobEnded, LocalExecutor
from nst_engine.store.run_record import FAILED, FINISHED, STOPPED

if TYPE_CHECKING:
    from nst_engine.running.events import Cancelled
    from nst_engine.settings.config import RunConfig
    from nst_engine.store.run_folder import RunFolder
    from nst_engine.video.settings import SequenceSettings

log = logging.getLogger("nst.engine")


class SequenceExecutor(LocalExecutor):
    """LocalExecutor, and a job with a `sequence` run as that sequence."""

    def execute(self, job: Job, hand_over: HandOver) -> JobEnded:
        if job.sequence is None:
            return super().execute(job, hand_over)
        with self.device_context():
            status, failure = execute_sequence(
                self.config_for(job), job.folder, job.sequence, hand_over
            )
        return JobEnded(job.id, status, failure)


def execute_sequence(
    config: RunConfig,
    folder: RunFolder,
    settings: SequenceSettings,
    hand_over: HandOver,
) -> tuple[str, NSTError | None]:
    """Run the sequence recorded in `folder` with `config` (the job's, on its slot's
    device), passing each event to `hand_over`; stop as soon as it returns False. How it
    ended: (finished | stopped | failed, the failure's one-line error). Never raises."""
    from nst_engine.video.sequence import SequenceDone, run_sequence

    content, output = config.inputs.content, config.inputs.output
    finished = False
    kept: list[Cancelled] = []  # what the frame in progress kept when stopped
    try:
        events = run_sequence(
            config, Path(content or ""), Path(output or ""), settings, folder=folder,
            on_stop=kept.append,
        )  # fmt: skip
        try:
            for event in events:
                finished = finished or isinstance(event, SequenceDone)
                if not hand_over(event):
                    break
        finally:
            events.close()  # a stop: the frame in progress checkpoints, the record says so
            for cancelled in kept:  # handed over even when stopping, as a run's own is
                hand_over(cancelled)
    except NSTError as error:
        return FAILED, error
    except Exception as error:  # a bug: logged with its traceback, one line for people
        log.exception("the sequence of %s failed with an internal error", folder.id)
        return FAILED, InternalError.of(error)
    return (FINISHED if finished else STOPPED), None

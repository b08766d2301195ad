"""A Ray cluster's job run in this process, for tests of what the front ends make of what a
worker sends: `RayExecutor` with the worker's generator (nst_engine/jobs/cluster_worker.py)
called here instead of on Ray, each message pickled and unpickled as Ray carries it."""

from __future__ import annotations

import pickle

from nst_engine.jobs.cluster_executor import RayExecutor, _Reception
from nst_engine.jobs.cluster_worker import remote_job
from nst_engine.running.checkpointing import CHECKPOINT_SECONDS


class InProcessExecutor(RayExecutor):
    """The cluster's executor, its worker's side run in this process (no cancel: the worker's
    control actor is not there to ask)."""

    def _attempt(self, job, files, hand_over, store):
        reception = _Reception(self, job, hand_over, store)
        for message in remote_job(
            job.id, job.config.to_toml(), files, None, None, CHECKPOINT_SECONDS
        ):
            ended, _ = reception.take(pickle.loads(pickle.dumps(message)))
            if ended is not None:
                return ended
        raise AssertionError("the worker ended the job without a result")


class InProcessCluster:
    """What the front ends ask of a connected cluster (nst_engine/jobs/cluster.py's Cluster)."""

    address = "in-process"
    gpus = 0
    checkpoint_seconds = CHECKPOINT_SECONDS
    notes: list[str] = []

    def slots(self) -> list[str]:
        return ["ray:0"]

    def executor(self, slot: str) -> InProcessExecutor:
        return InProcessExecutor(slot, self)  # type: ignore[arg-type]

    def close(self) -> None:
        pass

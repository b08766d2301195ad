"""What sending a job to a Ray cluster costs: the same job here and on a local Ray instance.

Each job runs through a JobQueue (here: LocalExecutor; there: the cluster's RayExecutor,
with its images sent as bytes, progress, previews, checkpoints and the result streamed
back), alternating, after one untimed warm-up job of each; one torch thread on both sides
(a Ray task gets one CPU). Prints each job's wall time from submit to its end, the medians
and their ratio, and the time Ray took to start.

    python benchmarks/cluster_overhead.py [--size 128] [--iterations 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from nst_engine.jobs.cluster import connect
from nst_engine.jobs.queue import Job, JobEnded, JobQueue
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import demo_pair
from nst_engine.store.runs import RunFolder


def one_job(queue: JobQueue, config: RunConfig, root: Path) -> float:
    folder = RunFolder.create(config, root)
    began = time.perf_counter()
    queue.submit(Job(folder.id, config, folder))
    for item in queue.events():
        if isinstance(item, JobEnded):
            assert item.status == "finished", item
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    content, style = demo_pair()
    began = time.perf_counter()
    cluster = connect("local", cpus=1)
    print(f"Ray started in {time.perf_counter() - began:.1f} s")
    times: dict[str, list[float]] = {"here": [], "cluster": []}
    try:
        with (
            tempfile.TemporaryDirectory() as scratch,
            JobQueue(["cpu"]) as here,
            JobQueue(cluster.slots()[:1], executor=cluster.executor) as there,
        ):
            work = Path(scratch)
            for number in range(2 * arguments.repeats + 2):
                kind = "here" if number % 2 == 0 else "cluster"
                config = RunConfig.from_flat(
                    content=content,
                    style=style,
                    output=work / f"out-{number}.png",
                    size=arguments.size,
                    iterations=arguments.iterations,
                    weights="random",
                    device="cpu",
                )
                seconds = one_job(here if kind == "here" else there, config, work / "runs")
                if number < 2:
                    print(f"warm-up {kind}: {seconds:.2f} s")
                    continue
                times[kind].append(seconds)
                print(f"{kind:>7}: {seconds:.2f} s")
    finally:
        cluster.close()
    here_median, there_median = (statistics.median(times[kind]) for kind in ("here", "cluster"))
    print(
        f"median: here {here_median:.2f} s, on the local Ray {there_median:.2f} s; ratio "
        f"{there_median / here_median:.3f} ({arguments.size} px, {arguments.iterations} "
        "iterations, one torch thread each)"
    )


if __name__ == "__main__":
    main()

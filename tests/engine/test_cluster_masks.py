"""Regions on a Ray cluster (issue 22.1): a job's style masks travel with it, as its style
images do, so a worker without the shared disk reads them from its own scratch folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mask_files import write_mask
from PIL import Image

from nst_engine.jobs.cluster_executor import files_of
from nst_engine.jobs.cluster_worker import placed as placed_config


def test_a_jobs_style_masks_travel_and_are_named_in_the_workers_folder(
    tiny_config, demo_pair, tmp_path: Path
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    masks = (write_mask(here / "sky.png", (60, 40)), write_mask(here / "sea.png", (60, 40), False))
    config = tiny_config(extra_styles=(demo_pair[1],), style_masks=masks)
    files = files_of(config)
    for mask in masks:
        mask.unlink()  # the worker has no shared disk: only what travelled is there
    there = tmp_path / "there"
    there.mkdir()
    placed = placed_config(config, files, there)
    assert len(placed.inputs.style_masks) == 2
    for mask, moved in zip(masks, placed.inputs.style_masks, strict=True):
        assert moved.is_relative_to(there) and moved.name.endswith(mask.name)
    with (
        Image.open(placed.inputs.style_masks[0]) as first,
        Image.open(placed.inputs.style_masks[1]) as second,
    ):
        assert np.asarray(first)[0, 0] == 255 and np.asarray(second)[0, 0] == 0


def test_a_job_without_masks_sends_none(tiny_config, tmp_path: Path) -> None:
    config = tiny_config()
    files = files_of(config)
    assert not [key for key in files if key.startswith("mask")]
    assert placed_config(config, files, tmp_path).inputs.style_masks == ()


@pytest.mark.slow  # starts Ray and runs the engine
def test_a_masked_job_on_the_cluster_gives_the_pixels_it_gives_here(
    ray_cluster, tiny_config, demo_pair, tmp_path: Path
) -> None:
    from test_cluster import job_of, pixels, queue_on, run_here

    from nst_engine.jobs.queue import JobEnded

    with Image.open(demo_pair[0]) as content:
        size = content.size
    masks = (write_mask(tmp_path / "a.png", size), write_mask(tmp_path / "b.png", size, False))
    settings = dict(extra_styles=(demo_pair[1],), style_masks=masks, iterations=4)
    run_here(tiny_config(output=tmp_path / "here.png", **settings))
    config = tiny_config(output=tmp_path / "there.png", **settings)
    job = job_of(config, tmp_path / "runs")
    with queue_on(ray_cluster) as queue:
        queue.submit(job)
        items = list(queue.events())
    ended = items[-1]
    assert isinstance(ended, JobEnded) and ended.status == "finished", ended
    assert np.array_equal(pixels(tmp_path / "there.png"), pixels(tmp_path / "here.png"))

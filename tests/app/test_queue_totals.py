"""The queue's iteration totals (F5's title): what was made, out of what will have been made
(issue 18, item 4: a cancelled queued run counted as done); its states, in the run store's
words (issue 21, item 4)."""

from __future__ import annotations

from pathlib import Path

from nst_engine.settings.config import RunConfig
from nst_engine.settings.values import Size
from nst_engine.store.runs import QUEUED, RUNNING, STATUSES, RunFolder
from nst_tui.app.screens.queue import ENDED, QueueEntry, overall_progress, queue_counts


def entry(status: str, index: int, config: RunConfig, total: int = 0) -> QueueEntry:
    return QueueEntry(1, config, RunFolder(Path("unused")), status=status, index=index, total=total)


def test_the_totals_count_what_was_made_and_nothing_of_a_cancelled_queued_run() -> None:
    config = RunConfig.from_flat(iterations=100)
    entries = [
        entry("finished", 100, config, total=100),
        entry("running", 30, config, total=100),
        entry("stopped", 0, config),  # cancelled while it waited: nothing made, nothing to come
        entry("stopped", 40, config, total=100),  # stopped after 40: 40 made, no more to come
        entry(QUEUED, 0, config),
    ]
    assert overall_progress(entries) == (100 + 30 + 0 + 40 + 0, 100 + 100 + 0 + 40 + 100)


def test_a_queued_coarse_to_fine_run_counts_the_iterations_of_all_its_scales() -> None:
    # 256 px from 64: scales of 64, 91, 128, 181 px at 10 iterations each, then 50 at 256.
    config = RunConfig.from_flat(
        iterations=50, size=Size(longest=256), min_size=64, scale_iterations=10
    )
    assert overall_progress([entry(QUEUED, 0, config)]) == (0, 4 * 10 + 50)
    assert entry(QUEUED, 0, config).progress_text() == ""
    assert entry("running", 5, config).progress_text() == "5/90 (5%)"


def test_a_job_not_started_yet_is_queued_as_its_run_folder_says() -> None:
    """One word for one state: the queue's entry and run.json both say `queued` (the queue
    said `waiting` of a job whose folder said `queued`)."""
    config = RunConfig.from_flat(iterations=10)
    waits = QueueEntry(1, config, RunFolder(Path("unused")))
    assert waits.status == QUEUED and waits.open
    assert queue_counts([waits, entry(RUNNING, 3, config), entry("stopped", 3, config)]) == (1, 1)
    assert set(ENDED) | {QUEUED, RUNNING} <= set(STATUSES)

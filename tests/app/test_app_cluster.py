"""The app on a Ray cluster (`nst-tui --cluster local`): the queue screen shows each job on its
node with its progress, and previews come back to the main screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import form_settled, wait_for

from nst_engine.store.runs import FINISHED, list_runs
from nst_tui.app.screens.queue import QueueScreen, QueueTable

pytest.importorskip("ray", reason="the cluster extra (Ray) is not installed")


@pytest.fixture
def local_cluster(ray_cluster):
    """The test session's one Ray (tests/conftest.py)."""
    return ray_cluster


@pytest.mark.slow  # starts Ray and runs the engine
async def test_the_queue_shows_jobs_on_their_node_with_progress_and_previews(
    local_cluster, tiny_config, tmp_path: Path, monkeypatch
) -> None:
    import socket

    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered

    monkeypatch.chdir(tmp_path)
    app = NSTApp(Remembered(tiny_config), folder=tmp_path, cluster=local_cluster)
    frames = []
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        original = app.main.preview.show_frame
        app.main.preview.show_frame = lambda message: (frames.append(message), original(message))
        first = app.enqueue(tiny_config.replace(output=tmp_path / "a.png", iterations=30))
        app.enqueue(tiny_config.replace(output=tmp_path / "b.png", iterations=3))
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen), what="the queue")
        node = socket.gethostname()

        def shown_on_its_node() -> bool:
            text = str(app.screen.query_one(QueueTable).get_row_at(0))
            return f"on {node}" in text

        await wait_for(pilot, shown_on_its_node, timeout=120, what="the job's node")
        await wait_for(
            pilot,
            lambda: all(not entry.open for entry in app.jobs.values()),
            timeout=180,
            what="both jobs",
        )
    records = {record.id: record for record in list_runs()}
    assert records[first].status == FINISHED and records[first].iterations_done == 30
    assert (tmp_path / "a.png").is_file() and (tmp_path / "b.png").is_file()
    assert frames  # previews came back from the worker

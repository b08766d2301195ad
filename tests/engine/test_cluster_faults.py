"""Faults of jobs on a Ray cluster that must neither lose a result nor hang (issue 19):
a runs folder that fills during a job, an output that appears during a job, an address
where something other than Ray listens, and `ray://`, which cannot carry a job."""

from __future__ import annotations

import errno
import http.server
import logging
import threading
from pathlib import Path

import pytest
from PIL import Image

ray = pytest.importorskip("ray", reason="the cluster extra (Ray) is not installed")

from nst_engine.errors import ConfigError, DeviceError, OutputError  # noqa: E402
from nst_engine.jobs import cluster as cluster_module  # noqa: E402
from nst_engine.jobs.queue import Job, JobEnded, JobEvent, JobQueue  # noqa: E402
from nst_engine.running.events import Finished, Step  # noqa: E402
from nst_engine.store.runs import RunFolder  # noqa: E402

PATIENCE = 120  # seconds without any event before a test calls the queue hung


@pytest.fixture
def http_address():
    """HOST:PORT of a small HTTP server (something that listens, but is not Ray)."""

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *arguments) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def connect_within(address: str, seconds: float = 30):
    """connect(address) in a thread; what it raised (a hang fails the test, never blocks it)."""
    raised = []

    def attempt():
        try:
            cluster_module.connect(address)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            raised.append(error)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"connect({address!r}) was still waiting after {seconds} s"
    return raised[0] if raised else None


def test_an_http_server_as_cluster_address_fails_in_one_line_without_starting_ray(http_address):
    """Ray itself would retry once a second for ever, deaf to Ctrl+C."""
    error = connect_within(http_address)
    assert isinstance(error, DeviceError), error
    assert "\n" not in error.message
    assert f"cannot connect to the Ray cluster at {http_address}" in error.message
    assert "not a Ray head node" in error.message and "HTTP" in error.message


def test_ray_client_addresses_are_refused_in_one_line_saying_what_to_give():
    """Ray Client (ray://) cannot run the streaming task a job is; say so before anything."""
    with pytest.raises(ConfigError, match=r"ray://") as refused:
        cluster_module.connect("ray://127.0.0.1:9")
    assert "HOST:PORT" in refused.value.message and "\n" not in refused.value.message


def test_a_head_node_that_wants_a_token_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch):
    """Ray 2.60's head nodes may ask for a token: say that, not "not a Ray head node"."""

    def init(**options):
        try:  # how ray.init fails then (its own chain of errors, shortened)
            raise RuntimeError(
                "Failed to connect to GCS. Last connection error: Traceback (most recent call "
                "last):\nray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: "
                "Authentication token is missing or incorrect."
            )
        except RuntimeError as error:
            raise ConnectionError("Failed to connect to Ray cluster at 192.0.2.2:6379") from error

    monkeypatch.setattr(cluster_module, "_probe", lambda address: None)  # a head is there
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    with pytest.raises(DeviceError) as refused:
        cluster_module.connect("gpu1:6379")
    message = refused.value.message
    assert message.startswith("cannot connect to the Ray cluster at gpu1:6379: ")
    assert "token" in message and "RAY_AUTH_MODE=token" in message and "\n" not in message


# --- jobs on a local Ray (slow: Ray and its workers take seconds to start) --------------------


def job_of(config, root) -> Job:
    folder = RunFolder.create(config, root)
    return Job(folder.id, config, folder)


def run_on(cluster, job: Job, on_event=None) -> list:
    """The job's items from a queue on `cluster`, until it ended (a silent queue fails)."""
    items = []
    with JobQueue(cluster.slots()[:1], executor=cluster.executor) as queue:
        queue.submit(job)
        while not items or not isinstance(items[-1], JobEnded):
            item = queue.next_event(timeout=PATIENCE)
            assert item is not None, f"no event for {PATIENCE} s: the queue hangs; {items[-3:]}"
            items.append(item)
            if on_event is not None and isinstance(item, JobEvent):
                on_event(item.event)
    return items


def full_disk(*arguments, **options):
    raise OSError(errno.ENOSPC, "No space left on device")


def full_disk_output(path, *arguments, **options):
    raise OutputError(f"could not write '{path}': No space left on device")


@pytest.mark.slow
def test_a_runs_folder_that_fills_during_a_cluster_job_is_a_warning_and_the_result_comes(
    ray_cluster, tiny_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
):
    """Every write into the run folder fails as on a full disk (losses, checkpoints,
    snapshots, run.json): the job still finishes, its result where asked, with one warning."""
    from nst_engine.running import images

    monkeypatch.setattr(ray_cluster, "checkpoint_seconds", 0.0)
    config = tiny_config(
        output=tmp_path / "there.png", iterations=6, checkpoint_every=2, snapshot_every=2
    )
    job = job_of(config, tmp_path / "runs")
    real_write_file = images.write_file

    def write_file(data, path, overwrite=False):
        if job.folder.path in Path(path).parents:
            full_disk_output(path)
        return real_write_file(data, path, overwrite)

    monkeypatch.setattr(RunFolder, "append_losses", full_disk)
    monkeypatch.setattr(RunFolder, "keep_losses_until", full_disk)
    monkeypatch.setattr(RunFolder, "put_checkpoint", full_disk_output)
    monkeypatch.setattr(RunFolder, "update", full_disk)
    monkeypatch.setattr(images, "write_file", write_file)
    caplog.set_level(logging.WARNING, logger="nst.engine")
    items = run_on(ray_cluster, job)
    ended = items[-1]
    assert ended.status == "finished", ended
    events = [item.event for item in items if isinstance(item, JobEvent)]
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.path == config.inputs.output
    with Image.open(config.inputs.output) as result:
        assert result.size[0] > 0
    [note] = [note for note in finished.notes if "run folder" in note]
    assert "No space left on device" in note and str(config.inputs.output) in note
    warnings = [r for r in caplog.records if "into the run folder" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


@pytest.mark.slow
def test_an_output_that_appears_during_a_cluster_job_is_rescued_and_recorded(
    ray_cluster, tiny_config, tmp_path: Path
):
    """As a local run does: the result goes to the rescue folder, the error says where, the
    user's file is kept and the run's record says failed (not `running` for ever)."""
    config = tiny_config(output=tmp_path / "there.png", iterations=6)
    job = job_of(config, tmp_path / "runs")

    def someone_writes_the_output(event):
        if isinstance(event, Step) and not config.inputs.output.exists():
            config.inputs.output.write_bytes(b"mine")

    ended = run_on(ray_cluster, job, someone_writes_the_output)[-1]
    assert ended.status == "failed", ended
    message = ended.error.message
    assert "already exists" in message and "the result was saved to" in message
    rescued = Path(message.rpartition("saved to ")[2].removesuffix(" instead"))
    assert rescued.parent == tmp_path / "state" / "rescued"
    with Image.open(rescued) as picture:
        assert picture.size[0] > 0
    assert config.inputs.output.read_bytes() == b"mine"
    record = job.folder.record()
    assert record.status == "failed" and record.error == message
    assert record.resumable

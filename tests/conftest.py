"""Fixtures for every test: private cache, config and state folders; the shared test images.

The oxford weights are converted once per test session into a session cache folder, through
the project's real loading code (tests/engine/test_weights.py checks they are genuine).
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_IMAGES = REPOSITORY.parent / "shared" / "images"

# Python's collector in the test processes: a young-generation collection after this many
# new objects, not 700. An app test makes objects by the hundred thousand (Textual's strips
# and caches), and at the defaults about 200 collections came with each app start, a fifth
# of the app tests' CPU; what they check does not depend on when garbage goes (a test that
# needs it gone collects it). Measured: benchmarks/RESULTS.md, issue 21. The app's own
# processes keep Python's defaults.
YOUNG_COLLECTION_THRESHOLD = 50_000


def pytest_configure(config: pytest.Config) -> None:
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


# Tests that must not run beside each other under pytest-xdist (`pytest -n 2`; pyproject's
# addopts say `--dist loadgroup`): each group runs on one worker, one test at a time. Every
# test that uses Ray asks for `ray_cluster` and is put in the "ray" group here, so that one
# worker starts Ray once and the other never does (two Rays on two cores starve each other).
# Other groups are marked where the tests are (the pty tests, a snapshot's fixed folder).
# Session fixtures (the weights cache, Ray) and tmp_path are each worker's own.
@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "ray_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread in the test process, as the command's own processes have
    (OMP_NUM_THREADS=1): on a small shared machine two OpenMP threads that wait for each other
    make a step several times dearer (a 64 px VGG19 step about 20 times; three 32 px frames
    in the command line's tests 11 s of CPU, not 3); the tests check behaviour, not speed."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def private_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, session_cache: Path) -> None:
    """Keep every test out of the user's home: cache (shared by the session), config, state, runs."""
    monkeypatch.setenv("NST_TUI_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("NST_TUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NST_TUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NST_TUI_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("NST_TUI_WEIGHTS", raising=False)


@pytest.fixture
def shared_image():
    """Path of an image in ../shared/images; the test is skipped when the folder is absent."""

    def find(name: str) -> Path:
        path = SHARED_IMAGES / name
        if not path.is_file():
            pytest.skip(f"{path} is not here (../shared/images is absent)")
        return path

    return find


@pytest.fixture
def demo_pair() -> tuple[Path, Path]:
    """The built-in content and style images (always in the repository)."""
    from nst_engine.settings.gallery import demo_pair

    return demo_pair()


@pytest.fixture
def stop_run():
    """`stop_run(config, folder, iterations)`: run `config`, recorded in `folder`, and stop it
    after `iterations` as Escape or a first Ctrl+C does; its Cancelled."""

    def stop(config, folder, iterations: int):
        from nst_engine.running import transfer
        from nst_engine.running.events import Step

        with transfer.run(config, folder) as events:
            for event in events:
                if isinstance(event, Step) and event.index == iterations:
                    return events.cancel()
        raise AssertionError("the run ended before it was stopped")

    return stop


def replace_engine_step(monkeypatch: pytest.MonkeyPatch, around) -> None:
    """Put `around(number, stepper, real_step)` in place of the engine's step for this test:
    `number` counts the steps from 1, `stepper` is the run's Stepper (its `image` is the
    image being optimised), `real_step(stepper)` takes the step; it returns the losses."""
    import itertools

    from nst_engine.optimise.stepper import Stepper

    real_step = Stepper.step
    numbers = itertools.count(1)
    monkeypatch.setattr(Stepper, "step", lambda stepper: around(next(numbers), stepper, real_step))


@pytest.fixture
def nan_after(monkeypatch: pytest.MonkeyPatch):
    """`nan_after(n)`: every engine step after the first n reports a NaN loss, as a run that
    diverges does (the image itself stays as the optimiser made it)."""
    import math

    import torch

    def step(number, stepper, real_step, good_steps):
        losses = real_step(stepper)
        if number > good_steps:
            losses = {name: torch.full_like(value, math.nan) for name, value in losses.items()}
        return losses

    return lambda good_steps: replace_engine_step(
        monkeypatch, lambda *call: step(*call, good_steps)
    )


@pytest.fixture
def nan_image_at(monkeypatch: pytest.MonkeyPatch):
    """`nan_image_at(n)`: the n-th engine step's update makes the image NaN, while the loss it
    reports (that of the image before the update) is still finite, as a step that blows up
    does."""
    import math

    def step(number, stepper, real_step, bad_step):
        losses = real_step(stepper)
        if number == bad_step:
            stepper.image.data.fill_(math.nan)
        return losses

    return lambda bad_step: replace_engine_step(monkeypatch, lambda *call: step(*call, bad_step))


@pytest.fixture
def out_of_memory_at(monkeypatch: pytest.MonkeyPatch):
    """`out_of_memory_at(n)`: the n-th engine step from now runs out of GPU memory, before it
    changes the image, as a CUDA step does; every other step runs normally."""
    import torch

    def step(number, stepper, real_step, failing_step):
        if number == failing_step:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(stepper)

    return lambda failing_step: replace_engine_step(
        monkeypatch, lambda *call: step(*call, failing_step)
    )


@pytest.fixture
def crash_at(monkeypatch: pytest.MonkeyPatch):
    """`crash_at(n)`: the n-th engine step from now raises a RuntimeError (a bug, a driver
    that fell over) before it changes anything; the steps before it run normally."""

    def step(number, stepper, real_step, failing_step):
        if number == failing_step:
            raise RuntimeError("the driver fell over")
        return real_step(stepper)

    return lambda failing_step: replace_engine_step(
        monkeypatch, lambda *call: step(*call, failing_step)
    )


@pytest.fixture
def held_step(monkeypatch: pytest.MonkeyPatch):
    """`held_step(n)`: the n-th engine step from now waits, before it is taken, until the
    returned Event is set (60 s at most): a test can stop a run there, before its end, on a
    machine of any speed, without a long run."""
    import threading

    def step(number, stepper, real_step, held, release):
        if number == held:
            release.wait(60)
        return real_step(stepper)

    def hold(held: int) -> threading.Event:
        release = threading.Event()
        replace_engine_step(monkeypatch, lambda *call: step(*call, held, release))
        return release

    return hold


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory, session_cache: Path):
    """One Ray instance on this machine with two CPUs for the whole test session (its workers
    take ~10 s to start once); tests that use it are marked slow. Its processes keep the
    environment they were started with, so they get private folders of their own here (this
    fixture comes before `private_folders`). A command run in the test process with
    `--cluster local` finds it running, uses it and leaves it running."""
    pytest.importorskip("ray", reason="the cluster extra (Ray) is not installed")
    from nst_engine.jobs.cluster import connect

    folders = tmp_path_factory.mktemp("ray-workers")
    with pytest.MonkeyPatch.context() as environment:
        for name in ("CONFIG", "STATE", "RUNS"):
            environment.setenv(f"NST_TUI_{name}_DIR", str(folders / name.lower()))
        environment.setenv("NST_TUI_CACHE_DIR", str(session_cache))  # the weights, converted once
        cluster = connect("local", cpus=2)
    yield cluster
    cluster.close()


@pytest.fixture
def atomic_writes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths written through safe_files.write_atomically during the test (each is still
    written), so that a test can say a writer goes through the one atomic write."""
    from nst_engine.store import safe_files

    written: list[Path] = []
    real = safe_files.write_atomically

    def noted(path, content, **options):
        written.append(Path(path))
        return real(path, content, **options)

    monkeypatch.setattr(safe_files, "write_atomically", noted)
    return written

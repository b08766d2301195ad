"""Fixtures for every test: private cache, config and state folders; the shared test images.

The oxford weights are converted once per test session into a session cache folder, through
the project's real loading code (tests/engine/test_weights.py checks they are genuine).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_IMAGES = REPOSITORY.parent / "shared" / "images"


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def private_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, session_cache: Path) -> None:
    """Keep every test out of the user's home: cache (shared by the session), config, state."""
    monkeypatch.setenv("NST_TUI_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("NST_TUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NST_TUI_STATE_DIR", str(tmp_path / "state"))
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
    from nst_engine.gallery import demo_pair

    return demo_pair()


def replace_engine_step(monkeypatch: pytest.MonkeyPatch, make_step) -> None:
    """Put `make_step(real_step)` in place of the engine's step for this test: both take the
    run's Stepper (its `image` is the image being optimised) and return the losses."""
    from nst_engine.stepper import Stepper

    monkeypatch.setattr(Stepper, "step", make_step(Stepper.step))


@pytest.fixture
def nan_after(monkeypatch: pytest.MonkeyPatch):
    """`nan_after(n)`: every engine step after the first n reports a NaN loss, as a run that
    diverges does (the image itself stays as the optimiser made it)."""
    import math

    import torch

    def start(good_steps: int) -> None:
        def make_step(real_step):
            calls = []

            def step(stepper):
                losses = real_step(stepper)
                calls.append(1)
                if len(calls) > good_steps:
                    losses = {name: torch.full_like(v, math.nan) for name, v in losses.items()}
                return losses

            return step

        replace_engine_step(monkeypatch, make_step)

    return start


@pytest.fixture
def nan_image_at(monkeypatch: pytest.MonkeyPatch):
    """`nan_image_at(n)`: the n-th engine step's update makes the image NaN, while the loss it
    reports (that of the image before the update) is still finite, as a step that blows up
    does."""
    import math

    def start(bad_step: int) -> None:
        def make_step(real_step):
            calls = []

            def step(stepper):
                losses = real_step(stepper)
                calls.append(1)
                if len(calls) == bad_step:
                    stepper.image.data.fill_(math.nan)
                return losses

            return step

        replace_engine_step(monkeypatch, make_step)

    return start


@pytest.fixture
def out_of_memory_at(monkeypatch: pytest.MonkeyPatch):
    """`out_of_memory_at(n)`: the n-th engine step from now runs out of GPU memory, before it
    changes the image, as a CUDA step does; every other step runs normally."""
    import torch

    def start(failing_step: int) -> None:
        def make_step(real_step):
            calls = []

            def step(stepper):
                calls.append(1)
                if len(calls) == failing_step:
                    raise torch.cuda.OutOfMemoryError(
                        "CUDA out of memory. Tried to allocate 2.00 GiB"
                    )
                return real_step(stepper)

            return step

        replace_engine_step(monkeypatch, make_step)

    return start

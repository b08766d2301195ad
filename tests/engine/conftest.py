"""Fixtures of the engine tests: tiny run settings, weight files (one torch thread: every
test has it, tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from nst_engine.method import weights as weights_module
from nst_engine.method.weights import Weights
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import gallery_image


@pytest.fixture
def fresh_weights_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the weights this process holds in memory, so a load really reads its source."""
    monkeypatch.setattr(weights_module, "_memo", {})


@pytest.fixture
def tiny_config(tmp_path: Path, demo_pair: tuple[Path, Path]) -> Callable[..., RunConfig]:
    """A run of the demo pair at 48 px, few iterations, output in tmp_path; overridable."""
    content, style = demo_pair

    def make(**changes) -> RunConfig:
        settings = dict(
            content=content,
            style=style,
            output=tmp_path / "out.png",
            size=48,
            iterations=5,
            weights="random",
            device=os.environ.get("NST_TUI_TEST_DEVICE", "cpu"),  # cuda in benchmarks/gpu_check.sh
            content_layers={"relu3_1": 1.0},
            style_layers={"relu1_1": 1.0, "relu2_1": 1.0, "relu3_1": 1.0},
        )
        settings.update(changes)
        optimizer = settings.pop("optimizer", None)
        config = RunConfig.from_flat(**settings)
        if optimizer is not None:
            config = RunConfig.from_dict({"optimizer": optimizer}, base=config)
        return config

    return make


@pytest.fixture(scope="session")
def random_weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeded random VGG19 weights saved as safetensors once per session (about 80 MB)."""
    path = tmp_path_factory.mktemp("weights") / "random-7.safetensors"
    weights_module.save_weights_file(weights_module.random_weights(7), path, "test")
    return path


def _scaled_network(weights: Weights, factor: float) -> Weights:
    """The network with its first convolution `factor` times larger, and every later bias
    with it: each activation is then exactly `factor` times as large (ReLU and pooling are
    positively homogeneous), like torchvision's against oxford's (about 1/50)."""
    state = {
        key: value * factor if key == "0.weight" or key.endswith(".bias") else value
        for key, value in weights.state_dict.items()
    }
    return Weights(state, weights.preprocessing, f"{weights.label} x{factor:g}", weights.trained)


@pytest.fixture
def scaled_network() -> Callable[[Weights, float], Weights]:
    """`scaled_network(weights, factor)`: the same network with every activation `factor`
    times as large."""
    return _scaled_network


@pytest.fixture
def base(tmp_path: Path) -> RunConfig:
    """A sweep's base settings: gallery images, the grid in this test's folder."""
    return RunConfig.from_flat(
        content=gallery_image("astronaut").path,
        style=gallery_image("mosaic").path,
        output=tmp_path / "grid.png",
        size=128,
        iterations=100,
    )

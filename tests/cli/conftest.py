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


@pytest.fixture
def nst_tui_here(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., subprocess.CompletedProcess]:
    """Run `nst-tui ARGS` inside this process, in `work`, with stdout and stderr piped (not a
    terminal, as in a log file or `| tee`) and `columns` wide; returns what it printed."""

    def invoke(*arguments: str | Path, columns: int = 80) -> subprocess.CompletedProcess:
        from nst_tui.cli.command import main

        monkeypatch.chdir(work)
        monkeypatch.setenv("COLUMNS", str(columns))
        monkeypatch.setenv("NO_COLOR", "1")
        for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
            monkeypatch.delenv(name, raising=False)
        capsys.readouterr()
        try:
            status = main([str(argument) for argument in arguments])
        except SystemExit as exit_request:  # argparse: --help, usage errors
            status = exit_request.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(arguments, status, captured.out, captured.err)

    return invoke


@pytest.fixture
def sweep(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., subprocess.CompletedProcess]:
    """Run `nst-tui sweep ARGS` in this process, in `work`, output piped; what it printed."""
    from nst_tui.cli.command import main

    def invoke(*arguments: str | Path) -> subprocess.CompletedProcess:
        monkeypatch.chdir(work)
        monkeypatch.setenv("NO_COLOR", "1")
        capsys.readouterr()
        try:
            status = main(["sweep", *map(str, arguments)])
        except SystemExit as exit_request:
            status = exit_request.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(arguments, status, captured.out, captured.err)

    return invoke

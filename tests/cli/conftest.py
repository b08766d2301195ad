"""Running `nst-tui`: inside the test process (`nst_tui_here`, `sweep`: a mistake costs
milliseconds) or, for what is the process's own contract (its exit status, signals, a pipe
closed under it), as a separate process (`nst_tui`: a second or more, 3 s with torch)."""

from __future__ import annotations

import logging
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
    """Run `nst-tui ARGS` as its own process in `work`; returns the finished process."""

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
def command_logging():
    """The command's log file handler (runlog.setup_logging) is removed after the test, so
    that a later test's "nst" messages do not go to this test's log file."""
    from nst_engine.store import runlog

    logger = logging.getLogger(runlog.LOGGER_NAME)
    handlers, level, handler = list(logger.handlers), logger.level, runlog._handler
    yield
    for added in [h for h in logger.handlers if h not in handlers]:
        logger.removeHandler(added)
        added.close()
    logger.setLevel(level)
    runlog._handler = handler


@pytest.fixture
def in_process(
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command_logging: None,
) -> Callable[..., subprocess.CompletedProcess]:
    """`in_process(ARGV, columns=80)`: nst_tui.cli.command.main(ARGV) in `work`, with stdout
    and stderr piped (not a terminal, as in a log file or `| tee`), `columns` wide and without
    colours, as `nst_tui` runs it; what it printed and its exit status (argparse's SystemExit
    included). main(ARGV) leaves the test process's signal handlers as they were."""

    def invoke(argv: list[str], columns: int = 80) -> subprocess.CompletedProcess:
        from nst_tui.cli.command import main

        monkeypatch.chdir(work)
        monkeypatch.setenv("COLUMNS", str(columns))
        monkeypatch.setenv("NO_COLOR", "1")
        for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
            monkeypatch.delenv(name, raising=False)
        capsys.readouterr()
        try:
            status = main(argv)
        except SystemExit as exit_request:  # argparse: --help, --version, usage errors
            status = exit_request.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(argv, status, captured.out, captured.err)

    return invoke


@pytest.fixture
def nst_tui_here(in_process) -> Callable[..., subprocess.CompletedProcess]:
    """Run `nst-tui ARGS` inside this process, in `work`; returns what it printed."""

    def invoke(*arguments: str | Path, columns: int = 80) -> subprocess.CompletedProcess:
        return in_process([str(argument) for argument in arguments], columns)

    return invoke


@pytest.fixture
def sweep(in_process) -> Callable[..., subprocess.CompletedProcess]:
    """Run `nst-tui sweep ARGS` in this process, in `work`, output piped; what it printed."""

    def invoke(*arguments: str | Path) -> subprocess.CompletedProcess:
        return in_process(["sweep", *map(str, arguments)])

    return invoke

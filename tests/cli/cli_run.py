"""Helpers of the command tests: the command, its environment, the one-line error check."""

from __future__ import annotations

import os
import re
import subprocess
import sys

COMMAND = [sys.executable, "-m", "nst_tui.cli"]


def command_environment() -> dict[str, str]:
    """This test's environment (private folders), one torch thread, no colours."""
    environment = dict(os.environ)
    environment.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NO_COLOR="1", TERM="dumb")
    environment.pop("FORCE_COLOR", None)
    return environment


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status 2, nothing on stdout, exactly one line on stderr containing `fragments`."""
    lines = result.stderr.strip("\n").splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert re.match(r"nst-tui( [a-z]+)?: error: ", lines[0]), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert result.stdout == ""
    return lines[0]


def signal_when(
    arguments: list[str], cwd, line_start: str, stop_signal: int
) -> subprocess.CompletedProcess:
    """Run `nst-tui ARGUMENTS` in `cwd`, send `stop_signal` once a stderr line starts with
    `line_start`, and wait for it to end (killed after 120 s: never hang the suite)."""
    import threading

    process = subprocess.Popen(
        [*COMMAND, *arguments],
        cwd=cwd,
        env=command_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        seen = []
        for line in process.stderr:
            seen.append(line)
            if line.startswith(line_start):
                break
        assert seen and seen[-1].startswith(line_start), "".join(seen)
        process.send_signal(stop_signal)
        stdout, rest = process.communicate(timeout=60)
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()
    return subprocess.CompletedProcess(arguments, process.returncode, stdout, "".join(seen) + rest)

"""SIGTERM, and a terminal that goes away (SIGHUP, as when an SSH session drops), stop the real
`nst-tui` app mid-run in a pseudo-terminal: it exits within seconds with status 128+signal,
the image so far is kept beside the output with a clear name, and the output is not written.
The interface itself closes: the watchdog that ends a stuck process (nst_tui/app/app.py) is not
what ends it, even when the terminal went away long before the signal came.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from app_helpers import LONG_RUN_STEP_PAUSE
from PIL import Image

from nst_engine.settings.gallery import demo_pair
from nst_engine.store.runlog import log_path
from nst_tui.app.remembered import settings_path

# The app as `nst-tui` with no arguments starts it, its engine's steps paced as in the other
# app tests (conftest.py engine_steps_paced; 5000 iterations: a long run's pause): a run these
# tests keep going (one waits 20 s) no longer takes a core the whole time; it still draws
# progress several times a second.
PACED_APP = (
    "import sys, time; from nst_engine.running.scale import Scale; step = Scale.step; "
    f"Scale.step = lambda scale: (time.sleep({LONG_RUN_STEP_PAUSE}), step(scale))[1]; "
    "from nst_tui.cli import main; sys.argv = ['nst-tui']; sys.exit(main())"
)
# Made the controlling terminal of its own session (so closing the terminal hangs it up).
LAUNCHER = "import fcntl, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); " + PACED_APP
# Not the terminal's controlling process: closing the terminal sends it no SIGHUP.
DETACHED_LAUNCHER = PACED_APP
ITERATIONS = 5000
# Seconds between a terminal closing and a late SIGHUP: long enough for the interface to
# write more than Textual's output queue holds (30 writes) into the terminal that has gone.
LATE = 20.0

# The app, torch and a run in a real process on a pty; with `pytest -n 2`, on the worker of
# the other terminal tests (tests/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terminal")]


class AppInTerminal:
    """The app in a pseudo-terminal of 120x40; what it draws is kept in `screen`."""

    def __init__(self, folder: Path, launcher: str = LAUNCHER) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        # One torch thread: the run only has to go on, and the other worker has tests too.
        environment = dict(os.environ, TERM="xterm-256color", OMP_NUM_THREADS="1")
        self.process = subprocess.Popen(
            [sys.executable, "-c", launcher],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=folder,
            env=environment,
            start_new_session=True,
        )
        os.close(slave)
        self.master: int | None = master
        self.screen = b""

    def read(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.master is not None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536)
                except OSError:  # the app has gone and its end of the terminal closed
                    return

    def wait_for(self, condition, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"the app exited: {self.screen[-600:]!r}"
            assert time.monotonic() < deadline, f"no {what}: {self.screen[-600:]!r}"
            self.read(0.1)

    def hang_up(self) -> None:
        """Close the terminal, as a dropped SSH connection does: the kernel sends SIGHUP."""
        assert self.master is not None
        os.close(self.master)
        self.master = None

    def wait_exit(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.read(0.05) if self.master is not None else time.sleep(0.05)
        self.read(0.5)  # what it printed last
        return self.process.poll()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.master is not None:
            os.close(self.master)


def shown_iteration(screen: bytes) -> int:
    """The latest iteration count the run panel showed ("52/5000 · 36.20 it/s")."""
    counts = re.findall(rb"(\d+)/%d \xc2\xb7" % ITERATIONS, screen)
    return int(counts[-1]) if counts else 0


@pytest.fixture
def long_run_settings() -> None:
    """Remembered settings that make the first run small but long: 48 px, 5000 iterations."""
    content, style = demo_pair()
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(
        f'[app]\npreview = "cells"\n\n[form]\ncontent = "{content}"\nstyle = "{style}"\n'
        f'iterations = {ITERATIONS}\nsize = 48\nweights = "random"\ndevice = "cpu"\n\n'
        '[form.optimizer]\nname = "adam"\nlr = 2.0\n',
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("stop", "name", "status"),
    [
        ("kill", "SIGTERM", 128 + signal.SIGTERM),
        ("hang up", "SIGHUP", 128 + signal.SIGHUP),
        ("late hang up", "SIGHUP", 128 + signal.SIGHUP),
    ],
    ids=["SIGTERM", "SIGHUP (terminal closed)", "SIGHUP seconds after the terminal closed"],
)
def test_a_stop_signal_mid_run_keeps_the_image_and_exits_promptly(
    tmp_path, long_run_settings, stop, name, status
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    app = AppInTerminal(work, DETACHED_LAUNCHER if stop == "late hang up" else LAUNCHER)
    try:
        app.wait_for(lambda: b"Ready: Ctrl+R runs" in app.screen, "ready form")
        os.write(app.master, b"\x12")  # Ctrl+R
        logged = lambda: log_path().is_file() and "Started(" in log_path().read_text()  # noqa: E731
        app.wait_for(logged, "'Started' in the log")
        app.wait_for(lambda: shown_iteration(app.screen) >= 2, "two iterations")
        if stop == "kill":
            app.process.send_signal(signal.SIGTERM)
        elif stop == "hang up":
            app.hang_up()
        else:
            # The interface writes on into a terminal that has gone; Textual's output queue
            # fills and the interface is stuck by the time the signal comes.
            app.hang_up()
            time.sleep(LATE)
            app.process.send_signal(signal.SIGHUP)
        # Promptly: it ends within this bound (a stuck interface never would), by its own way
        # out (the log has no word of the watchdog's below); no wall-time assert, which a
        # busy machine fails.
        code = app.wait_exit(timeout=20)
    finally:
        app.close()
    assert code == status, app.screen[-600:]

    names = sorted(path.name for path in work.iterdir())
    partials = [n for n in names if re.fullmatch(r"rocket-swirl\.partial-\d{4}-of-5000\.png", n)]
    assert len(partials) == 1 and len(names) == 1, names  # no output, no temporary files
    index = int(partials[0].split("-")[2])
    assert index >= 2
    with Image.open(work / partials[0]) as image:
        image.load()
        assert image.size == (48, 32)
    log = log_path().read_text(encoding="utf-8")
    assert f"{name} received: quitting" in log
    assert "the interface did not close" not in log, log[log.find("received: quitting") :]
    assert f"run stopped: Cancelled(index={index}," in log
    if stop == "kill":  # the terminal is still there: it says where the image is
        said = app.screen.decode("utf-8", "replace")
        assert "stopping the run after its current iteration, keeping its image" in said
        assert f"partial ({index} iterations): {work / partials[0]}" in said
        assert "Traceback" not in said

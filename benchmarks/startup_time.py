"""Time from starting `nst-tui` to its first painted screen, in a real pseudo-terminal.

    python benchmarks/startup_time.py [--runs 5] [--size 120x40] [--command nst-tui]

Starts the command in a pseudo-terminal of the given size, reads what it draws, and stops
the clock when the footer of the main screen has arrived (the first full frame ends with
it); then sends Ctrl+Q. Each run uses fresh config and state folders, like a new user.
Prints each time and the median. A benchmark: it measures and prints, it does not judge.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import shlex
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

FIRST_FRAME_MARKER = b"palette"  # the footer's last entry: the whole first frame is out


def one_start(command: list[str], columns: int, rows: int, timeout: float = 30.0) -> float:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    with tempfile.TemporaryDirectory() as folder:
        env = dict(
            os.environ,
            TERM=os.environ.get("TERM", "xterm-256color"),
            COLORTERM="truecolor",
            NST_TUI_CONFIG_DIR=os.path.join(folder, "config"),
            NST_TUI_STATE_DIR=os.path.join(folder, "state"),
        )
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=folder, close_fds=True
        )
        os.close(slave)
        seen = b""
        elapsed = None
        try:
            while time.perf_counter() - started < timeout:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                seen += chunk
                if FIRST_FRAME_MARKER in seen:
                    elapsed = time.perf_counter() - started
                    break
            os.write(master, b"\x11")  # Ctrl+Q
            deadline = time.perf_counter() + 10
            while process.poll() is None and time.perf_counter() < deadline:
                ready, _, _ = select.select([master], [], [], 0.05)
                if ready:
                    try:
                        os.read(master, 65536)
                    except OSError:
                        break
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            os.close(master)
    if elapsed is None:
        raise SystemExit(f"no first frame within {timeout:g} s: {seen[-400:]!r}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="120x40", help="terminal COLUMNSxROWS")
    parser.add_argument("--command", default="nst-tui", help="the command to start")
    arguments = parser.parse_args()
    columns, rows = (int(part) for part in arguments.size.split("x"))
    command = shlex.split(arguments.command)
    one_start(command, columns, rows)  # warm the file cache; not counted
    times = [one_start(command, columns, rows) for _ in range(arguments.runs)]
    for number, seconds in enumerate(times, start=1):
        print(f"run {number}: {seconds * 1000:.0f} ms")
    print(
        f"time to first painted screen ({arguments.size}, {sys.platform}): "
        f"median {statistics.median(times) * 1000:.0f} ms over {len(times)} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast a key answers in the app, idle and during a CPU run, through a real terminal (tmux).

    python benchmarks/key_latency.py [--presses 20] [--blocks 2] [--size 256] [--repeats 1]
                                     [--terminal 120x40] [--variant NAME=VAR=VALUE,...]...
                                     [--boost -20] [--verbose]

Starts `nst-tui` in a tmux session (fresh config and state folders, the form filled with the
demo pair at --size, CPU, random weights, L-BFGS), waits until it is idle (torch imported,
the estimate's device measurement done), starts a run and sends Ctrl+F (maximise the
preview, and back) --presses times during it; then cancels the run, waits until the app is
idle again and sends Ctrl+F --presses times more, with the run's last frame still in the
preview (so that an idle press paints what a running one paints). Each press is timed from
sending the key to the screen showing the change: tmux's pane no longer shows the form (or
shows it again). The pane is read through one tmux control-mode client, so a look at it
costs a pipe write, not a process; presses are 0.25-0.5 s apart, at random.

During the run, blocks of presses alternate with quiet blocks as long, and the run's rate
(iterations per second, read from the progress line at each block's ends) is given for
both: what the presses cost the run shows beside what the run costs the presses.

Each --variant starts the app with extra environment variables; without --variant, two run:
the app without the remedies of nst_tui/app/engine_thread.py (NST_TUI_ENGINE_NICE=0,
NST_TUI_GC_FREEZE=0) and the app as it ships. Variants alternate within each repeat, so a change in machine load hits them alike;
the load average is printed for each. On a machine shared with other work, --boost -20
(root) gives the app, its tmux server and this script most of the CPU against other
sessions, while the app's own threads still compete as on a quiet machine.

A benchmark: it measures and prints, it does not judge.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FORM_MARKER = "Compute size"  # a form label: on screen unless the preview is maximised
READY_MARKER = "^r Run"  # the footer offers Run again: no run going
FOOTER_MARKER = "palette"  # the footer's last entry: the first frame is complete
PROGRESS = re.compile(r"^(?=.*it/s).*?(\d+)/(\d+)", re.MULTILINE)  # iteration/total
POLL_PAUSE = 0.002  # seconds between two looks at the pane
PRESS_TIMEOUT = 5.0  # a key that has not answered by then counts as this long
VERBOSE = "--verbose" in sys.argv
SESSION_NUMBERS = itertools.count(1)  # each measurement its own tmux server
# Without --variant: the app without the remedies of nst_tui/app/engine_thread.py, then as it ships.
DEFAULT_VARIANTS = [
    ("without", {"NST_TUI_ENGINE_NICE": "0", "NST_TUI_GC_FREEZE": "0"}),
    ("as-shipped", {}),
]


class Pane:
    """One tmux session running a command, read and driven through a control-mode client."""

    def __init__(self, name: str, command: str, columns: int, rows: int, cwd: str) -> None:
        self.name = name
        # A tmux server of its own: it runs at this process's priority, and nobody else's
        # sessions share its time.
        self.tmux = ["tmux", "-L", name, "-f", "/dev/null"]
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", name, "-x", str(columns), "-y", str(rows)]
            + ["-c", cwd, command],
            check=True,
        )
        self.client = subprocess.Popen(
            [*self.tmux, "-C", "attach-session", "-t", name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",  # control mode may split or escape a character; markers are ASCII
            bufsize=1,
        )
        self.command("refresh-client -f no-output")  # no %output flood on the pipe

    def command(self, line: str) -> list[str]:
        """Run one tmux command through the control client; its output lines."""
        assert self.client.stdin and self.client.stdout
        self.client.stdin.write(line + "\n")
        self.client.stdin.flush()
        lines: list[str] = []
        inside = False
        for text in self.client.stdout:
            text = text.rstrip("\n")
            if text.startswith("%begin"):
                inside = text.endswith(" 1")  # flags 1: a command of ours (0: the attach's)
            elif text.startswith(("%end", "%error")):
                if inside:
                    return lines
            elif inside:
                lines.append(text)
        raise RuntimeError(f"tmux control client ended (session {self.name})")

    def text(self) -> str:
        return "\n".join(self.command(f"capture-pane -p -t {self.name}"))

    def send(self, key: str) -> None:
        self.command(f"send-keys -t {self.name} {key}")

    def wait_for(self, test, timeout: float, what: str) -> str:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            text = self.text()
            if test(text):
                return text
            time.sleep(0.05)
        raise SystemExit(f"{what} did not show within {timeout:g} s; the pane:\n{self.text()}")

    def pid(self) -> int:
        """The app's process (tmux runs `env`, which becomes the app)."""
        return int(self.command(f"display-message -p -t {self.name} '#{{pane_pid}}'")[0])

    def server_pid(self) -> int:
        return int(self.command("display-message -p '#{pid}'")[0])

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)
        if self.client.poll() is None:
            self.client.kill()
        self.client.wait()


def boost(pids: list[int], nice: int) -> None:
    """Give these processes' autogroups (one per session: the app, the tmux server, this
    script) the weight of `nice`, so that other sessions' work on a shared machine weighs
    little against them; the app's own threads still compete among themselves as they
    would on a quiet machine. Needs root (or CAP_SYS_NICE) for a negative value."""
    for pid in pids:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, timeout: float = 180.0) -> None:
    """Until the app uses under 5% of a core for two seconds in a row (startup work done:
    torch imported, the device's rate measured for the estimate)."""
    deadline = time.perf_counter() + timeout
    quiet = 0
    while quiet < 2 and time.perf_counter() < deadline:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        quiet = quiet + 1 if cpu_seconds(pid) - before < 0.05 else 0
    if quiet < 2:
        raise SystemExit(f"the app was still busy {timeout:g} s after it started")


def time_toggle(pane: Pane) -> tuple[str, float]:
    """Press Ctrl+F; which way it went and the seconds until the pane showed it."""
    maximised_before = FORM_MARKER not in pane.text()
    direction = "restore" if maximised_before else "maximise"
    started = time.perf_counter()
    pane.send("C-f")
    while time.perf_counter() - started < PRESS_TIMEOUT:
        if (FORM_MARKER not in pane.text()) != maximised_before:
            return direction, time.perf_counter() - started
        time.sleep(POLL_PAUSE)
    return direction, PRESS_TIMEOUT


def press_block(pane: Pane, presses: int) -> list[tuple[str, float]]:
    """`presses` toggles (an even number ends as it began), a random pause between two."""
    times = []
    for _ in range(presses):
        times.append(time_toggle(pane))
        time.sleep(random.uniform(0.25, 0.5))  # not in step with the run's iterations
    if VERBOSE:
        print("  presses (ms):", " ".join(f"{t * 1000:.0f}" for _, t in times), flush=True)
    if FORM_MARKER not in pane.text():  # a press that never answered: back to the form
        pane.send("C-f")
        pane.wait_for(lambda text: FORM_MARKER in text, 10, "the form")
    return times


def progress_index(pane: Pane) -> tuple[int, float]:
    """The run's iteration now and when it was read (the form is showing)."""
    text = pane.wait_for(PROGRESS.search, 10, "the progress line")
    return int(PROGRESS.search(text).group(1)), time.perf_counter()


@dataclass
class Result:
    idle: list[tuple[str, float]] = field(default_factory=list)  # (direction, seconds)
    running: list[tuple[str, float]] = field(default_factory=list)
    quiet: list[tuple[int, float]] = field(default_factory=list)  # (iterations, seconds)
    pressed: list[tuple[int, float]] = field(default_factory=list)  # blocks with presses
    loads: list[float] = field(default_factory=list)  # 1-minute load average, each measurement


def write_settings(folder: Path, size: int) -> dict[str, str]:
    """Fresh config and state folders with the benchmark's form remembered; their env."""
    env = {
        "NST_TUI_CONFIG_DIR": str(folder / "config"),
        "NST_TUI_STATE_DIR": str(folder / "state"),
    }
    os.environ.update(env)  # save_remembered writes to the folder they name
    from nst_engine.cost.bench import demo_config
    from nst_tui.app.remembered import save_remembered

    config = demo_config(folder / "out.png", size, 100_000, "cpu", "random", overwrite=True)
    save_remembered(config, "cells")
    return env


def measure(arguments: argparse.Namespace, extra_env: dict[str, str], result: Result) -> None:
    columns, rows = (int(part) for part in arguments.terminal.split("x"))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = write_settings(folder, arguments.size)
        env |= {"TERM": "xterm-256color", "COLORTERM": "truecolor"} | extra_env
        command = "env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command += " " + arguments.command
        session = f"nst-key-latency-{os.getpid()}-{next(SESSION_NUMBERS)}"
        pane = Pane(session, command, columns, rows, name)
        try:
            pane.wait_for(lambda text: FOOTER_MARKER in text, 30, "the first frame")
            if arguments.boost:
                boost([os.getpid(), pane.server_pid(), pane.pid()], arguments.boost)
            wait_until_idle(pane.pid())
            pane.send("C-r")
            pane.wait_for(
                lambda text: (found := PROGRESS.search(text)) and int(found.group(1)) >= 3,
                120,
                "the run's third iteration",
            )
            block = max(2, arguments.presses // arguments.blocks // 2 * 2)  # even
            for _ in range(arguments.blocks):
                first, start = progress_index(pane)
                result.running += press_block(pane, block)
                last, end = progress_index(pane)
                result.pressed.append((last - first, end - start))
                first, start = last, end
                time.sleep(result.pressed[-1][1])  # a quiet block as long
                last, end = progress_index(pane)
                result.quiet.append((last - first, end - start))
                if VERBOSE:
                    (pressed, pressed_time), (quiet, quiet_time) = (
                        result.pressed[-1],
                        result.quiet[-1],
                    )
                    print(
                        f"  it/s with presses {pressed / pressed_time:.3f}, "
                        f"without {quiet / quiet_time:.3f} (iteration {last})",
                        flush=True,
                    )
            pane.send("Escape")
            pane.wait_for(lambda text: READY_MARKER in text, 60, "the end of the run")
            # Idle with the run's last frame on show, so that a press paints what it
            # painted during the run.
            wait_until_idle(pane.pid())
            result.idle += press_block(pane, arguments.presses)
            pane.send("C-q")
            time.sleep(1)
        finally:
            pane.close()


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, spec = text.partition("=")
    env = dict(part.split("=", 1) for part in spec.split(",") if part)
    return name, env


def median_ms(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:4.0f} ms, max {max(times) * 1000:4.0f}"


def summary(name: str, result: Result, baseline: Result) -> None:
    """What one variant measured; its run rate also against the first variant's."""
    idle = [seconds for _, seconds in result.idle]
    running = [seconds for _, seconds in result.running]
    idle_median = statistics.median(idle)
    print(f"{name} (load average {min(result.loads):.1f} to {max(result.loads):.1f}):")
    print(f"  idle    ({len(idle)} presses): {median_ms(idle)}")
    print(f"  running ({len(running)} presses): {median_ms(running)}")
    print(
        f"  running / idle: median {statistics.median(running) / idle_median:.2f}, "
        f"max {max(running) / idle_median:.2f} (over the idle median)"
    )
    # Maximising and restoring are different work (restoring paints the whole form): each
    # direction against its own idle figure too.
    for direction in ("maximise", "restore"):
        idle_way = [seconds for way, seconds in result.idle if way == direction]
        running_way = [seconds for way, seconds in result.running if way == direction]
        if idle_way and running_way:
            way_median = statistics.median(idle_way)
            print(
                f"    {direction:8s}: idle {median_ms(idle_way)}; running {median_ms(running_way)};"
                f" ratio median {statistics.median(running_way) / way_median:.2f},"
                f" max {max(running_way) / way_median:.2f}"
            )

    def rate(blocks: list[tuple[int, float]]) -> float:
        return sum(count for count, _ in blocks) / sum(seconds for _, seconds in blocks)

    quiet, pressed = rate(result.quiet), rate(result.pressed)
    print(
        f"  run: {quiet:.3f} it/s without presses, {pressed:.3f} it/s with them "
        f"({pressed / quiet:.2f}); without presses {quiet / rate(baseline.quiet):.3f} of "
        "the first variant's"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20, help="per phase (idle, running)")
    parser.add_argument("--blocks", type=int, default=2, help="press blocks during the run")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--terminal", default="120x40", help="COLUMNSxROWS")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--boost",
        type=int,
        default=0,
        help="autogroup nice (-20..19) for the app, tmux and this script on a shared machine",
    )
    parser.add_argument("--verbose", action="store_true", help="print every press's time")
    parser.add_argument("--variant", action="append", default=[], help="NAME=VAR=VALUE,...")
    parser.add_argument(
        "--command", default=shlex.quote(str(Path(sys.executable).with_name("nst-tui")))
    )
    arguments = parser.parse_args()
    variants = [parse_variant(text) for text in arguments.variant] or DEFAULT_VARIANTS
    results = {name: Result() for name, _ in variants}
    for repeat in range(arguments.repeats):
        for name, env in variants:
            results[name].loads.append(os.getloadavg()[0])
            measure(arguments, env, results[name])
            results[name].loads.append(os.getloadavg()[0])
            print(f"repeat {repeat + 1} {name}: done", flush=True)
    print(
        f"Ctrl+F in tmux {arguments.terminal}, run at {arguments.size} px on the CPU "
        f"({os.cpu_count()} cores):"
    )
    for name, _ in variants:
        summary(name, results[name], results[variants[0][0]])
    return 0


if __name__ == "__main__":
    sys.exit(main())

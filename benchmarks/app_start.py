"""What one start of the app costs its interface: CPU from NSTApp() until the form has checked
both images, the main screen's widgets, and the full layouts of the screen on the way.

    python benchmarks/app_start.py [--starts 5] [--repeats 3] [--against REV]

In process, at 120x40, the demo pair, random weights, one torch thread, no run: what every
app test pays before it does anything, and a person at each start. With `--against REV` the
same is measured on another commit of this repository (`git archive`d to a temporary folder),
the two trees alternating, each repeat of each in a process of its own, so that load on the
machine hits both alike; it prints each tree's figures and the ratio. A benchmark: it
measures and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from form_keys import count_layouts, demo_config  # beside this file, as Python runs it

ROOT = Path(__file__).resolve().parent.parent


async def one_start(config, layouts: list[int]) -> tuple[float, int, int]:
    """(CPU seconds, widgets on the main screen, full layouts) of one start, settled."""
    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered

    cpu, before = time.process_time(), layouts[0]
    app = NSTApp(Remembered(config), folder=Path(tempfile.gettempdir()))
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.main.form
        for _ in range(500):  # until both images are checked and the form has checked since
            await pilot.pause(0.02)
            checked = all(
                "checking" not in problem for problem in getattr(app.form_state, "problems", ())
            )
            if checked and not form._check_pending and app.form_state is form.last_check:
                break
        await pilot.pause()
        widgets = len(list(app.main.walk_children()))
        spent, laid_out = time.process_time() - cpu, layouts[0] - before
    return spent, widgets, laid_out


def measure(starts: int, root: Path = ROOT) -> dict[str, float]:
    """In this process: one start to warm up (imports), then `starts` measured ones, on the
    demo pair of `root`'s styles/."""
    import torch

    torch.set_num_threads(1)
    config = demo_config(root)
    from textual.screen import Screen

    layout = Screen._refresh_layout
    layouts = count_layouts()
    try:
        asyncio.run(one_start(config, layouts))
        figures = [asyncio.run(one_start(config, layouts)) for _ in range(starts)]
    finally:
        Screen._refresh_layout = layout
    return {
        "cpu": statistics.median(cpu for cpu, _, _ in figures),
        "widgets": figures[-1][1],
        "layouts": statistics.mean(n for _, _, n in figures),
    }


def in_a_process(tree: Path, starts: int) -> dict[str, float]:
    """`measure` in a fresh process whose nst_tui and nst_engine are `tree`'s."""
    child = subprocess.run(
        [sys.executable, __file__, "--one", "--starts", str(starts)],
        cwd=tree,
        env=dict(os.environ, PYTHONPATH=str(tree)),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def report(name: str, runs: list[dict[str, float]]) -> float:
    cpu = statistics.median(run["cpu"] for run in runs)
    layouts = statistics.mean(run["layouts"] for run in runs)
    each = ", ".join(f"{run['cpu'] * 1000:.0f}" for run in runs)
    print(
        f"{name:>12}: CPU per start {cpu * 1000:6.0f} ms (medians of each repeat: {each}), "
        f"{runs[-1]['widgets']:.0f} widgets on the main screen, {layouts:.1f} full layouts"
    )
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="measured starts per process")
    parser.add_argument("--repeats", type=int, default=3, help="processes per tree")
    parser.add_argument("--against", metavar="REV", help="also measure this commit, alternating")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one:  # a child: this tree's figures as one JSON line
        print(json.dumps(measure(arguments.starts, Path.cwd())))
        return
    if arguments.against is None:
        runs = [measure(arguments.starts) for _ in range(arguments.repeats)]
        report("this tree", runs)
        return
    with tempfile.TemporaryDirectory(prefix="app-start-") as folder:
        other = Path(folder)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", arguments.against],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(other)], input=archive, check=True)
        figures: dict[str, list[dict[str, float]]] = {"this tree": [], arguments.against: []}
        for _ in range(arguments.repeats):
            figures["this tree"].append(in_a_process(ROOT, arguments.starts))
            figures[arguments.against].append(in_a_process(other, arguments.starts))
    this = report("this tree", figures["this tree"])
    that = report(arguments.against, figures[arguments.against])
    print(f"CPU per start, this tree / {arguments.against}: {this / that:.2f}")


if __name__ == "__main__":
    main()

"""The same run in the app and headless: run time, their ratio, and what a preview frame costs.

    python benchmarks/app_vs_headless.py [--size 128] [--iterations 60] [--weights random]
                                         [--optimizer lbfgs] [--repeats 4] [--terminal 120x40]

Headless: iterates `nst_engine.running.transfer.run(config)` directly in the main thread, as
`nst-tui run` does. App: the real `NSTApp`, driven headlessly with Textual's `run_test`, runs
started as Ctrl+R starts them (its worker thread, throttled progress and preview frames,
the interface thread painting them). Each measurement is a fresh process (a process in
which torch has already run in the main thread runs it slower in any other thread: OpenMP
then manages more threads than there are cores and stops spinning), and each process does
one run first to warm up and times the second. The two kinds alternate so that a change in
machine load hits both alike. The time is the engine's own (first iteration to saved file).

Preview frame costs (app processes): building the half-block cells in the worker thread;
on the interface thread, handling the frame message plus rendering the preview's lines to
terminal output, as Textual does when it paints them; and, for comparison, rich-pixels
building the same frames (what the interface would pay if it built the cells itself).

A benchmark: it measures and prints, it does not judge.
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


def make_config(arguments: argparse.Namespace, output: Path):
    from nst_engine.cost.bench import demo_config

    return demo_config(
        output,
        arguments.size,
        arguments.iterations,
        arguments.device,
        arguments.weights,
        arguments.optimizer,
        overwrite=True,
    )


def run_headless(config) -> float:
    from nst_engine.running.events import Finished
    from nst_engine.running.transfer import run

    with run(config) as events:
        for event in events:
            if isinstance(event, Finished):
                return event.seconds
    raise RuntimeError("the run did not finish")


class Timings:
    """What the app's frames cost, collected by wrapping the pieces that do the work."""

    def __init__(self) -> None:
        self.build_ms: list[float] = []
        self.handle_ms: list[float] = []
        self.frame_cells: tuple[int, int] = (0, 0)
        self.finished: list[float] = []  # engine seconds of the app's runs
        self.frames: list = []  # the preview images, to build again with rich-pixels


def instrument(timings: Timings) -> None:
    from rich.console import Console

    from nst_tui.app.screens.main import MainScreen
    from nst_tui.app.widgets.picture.cells import CellBuilder, CellImage

    build = CellBuilder.build

    def timed_build(self, image):
        started = time.perf_counter()
        strips = build(self, image)
        timings.build_ms.append((time.perf_counter() - started) * 1000)
        return strips

    handle = MainScreen.on_run_preview
    console = Console(color_system="truecolor", file=open(os.devnull, "w"), width=400)  # noqa: SIM115

    def timed_handle(self, message):
        started = time.perf_counter()
        handle(self, message)
        cells = self.preview.query_one(CellImage)
        width, height = cells.size
        # What painting costs: the widget's lines, turned into terminal output.
        for y in range(height):
            cells.render_line(y).render(console)
        timings.handle_ms.append((time.perf_counter() - started) * 1000)
        timings.frame_cells = (width, height)
        timings.frames.append(message.image)

    finish = MainScreen.on_run_finished

    def recorded_finish(self, message):
        timings.finished.append(message.seconds)
        finish(self, message)

    MainScreen.on_run_finished = recorded_finish  # type: ignore[method-assign]
    MainScreen.on_run_preview = timed_handle  # type: ignore[method-assign]
    CellBuilder.build = timed_build  # type: ignore[method-assign]


async def runs_in_app(config, size: tuple[int, int], timings: Timings, count: int) -> None:
    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered

    app = NSTApp(Remembered(config), folder=config.inputs.output.parent)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        for _ in range(count):
            done = len(timings.finished)
            if count > 1:
                timings.build_ms.clear()
                timings.handle_ms.clear()
                timings.frames.clear()
            app.start_run(config)
            while app.running:
                # A plain sleep: the pilot's own waiting would add work a real session has not.
                await asyncio.sleep(0.05)
            if len(timings.finished) == done:
                result = app.main.panel.query_one("#run-result").content
                raise RuntimeError(f"the app's run did not finish: {result}")


def replay_ms(frames: list) -> tuple[float, float]:
    """Median ms per frame to build these frames again: (nst-tui's cells, rich-pixels)."""
    from rich.style import Style
    from rich_pixels import Pixels

    from nst_tui.app.widgets.picture.cells import CellBuilder

    builder = CellBuilder()
    ours, theirs = [], []
    for frame in frames:
        started = time.perf_counter()
        builder.build(frame)
        ours.append((time.perf_counter() - started) * 1000)
    Style.parse.cache_clear()  # rich-pixels parses a style string per cell, through this cache
    for frame in frames:
        started = time.perf_counter()
        Pixels.from_image(frame)
        theirs.append((time.perf_counter() - started) * 1000)
    return statistics.median(ours), statistics.median(theirs)


def child(arguments: argparse.Namespace) -> dict:
    """One measurement, in this (fresh) process: warm up, then time one run."""
    with tempfile.TemporaryDirectory(prefix="nst-bench-") as name:
        return measure_here(arguments, Path(name))


def measure_here(arguments: argparse.Namespace, folder: Path) -> dict:
    os.environ.setdefault("NST_TUI_CONFIG_DIR", str(folder / "config"))
    os.environ.setdefault("NST_TUI_STATE_DIR", str(folder / "state"))
    config = make_config(arguments, folder / "result.png")
    if arguments.child == "headless":
        run_headless(config)
        return {"seconds": run_headless(config)}
    timings = Timings()
    instrument(timings)
    terminal = tuple(int(part) for part in arguments.terminal.split("x"))
    asyncio.run(runs_in_app(config, terminal, timings, count=2))
    ours, theirs = replay_ms(timings.frames) if timings.frames else (0.0, 0.0)
    return {
        "seconds": timings.finished[-1],
        "frames": len(timings.handle_ms),
        "cells": timings.frame_cells,
        "build_ms": statistics.median(timings.build_ms) if timings.build_ms else 0.0,
        "ui_ms": statistics.median(timings.handle_ms) if timings.handle_ms else 0.0,
        "replay_ours_ms": ours,
        "replay_rich_pixels_ms": theirs,
    }


def measure(kind: str, arguments: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", kind, *arguments.passed]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"the {kind} measurement failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="compute size (longest side)")
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--weights", default="random")
    parser.add_argument("--optimizer", default="lbfgs")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=4, help="measurements of each kind")
    parser.add_argument("--terminal", default="120x40", help="the app's terminal COLUMNSxROWS")
    parser.add_argument("--child", choices=("headless", "app"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(child(arguments)))
        return 0
    arguments.passed = [argument for argument in sys.argv[1:] if argument != "--child"]

    print(
        f"config: {arguments.size} px, {arguments.iterations} iterations, {arguments.optimizer}, "
        f"weights {arguments.weights}, {arguments.device}; app terminal {arguments.terminal}"
    )
    headless: list[float] = []
    in_app: list[dict] = []
    for repeat in range(arguments.repeats):
        order = ("headless", "app") if repeat % 2 == 0 else ("app", "headless")
        for kind in order:
            result = measure(kind, arguments)
            (headless.append(result["seconds"]) if kind == "headless" else in_app.append(result))
        print(
            f"  repeat {repeat + 1}: headless {headless[-1]:.2f} s, app {in_app[-1]['seconds']:.2f} s"
        )
    headless_median = statistics.median(headless)
    app_median = statistics.median(result["seconds"] for result in in_app)
    rate = arguments.iterations
    print(f"headless: median {headless_median:.2f} s ({rate / headless_median:.2f} it/s)")
    print(f"app:      median {app_median:.2f} s ({rate / app_median:.2f} it/s)")
    print(f"app / headless: {app_median / headless_median:.3f}")
    last = in_app[-1]
    columns, rows = last["cells"]
    median = lambda key: statistics.median(result[key] for result in in_app)  # noqa: E731
    print(f"preview: {median('frames'):.0f} frames per run, {columns}x{rows} cells")
    print(f"  building the cells (worker thread): median {median('build_ms'):.2f} ms per frame")
    print(
        f"  interface thread (handle the frame + render its lines): median "
        f"{median('ui_ms'):.2f} ms per frame"
    )
    print(
        f"  the same frames built again: nst-tui cells {median('replay_ours_ms'):.2f} ms, "
        f"rich-pixels {median('replay_rich_pixels_ms'):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

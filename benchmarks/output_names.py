"""What proposing an output name costs with a big runs folder (issue 18).

Every run that has not finished owns its output name, so the form (at each change of the
content or style), `nst-tui run` without `-o` and the history's "run again" ask the runs folder
which names are owned. Reading every run.json for that would grow with the history; the runs
folder's index (nst_engine/store/output_index.py) holds only the unfinished runs' names.

Makes FOLDERS run folders (one in ten stopped, the rest finished) in a temporary runs folder,
with the project's own RunFolder, then prints the median milliseconds of:

    index        indexing a runs folder made before the index existed (once, ever)
    first        the first proposal in a process (the index's files read)
    proposal     a later proposal (the index folder unchanged: one stat)
    full scan    reading every run.json (list_runs, what the history does), for comparison

    python benchmarks/output_names.py [--folders 2000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from nst_engine.running.outputs import default_output_path
from nst_engine.settings.config import RunConfig
from nst_engine.store import output_index
from nst_engine.store.runs import FINISHED, STOPPED, RunFolder, list_runs


def make_runs(root: Path, count: int) -> None:
    config = RunConfig.from_flat(content=Path("rocket.jpg"), style=Path("swirl.jpg"))
    for number in range(count):
        folder = RunFolder.create(config.replace(output=root.parent / f"out-{number}.png"), root)
        folder.update(status=STOPPED if number % 10 == 0 else FINISHED, iterations_done=30)


def milliseconds(action, repeats: int, before=lambda: None) -> float:
    times = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def forget_index(root: Path) -> None:
    shutil.rmtree(root / output_index.INDEX, ignore_errors=True)
    output_index._read.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nst-names-") as scratch:
        root = Path(scratch) / "runs"
        started = time.perf_counter()
        make_runs(root, options.folders)
        print(f"{options.folders} run folders made in {time.perf_counter() - started:.1f} s")

        def propose() -> Path:
            return default_output_path(Path("rocket.jpg"), Path("swirl.jpg"), root.parent, root)

        figures = {
            "index": milliseconds(
                lambda: output_index.owned_outputs(root),
                max(options.repeats // 4, 3),
                lambda: forget_index(root),
            ),
            "first": milliseconds(propose, options.repeats, output_index._read.clear),
            "proposal": milliseconds(propose, options.repeats),
            "full scan": milliseconds(lambda: list_runs(root), max(options.repeats // 4, 3)),
        }
        owned = len(output_index.owned_outputs(root))
        print(f"{owned} names owned; proposed: {propose().name}")
        for name, value in figures.items():
            print(f"{name:>10}: {value:8.2f} ms (median)")


if __name__ == "__main__":
    main()

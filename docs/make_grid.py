"""Make docs/grid.jpg, the README's comparison grid, with `nst-tui sweep` on gallery images.

    python docs/make_grid.py [--size 128] [--iterations 100] [--cell-size 160]

It runs, in a temporary runs folder (your history is left alone), exactly

    nst-tui sweep astronaut mosaic --vary style-weight=3,10,30 --vary style-scale=0.5,1,2 \\
        --size 128 --iterations 100 --weights oxford --seed 0 --cell-size 160 -o grid.png

and saves the grid as docs/grid.jpg. Both images are in the gallery (styles/gallery.toml
credits them). Nine runs of 100 L-BFGS iterations at 128 px: 9.7 minutes on one CPU thread
of a shared two-core machine (52 to 87 s a cell, with OMP_NUM_THREADS=1).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).parent


def sweep_arguments(size: int, iterations: int, cell_size: int, grid: Path) -> list[str]:
    return [
        "astronaut",
        "mosaic",
        "--vary",
        "style-weight=3,10,30",
        "--vary",
        "style-scale=0.5,1,2",
        "--size",
        str(size),
        "--iterations",
        str(iterations),
        "--weights",
        "oxford",
        "--seed",
        "0",
        "--cell-size",
        str(cell_size),
        "-o",
        str(grid),
    ]


def run_sweep(arguments: list[str]) -> int:
    """`nst-tui sweep ARGUMENTS`, in this process, through the command's own parser."""
    from nst_tui.cli.command import OneLineParser, report_error
    from nst_tui.cli.sweep_command import add_sweep_arguments, run_sweep_command

    parser = OneLineParser(prog="nst-tui sweep")
    add_sweep_arguments(parser)
    try:
        return run_sweep_command(parser.parse_args(arguments))
    except Exception as error:  # an NSTError: its one line, as the command prints it
        from nst_engine.errors import NSTError

        if isinstance(error, NSTError):
            return report_error(error)
        raise


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--size", type=int, default=128)
    options.add_argument("--iterations", type=int, default=100)
    options.add_argument("--cell-size", type=int, default=160)
    options.add_argument("--output", type=Path, default=HERE / "grid.jpg")
    settings = options.parse_args()
    with tempfile.TemporaryDirectory(prefix="nst-grid-") as work:
        os.environ["NST_TUI_RUNS_DIR"] = str(Path(work) / "runs")
        grid = Path(work) / "grid.png"
        arguments = sweep_arguments(settings.size, settings.iterations, settings.cell_size, grid)
        print("nst-tui sweep " + " ".join(arguments[:-1]) + " grid.png", flush=True)
        started = time.perf_counter()
        status = run_sweep(arguments)
        if status != 0:
            return status
        from nst_engine.running.outputs import output_format
        from nst_engine.store.safe_files import write_atomically

        with Image.open(grid) as image:
            picture = image.convert("RGB")
        kind = output_format(settings.output)
        write_atomically(settings.output, lambda stream: picture.save(stream, kind, quality=88))
    seconds = time.perf_counter() - started
    print(f"wrote {settings.output} in {seconds / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ctrl+C, SIGTERM and SIGHUP stop `nst-tui run` cleanly: the image so far is kept beside the
output, stderr says where, the output itself is not written, the exit status is 128+signal."""

from __future__ import annotations

import signal

import pytest
from cli_run import signal_when
from PIL import Image


@pytest.mark.slow  # a real process (imports torch): the signal and the exit status are its own
@pytest.mark.parametrize(
    ("stop_signal", "status", "reason"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGHUP, 129, "connection lost"),
    ],
)
def test_a_stop_signal_keeps_the_image_so_far(work, stop_signal, status, reason):
    # --snapshot-every 1: a line on stderr per iteration, the sign that progress has started.
    result = signal_when(
        [
            "run",
            "--demo",
            "-o",
            "out.png",
            "--size",
            "64",
            "--iterations",
            "2000",
            "--weights",
            "random",
            "--snapshot-every",
            "1",
            # Only the first layers: the network is built that deep, a third of a second less
            # per process (the stop is the point, not the picture).
            "--style-layers",
            "relu1_1=1",
            "--content-layers",
            "relu1_1=1",
        ],
        work,
        "snapshot at iteration 2:",
        stop_signal,
    )
    stdout, stderr = result.stdout, result.stderr

    assert result.returncode == status, stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    partials = sorted(work.glob("out.partial-*-of-2000.png"))
    assert len(partials) == 1, sorted(p.name for p in work.iterdir())
    partial = partials[0]
    index = int(partial.name.split("-")[1])
    assert index >= 2
    # -o was relative, so is the partial's path: where the user can find it from here.
    said = f"stopped ({reason}) after {index} iterations; the image so far is in {partial.name}\n"
    assert said in stderr
    with Image.open(partial) as image:
        image.load()
        assert image.size == (64, 43)
    assert not (work / "out.png").exists()

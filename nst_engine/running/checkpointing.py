"""Whether a checkpoint carries L-BFGS's history: what keeps big runs from stalling on it.

The history is 2 x (history_size + 1) image-sized vectors: 635 MB at 512 px, 10 GB at
2048 px, 15 GB at print size (history 100). Copying it to the host and writing it took
seconds each time, a pause of the whole run (and Ray ships every checkpoint whole). So:

- periodic checkpoints (a crashed run's only way back) leave it out when it is larger than
  PERIODIC_HISTORY_BYTES; the resumed run starts L-BFGS with an empty history, which it
  rebuilds over its next iterations (one pair per iteration), from the same image,
  optimiser counters and step scale: the result differs from an unstopped run's in the last
  bits, not in kind;
- the checkpoint written when a run is stopped keeps it wherever it fits on the disk and in
  the host's memory, so that a stopped run resumes to the same pixels as one never stopped.

`benchmarks/checkpoint_pause.py` measures the pause at 1024 px (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Above this, periodic checkpoints leave the history out: about a tenth of a second to copy
# and write at 1 GB/s, and a 512 px run's history (635 MB) is well above it.
PERIODIC_HISTORY_BYTES = 64 * 2**20


def keep_history(history_bytes: int, at_stop: bool, folder: Path) -> bool:
    """Whether a checkpoint written now holds L-BFGS's history of `history_bytes`."""
    if history_bytes <= PERIODIC_HISTORY_BYTES:
        return True
    return at_stop and history_bytes <= room_for_history(folder)


def room_for_history(folder: Path) -> int:
    """Bytes a stop's checkpoint may spend on the history: half of what is free on the
    folder's disk and in the host's memory (the history is copied there before writing)."""
    try:
        disk = shutil.disk_usage(folder).free
    except OSError:
        return 0
    return min(disk, _available_memory()) // 2


def _available_memory() -> int:
    """The host memory available now (Linux's MemAvailable), or the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0

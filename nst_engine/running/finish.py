"""How a run ends: its result saved and recorded, or what a stopped or failed run keeps and says.

No result is lost: a finished run's image goes to the output (or the rescue folder,
nst_engine/running/saving.py); a stopped run keeps its best image so far beside it; a
diverged run keeps the last image that passed the check; each message says where.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path

from nst_engine.cost.devices import out_of_memory_advice
from nst_engine.cost.estimate import (
    FLOAT_BYTES,
    format_bytes,
    history_vectors,
    memory_bytes,
    workload_from_sizes,
)
from nst_engine.cost.rates import record_finished
from nst_engine.errors import NumericalError
from nst_engine.running.events import Finished, Started
from nst_engine.running.ledger import Ledger
from nst_engine.running.scale import Scale, diverged
from nst_engine.settings.config import RunConfig

log = logging.getLogger("nst.engine")


def finish(scale: Scale, ledger: Ledger, started: Started) -> Finished:
    """Save the last scale's image as the result and record it; NumericalError if the last
    losses are not finite (no result is made of a diverged run)."""
    config, total = ledger.config, ledger.total
    final_losses = {name: float(value) for name, value in ledger.losses.items()}
    if not math.isfinite(final_losses["total"]):
        raise diverged(total, config)
    assert ledger.saver is not None
    path, notes = ledger.saver.final(scale.shown())
    finished = Finished(path, ledger.elapsed(), total, final_losses, notes)
    log.info("%s (%.2f it/s)", finished, total / max(finished.seconds, 1e-9))
    if not ledger.resumed_from:
        record_finished(config, started, finished)  # for the next runs' estimates
    if ledger.recorder is not None:
        ledger.recorder.finished(path, finished.seconds, total)
        # What the run folder could not take, said once (the result is whole).
        finished = replace(finished, notes=finished.notes + ledger.recorder.notes())
    return finished


def save_best(scale: Scale | None, ledger: Ledger) -> tuple[int, Path | None]:
    """Save the best image of a stopped run; its iteration and path (None: nothing made)."""
    if scale is None or ledger.saver is None:
        return 0, None
    kept, kept_index = scale.best(ledger.completed)
    return kept_index, ledger.saver.partial(scale.present(kept), kept_index)


def save_last_good(
    error: NumericalError, scale: Scale | None, ledger: Ledger
) -> tuple[NumericalError, Path | None]:
    """A diverged run's last good image saved; the error saying where, and the path."""
    if scale is None or ledger.saver is None:
        return error, None
    good = scale.last_good
    partial = ledger.saver.partial(scale.present(good.image), good.index)
    where = f"; the last good image (iteration {good.index}) is in {partial}" if partial else ""
    return NumericalError(error.message + where), partial


def out_of_memory_message(
    config: RunConfig, compute: tuple[int, int], style: tuple[int, int]
) -> str:
    """The advice, with what this scale needed and how much of it is L-BFGS's history."""
    work = workload_from_sizes(config, compute, style)
    needed = memory_bytes(work)
    history = history_vectors(work) * 3 * work.pixels * FLOAT_BYTES
    needs = f"it needs about {format_bytes(needed)}"
    if history:
        needs += f", {format_bytes(history)} of it L-BFGS's history"
    return out_of_memory_advice(compute, needs, history_first=history > needed / 3)

"""The run loop: prepare, optimise scale by scale, finish; reported as events.

    with run(config, folder) as events:
        for event in events:
            ...              # events.cancel() stops it, saving the partial image

No threads and no callbacks: the caller pulls events. Closing the run (or cancelling it)
stops it at the next event boundary, within one iteration, and saves what was made.

With a run folder (nst_engine/store/run_folder.py) the run records itself there
(nst_engine/store/recorder.py): status, loss history, log, snapshots, result, and a checkpoint
every `checkpoint_every` iterations and when it stops. A folder that holds a checkpoint is
resumed from it: the same
targets are built again from the images, the image, the optimiser's state, the moving average
and the scale come from the checkpoint, and the run goes on from the next iteration. On the
CPU a resumed run ends with the same pixels as one never stopped (tests/engine/test_runs.py).

The parts, in the order a run meets them: nst_engine/running/prepare.py (images, sizes, the
network, what the run says first), scale.py (one scale's targets, image and iterations),
ledger.py (the count, the clock, and what is saved and recorded as the run goes: snapshots,
checkpoints), finish.py (the result, or what a stopped or failed run keeps and says). This
module runs them in order and records each outcome: finished, stopped, failed.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from nst_engine.cost.devices import (
    device_scope,
    make_reproducible,
    release_memory,
    resolve_device,
)
from nst_engine.errors import DeviceError, InternalError, NSTError, NumericalError
from nst_engine.method.losses import Network
from nst_engine.method.weights import Weights, load_weights
from nst_engine.optimise.stepper import Stepper, Switches, resolve_switches
from nst_engine.running import checkpointing
from nst_engine.running.checkpointing import Checkpoint, read_checkpoint
from nst_engine.running.events import Cancelled, Event, Finished, Snapshot, Started, Status, Step
from nst_engine.running.finish import finish, out_of_memory_message, save_best, save_last_good
from nst_engine.running.ledger import Ledger
from nst_engine.running.prepare import (
    Inputs,
    build_network,
    check_ready,
    image_header,
    read_inputs,
    started_event,
)
from nst_engine.running.saving import Saver
from nst_engine.running.scale import CHECK_EVERY, Scale, diverged, prepare_scale
from nst_engine.settings.config import RunConfig
from nst_engine.store.recorder import Recorder
from nst_engine.store.runs import QUEUED, RunFolder, RunRecord

if TYPE_CHECKING:
    from nst_engine.video.temporal import FrameGuide

__all__ = ["Run", "check_ready", "run"]

log = logging.getLogger("nst.engine")


class Run:
    """The events of one run; iterate it, `cancel()` it, or use it as a context manager.
    `checkpoint_seconds`: the least time between two periodic checkpoints. `guide`: a frame
    of a sequence's start and temporal loss (nst_engine/video/temporal.py)."""

    def __init__(
        self,
        config: RunConfig,
        folder: RunFolder | None = None,
        *,
        checkpoint_seconds: float = checkpointing.CHECKPOINT_SECONDS,
        guide: FrameGuide | None = None,
    ) -> None:
        self.config = config
        self.guide = guide
        self.folder = folder
        self._recorder = Recorder(folder, config) if folder is not None else None
        self._ledger = Ledger(config, self._recorder, checkpoint_seconds)
        self.cancelled: Cancelled | None = None
        self._finished = False  # set once Finished is out: closing then cancels nothing
        self._failed = False  # set when the run raised
        self._scale: Scale | None = None  # the scale running now, or the last one prepared
        # (compute, style) sizes of the scale being prepared or run: what running out of
        # memory there needed.
        self._scale_sizes: tuple[tuple[int, int], tuple[int, int]] | None = None
        self._partial: Path | None = None  # where a failed run's image went
        self._before: RunRecord | None = None  # the folder's record before this run began
        self._device = torch.device("cpu")  # the run's, once resolved
        self._events = self._generate()

    def __iter__(self) -> Run:
        return self

    @property
    def graphing(self) -> bool:
        """Whether the iterations now go through a CUDA graph (for benchmarks and checks)."""
        return self._stepper is not None and self._stepper.graphing

    @property
    def _stepper(self) -> Stepper | None:
        """The Stepper of the scale running now (None between scales and once it ended)."""
        return self._scale.stepper if self._scale is not None else None

    def __next__(self) -> Event:
        with self._on_device():
            return next(self._events)

    def _on_device(self):
        """The run's CUDA device current while its code runs (devices.device_scope): the
        generator runs only inside next() and close(), on whichever thread calls them."""
        return device_scope(self._device)

    def cancel(self) -> Cancelled | None:
        """Stop now; the image so far is saved beside the output. None if it had ended."""
        with self._on_device():
            self._events.close()
        if self.cancelled is None and not self._finished and not self._failed:
            self.cancelled = Cancelled(0, None)  # never started: nothing was made
        return self.cancelled

    def close(self) -> None:
        with self._on_device():
            self._events.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- outcomes -----------------------------------------------------------------------------

    def _generate(self) -> Iterator[Event]:
        """The events, with each outcome written to the log (and the run folder)."""
        recorder, ledger = self._recorder, self._ledger
        if recorder is not None:
            recorder.begin()  # its lock: refused here if another process runs this run
            self._before = recorder.stored()
        log.info("run requested:\n%s", self.config.to_toml())
        try:
            yield from self._events_of_run()
        except NSTError as error:
            self._failed = True
            log.warning("run failed: %s", error.message)
            if recorder is not None and not self._restore_record():
                recorder.failed(error.message, ledger.completed, ledger.elapsed(), self._partial)
            raise
        except (GeneratorExit, KeyboardInterrupt):
            if self.cancelled is None and not self._finished:
                # Stopped while preparing, before any iteration: nothing to keep.
                self.cancelled = Cancelled(0, None)
            log.info("run stopped: %s", self.cancelled)
            if recorder is not None and not self._finished and not self._restore_record():
                cancelled = self.cancelled or Cancelled(0, None)
                recorder.stopped(
                    max(cancelled.index, ledger.completed), cancelled.partial_path, ledger.elapsed()
                )
            raise
        except Exception as error:
            self._failed = True
            log.exception("run failed with an internal error")
            if recorder is not None and not self._restore_record():
                recorder.failed(
                    InternalError.of(error).message,
                    ledger.completed,
                    ledger.elapsed(),
                    self._partial,
                )
            raise
        finally:
            if recorder is not None:
                recorder.end()

    def _restore_record(self) -> bool:
        """A resume that ends before its first iteration (it failed, or was stopped) leaves the
        run's record as it was: stopped, with its iterations and partial image. Whether it did."""
        before = self._before
        if before is None or self._ledger.completed > self._ledger.resumed_from:
            return False
        if before.status == QUEUED and not before.iterations_done:
            return False  # a run never started: its failure is the news
        assert self._recorder is not None
        self._recorder.restore(before)
        return True

    # --- the run ------------------------------------------------------------------------------

    def _events_of_run(self) -> Iterator[Event]:
        """Prepare (each step may refuse the run in one line), then optimise."""
        config = self.config
        check_ready(config)
        # Current from the next event on.
        self._device = device = resolve_device(config.machine.device)
        make_reproducible(device)
        inputs = read_inputs(config)
        switches = resolve_switches(config, device, max(inputs.sizes.compute))
        resume = None
        if self.folder is not None:
            resume = read_checkpoint(self.folder, config, inputs.total, inputs.scales)
        self._ledger.plan(inputs.plan, resume)

        yield Status("loading VGG19 weights")
        weights = load_weights(config.look.weights, config.plan.seed)
        yield Status(f"preparing the network on {device}")
        network = self._network(weights, switches, inputs)
        started = started_event(config, inputs, weights, device, resume)
        log.info("%s; %s", started, switches.describe())
        yield started

        header = image_header(weights, device, switches)
        self._ledger.start(Saver(config, header, inputs.sizes.output, inputs.total), resume)
        finished = yield from self._optimise(inputs, network, switches, resume, started)
        # Outside _optimise's try: a caller that closes the run after Finished cancels nothing.
        self._finished = True
        yield finished

    def _network(self, weights: Weights, switches: Switches, inputs: Inputs) -> Network:
        try:
            return build_network(self.config, weights, switches, self._device)
        except torch.cuda.OutOfMemoryError:
            release_memory(self._device)
            sizes = inputs.sizes
            raise DeviceError(
                out_of_memory_message(self.config, sizes.compute, sizes.style)
            ) from None

    def _optimise(
        self,
        inputs: Inputs,
        network: Network,
        switches: Switches,
        resume: Checkpoint | None,
        started: Started,
    ) -> Generator[Event, None, Finished]:
        """Each scale's iterations (from the checkpoint's, when resumed), then the result;
        what a stopped or failed run made is kept."""
        ledger = self._ledger
        try:
            first = resume.scale if resume is not None else 1  # those before it were done
            for number in range(first, inputs.scales + 1):
                restored = resume if number == first else None
                yield from self._one_scale(number, inputs, network, switches, restored)
            assert self._scale is not None
            return finish(self._scale, ledger, started)
        except GeneratorExit:
            # Closed by the caller (between two iterations): keep what was made, say where,
            # and how to go on.
            self.cancelled = Cancelled(*save_best(self._scale, ledger))
            ledger.checkpoint(self._scale, at_stop=True)
            raise
        except NumericalError as error:
            failure, self._partial = save_last_good(error, self._scale, ledger)
            raise failure from None
        except torch.cuda.OutOfMemoryError as error:
            # The image is intact: the step that ran out of memory had not changed it. The
            # Stepper (optimiser state, L-BFGS's history, a graph's pool) is let go first,
            # with the failed step's frames that hold it, so that release_memory frees it.
            traceback.clear_frames(error.__traceback__)
            if self._scale is not None:
                self._scale.release_stepper()
            _, self._partial = save_best(self._scale, ledger)
            release_memory(self._device)
            where = f"; the image so far is in {self._partial}" if self._partial else ""
            compute, style = self._scale_sizes or (inputs.sizes.compute, inputs.sizes.style)
            raise DeviceError(out_of_memory_message(self.config, compute, style) + where) from None
        except KeyboardInterrupt:
            self.cancelled = Cancelled(*save_best(self._scale, ledger))
            raise

    def _one_scale(
        self,
        number: int,
        inputs: Inputs,
        network: Network,
        switches: Switches,
        resume: Checkpoint | None,
    ) -> Iterator[Event]:
        """Scale `number` prepared (and put back as `resume`, made at it, left it), iterated,
        and its optimiser let go before the next scale is built."""
        self._scale_sizes = inputs.sizes.scales[number - 1]
        scale = prepare_scale(
            self.config,
            network,
            inputs,
            number,
            switches,
            self._scale,
            self._ledger.completed,
            resume,
            self.guide,
        )
        self._scale = scale
        if resume is not None:
            scale.restore(resume)
            self._ledger.resume(resume, scale.image.device)
        yield from iterate(scale, self._ledger)
        scale.release_stepper()


def run(
    config: RunConfig,
    folder: RunFolder | None = None,
    *,
    checkpoint_seconds: float = checkpointing.CHECKPOINT_SECONDS,
    guide: FrameGuide | None = None,
) -> Run:
    """Start a run (nothing happens until the first event is pulled); with `folder`, recorded
    there, and resumed from the folder's checkpoint if it has one. `checkpoint_seconds`: the
    least time between two periodic checkpoints (each `checkpoint_every` iterations).
    `guide`: a frame of a sequence's start and temporal loss."""
    return Run(config, folder, checkpoint_seconds=checkpoint_seconds, guide=guide)


def iterate(scale: Scale, ledger: Ledger) -> Iterator[Event]:
    """The scale's iterations from where it stands, as events: each one counted and recorded,
    checked every CHECK_EVERY, and followed by the snapshot and checkpoint that fall due.
    NumericalError when the loss became NaN or infinite."""
    config = ledger.config
    for local in range(scale.local + 1, scale.iterations + 1):
        losses = scale.step()
        index = ledger.count(scale.number, losses)
        if local % CHECK_EVERY == 0 or local == scale.iterations:
            failed = scale.last_good.offer(scale.image, losses["total"], index)
            if failed is not None:
                raise diverged(failed, config)
        yield Step(index, ledger.total, losses, scale.shown, scale.number, ledger.scales)
        if ledger.snapshot_due(index):
            path = ledger.snapshot(scale, index)
            if path is not None:  # None: the run folder could not take it
                yield Snapshot(index, path)
        if ledger.checkpoint_due(index):
            ledger.checkpoint(scale)
    # The scale's last image was offered: it must be good before the next builds on it.
    failed = scale.last_good.settle()
    if failed is not None:
        raise diverged(failed, config)

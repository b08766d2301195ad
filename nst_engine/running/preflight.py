"""What a run would refuse, checked without torch.

The output path, every image the run reads (decoded with Pillow by the run's own loader, so
a damaged file is caught too), the sizes the network can take at every scale, and a weights
file that is not there. The command line calls this before it imports torch (seconds, tens
of seconds on a busy machine) and before it makes a run folder, so a mistake is one line at
once and leaves no failed run in the history. What needs torch (the device, the weights'
contents, the memory) the run still checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from nst_engine.errors import ConfigError
from nst_engine.running.outputs import check_output_path
from nst_engine.settings.config import CONTENT_INITS, WEIGHT_SOURCES, RunConfig
from nst_engine.settings.sizes import check_fits_network, resolve_sizes
from nst_engine.settings.values import check_weights_path

ImageSizes = dict[Path, tuple[int, int]]  # (width, height) of each image read, by path


def check_startable(config: RunConfig) -> None:
    """Raise the NSTError the run would raise before its first iteration, where torch is not
    needed to know it, in the order the run meets them."""
    if config.inputs.output is None:
        raise ConfigError("no output path given")
    check_output_path(config.inputs.output, config.inputs.overwrite)
    sizes: ImageSizes = {}
    read_images(config, sizes)
    check_masks(config, sizes)
    check_sizes(config, sizes)
    check_weights_file(config.look.weights)


def read_images(config: RunConfig, sizes: ImageSizes) -> None:
    """Load each image of `config` not in `sizes` as the run loads it (with the names its
    errors give them) and put its size there: a sweep's cells read each image once."""
    from nst_engine.running.images import (
        load_image,  # numpy and Pillow: only when a run is asked for
    )

    if config.inputs.content is None or config.inputs.style is None:
        raise ConfigError(
            f"no {'content' if config.inputs.content is None else 'style'} image given"
        )
    images = [(config.inputs.content, "content image")]
    several = len(config.styles) > 1
    for number, path in enumerate(config.styles, start=1):
        images.append((path, f"style image {number}" if several else "style image"))
    if config.look.init not in CONTENT_INITS and config.look.init != "style":
        images.append((Path(config.look.init), "init image"))
    for path, role in images:
        if path not in sizes:
            sizes[path] = load_image(path, role, config.machine.max_input_pixels).image.size


def check_masks(config: RunConfig, sizes: ImageSizes) -> None:
    """The style masks, read and checked against the content's shape as the run does."""
    from nst_engine.running.masks import load_masks

    assert config.inputs.content is not None
    load_masks(
        config.inputs.style_masks, sizes[config.inputs.content], config.machine.max_input_pixels
    )


def check_sizes(config: RunConfig, sizes: ImageSizes) -> None:
    """The compute, style and coarse-to-fine sizes that images of `sizes` make, against the
    network's deepest chosen layer."""
    assert config.inputs.content is not None
    style_sizes = [sizes[path] for path in config.styles]
    run_sizes = resolve_sizes(config, sizes[config.inputs.content], style_sizes[0])
    check_fits_network(config, run_sizes, style_sizes)


def check_weights_file(source: str) -> None:
    """A `weights` setting that names a file: the file must be there (what is in it, torch
    reads)."""
    source = source.strip() or "auto"
    if source == "auto":
        source = os.environ.get("NST_TUI_WEIGHTS") or "auto"
    if source in WEIGHT_SOURCES:
        return
    check_weights_path(Path(source).expanduser())

"""The three sizes of a run and the network's minimum, checked without torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_engine.config import RunConfig
from nst_engine.errors import InputImageError
from nst_engine.sizes import check_fits_network, resolve_sizes


def test_compute_size_keeps_the_aspect_ratio_and_style_takes_its_longest_side():
    sizes = resolve_sizes(RunConfig(size=512), (640, 427), (1000, 500))
    assert sizes.compute == (512, 342)
    assert sizes.style == (512, 256)
    assert sizes.output == (512, 342)


def test_exact_sizes_and_a_separate_output_size():
    config = RunConfig(size="224x224", output_size=448, style_size="300x200")
    sizes = resolve_sizes(config, (640, 427), (1000, 500))
    assert sizes.compute == (224, 224)
    assert sizes.output == (448, 448)
    assert sizes.style == (300, 200)


def test_an_elongated_image_that_the_deepest_layer_cannot_take_is_refused_with_its_size():
    config = RunConfig(content=Path("strip.png"), style=Path("s.png"), size=256)
    sizes = resolve_sizes(config, (4000, 20), (512, 512))
    with pytest.raises(InputImageError) as caught:
        check_fits_network(config, sizes)
    assert caught.value.setting == "size"
    assert caught.value.message == (
        "content image 'strip.png' becomes 256x1 at this compute size, but layer relu5_1 needs "
        "at least 16x16; use a larger compute size or a less elongated image"
    )


def test_shallow_layers_accept_small_images():
    config = RunConfig(
        size=24, content_layers={"relu2_1": 1}, style_layers={"relu1_1": 1, "relu2_1": 1}
    )
    check_fits_network(config, resolve_sizes(config, (100, 50), (64, 64)))  # needs only 2x2

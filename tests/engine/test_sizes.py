"""The three sizes of a run and the network's minimum, checked without torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_engine.errors import InputImageError
from nst_engine.settings.config import RunConfig
from nst_engine.settings.sizes import (
    check_fits_network,
    resolve_sizes,
    scale_iterations,
    scale_sides,
)


def test_compute_size_keeps_the_aspect_ratio_and_style_takes_its_longest_side():
    sizes = resolve_sizes(RunConfig.from_flat(size=512), (640, 427), (1000, 500))
    assert sizes.compute == (512, 342)
    assert sizes.style == (512, 256)
    assert sizes.output == (512, 342)


def test_exact_sizes_and_a_separate_output_size():
    config = RunConfig.from_flat(size="224x224", output_size=448, style_size="300x200")
    sizes = resolve_sizes(config, (640, 427), (1000, 500))
    assert sizes.compute == (224, 224)
    assert sizes.output == (448, 448)
    assert sizes.style == (300, 200)


def test_an_elongated_image_that_the_deepest_layer_cannot_take_is_refused_with_its_size():
    config = RunConfig.from_flat(content=Path("strip.png"), style=Path("s.png"), size=256)
    sizes = resolve_sizes(config, (4000, 20), (512, 512))
    with pytest.raises(InputImageError) as caught:
        check_fits_network(config, sizes)
    assert caught.value.setting == "size"
    assert caught.value.message == (
        "content image 'strip.png' becomes 256x1 at this compute size, but layer relu5_1 needs "
        "at least 16x16; use a larger compute size or a less elongated image"
    )


def test_shallow_layers_accept_small_images():
    config = RunConfig.from_flat(
        size=24, content_layers={"relu2_1": 1}, style_layers={"relu1_1": 1, "relu2_1": 1}
    )
    check_fits_network(config, resolve_sizes(config, (100, 50), (64, 64)))  # needs only 2x2


# --- coarse to fine ---------------------------------------------------------------------------


def test_scale_sides_start_at_the_minimum_and_grow_by_the_square_root_of_two():
    assert scale_sides(128, 512) == [128, 181, 256, 362, 512]
    assert scale_sides(256, 2048) == [256, 362, 512, 724, 1024, 1448, 2048]


def test_the_last_scale_is_the_final_size_even_when_the_steps_miss_it():
    assert scale_sides(200, 512) == [200, 283, 400, 512]


def test_a_scale_almost_the_final_size_is_left_out():
    # 181 -> 192 would spend a scale's iterations at nearly the final cost for nothing:
    # the last step is then 128 -> 192 (1.5, under two steps of sqrt(2)).
    assert scale_sides(64, 192) == [64, 91, 128, 192]
    assert scale_sides(181, 192) == [181, 192]  # the first scale is the one asked for


def test_coarse_to_fine_is_off_at_zero_and_when_the_minimum_is_not_below_the_size():
    assert scale_sides(0, 512) == [512]
    assert scale_sides(512, 512) == [512]
    assert scale_sides(1000, 512) == [512]


def test_off_there_is_one_scale_the_compute_and_style_sizes():
    sizes = resolve_sizes(RunConfig.from_flat(size=512), (640, 427), (1000, 500))
    assert sizes.scales == (((512, 342), (512, 256)),)


def test_each_scale_shrinks_compute_and_style_together_keeping_their_shapes():
    config = RunConfig.from_flat(size=512, min_size=128)
    sizes = resolve_sizes(config, (640, 427), (1000, 500))
    assert [compute for compute, _ in sizes.scales] == [
        (128, 86),
        (181, 121),
        (256, 171),
        (362, 242),
        (512, 342),
    ]
    assert [style for _, style in sizes.scales] == [
        (128, 64),
        (181, 90),
        (256, 128),
        (362, 181),
        (512, 256),
    ]
    assert sizes.scales[-1] == (sizes.compute, sizes.style)


def test_an_explicit_style_size_shrinks_in_proportion_to_the_compute_size():
    config = RunConfig.from_flat(size=512, min_size=256, style_size="300x200")
    sizes = resolve_sizes(config, (512, 512), (1000, 500))
    assert sizes.scales == (
        ((256, 256), (150, 100)),
        ((362, 362), (212, 141)),
        ((512, 512), (300, 200)),
    )


def test_an_exact_compute_size_scales_from_its_longest_side():
    sizes = resolve_sizes(RunConfig.from_flat(size="640x480", min_size=320), (100, 100), (100, 100))
    assert [compute for compute, _ in sizes.scales] == [(320, 240), (453, 340), (640, 480)]


def test_a_first_scale_too_small_for_the_deepest_layer_is_refused_under_min_size():
    config = RunConfig.from_flat(content=Path("c.png"), style=Path("s.png"), size=512, min_size=16)
    sizes = resolve_sizes(config, (640, 427), (512, 512))
    with pytest.raises(InputImageError) as caught:
        check_fits_network(config, sizes)
    assert caught.value.setting == "min_size"
    assert caught.value.message == (
        "coarse to fine's first scale makes the content image 16x11, but layer relu5_1 needs "
        "at least 16x16; use a larger min size (now 16), or 0 to turn coarse to fine off"
    )


def test_the_style_image_at_the_first_scale_is_checked_too():
    config = RunConfig.from_flat(content=Path("c.png"), style=Path("s.png"), size=512, min_size=64)
    sizes = resolve_sizes(config, (512, 512), (1000, 200))
    with pytest.raises(InputImageError) as caught:
        check_fits_network(config, sizes)
    assert caught.value.setting == "min_size"
    assert "makes the style image 64x13" in caught.value.message


def test_a_first_scale_large_enough_passes():
    config = RunConfig.from_flat(size=512, min_size=32)
    check_fits_network(config, resolve_sizes(config, (640, 427), (512, 512)))


def test_the_iterations_planned_count_every_scale():
    config = RunConfig.from_flat(size=512, min_size=128, scale_iterations=50, iterations=200)
    sizes = resolve_sizes(config, (640, 427), (512, 512))
    assert scale_iterations(config, sizes) == [50, 50, 50, 50, 200]
    off = config.replace(min_size=0)
    assert scale_iterations(off, resolve_sizes(off, (640, 427), (512, 512))) == [200]

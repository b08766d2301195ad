"""benchmarks/quality.py's measures on images whose answer is known, and one tiny
benchmarks/evaluate.py run in-process (32 px, 2 iterations, random weights)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str):
    """benchmarks/NAME.py by path (the folder is no package), once per session."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look themselves up there
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def quality():
    return load("quality")


@pytest.fixture(scope="module")
def evaluate():
    return load("evaluate")


@pytest.fixture
def picture() -> np.ndarray:
    """A 48 x 64 RGB image with structure: gradients, a bright square, a little texture."""
    rows, columns = np.mgrid[0:48, 0:64].astype(np.float64)
    red = 4 * columns
    green = 5 * rows
    blue = 128 + 60 * np.sin(columns / 3) * np.cos(rows / 4)
    image = np.stack([red, green, blue], axis=-1)
    image[10:25, 20:40] = [240, 230, 30]
    return np.clip(image, 0, 255)


def noisy(image: np.ndarray, std: float, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, std, image.shape)
    return np.clip(image + noise, 0, 255)


# --- content fidelity ---------------------------------------------------------------------------


def test_ssim_is_one_for_an_image_and_itself_and_drops_with_noise(quality, picture):
    grey = quality.luminance(picture)
    assert quality.ssim(grey, grey) == pytest.approx(1.0, abs=1e-12)
    light = quality.ssim(grey, quality.luminance(noisy(picture, 10)))
    heavy = quality.ssim(grey, quality.luminance(noisy(picture, 40)))
    assert 1.0 > light > heavy > 0.0


def test_ssim_of_two_flat_images_is_the_luminance_term_by_hand(quality):
    # No variance: the structure factor is C2 / C2 = 1, what is left is the means' term.
    first, second = np.full((16, 16), 100.0), np.full((16, 16), 150.0)
    c1 = (0.01 * 255) ** 2  # Wang et al.'s K1 = 0.01 for L = 255
    by_hand = (2 * 100 * 150 + c1) / (100**2 + 150**2 + c1)
    assert quality.ssim(first, second) == pytest.approx(by_hand, rel=1e-9)


def test_luminance_is_bt601(quality):
    primaries = np.array([[[255.0, 0, 0], [0, 255.0, 0], [0, 0, 255.0]]])
    assert quality.luminance(primaries)[0] == pytest.approx([0.299 * 255, 0.587 * 255, 0.114 * 255])


def test_edges_score_one_for_an_image_and_itself_and_less_for_others(quality, picture):
    grey = quality.luminance(picture)
    assert quality.edge_correlation(grey, grey) == pytest.approx(1.0, abs=1e-12)
    assert quality.edge_correlation(grey, 2 * grey + 7) == pytest.approx(1.0, abs=1e-12)
    blurred = quality.edge_correlation(grey, quality.luminance(noisy(picture, 30)))
    unrelated = np.random.default_rng(3).uniform(0, 255, grey.shape)
    assert 1.0 > blurred > abs(quality.edge_correlation(grey, unrelated))
    assert abs(quality.edge_correlation(grey, unrelated)) < 0.2


def test_the_sobel_magnitude_of_a_ramp_is_its_slope_times_eight(quality):
    ramp = np.tile(np.arange(10.0) * 3, (6, 1))  # 3 levels a pixel, left to right
    assert quality.sobel_magnitude(ramp) == pytest.approx(np.full((4, 8), 24.0))


# --- style match ----------------------------------------------------------------------------------


def test_swd_of_identical_sets_is_zero_and_grows_with_a_shift(quality):
    points = torch.rand(500, 147, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert quality.sliced_wasserstein(points, points) == 0.0
    small = quality.sliced_wasserstein(points, points + 0.05)
    large = quality.sliced_wasserstein(points, points + 0.10)
    assert small > 0
    # A translation keeps the sorted order on every projection: the distance is linear in it.
    assert large == pytest.approx(2 * small, rel=1e-9)


def test_swd_is_the_same_for_the_same_seed_and_sees_a_changed_spread(quality):
    generator = torch.Generator().manual_seed(1)
    points = torch.randn(400, 20, generator=generator, dtype=torch.float64)
    others = torch.randn(600, 20, generator=generator, dtype=torch.float64)
    assert quality.sliced_wasserstein(points, others) == quality.sliced_wasserstein(points, others)
    near = quality.sliced_wasserstein(points, others)
    far = quality.sliced_wasserstein(points, 3 * others)
    assert far > 3 * near


def test_patch_distance_is_zero_for_an_image_and_itself_and_grows_with_texture(quality, picture):
    assert quality.patch_distance(picture, picture) == 0.0
    light = quality.patch_distance(picture, noisy(picture, 10))
    heavy = quality.patch_distance(picture, noisy(picture, 40))
    assert 0 < light < heavy
    patches = quality.patches(picture)
    assert patches.shape == ((48 - 6) * (64 - 6), 3 * 7 * 7)
    assert float(patches.max()) <= 1.0


def test_half_size_averages_two_by_two_blocks(quality):
    image = np.arange(4 * 6 * 3, dtype=np.float64).reshape(4, 6, 3)
    half = quality.half_size(image)
    assert half.shape == (2, 3, 3)
    assert half[0, 0] == pytest.approx(image[0:2, 0:2].mean(axis=(0, 1)))


def test_colour_distance_is_zero_for_the_same_image_and_larger_when_shifted(quality, picture):
    assert quality.colour_distance(picture, picture) == 0.0
    assert quality.colour_distance(picture, picture[::-1, ::-1]) == 0.0  # same colours, moved
    shifted = quality.colour_distance(picture, np.clip(picture + [40, 0, -40], 0, 255))
    more = quality.colour_distance(picture, np.clip(picture + [90, 0, -90], 0, 255))
    assert 0 < shifted < more <= 1
    black, white = np.zeros((8, 8, 3)), np.full((8, 8, 3), 255.0)
    assert quality.colour_distance(black, white) == 1.0


def test_measure_compares_content_at_the_outputs_size_and_style_at_its_side(quality, picture):
    image = Image.fromarray(picture.astype(np.uint8))
    same = quality.measure(image, image, image)
    assert (same.ssim, same.edges) == (pytest.approx(1.0), pytest.approx(1.0))
    assert (same.swd_full, same.swd_half, same.colour) == (0.0, 0.0, 0.0)
    # The content twice as large is brought to the output's size before it is compared.
    larger = image.resize((128, 96), Image.Resampling.LANCZOS)
    assert quality.measure(image, larger, image).ssim > 0.9


# --- a result's edge --------------------------------------------------------------------------


def test_border_contrast_is_about_one_for_even_noise(quality):
    noise = np.random.default_rng(5).uniform(0, 255, (40, 60, 3))
    border = quality.border_contrast(noise)
    for value in (border.top, border.bottom, border.left, border.right):
        assert value == pytest.approx(1.0, abs=0.2)
    assert border.corner < 1.5


def test_border_contrast_sees_a_dotted_last_column_and_a_lone_bright_corner(quality, picture):
    dotted = picture.copy()
    dotted[::2, -1] = 255.0  # every other pixel of the last column white
    border = quality.border_contrast(dotted)
    assert border.right > 2 * max(border.left, border.top, border.bottom)
    assert border.worst_line() == border.right
    cornered = picture.copy()
    assert quality.border_contrast(cornered).corner < 1.5
    cornered[-1, -1] = 255.0
    assert quality.border_contrast(cornered).corner > 5


def test_the_face_benchmark_scores_the_photo_itself_as_its_own_face(picture):
    faces = load("faces")
    box = (0.25, 0.25, 0.75, 0.5)
    assert faces.crop(picture, box).shape == (12, 32, 3)  # rows 12-24, columns 16-48 of 48x64
    assert (faces.crop(picture, box) == picture[12:24, 16:48]).all()
    image = Image.fromarray(picture.astype(np.uint8))
    scores = faces.face_scores(image, image, image, box)
    assert scores["face_ssim"] == pytest.approx(1.0) and scores["face_edges"] == pytest.approx(1.0)
    noisy_picture = Image.fromarray(noisy(picture, 30).astype(np.uint8))
    assert faces.face_scores(noisy_picture, image, image, box)["face_ssim"] < 0.9


# --- the evaluation script ------------------------------------------------------------------------


def test_a_tiny_evaluation_makes_a_row_per_preset_and_one_for_the_photo(
    evaluate, demo_pair, tmp_path
):
    content, style = demo_pair
    lines: list[str] = []
    arguments = [
        "--pair", str(content), str(style), "--presets", "default", "--size", "32",
        "--iterations", "2", "--weights", "random", "--keep", str(tmp_path / "results"),
        "--json", str(tmp_path / "figures.json"),
    ]  # fmt: skip
    assert evaluate.main(arguments, report=lines.append) == 0
    pair = f"{content.stem} + {style.stem}"
    rows = [line for line in lines if line.startswith(f"| {pair} |")]
    assert len(rows) == 2
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[:2] == [pair, "default"]
    assert all(float(cell) == float(cell) for cell in cells[2:])  # numbers, none NaN
    document = json.loads((tmp_path / "figures.json").read_text())
    assert [row["method"] for row in document["rows"]] == ["default", evaluate.PHOTO]
    ran = document["rows"][0]["settings"]  # what the preset was when it ran
    assert (ran["iterations"], ran["size"], ran["weights"]) == (2, 32, "random")
    made = Path(document["rows"][0]["output"])
    assert made.parent == tmp_path / "results" and made.is_file()
    assert Image.open(made).size[0] == 32
    assert document["rows"][1]["ssim"] == pytest.approx(1.0)
    assert any("its preset runs 200 iterations" in line for line in lines)


def test_set_changes_every_preset_after_the_shared_overrides(evaluate, demo_pair, tmp_path):
    from nst_engine.cost.bench import parse_settings

    plan = evaluate.Plan(
        size=64,
        iterations=7,
        weights="random",
        device="cpu",
        folder=tmp_path,
        settings=parse_settings(["style_weight=3", "optimizer.lr=0.5"]),
    )
    config = evaluate.preset_config("reference-2022", *demo_pair, tmp_path / "out.png", plan)
    assert (config.look.style_weight, config.plan.optimizer.lr, config.plan.iterations) == (
        3.0,
        0.5,
        7,
    )
    assert config.plan.size.longest == 64 and config.plan.output_size is None
    # The preset's own.
    assert config.plan.optimizer.name == "adam" and config.look.loss_scale == "raw"
    assert evaluate.method_label("default", plan.settings) == (
        "default, style_weight=3, optimizer.lr=0.5"
    )


def test_without_the_shared_images_the_evaluation_skips_with_a_message(evaluate, tmp_path):
    lines: list[str] = []
    assert evaluate.main(["--images", str(tmp_path / "absent")], report=lines.append) == 0
    assert lines and lines[0].startswith("skipped:") and "--pair" in lines[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--presets", "no-such-preset"], "no preset called 'no-such-preset'"),
        (["--set", "style_weight=-1"], "style_weight"),
        (["--set", "nonsense"], "--set takes KEY=VALUE"),
        (["--keep", str(BENCHMARKS / "results")], "inside the repository"),
    ],
)
def test_mistakes_are_one_line_errors_before_any_run(evaluate, demo_pair, extra, message):
    lines: list[str] = []
    arguments = ["--pair", *map(str, demo_pair), "--weights", "random", *extra]
    assert evaluate.main(arguments, report=lines.append) == 2
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (BENCHMARKS / "results").exists()

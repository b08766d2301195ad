"""`nst-tui bench`: steady-state warm-up, span medians, FLOP counts, pass-through settings and
the side-by-side run with pastiche (its command lines only: pastiche may not be installed)."""

from __future__ import annotations

import statistics
import subprocess
from pathlib import Path

import pytest

from nst_engine.cost import bench
from nst_engine.cost.estimate import iteration_flops, workload_from_sizes
from nst_engine.errors import ConfigError
from nst_engine.settings.config import RunConfig

PASTICHE_VENV = Path("/work/pastiche-venv")


def parse(*argv: str):
    import argparse

    parser = argparse.ArgumentParser()
    bench.add_bench_arguments(parser)
    return parser.parse_args(argv)


# --- warm-up and spans ------------------------------------------------------------------------


def test_auto_warm_up_fills_the_lbfgs_history_and_a_few_more():
    assert bench.auto_warmup("lbfgs", 100) == 100 + 1 + bench.WARMUP_EXTRA
    assert bench.auto_warmup("lbfgs", 3) == 3 + 1 + bench.WARMUP_EXTRA
    for name in ("adam", "sgd", "rmsprop", "adadelta"):
        assert bench.auto_warmup(name, 100) == bench.WARMUP_EXTRA


def test_span_marks_follow_the_warm_up():
    assert bench.span_marks(warmup=8, iterations=3, spans=4) == [8, 11, 14, 17, 20]
    assert bench.span_marks(warmup=0, iterations=2, spans=1) == [0, 2]


def test_summary_is_the_median_span_in_ms_per_iteration():
    # Five spans of 4 iterations: 0.4, 0.8, 0.44, 4.0 (a disturbed one), 0.48 s.
    clock = [10.0, 10.4, 11.2, 11.64, 15.64, 16.12]
    summary = bench.summarise(clock, iterations=4)
    assert summary["span_ms"] == pytest.approx([100, 200, 110, 1000, 120])
    assert summary["ms_per_iteration"] == pytest.approx(120)
    assert summary["iterations_per_second"] == pytest.approx(1000 / 120)


def test_in_process_measurement_warms_up_then_times_the_spans(tmp_path):
    result = bench.measure(
        size=32,
        iterations=2,
        spans=3,
        warmup=None,
        device="cpu",
        weights="random",
        optimizer="lbfgs",
        settings={"optimizer": {"lbfgs": {"history_size": 2}}},
    )
    assert result["warmup"] == bench.auto_warmup("lbfgs", 2)
    assert result["iterations_run"] == result["warmup"] + 3 * 2
    assert len(result["span_ms"]) == 3
    assert result["ms_per_iteration"] == pytest.approx(statistics.median(result["span_ms"]))
    assert result["flops_per_iteration"] > 0 and result["peak_rss_mb"] > 0
    assert result["compute_size"] == "32x21"
    # What the device check reads: whether a CUDA graph ran (never on the CPU), and whether
    # the loss was still moving over the timed spans (a graph that replays nothing is flat).
    assert result["graphing"] is False
    assert result["loss_last"] < result["loss_first"]


def test_a_measurement_says_when_its_iterations_went_through_a_cuda_graph(monkeypatch):
    from nst_engine.running import transfer

    monkeypatch.setattr(transfer.Run, "graphing", property(lambda run: run._stepper is not None))
    result = bench.measure(32, 1, 2, 1, "cpu", "random", "adam", {})
    assert result["graphing"] is True


# --- floating-point work ----------------------------------------------------------------------


def tiny_config(optimizer: str = "adam", history: int = 5) -> RunConfig:
    return RunConfig.from_dict(
        {
            "content_layers": {"conv1_1": 1.0},
            "style_layers": {"relu1_1": 1.0},
            "optimizer": {"name": optimizer, "lbfgs": {"history_size": history}},
        }
    )


def test_flops_of_a_step_against_a_hand_count():
    work = workload_from_sizes(tiny_config(), (4, 4), (4, 4))
    conv = 2 * 9 * 3 * 64 * 16  # conv1_1: 3 -> 64 channels, 3x3, 16 positions
    gram = 2 * 64 * 64 * 16  # relu1_1's Gram matrix
    # The backward to the image: each convolution's gradient with respect to its input is
    # one product of the forward's size; the Gram matrix's, F on both sides, two.
    assert bench.step_flops(work) == 2 * conv + 3 * gram
    # estimate.iteration_flops counts the forward pass only.
    assert iteration_flops(work) == conv + gram
    lbfgs = workload_from_sizes(tiny_config("lbfgs", 5), (4, 4), (4, 4))
    # A full history: two loops, a dot product and an update per stored pair in each.
    assert bench.step_flops(lbfgs) == 2 * conv + 3 * gram + 8 * 5 * 3 * 16


def test_flops_of_a_step_match_torchs_own_count():
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from nst_engine.method.features import FeatureExtractor
    from nst_engine.method.losses import build_loss
    from nst_engine.method.weights import random_weights

    config = RunConfig.from_dict({"optimizer": {"name": "adam"}})  # the default layers
    layers = [name for name, _ in config.active_content_layers + config.active_style_layers]
    image = torch.rand(1, 3, 32, 48) * 255
    loss = build_loss(
        FeatureExtractor(random_weights(0), layers),
        image,
        image,
        config.active_content_layers,
        config.active_style_layers,
        config.look.tv_weight,
    )
    with FlopCounterMode(display=False) as counter:
        loss(image.clone().requires_grad_(True))["total"].backward()
    work = workload_from_sizes(config, (48, 32), (48, 32))
    assert bench.step_flops(work) == pytest.approx(counter.get_total_flops(), rel=0.01)


# --- settings passed through --------------------------------------------------------------------


def test_set_options_become_a_nested_settings_table():
    assert bench.parse_settings(["precision=bf16", "optimizer.lbfgs.history_size=50"]) == {
        "precision": "bf16",
        "optimizer": {"lbfgs": {"history_size": "50"}},
    }
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        bench.parse_settings(["precision"])


def test_a_compared_value_is_laid_over_the_set_ones_table_by_table():
    settings = bench.parse_settings(["optimizer.lbfgs.history_size=20", "seed=1"])
    merged = bench.merge_settings(settings, bench.parse_settings(["optimizer.name=adam"]))
    assert merged == {"optimizer": {"lbfgs": {"history_size": "20"}, "name": "adam"}, "seed": "1"}
    assert settings == {"optimizer": {"lbfgs": {"history_size": "20"}}, "seed": "1"}


def test_settings_reach_the_run_config(tmp_path):
    config = bench.bench_config(
        tmp_path / "x.png",
        64,
        10,
        "cpu",
        "random",
        "adam",
        bench.parse_settings(["tv_weight=0", "seed=3"]),
    )
    assert (config.look.tv_weight, config.plan.seed, config.plan.optimizer.name) == (0.0, 3, "adam")
    with pytest.raises(ConfigError, match="no_such"):
        bench.bench_config(tmp_path / "x.png", 64, 10, "cpu", "random", "adam", {"no_such": 1})


def test_compare_runs_each_value_in_turn():
    key, values = bench.parse_compare("memory_format=contiguous,channels_last")
    assert (key, values) == ("memory_format", ["contiguous", "channels_last"])
    assert bench.compare_plan(values, rounds=2) == [
        "contiguous",
        "channels_last",
        "contiguous",
        "channels_last",
    ]
    with pytest.raises(ConfigError):
        bench.parse_compare("precision=bf16")  # one value compares nothing


# --- pastiche side by side ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compare():
    """benchmarks/pastiche_compare.py, as `nst-tui bench --pastiche` loads it."""
    return bench.pastiche_script()


def test_layer_names_in_pastiches_spelling(compare):
    assert compare.pastiche_layer("relu4_2") == "block4_relu2"
    assert compare.pastiche_layer("conv1_1") == "block1_conv1"
    assert compare.pastiche_layer("pool3") == "block3_pool"


def test_the_two_command_lines_describe_the_same_job(compare, tmp_path):
    job = compare.Job(
        content=Path("c.png"), style=Path("s.jpg"), size=256, iterations=60, device="cpu"
    )
    ours = compare.nst_command(job, tmp_path / "a.png", weights="oxford")
    assert ours[1:4] == ["run", "c.png", "s.jpg"]
    for flag, value in [
        ("--size", "256"),
        ("--iterations", "60"),
        ("--optimizer", "lbfgs"),
        ("--device", "cpu"),
        ("--weights", "oxford"),
        ("--content-layers", "relu4_2=1"),
    ]:
        assert ours[ours.index(flag) + 1] == value
    theirs = compare.pastiche_command(job, tmp_path / "b.png", PASTICHE_VENV)
    assert theirs[0] == str(PASTICHE_VENV / "bin" / "pastiche")
    for flag, value in [
        ("--size", "256"),
        ("--style-size", "256"),
        ("--num-steps", "60"),
        ("--optimizer", "lbfgs"),
        ("--device", "cpu"),
        ("--content", "c.png"),
        ("--output", str(tmp_path / "b.png")),
    ]:
        assert theirs[theirs.index(flag) + 1] == value
    styles = theirs[theirs.index("--style-layers") + 1 : theirs.index("--style-layers") + 6]
    assert styles == [f"block{block}_relu1" for block in range(1, 6)]
    assert theirs[theirs.index("--content-layers") + 1] == "block4_relu2"


def test_iteration_times_are_read_from_each_tools_output(compare):
    pastiche_out = (
        "device[0]: cpu (0-29)\nseed: 0\nsize: 256x171\n\nstep elapsed loss\n"
        "---- ------- ----\n0    2.5     1234.00\n10   4.0     99.00\n60   14.5     9.00\n"
    )
    assert compare.pastiche_iteration_seconds(pastiche_out, 60) == pytest.approx(12.0 / 60)
    ours = "device cpu, weights x, computing at 256x171\ndone in 13.2 s (4.55 it/s)\n"
    assert compare.nst_iteration_seconds(ours, 60) == pytest.approx(13.2 / 60)
    assert compare.nst_iteration_seconds("no such line", 60) is None


@pytest.mark.skipif(
    not (PASTICHE_VENV / "bin" / "pastiche").exists(), reason="no pastiche venv here"
)
def test_the_pastiche_venv_answers():
    result = subprocess.run(
        [str(PASTICHE_VENV / "bin" / "pastiche"), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.startswith("pastiche 1.")

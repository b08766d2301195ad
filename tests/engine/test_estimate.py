"""The cost estimate before a run: its model, its cache, and where its figures come from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nst_engine.cost import estimate, rates
from nst_engine.cost.estimate import Workload, iteration_flops, memory_bytes, workload_of
from nst_engine.cost.rates import DeviceProfile, RunRecord, Timing
from nst_engine.settings.config import OptimizerSettings, RunConfig
from nst_engine.settings.sizes import resolve_sizes
from nst_engine.settings.values import Size

KEY = "cpu (2 threads) | torch 9.9"


@pytest.fixture(autouse=True)
def own_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts with no figures (the session's cache holds other tests' runs)."""
    monkeypatch.setenv("NST_TUI_CACHE_DIR", str(tmp_path / "cache"))


def work(side: int = 256, iterations: int = 100, **changes) -> Workload:
    return workload_of(
        RunConfig.from_flat(size=Size(longest=side), iterations=iterations, **changes)
    )


def test_time_grows_with_compute_size_and_iterations() -> None:
    profile = DeviceProfile(KEY, "cpu (2 threads)", Timing(0.05, 0.02))
    seconds = [
        estimate.estimate(work(side), profile, None).seconds for side in (64, 128, 256, 512, 1024)
    ]
    assert seconds == sorted(seconds) and len(set(seconds)) == len(seconds)
    by_iterations = [
        estimate.estimate(work(256, n), profile, None).seconds for n in (1, 10, 100, 1000)
    ]
    assert by_iterations == sorted(by_iterations)
    # Linear once the L-BFGS history has filled (100 pairs).
    assert by_iterations[3] == pytest.approx(10 * by_iterations[2])
    # Roughly linear in pixels: four times the pixels, about four times the work.
    assert iteration_flops(work(1024)) / iteration_flops(work(512)) == pytest.approx(4, rel=0.05)


def test_memory_grows_with_pixels_depth_and_history() -> None:
    sizes = [memory_bytes(work(side)) for side in (64, 256, 512, 1024, 2048)]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    shallow = work(512, content_layers={"relu2_1": 1.0}, style_layers={"relu1_1": 1.0})
    assert memory_bytes(shallow) < memory_bytes(work(512))
    small_history = RunConfig.from_dict(
        {"optimizer": {"lbfgs": {"history_size": 5}}}, base=RunConfig()
    ).plan.optimizer
    assert memory_bytes(work(512, optimizer=small_history)) < memory_bytes(work(512))
    adam = OptimizerSettings(name="adam")
    assert memory_bytes(work(512, optimizer=adam)) < memory_bytes(work(512))


def test_unknown_image_sizes_count_as_square_and_known_ones_are_used() -> None:
    config = RunConfig.from_flat(size=Size(longest=512))
    assert workload_of(config).compute == (512, 512)
    assert workload_of(config, (1000, 500), (300, 300)).compute == (512, 256)
    assert workload_of(config, (1000, 500), (300, 300)).style == (512, 512)


def test_absurd_settings_give_warnings() -> None:
    profile = DeviceProfile(KEY, "cpu (2 threads)", Timing(0.05, 0.02))
    free = 16 * 10**9
    huge = estimate.estimate(work(99999), profile, free)
    assert huge.too_big
    line = estimate.warning_line(huge)
    assert "memory" in line and "16 GB free" in line and "cpu" in line
    endless = estimate.estimate(work(256, 99_999_999), profile, free)
    assert not endless.too_big
    assert "years" in estimate.warning_line(endless)
    fine = estimate.estimate(work(256, 200), profile, free)
    assert estimate.warning_line(fine) == "" and not fine.too_big
    assert fine.summary().startswith("≈ ") and "free (cpu)" in fine.summary()


# --- coarse to fine ---------------------------------------------------------------------------


def coarse_to_fine(**changes) -> Workload:
    """512 px in five scales (128, 181, 256, 362, 512): 50 iterations each, 100 at the last."""
    config = RunConfig.from_flat(
        size=512, min_size=128, scale_iterations=50, iterations=100, **changes
    )
    return workload_of(config)


def test_a_coarse_to_fine_workload_has_each_scale_with_its_iterations() -> None:
    scales = coarse_to_fine().scales
    assert [scale.compute for scale in scales] == [
        (side, side) for side in (128, 181, 256, 362, 512)
    ]
    assert [scale.iterations for scale in scales] == [50, 50, 50, 50, 100]
    assert work(512).scales == (work(512),)  # off: one scale, itself


def test_coarse_to_fine_time_is_the_sum_of_its_scales() -> None:
    profile = DeviceProfile(KEY, "cpu (2 threads)", Timing(0.05, 0.02))
    whole = estimate.estimate(coarse_to_fine(), profile, None).seconds
    each = [
        estimate.estimate(work(side, 50), profile, None).seconds for side in (128, 181, 256, 362)
    ]
    final = estimate.estimate(work(512, 100), profile, None).seconds
    assert whole == pytest.approx(sum(each) + final)
    assert whole > final


def test_coarse_to_fine_memory_is_its_largest_scale() -> None:
    result = estimate.estimate(coarse_to_fine(), None, None)
    assert result.bytes == max(memory_bytes(scale) for scale in coarse_to_fine().scales)
    assert result.bytes == memory_bytes(work(512, 100))
    # With an Adam-like small history, still the final scale: memory grows with the pixels.
    adam = coarse_to_fine(optimizer=OptimizerSettings(name="adam"))
    assert estimate.estimate(adam, None, None).bytes == memory_bytes(adam)


def test_the_mean_work_per_iteration_spreads_the_whole_run_over_its_iterations() -> None:
    scales = coarse_to_fine().scales
    total = sum(iteration_flops(scale) * scale.iterations for scale in scales)
    assert estimate.mean_iteration_flops(coarse_to_fine()) == pytest.approx(total / 300)
    assert estimate.mean_iteration_flops(work(256)) == iteration_flops(work(256))


def test_a_finished_runs_sizes_give_back_its_workload_with_every_scale() -> None:
    """What a finished run records: the workload from its Started sizes (compute and style as
    resolved) is the one estimated from the images, scales and all."""
    for config in (
        RunConfig.from_flat(size=512, min_size=128, iterations=100),
        RunConfig.from_flat(size="640x480", min_size=200, style_size="300x200"),
    ):
        from_images = workload_of(config, (640, 427), (1000, 500))
        sizes = resolve_sizes(config, (640, 427), (1000, 500))
        assert workload_of(config, sizes.compute, sizes.style) == from_images


def test_the_estimate_says_estimating_until_the_rate_is_known() -> None:
    result = estimate.estimate(work(), None, 8 * 10**9, device="cpu")
    assert result.seconds is None
    assert result.summary().startswith("estimating…") and "(cpu)" in result.summary()


def test_last_run_figures_override_the_measurement() -> None:
    flops = iteration_flops(work(256))
    measured_only = DeviceProfile(KEY, "cpu", Timing(0.0, 1.0))
    with_run = DeviceProfile(KEY, "cpu", Timing(0.0, 1.0), (RunRecord(flops, 0.25),))
    assert measured_only.seconds_per_iteration(flops) == pytest.approx(flops / 1e9)
    assert with_run.seconds_per_iteration(flops) == pytest.approx(0.25)
    # At another size the nearest run is scaled by the work.
    assert with_run.seconds_per_iteration(4 * flops) == pytest.approx(1.0)
    runs_only = DeviceProfile(KEY, "cpu", None, (RunRecord(flops, 0.25),))
    assert runs_only.seconds_per_iteration(2 * flops) == pytest.approx(0.5)
    assert DeviceProfile(KEY, "cpu").seconds_per_iteration(flops) is None


def test_the_cache_file_round_trips() -> None:
    rates.save_timing(KEY, Timing(0.125, 0.5))
    rates.record_run(KEY, work(128), seconds=6.0, iterations=3)
    profile = rates.cached_profile(KEY, "cpu (2 threads)")
    assert profile.timing == Timing(0.125, 0.5)
    assert profile.runs == (RunRecord(iteration_flops(work(128)), 2.0, "lbfgs"),)
    assert rates.cached_profile("another device", "cpu").timing is None


def test_a_broken_cache_file_counts_as_empty() -> None:
    rates.cache_path().parent.mkdir(parents=True, exist_ok=True)
    rates.cache_path().write_text("{not json")
    assert rates.cached_profile(KEY, "cpu") == DeviceProfile(KEY, "cpu")
    rates.save_timing(KEY, Timing(0.1, 0.2))  # and is replaced by the next write
    assert rates.cached_profile(KEY, "cpu").timing == Timing(0.1, 0.2)


def test_only_the_last_runs_are_kept() -> None:
    for index in range(rates.RECORDS_KEPT + 3):
        rates.record_run(KEY, work(64 + index), seconds=1.0, iterations=1)
    assert len(rates.cached_profile(KEY, "cpu").runs) == rates.RECORDS_KEPT


def test_a_finished_run_records_its_figures(tiny_config: Callable[..., RunConfig]) -> None:
    from nst_engine.running.events import Finished, Started
    from nst_engine.running.transfer import run

    config = tiny_config(iterations=3)
    with run(config) as events:
        happened = list(events)
    started = next(event for event in happened if isinstance(event, Started))
    finished = happened[-1]
    assert isinstance(finished, Finished)
    profile = rates.cached_profile(rates.device_key(started.device), started.device)
    assert len(profile.runs) == 1
    assert profile.runs[0].seconds_per_iteration == pytest.approx(finished.seconds / 3)
    assert profile.runs[0].flops == iteration_flops(
        estimate.workload_from_sizes(config, started.compute_size, started.style_size)
    )


def test_a_device_is_measured_once_then_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rates, "CALIBRATION_SIDES", (32, 48))
    monkeypatch.setattr(rates, "CALIBRATION_STEPS", 1)
    measured = []
    real_measure = rates.measure
    monkeypatch.setattr(
        rates, "measure", lambda device: measured.append(device) or real_measure(device)
    )
    first = rates.device_profile("cpu")
    assert measured == ["cpu"]
    assert first.timing is not None and first.timing.per_gflop > 0
    assert first.device.startswith("cpu")
    second = rates.device_profile("cpu")
    assert measured == ["cpu"] and second.timing == first.timing


def test_a_disturbed_measurement_is_read_as_proportional_to_the_work() -> None:
    def fitted(small, large) -> tuple[float, float]:
        timing = rates.fit_timing(small, large)
        return timing.overhead, timing.per_gflop

    assert fitted((2.0, 0.3), (8.0, 0.9)) == pytest.approx((0.1, 0.1))
    # The larger size no slower than the smaller one: another job took the machine.
    assert fitted((2.0, 3.0), (8.0, 2.9)) == pytest.approx((0.0, 2.9 / 8))
    assert fitted((2.0, 0.1), (8.0, 1.6)) == pytest.approx((0.0, 0.2))


def test_cpu_free_memory_is_read_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemAvailable:   18000000 kB\n")
    assert estimate.cpu_free_bytes(meminfo) == 18000000 * 1024
    assert estimate.cpu_free_bytes(tmp_path / "absent") is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "1 s"), (42, "42 s"), (220, "3 min 40 s"), (1500, "25 min"), (7800, "2 h 10 min"),
     (5 * 86400, "5 days"), (3e9, "95 years")],
)  # fmt: skip
def test_durations_read_as_people_say_them(seconds: float, text: str) -> None:
    assert estimate.format_seconds(seconds) == text


# --- past runs, scaled by pixels and iterations, per optimiser (issue 18) ---------------------


ADAM = OptimizerSettings(name="adam")


def test_past_runs_are_scaled_by_pixels_and_iterations_from_the_same_optimisers_runs() -> None:
    """An Adam run at 256 px (0.2 s an iteration) and an L-BFGS run at 512 px (1 s): each
    estimate follows the run of its own optimiser, scaled by the work, whatever the other's
    size."""
    adam_256, lbfgs_512 = work(256, 100, optimizer=ADAM), work(512, 200)
    rates.record_run(KEY, adam_256, seconds=20.0, iterations=100)
    rates.record_run(KEY, lbfgs_512, seconds=200.0, iterations=200)
    profile = rates.cached_profile(KEY, "cpu")

    lbfgs_256 = work(256, 300)  # nearer the Adam run in work, but L-BFGS
    expected = 1.0 * iteration_flops(lbfgs_256) / iteration_flops(lbfgs_512) * 300
    assert estimate.estimate(lbfgs_256, profile, None).seconds == pytest.approx(expected)
    assert expected == pytest.approx(300 / 4, rel=0.05)  # a quarter of the pixels

    adam_512 = work(512, 50, optimizer=ADAM)  # nearer the L-BFGS run in work, but Adam
    expected = 0.2 * iteration_flops(adam_512) / iteration_flops(adam_256) * 50
    assert estimate.estimate(adam_512, profile, None).seconds == pytest.approx(expected)
    assert expected == pytest.approx(0.8 * 50, rel=0.05)  # four times the pixels


def test_a_measured_overhead_does_not_keep_a_larger_run_near_the_last_ones_time() -> None:
    """A measurement at small sizes on a busy machine can read as a large fixed overhead;
    scaled through it, a run of four times the pixels came out hardly slower than the last
    one ("≈ 38 s" for a run of 133 s). Past runs scale with the work."""
    flops = iteration_flops(work(512))
    busy = Timing(overhead=0.5, per_gflop=0.001)
    profile = DeviceProfile(KEY, "cpu", busy, (RunRecord(flops, 1.0, "lbfgs"),))
    assert profile.seconds_per_iteration(4 * flops, "lbfgs") == pytest.approx(4.0)


def test_between_two_runs_of_an_optimiser_the_time_is_read_off_the_line_through_them() -> None:
    runs = (RunRecord(10e9, 0.3, "adam"), RunRecord(40e9, 0.9, "adam"))
    profile = DeviceProfile(KEY, "cpu", None, runs)
    assert profile.seconds_per_iteration(20e9, "adam") == pytest.approx(0.5)
    assert profile.seconds_per_iteration(80e9, "adam") == pytest.approx(1.8)  # beyond: scaled


def test_an_optimiser_never_run_here_is_scaled_from_another_ones_run_by_the_work() -> None:
    adam_512, lbfgs_512 = work(512, 200, optimizer=ADAM), work(512, 200)
    rates.record_run(KEY, adam_512, seconds=100.0, iterations=200)
    profile = rates.cached_profile(KEY, "cpu")
    # L-BFGS's history makes its iteration more work than Adam's at the same size.
    lbfgs = estimate.estimate(lbfgs_512, profile, None).seconds
    assert lbfgs == pytest.approx(
        0.5 * iteration_flops(lbfgs_512) / iteration_flops(adam_512) * 200
    )
    assert lbfgs > estimate.estimate(adam_512, profile, None).seconds


def finished_run_events() -> tuple[object, object]:
    from nst_engine.running.events import Finished, Started

    started = Started("cpu (2 threads)", "random", (64, 48), (64, 48), (64, 48), 10)
    return started, Finished(Path("out.png"), 2.0, 10, {})


def test_a_rate_the_cache_cannot_take_is_logged_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full_disk(devices: dict) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rates, "write_cache", full_disk)
    with caplog.at_level("WARNING", logger="nst"):
        rates.record_finished(RunConfig(), *finished_run_events())  # does not raise
    assert "No space left on device" in caplog.text


def test_a_fault_while_recording_a_rate_is_logged_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def bug(*arguments) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(rates, "record_run", bug)
    with caplog.at_level("WARNING", logger="nst"):
        rates.record_finished(RunConfig(), *finished_run_events())
    assert "KeyError" in caplog.text and "Traceback" in caplog.text


def test_the_memory_warning_is_silent_for_a_missing_image_and_logs_a_fault(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, demo_pair
) -> None:
    content, style = demo_pair
    with caplog.at_level("WARNING", logger="nst"):
        assert (
            rates.memory_warning(RunConfig.from_flat(content=Path("gone.png"), style=style)) is None
        )
    assert caplog.text == ""  # the run itself says the image is missing

    def broken(setting: str) -> str:
        raise RuntimeError("the driver fell over")

    monkeypatch.setattr(rates, "describe", broken)
    with caplog.at_level("WARNING", logger="nst"):
        assert rates.memory_warning(RunConfig.from_flat(content=content, style=style)) is None
    assert "the driver fell over" in caplog.text

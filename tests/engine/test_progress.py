"""The progress reports both front ends show: throttling, speed per scale, time left."""

from __future__ import annotations

import torch

from nst_engine.running.events import Started, Step
from nst_engine.running.progress import ProgressReporter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def started(sizes=((100, 100),), iterations=(10,)) -> Started:
    return Started(
        "cpu", "random", sizes[-1], sizes[-1], sizes[-1], sum(iterations), (), sizes, iterations
    )


def step(index: int, total: int, scale: int = 1, scales: int = 1) -> Step:
    losses = {"total": torch.tensor(float(index)), "content": torch.tensor(1.0)}
    return Step(index, total, losses, torch.zeros(1, 3, 4, 4), scale, scales)


def test_reports_are_throttled_but_the_last_step_is_always_reported():
    clock = Clock()
    reporter = ProgressReporter(interval=0.1, clock=clock)
    reporter.start(started(iterations=(10,)))
    reports = []
    for index in range(1, 11):
        clock.now += 0.03
        reports.append(reporter.offer(step(index, 10)))
    reported = [report.index for report in reports if report is not None]
    assert reported[0] == 1 and reported[-1] == 10
    assert len(reported) < 10
    assert reports[-1].eta == 0.0
    assert reports[-1].losses == {"total": 10.0, "content": 1.0}
    assert abs(reports[-1].elapsed - 0.3) < 1e-9


def test_speed_leaves_out_the_first_step_and_the_eta_follows_it():
    clock = Clock()
    reporter = ProgressReporter(interval=0, clock=clock)
    reporter.start(started(iterations=(100,)))
    clock.now += 5.0  # the first step: targets built, graph captured
    first = reporter.offer(step(1, 100))
    assert first.rate == 0 and first.eta is None
    clock.now += 1.0
    report = reporter.offer(step(11, 100))
    assert abs(report.rate - 10.0) < 1e-9
    assert abs(report.eta - 8.9) < 1e-9


def test_the_eta_counts_later_scales_by_their_pixels():
    clock = Clock()
    reporter = ProgressReporter(interval=0, clock=clock)
    sizes = ((50, 50), (100, 100))  # the second scale has 4 times the pixels
    reporter.start(started(sizes, iterations=(10, 20)))
    reporter.offer(step(1, 30, 1, 2))
    clock.now += 1.0
    report = reporter.offer(step(6, 30, 1, 2))  # 5 iterations a second at the first scale
    assert report.rate == 5.0
    # 4 left here (0.8 s), then 20 at a quarter of the speed (16 s).
    assert abs(report.eta - 16.8) < 1e-9
    clock.now += 1.0
    first_of_second = reporter.offer(step(11, 30, 2, 2))
    assert first_of_second.scale == 2 and first_of_second.scales == 2
    assert first_of_second.rate == 1.25  # the last scale's speed for 4 times the pixels
    assert abs(first_of_second.eta - 19 / 1.25) < 1e-9

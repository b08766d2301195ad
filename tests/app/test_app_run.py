"""Runs in the app: to the end, cancelled, quit mid-run, failing, and stale messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from app_helpers import form_settled, reason_text, result_text, wait_for
from PIL import Image
from textual.widgets import Button, ProgressBar

from nst_tui.app.messages import RunFinished, RunPreview, RunProgress


def progress_of(app) -> int:
    return int(app.main.panel.query_one("#progress", ProgressBar).progress)


@pytest.mark.slow  # runs the engine
async def test_a_tiny_run_finishes_and_shows_where_the_result_is(make_app, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        output = app.form_state.config.inputs.output
        labels: list[str] = []
        original = app.main.panel.set_running

        def running() -> None:
            original()
            labels.append(str(app.main.query_one("#run", Button).label))

        app.main.panel.set_running = running  # type: ignore[method-assign]
        await pilot.press("ctrl+r")
        assert app.current_run_number == 1
        assert labels and labels[0].startswith("Cancel")  # Run became Cancel
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the run")
        assert output.is_file()
        with Image.open(output) as image:
            assert max(image.size) == 32
        result = result_text(app)
        assert result.startswith("Done in") and str(output) in result
        counts, losses = str(app.main.panel.query_one("#progress-stats").content).splitlines()
        assert counts.startswith("ETA 0:00 ·") and "it/s · 4/4 ·" in counts
        assert losses.startswith("content ") and " · style " in losses and " · tv " in losses
        assert "NOT TRAINED" in str(app.main.panel.query_one("#run-status").content)
        assert progress_of(app) == 4
        await wait_for(pilot, lambda: app.main.preview.query_one("CellImage").has_picture)
        assert app.session_results == [f"result: {output}"]
        # Ready for the next run, with a new name that does not overwrite this result.
        assert not app.main.query_one("#run", Button).disabled
        await form_settled(pilot)
        assert app.form_state.config.inputs.output == tmp_path / f"{output.stem}-2.png"


@pytest.mark.slow  # runs the engine
async def test_cancel_stops_within_an_iteration_and_keeps_the_image(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test() as pilot:
        await form_settled(pilot)
        output = app.form_state.config.inputs.output
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: progress_of(app) >= 2, timeout=120, what="two steps")
        await pilot.press("escape")
        # Run is off until then ("Stopping…": test_app_run_status.py holds a step to see it).
        await wait_for(pilot, lambda: "Cancelled after" in result_text(app), what="the partial")
        assert not app.running and not app.main.query_one("#run", Button).disabled
        partial = Path(result_text(app).splitlines()[-1])
        index = int(result_text(app).split()[2])
        # Beside the output, named for how far it got; nothing at the output itself.
        assert partial == output.with_name(f"{output.stem}.partial-{index:04d}-of-5000.png")
        with Image.open(partial) as image:
            image.load()
            assert image.size == (32, 21)
        assert not output.exists()
        assert progress_of(app) < 5000
        # The progress and the preview end on the iteration kept, not on the last throttled one.
        assert progress_of(app) == index
        stats = str(app.main.panel.query_one("#progress-stats").content)
        assert f" · {index}/5000 · " in stats


@pytest.mark.slow  # runs the engine
async def test_quitting_mid_run_exits_promptly_and_keeps_the_image(
    make_app, tiny_config, tmp_path: Path
) -> None:
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test() as pilot:
        await form_settled(pilot)
        output = app.form_state.config.inputs.output
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: progress_of(app) >= 2, timeout=120, what="two steps")
        await pilot.press("ctrl+q", "ctrl+q")  # the second Ctrl+Q confirms
    assert app.return_code == 0
    # The engine thread stops after its iteration and saves what it had; run_app waits for
    # that before it prints where the image is.
    app.wait_for_engine()
    (line,) = app.session_results
    partial = Path(line.split(": ", 1)[1])
    assert line.startswith("partial (") and partial.parent == output.parent
    assert partial.name.startswith(f"{output.stem}.partial-") and partial.name.endswith(
        "-of-5000.png"
    )
    # Promptly: the run stopped at the quit, far from its end (its partial says where).
    stopped_at = int(partial.name.removesuffix("-of-5000.png").rsplit("-", 1)[1])
    assert 2 <= stopped_at < 5000
    assert partial.is_file() and not output.exists()


@pytest.mark.slow  # runs the engine
async def test_a_cancelled_runs_messages_never_reach_the_next_run(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(iterations=5000))
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        first = app.current_run_number
        await wait_for(pilot, lambda: progress_of(app) >= 1, timeout=120, what="a step")
        await pilot.press("escape")
        app.main.form.query_one("#iterations").value = "3"
        await form_settled(pilot)
        await wait_for(pilot, lambda: not app.running, timeout=60, what="the first's stop")
        await pilot.press("ctrl+r")  # Run, Cancel, Run (Run is off until the first stopped)
        second = app.current_run_number
        assert second != first
        # Late messages of the first run, as if they came now:
        screen = app.main
        screen.post_message(RunProgress(first, 4000, 5000, 9.0, 1.0, {"content": 1.0}))
        screen.post_message(RunFinished(first, Path("/stale.png"), 1.0, 5000, {}))
        image = Image.new("RGB", (4, 4))
        screen.post_message(RunPreview(first, 4000, image, []))
        await pilot.pause()
        assert progress_of(app) < 4000
        assert "/stale.png" not in result_text(app)
        await wait_for(pilot, lambda: not app.running, timeout=120, what="the second run")
        assert result_text(app).startswith("Done in")  # the second run's own end
        assert str(app.session_results[-1]).removeprefix("result: ") in result_text(app)
        assert progress_of(app) == 3
        assert "Run 2" in str(app.main.preview.query_one("#preview-caption").content)


async def test_an_engine_error_is_shown_and_the_app_stays_ready(
    make_app, tiny_config, tmp_path: Path
) -> None:
    # The form cannot know that a weights file is damaged: the engine refuses it, one line.
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(b"not a weights file")
    app = make_app(tiny_config.replace(weights=str(damaged)))
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=60, what="the failure")
        text = result_text(app)
        assert text.startswith(
            f"Weights: weights file '{damaged}' is damaged or not a safetensors file"
        ), text
        assert "\n" not in text
        assert app.main.panel.has_class("-failed")
        assert not app.main.query_one("#run", Button).disabled
        assert "Ready" in reason_text(app)


async def test_an_internal_error_is_logged_and_shown_briefly(make_app, monkeypatch, caplog) -> None:
    import nst_engine.running.transfer

    def broken(config, folder=None, *, checkpoint_seconds=30.0):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(nst_engine.running.transfer, "run", broken)
    app = make_app()
    with caplog.at_level(logging.ERROR, logger="nst.app"):
        async with app.run_test() as pilot:
            await form_settled(pilot)
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: not app.running, what="the failure")
            assert result_text(app).startswith("Internal error: ZeroDivisionError: a bug")
    assert any(record.exc_info for record in caplog.records)


@pytest.mark.slow  # runs the engine
async def test_a_run_with_the_real_oxford_weights(make_app, tiny_config) -> None:
    app = make_app(tiny_config.replace(weights="oxford", iterations=2))
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.running, timeout=300, what="the run")
        assert result_text(app).startswith("Done in"), result_text(app)
        status = str(app.main.panel.query_one("#run-status").content)
        assert "oxford" in status and "NOT TRAINED" not in status

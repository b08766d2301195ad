"""The history screen: listing, sorting and filtering past runs, opening one, loading its
settings (or an image's) into the form, running again, resuming, deleting after asking."""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from app_helpers import form_settled, wait_for
from PIL import Image

from nst_engine.settings.config import OptimizerSettings, RunConfig
from nst_engine.settings.values import Size
from nst_engine.store.resume import resumable
from nst_engine.store.runs import RunFolder, list_runs


def _run(config: RunConfig, root: Path, stop_at: int | None = None) -> RunFolder:
    """A real run of `config` recorded in a folder of `root`; stopped at `stop_at` if given."""
    from nst_engine.running import transfer
    from nst_engine.running.events import Step

    folder = RunFolder.create(config, root)
    with transfer.run(config, folder) as events:
        for event in events:
            if stop_at is not None and isinstance(event, Step) and event.index == stop_at:
                events.cancel()
                break
    return folder


@pytest.fixture(scope="module")
def recorded_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three runs, made once for the module: finished, stopped (resumable), never started."""
    from nst_engine.settings.gallery import demo_pair, resolve_image_path

    base = tmp_path_factory.mktemp("history")
    root = base / "runs"
    content, style = demo_pair()
    tiny = RunConfig.from_flat(
        content=content,
        style=style,
        iterations=3,
        size=Size(longest=32),
        weights="random",
        device="cpu",
        optimizer=OptimizerSettings(name="adam", lr=2.0),
        output=base / "finished.png",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NST_TUI_STATE_DIR", str(base / "state"))
        patch.setenv("NST_TUI_CACHE_DIR", str(base / "cache"))
        _run(tiny, root)
        stopped = tiny.replace(
            style=resolve_image_path("mosaic"), iterations=4, output=base / "stopped.png"
        )
        _run(stopped, root, stop_at=2)
        queued = tiny.replace(
            optimizer=OptimizerSettings(name="lbfgs", lr=1.0), output=base / "queued.png"
        )
        RunFolder.create(queued, root)
    return root


@pytest.fixture
def runs(recorded_runs: Path, tmp_path: Path) -> Path:
    """This test's runs folder (NST_TUI_RUNS_DIR), a copy of the module's three runs."""
    root = tmp_path / "runs"
    shutil.copytree(recorded_runs, root)
    return root


def by_status(root: Path) -> dict[str, RunFolder]:
    return {record.status: RunFolder(record.path) for record in list_runs(root)}


async def open_history(pilot):
    from nst_tui.app.screens.history import HistoryScreen

    await form_settled(pilot)
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), what="history")
    await pilot.pause()
    return pilot.app.screen


def column(screen, key: str) -> list[str]:
    table = screen.table
    return [str(table.get_cell(row.key, key)) for row in table.ordered_rows]


async def highlight(pilot, screen, status: str) -> None:
    table = screen.table
    row = [record.status for record in screen.shown].index(status)
    table.move_cursor(row=row, animate=False)
    await pilot.pause()
    assert screen.highlighted.status == status


async def test_the_history_lists_opens_sorts_and_filters_runs_draws_thumbnails_and_is_in_the_palette(
    make_app, runs: Path
) -> None:
    """Every part in one app (an app start costs more than a part), each from the main screen
    and a new history screen (its sorting and filter are its own)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for part in (
            the_history_lists_past_runs_with_settings_status_time_and_a_thumbnail,
            opening_a_run_shows_its_picture_settings_and_loss_curve,
            a_thumbnail_that_comes_for_another_size_is_not_drawn,
            history_is_in_the_palette_and_off_while_it_is_open,
            the_history_sorts_by_a_column_and_filters_by_text_and_status,
        ):
            await part(pilot)  # each ends with Escape back to the main screen
            await wait_for(pilot, lambda: app.screen is app.main, what="the main screen")
            assert app.screen_stack == [app.main], part.__name__


async def the_history_lists_past_runs_with_settings_status_time_and_a_thumbnail(pilot) -> None:
    app = pilot.app
    screen = await open_history(pilot)
    assert column(screen, "status") == ["queued", "stopped", "finished"], "lists: newest first"
    assert column(screen, "content") == ["rocket.jpg"] * 3, "lists: the content"
    assert column(screen, "style") == ["swirl.jpg", "mosaic.jpg", "swirl.jpg"], "lists: style"
    assert column(screen, "iterations") == ["0/3", "2/4", "3/3"], "lists: iterations"
    settings = column(screen, "settings")
    assert settings[0].startswith("lbfgs lr 1") and settings[2].startswith("adam lr 2"), settings
    assert "32" in settings[2], f"lists: the size in {settings[2]}"
    times = column(screen, "time")
    assert times[0] == "" and re.fullmatch(r"\d+:\d\d", times[2]), times  # never ran; m:ss
    await highlight(pilot, screen, "finished")
    thumbnail = screen.query_one("#history-thumbnail")
    await wait_for(pilot, lambda: thumbnail.has_picture, what="the thumbnail")
    details = str(screen.query_one("#history-details").content)
    assert "status: finished" in details, "lists: the details"
    await pilot.press("escape")
    assert app.screen is app.main, "lists: Escape closes it"


async def opening_a_run_shows_its_picture_settings_and_loss_curve(pilot) -> None:
    from nst_tui.app.screens.run_view import RunScreen

    app = pilot.app
    screen = await open_history(pilot)
    await highlight(pilot, screen, "finished")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the run")
    view = app.screen
    settings = str(view.query_one("#run-view-settings").content)
    assert "iterations = 3" in settings and 'name = "adam"' in settings
    assert view.losses.iterations == [1, 2, 3]
    assert all(value > 0 for value in view.losses.values["total"])
    assert "finished" in str(view.query_one("#run-view-title").content)
    picture = view.query_one("#run-view-picture")
    await wait_for(pilot, lambda: picture.has_picture, what="the picture")
    assert picture.picture_size[0] > 20  # larger than the thumbnail
    await pilot.press("escape")
    assert app.screen is screen
    # A run never started: no picture, no curve, and no error for either.
    await highlight(pilot, screen, "queued")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the run")
    await pilot.pause(0.2)
    view = app.screen
    assert "queued" in str(view.query_one("#run-view-title").content)
    assert view.losses.point_count == 0 and "no iterations" in str(view.losses.border_title)
    assert not view.query_one("#run-view-picture").has_picture
    await pilot.press("escape", "escape")  # the run, then the history


async def test_load_settings_fills_the_form_with_a_fresh_output(make_app, runs, tiny_config):
    app = make_app(tiny_config.replace(iterations=7, style_weight=3.0))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_history(pilot)
        await highlight(pilot, screen, "stopped")
        stored = RunFolder(screen.highlighted.path).config()
        await pilot.press("l")
        assert app.screen is app.main
        await form_settled(pilot)
        loaded = app.form_state.config
        assert loaded is not None
        assert loaded.plan.iterations == 4 and loaded.inputs.style == stored.inputs.style
        assert loaded.look.style_weight == stored.look.style_weight
        assert loaded.inputs.output != stored.inputs.output and not loaded.inputs.output.exists()
        assert loaded.replace(output=stored.inputs.output) == stored


async def test_settings_come_back_from_an_image_made_by_nst_tui(make_app, runs, tiny_config):
    from nst_tui.app.screens.run_actions import load_settings_from_image

    finished = by_status(runs)["finished"]
    image = Path(finished.record().result)
    app = make_app(tiny_config.replace(iterations=9, tv_weight=0.5))
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        assert app.form_state.config.plan.iterations == 9
        load_settings_from_image(app, image)
        await form_settled(pilot)
        loaded = app.form_state.config
        assert (
            loaded.plan.iterations == 3
            and loaded.look.tv_weight == finished.config().look.tv_weight
        )
        assert loaded.inputs.output != image
        # An image without settings: one line, and the form keeps what it has.
        plain = runs.parent / "plain.png"
        Image.new("RGB", (8, 8)).save(plain)
        messages = []
        app.notify = lambda message, **options: messages.append(message)  # type: ignore[method-assign]
        load_settings_from_image(app, plain)
        assert messages == [f"'{plain}' carries no nst-tui settings (not made by nst-tui?)"]
        await form_settled(pilot)
        assert app.form_state.config.plan.iterations == 3


async def test_resume_and_run_again_go_to_the_queue_delete_asks_first_and_the_list_follows(
    make_app, runs: Path, tiny_config
) -> None:
    """Every part in one app (an app start costs more than a part), each from the main screen
    and a new history screen: the first hands runs to a stand-in queue (nothing changes on
    disk), the second deletes the stopped run, the third changes the runs folder."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        # Resume and run again hand the run to the queue.
        await resume_and_run_again_hand_the_run_to_the_queue(pilot)
        await back_to_the_main_screen(pilot, "after resume and run again")
        assert [r.status for r in list_runs(runs)].count("stopped") == 1, "nothing deleted"
        # Delete asks first and removes the run folder.
        await delete_asks_first_and_removes_the_run_folder(pilot)
        await back_to_the_main_screen(pilot, "after delete")
        # The list follows the runs folder.
        await the_list_follows_the_runs_folder(pilot, runs, tiny_config)


async def back_to_the_main_screen(pilot, part: str) -> None:
    app = pilot.app
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is app.main, what="the main screen")
    assert app.screen_stack == [app.main], part


async def resume_and_run_again_hand_the_run_to_the_queue(pilot) -> None:
    app = pilot.app
    calls: list[tuple[RunConfig, RunFolder | None]] = []
    app.enqueue = lambda config, folder=None, **options: calls.append((config, folder))
    said: list[str] = []
    app.notify = lambda message, **options: said.append(message)
    screen = await open_history(pilot)
    await highlight(pilot, screen, "stopped")
    stopped = RunFolder(screen.highlighted.path)
    await pilot.press("r")
    assert calls == [(stopped.config(), stopped)], "resume: the stopped run with its folder"
    await highlight(pilot, screen, "finished")
    finished = RunFolder(screen.highlighted.path)
    await pilot.press("r")  # finished: nothing to resume, in the engine's words
    assert len(calls) == 1, "resume: a finished run is not resumed"
    assert said[-1] == resumable(finished), "resume: as `nst-tui resume` says it"
    await pilot.press("a")  # run again: the same settings, a new output beside the old one
    config, folder = calls[1]
    old = finished.config()
    assert folder is None, "run again: a new run"
    new_output = old.inputs.output.with_name(f"{old.inputs.output.stem}-2.png")
    assert config.inputs.output == new_output, "run again: a new output beside the old"
    assert config.replace(output=old.inputs.output) == old, "run again: the same settings"
    del app.enqueue, app.notify  # the app's own again


async def delete_asks_first_and_removes_the_run_folder(pilot) -> None:
    from nst_tui.app.screens.confirm import ConfirmScreen

    app = pilot.app
    screen = await open_history(pilot)
    await highlight(pilot, screen, "stopped")
    folder = RunFolder(screen.highlighted.path)
    await pilot.press("d")
    assert isinstance(app.screen, ConfirmScreen), "delete: asks"
    await pilot.press("enter")  # the safe answer has the focus: keep
    assert app.screen is screen and folder.path.is_dir(), "delete: Enter keeps it"
    await pilot.press("d")
    await pilot.click("#confirm-yes")
    await wait_for(pilot, lambda: app.screen is screen, what="the question to close")
    await pilot.pause()
    assert not folder.path.exists(), "delete: the folder removed after yes"
    assert column(screen, "status") == ["queued", "finished"], "delete: gone from the list"


async def the_list_follows_the_runs_folder(pilot, runs: Path, tiny_config) -> None:
    app = pilot.app
    screen = await open_history(pilot)
    assert screen.table.row_count == 2, "follows: the two runs the delete left"
    RunFolder.create(tiny_config.replace(output=runs.parent / "new.png"), runs)
    await wait_for(pilot, lambda: screen.table.row_count == 3, what="the new run")
    by_status(runs)["queued"].update(status="failed", error="out of memory")
    await wait_for(pilot, lambda: "failed" in column(screen, "status"))
    # A run of this app's queue: its iterations as they go, not only at its checkpoints.
    running = by_status(runs)["failed"]
    running.update(status="running", pid=os.getpid(), host=socket.gethostname(), error=None)
    await wait_for(pilot, lambda: "running" in column(screen, "status"))
    entry = SimpleNamespace(folder=running, index=2, total=3, status="running")
    app.jobs[999] = entry
    await wait_for(pilot, lambda: "2/3" in column(screen, "iterations"))
    del app.jobs[999]


async def a_thumbnail_that_comes_for_another_size_is_not_drawn(pilot) -> None:
    """A load begun before the first layout (or a resize) answers late, for an older size: it
    must not replace the picture asked for last (a 1-cell thumbnail was seen in a snapshot)."""
    screen = await open_history(pilot)
    screen.query_one("#history-table").move_cursor(row=2)  # the finished run
    thumbnail = screen.query_one("#history-thumbnail")
    await wait_for(pilot, lambda: thumbnail.has_picture, what="the thumbnail")
    shown = thumbnail.picture_size
    run_id, size = screen._thumbnail_for
    assert size != (1, 1)
    late = thumbnail._strips[:1]  # any other picture
    screen._thumbnail_loaded((run_id, (1, 1)), late)
    assert thumbnail.picture_size == shown
    screen._thumbnail_loaded((run_id, size), late)  # the answer asked for is drawn
    assert thumbnail.picture_size != shown
    await pilot.press("escape")


async def history_is_in_the_palette_and_off_while_it_is_open(pilot) -> None:
    from app_helpers import search_palette

    from nst_tui.app.screens.history import HistoryScreen

    app = pilot.app
    await form_settled(pilot)
    await search_palette(pilot, "history")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
    screen = app.screen
    await pilot.press("f3", "ctrl+r")  # neither opens a second history nor runs the form
    await pilot.pause()
    assert app.screen is screen and not app.running
    assert len(app.screen_stack) == 2
    await pilot.press("escape")


async def the_history_sorts_by_a_column_and_filters_by_text_and_status(pilot) -> None:
    app = pilot.app
    screen = await open_history(pilot)
    screen.sort_by("status")
    await pilot.pause()
    assert column(screen, "status") == ["finished", "queued", "stopped"]
    screen.sort_by("status")  # the same column again: the other way
    await pilot.pause()
    assert column(screen, "status") == ["stopped", "queued", "finished"]
    await pilot.press("s")  # the next column: time, longest first
    await pilot.pause()
    assert screen.sorting == ("time", True)
    assert column(screen, "status")[-1] == "queued"  # never ran
    await pilot.press("S")  # reversed
    await pilot.pause()
    assert column(screen, "status")[0] == "queued"
    # A click on a heading sorts by that column.
    table = screen.table
    x = 1 + sum(table.columns[key].get_render_width(table) for key in ("date", "content"))
    await pilot.click(table, offset=(x + 1, 0))
    await pilot.pause()
    assert screen.sorting == ("style", False)
    assert column(screen, "style") == ["mosaic.jpg", "swirl.jpg", "swirl.jpg"]
    # Filtering: / goes to the text, which matches names and settings.
    await pilot.press("slash")
    assert screen.focused.id == "history-filter"
    await pilot.press(*"mosaic")
    await pilot.pause()
    assert column(screen, "status") == ["stopped"]
    assert "1 of 3 runs" in str(screen.query_one("#history-count").content)
    screen.query_one("#history-filter").value = "optimizer=lbfgs"
    await pilot.pause()
    assert column(screen, "status") == ["queued"]
    screen.query_one("#history-filter").value = ""
    screen.query_one("#history-status").value = "finished"
    await pilot.pause()
    assert column(screen, "status") == ["finished"]
    # Escape in the filter goes back to the list first; a second Escape closes it.
    await pilot.press("slash", "escape")
    assert screen.focused is screen.table and app.screen is screen
    await pilot.press("escape")

"""Filling in the form: inline messages, Run off with its reason, layers, optimisers, Tab order."""

from __future__ import annotations

from pathlib import Path

from app_helpers import form_settled, open_layers, reason_text, set_text, wait_for
from textual.widgets import Button, Checkbox, Collapsible, Input, Select

from nst_tui.app.widgets.form.path_field import PathField, PathSuggester


def run_button(app) -> Button:
    return app.main.query_one("#run", Button)


async def test_a_missing_image_is_named_and_run_stays_off(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#content", "/no/such/photo.jpg")
        field = app.main.query_one("#content-field", PathField)
        message = "content image '/no/such/photo.jpg' does not exist"
        assert field.problem == message
        assert str(field.query_one(".path-info").content) == message
        assert run_button(app).disabled
        assert message in reason_text(app)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not app.running


async def test_a_folder_and_a_non_image_are_refused(make_app, tmp_path: Path) -> None:
    text_file = tmp_path / "notes.jpg"
    text_file.write_text("not a picture")
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#style", str(tmp_path))
        assert "is a folder, not an image file" in app.main.query_one("#style-field").problem
        await set_text(pilot, "#style", str(text_file))
        assert "is not an image Pillow can read" in app.main.query_one("#style-field").problem
        assert run_button(app).disabled


async def test_a_good_image_shows_a_thumbnail_and_its_size(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        field = app.main.query_one("#content-field", PathField)
        thumbnail = field.query_one("CellImage")
        assert thumbnail.has_picture
        assert "640x427 px" in str(field.query_one(".path-info").content)  # 80 columns


async def test_a_non_numeric_iteration_count_is_explained(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        iterations = app.main.query_one("#iterations", Input)
        iterations.focus()
        await pilot.press("ctrl+a", "ctrl+k", *"12x")  # typed, key by key
        await form_settled(pilot)
        message = "iterations must be a whole number, got '12x'"
        assert app.main.query_one("#iterations-field").error == message
        assert run_button(app).disabled
        assert message in reason_text(app)
        await pilot.press("backspace")
        await form_settled(pilot)
        assert app.main.query_one("#iterations-field").error == ""
        assert not run_button(app).disabled
        assert app.form_state.config.plan.iterations == 12


async def test_all_layers_unticked_is_explained(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await open_layers(pilot, "content")
        box = app.main.query_one("#content-layers-box", Collapsible)
        ticked = app.main.query_one("#content-relu4_2", Checkbox)
        assert ticked.value and not app.main.query_one("#content-relu4_2-weight").disabled
        ticked.value = False
        await pilot.pause()
        await form_settled(pilot)
        message = "choose at least one content layer with a weight above 0"
        assert app.main.query_one("#content-layers").has_class("-invalid")
        assert run_button(app).disabled
        assert message in reason_text(app)
        assert box.title == "Content layers: none"
        assert app.main.query_one("#content-relu4_2-weight").disabled


async def test_ticking_a_layer_makes_its_weight_editable(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        app.main.query_one("#style-layers-box", Collapsible).collapsed = False
        await wait_for(pilot, lambda: bool(app.main.query("#style-conv3_2")), what="the rows")
        weight = app.main.query_one("#style-conv3_2-weight", Input)
        assert weight.disabled
        app.main.query_one("#style-conv3_2", Checkbox).value = True
        await pilot.pause()
        await form_settled(pilot)
        assert not weight.disabled
        # A new layer gets the median weight of those ticked (their scales differ widely).
        ticked = sorted(weight for _, weight in app.remembered.config.look.style_layers)
        assert float(weight.value) == ticked[len(ticked) // 2]
        assert ("conv3_2", float(weight.value)) in app.form_state.config.look.style_layers
        await set_text(pilot, "#style-conv3_2-weight", "heavy")
        assert "weight of style layers conv3_2 must be a number" in reason_text(app)


async def test_each_optimiser_shows_its_own_parameters(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        assert app.main.query_one("#adam-beta1").display  # the config's optimiser is Adam
        app.main.query_one("#optimizer", Select).value = "rmsprop"
        await wait_for(pilot, lambda: bool(app.main.query("#rmsprop-alpha")), what="rmsprop")
        await form_settled(pilot)
        assert app.main.query_one("#params-rmsprop").display
        assert not app.main.query_one("#params-adam").display
        assert app.form_state.config.plan.optimizer.name == "rmsprop"
        await set_text(pilot, "#rmsprop-momentum", "1.5")
        assert "rmsprop momentum must be less than 1, got 1.5" in reason_text(app)
        app.main.query_one("#optimizer", Select).value = "lbfgs"
        await wait_for(pilot, lambda: bool(app.main.query("#lbfgs-history_size")), what="lbfgs")
        await form_settled(pilot)
        # The hidden optimiser's bad value does not block a run with another one.
        assert not run_button(app).disabled
        assert app.form_state.config.plan.optimizer.name == "lbfgs"


async def test_an_existing_output_needs_replace_ticked(make_app, tmp_path: Path) -> None:
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"x")
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#output", str(taken))
        assert "already exists" in reason_text(app)
        app.main.query_one("#overwrite", Checkbox).value = True
        await pilot.pause()
        await form_settled(pilot)
        assert not run_button(app).disabled
        assert app.form_state.config.inputs.overwrite


async def test_tab_reaches_every_field_in_order(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        app.main.query_one("#preset").focus()
        await pilot.pause()
        seen: list[str] = []
        for _ in range(80):
            focused = app.focused
            name = focused.id or type(focused).__name__
            if seen and name == seen[0]:
                break
            seen.append(name)
            await pilot.press("tab")
        expected = [
            "preset", "save-preset", "content", "content-browse", "style", "style-browse",
            "add-style", "output", "overwrite", "style_weight", "style_loss", "preserve_color",
            "style_scale", "style_size", "tv_weight", "ema", "iterations", "size", "output_size",
            "optimizer", "lr", "adam-beta1", "adam-beta2", "adam-eps", "init", "init_noise",
            "seed", "pooling", "padding", "loss_scale", "device", "weights", "CollapsibleTitle",
            "CollapsibleTitle", "run",
        ]  # fmt: skip
        positions = [seen.index(name) for name in expected[:-3]]
        assert positions == sorted(positions), seen
        assert seen.count("CollapsibleTitle") == 2, seen
        assert "run" in seen


async def test_the_browse_button_opens_a_file_dialog(make_app, demo_pair) -> None:
    from nst_tui.app.screens.file_picker import FilePickerScreen

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await form_settled(pilot)
        await pilot.click("#style-browse")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePickerScreen), what="dialog")
        folder = app.screen.query_one("#picker-folder", Input)
        folder.value = str(demo_pair[0])  # a file typed here is chosen at once
        folder.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, FilePickerScreen), what="close")
        assert app.main.query_one("#style", Input).value == str(demo_pair[0])


async def test_path_completion_completes_from_the_folder(tmp_path: Path) -> None:
    (tmp_path / "starry_night.jpg").write_bytes(b"x")
    (tmp_path / "stars").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    suggester = PathSuggester((".jpg",))
    assert await suggester.get_suggestion(f"{tmp_path}/starr") == f"{tmp_path}/starry_night.jpg"
    assert await suggester.get_suggestion(f"{tmp_path}/stars") == f"{tmp_path}/stars/"
    assert await suggester.get_suggestion(f"{tmp_path}/no") is None  # not an image
    assert await suggester.get_suggestion("/no/such/folder/x") is None

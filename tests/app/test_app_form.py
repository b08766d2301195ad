"""Filling in the form: inline messages, Run off with its reason, layers, optimisers, Tab order."""

from __future__ import annotations

from pathlib import Path

from app_helpers import form_settled, open_layers, reason_text, run_is_on, set_text, wait_for
from textual.widgets import Button, Checkbox, Collapsible, Input

from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.path_field import PathField, PathSuggester


def run_button(app) -> Button:
    return app.main.query_one("#run", Button)


async def test_images_an_iteration_count_and_a_taken_output_are_checked_each_from_a_good_form(
    make_app, tmp_path: Path, demo_pair
) -> None:
    """Every part in one app (an app start costs more than a part), each from a good form."""
    app = make_app()
    async with app.run_test() as pilot:  # 80x24
        await form_settled(pilot)
        run_is_on(app)
        # Part: a good image shows a thumbnail and its size.
        field = app.main.query_one("#content-field", PathField)
        assert field.query_one("CellImage").has_picture, "good image: no thumbnail"
        assert "640x427 px" in str(field.query_one(".path-info").content), "good image: size"
        await a_missing_image_is_named_and_run_stays_off(pilot)
        await set_text(pilot, "#content", str(demo_pair[0]))
        run_is_on(app)
        await a_folder_and_a_non_image_are_refused(pilot, tmp_path)
        await set_text(pilot, "#style", str(demo_pair[1]))
        run_is_on(app)
        await a_non_numeric_iteration_count_is_explained(pilot)
        await set_text(pilot, "#iterations", "4")
        run_is_on(app)
        await an_existing_output_needs_replace_ticked(pilot, tmp_path)


async def a_missing_image_is_named_and_run_stays_off(pilot) -> None:
    app = pilot.app
    await set_text(pilot, "#content", "/no/such/photo.jpg")
    field = app.main.query_one("#content-field", PathField)
    message = "content image '/no/such/photo.jpg' does not exist"
    assert field.problem == message, "missing image"
    assert str(field.query_one(".path-info").content) == message, "missing image"
    assert run_button(app).disabled, "missing image"
    assert message in reason_text(app), "missing image"
    await pilot.press("ctrl+r")
    await pilot.pause()
    assert not app.running, "missing image"


async def a_folder_and_a_non_image_are_refused(pilot, tmp_path: Path) -> None:
    app = pilot.app
    text_file = tmp_path / "notes.jpg"
    text_file.write_text("not a picture")
    await set_text(pilot, "#style", str(tmp_path))
    problem = app.main.query_one("#style-field").problem
    assert "is a folder, not an image file" in problem, "folder as style"
    await set_text(pilot, "#style", str(text_file))
    problem = app.main.query_one("#style-field").problem
    assert "is not an image Pillow can read" in problem, "non-image as style"
    assert run_button(app).disabled, "non-image as style"


async def a_non_numeric_iteration_count_is_explained(pilot) -> None:
    app = pilot.app
    iterations = app.main.query_one("#iterations", Input)
    iterations.focus()
    await pilot.press("ctrl+a", "ctrl+k", *"12x")  # typed, key by key
    await form_settled(pilot)
    message = "iterations must be a whole number, got '12x'"
    assert app.main.query_one("#iterations-field").error == message, "iterations '12x'"
    assert run_button(app).disabled, "iterations '12x'"
    assert message in reason_text(app), "iterations '12x'"
    await pilot.press("backspace")
    await form_settled(pilot)
    assert app.main.query_one("#iterations-field").error == "", "iterations '12'"
    assert not run_button(app).disabled, "iterations '12'"
    assert app.form_state.config.plan.iterations == 12, "iterations '12'"


async def an_existing_output_needs_replace_ticked(pilot, tmp_path: Path) -> None:
    app = pilot.app
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"x")
    await set_text(pilot, "#output", str(taken))
    assert "already exists" in reason_text(app), "taken output"
    app.main.query_one("#overwrite", Checkbox).value = True
    await pilot.pause()
    await form_settled(pilot)
    assert not run_button(app).disabled, "taken output, replace ticked"
    assert app.form_state.config.inputs.overwrite, "taken output, replace ticked"


async def test_tab_order_browse_layers_and_optimisers_are_checked_each_from_a_good_form(
    make_app, demo_pair
) -> None:
    """Every part in one app (an app start costs more than a part), each from a good form."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        run_is_on(app)
        await tab_reaches_every_field_in_order(pilot)  # first: the layer lists still closed
        await the_browse_button_opens_a_file_dialog(pilot, demo_pair[0])
        await set_text(pilot, "#style", str(demo_pair[1]))
        run_is_on(app)
        await all_layers_unticked_is_explained(pilot)
        run_is_on(app)
        await ticking_a_layer_makes_its_weight_editable(pilot)
        run_is_on(app)
        await each_optimiser_shows_its_own_parameters(pilot)


async def all_layers_unticked_is_explained(pilot) -> None:
    app = pilot.app
    await open_layers(pilot, "content")
    box = app.main.query_one("#content-layers-box", Collapsible)
    ticked = app.main.query_one("#content-relu4_2", Checkbox)
    weight = app.main.query_one("#content-relu4_2-weight", Input)
    assert ticked.value and not weight.disabled, "content layers: relu4_2 not ticked at first"
    weight_before = weight.value
    ticked.value = False
    await pilot.pause()
    await form_settled(pilot)
    message = "choose at least one content layer with a weight above 0"
    assert app.main.query_one("#content-layers").has_class("-invalid"), "no content layers"
    assert run_button(app).disabled, "no content layers"
    assert message in reason_text(app), "no content layers"
    assert box.title == "Content layers: none", "no content layers"
    assert weight.disabled, "no content layers"
    # Back to the good form: relu4_2 ticked again at its weight.
    ticked.value = True
    await pilot.pause()
    await set_text(pilot, "#content-relu4_2-weight", weight_before)


async def ticking_a_layer_makes_its_weight_editable(pilot) -> None:
    app = pilot.app
    app.main.query_one("#style-layers-box", Collapsible).collapsed = False
    await wait_for(pilot, lambda: bool(app.main.query("#style-conv3_2")), what="the rows")
    weight = app.main.query_one("#style-conv3_2-weight", Input)
    assert weight.disabled, "style conv3_2: editable while unticked"
    conv3_2 = app.main.query_one("#style-conv3_2", Checkbox)
    conv3_2.value = True
    await pilot.pause()
    await form_settled(pilot)
    assert not weight.disabled, "style conv3_2: not editable once ticked"
    # A new layer gets the median weight of those ticked (their scales differ widely).
    ticked = sorted(weight for _, weight in app.remembered.config.look.style_layers)
    assert float(weight.value) == ticked[len(ticked) // 2], "style conv3_2: not the median"
    layers = app.form_state.config.look.style_layers
    assert ("conv3_2", float(weight.value)) in layers, "style conv3_2: not in the config"
    await set_text(pilot, "#style-conv3_2-weight", "heavy")
    reason = reason_text(app)
    assert "weight of style layers conv3_2 must be a number" in reason, "style conv3_2 'heavy'"
    # Back to the good form: conv3_2 unticked.
    conv3_2.value = False
    await pilot.pause()
    await form_settled(pilot)


async def each_optimiser_shows_its_own_parameters(pilot) -> None:
    app = pilot.app
    assert app.main.query_one("#adam-beta1").display, "optimisers: Adam's not shown at first"
    app.main.query_one("#optimizer", Dropdown).value = "rmsprop"
    await wait_for(pilot, lambda: bool(app.main.query("#rmsprop-alpha")), what="rmsprop")
    await form_settled(pilot)
    assert app.main.query_one("#params-rmsprop").display, "optimisers: rmsprop's hidden"
    assert not app.main.query_one("#params-adam").display, "optimisers: Adam's still shown"
    assert app.form_state.config.plan.optimizer.name == "rmsprop", "optimisers: rmsprop"
    await set_text(pilot, "#rmsprop-momentum", "1.5")
    message = "rmsprop momentum must be less than 1, got 1.5"
    assert message in reason_text(app), "optimisers: rmsprop momentum 1.5"
    app.main.query_one("#optimizer", Dropdown).value = "lbfgs"
    await wait_for(pilot, lambda: bool(app.main.query("#lbfgs-history_size")), what="lbfgs")
    await form_settled(pilot)
    # The hidden optimiser's bad value does not block a run with another one.
    assert not run_button(app).disabled, "optimisers: lbfgs blocked by rmsprop's value"
    assert app.form_state.config.plan.optimizer.name == "lbfgs", "optimisers: lbfgs"


async def tab_reaches_every_field_in_order(pilot) -> None:
    app = pilot.app
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
    assert positions == sorted(positions), ("tab order", seen)
    assert seen.count("CollapsibleTitle") == 2, ("tab order", seen)
    assert "run" in seen, ("tab order", seen)


async def the_browse_button_opens_a_file_dialog(pilot, chosen: Path) -> None:
    from nst_tui.app.screens.file_picker import FilePickerScreen

    app = pilot.app
    await pilot.click("#style-browse")
    await wait_for(pilot, lambda: isinstance(app.screen, FilePickerScreen), what="dialog")
    folder = app.screen.query_one("#picker-folder", Input)
    folder.value = str(chosen)  # a file typed here is chosen at once
    folder.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, FilePickerScreen), what="close")
    assert app.main.query_one("#style", Input).value == str(chosen), "browse: not chosen"


async def test_path_completion_completes_from_the_folder(tmp_path: Path) -> None:
    (tmp_path / "starry_night.jpg").write_bytes(b"x")
    (tmp_path / "stars").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    suggester = PathSuggester((".jpg",))
    assert await suggester.get_suggestion(f"{tmp_path}/starr") == f"{tmp_path}/starry_night.jpg"
    assert await suggester.get_suggestion(f"{tmp_path}/stars") == f"{tmp_path}/stars/"
    assert await suggester.get_suggestion(f"{tmp_path}/no") is None  # not an image
    assert await suggester.get_suggestion("/no/such/folder/x") is None

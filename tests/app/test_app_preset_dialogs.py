"""The preset dialogs: saving over one of your presets asks first, an empty name is said
out loud, and your own presets can be deleted (built-in ones cannot)."""

from __future__ import annotations

from app_helpers import form_settled, search_palette, set_text, wait_for
from textual.command import CommandPalette
from textual.widgets import Button, OptionList, Static

from nst_engine.settings.config import RunConfig
from nst_engine.settings.presets import load_preset, save_user_preset, user_preset_names
from nst_engine.store import locations
from nst_tui.app.screens.delete_preset import DeletePresetScreen
from nst_tui.app.screens.save_preset import SavePresetScreen
from nst_tui.app.widgets.dropdown import Dropdown


def count_bells(app) -> list[int]:
    rung: list[int] = []
    app.bell = lambda: rung.append(1)
    return rung


async def open_save_dialog(pilot) -> SavePresetScreen:
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SavePresetScreen), what="dialog")
    return pilot.app.screen


def problem_line(screen) -> Static:
    return screen.query_one("#preset-name-problem", Static)


async def test_the_save_dialog_says_type_a_name_and_asks_before_replacing_a_preset_of_yours(
    make_app,
) -> None:
    """Every part in one app (an app start costs more than a part), each from the main screen
    with the dialog closed and nothing saved."""
    save_user_preset("mine", RunConfig.from_flat(iterations=11))
    save_user_preset("other", RunConfig.from_flat(iterations=12))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        # Enter on an empty name says "type a name".
        rung = count_bells(app)
        dialog = await open_save_dialog(pilot)
        line = problem_line(dialog)
        assert "type a name" not in str(line.content), "empty name: no error before anything"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog, "empty name: the dialog stays"
        assert str(line.content) == "type a name", "empty name: said"
        assert line.has_class("-error") and line.display and line.region.height >= 1, "shown"
        assert rung, "empty name: the bell"
        await close_unsaved(pilot, dialog)

        # Changing the name after the question asks again.
        dialog = await open_save_dialog(pilot)
        await pilot.press(*"mine", "enter")
        await pilot.pause()
        dialog.query_one("#preset-name").value = "other"  # another name of yours
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog, "name changed: asks about 'other' before replacing it"
        assert "other" in str(problem_line(dialog).content), "name changed: names 'other'"
        assert load_preset("other").plan.iterations == 12, "name changed: 'other' kept"
        await close_unsaved(pilot, dialog)

        # Saving over one of your presets asks first.
        await set_text(pilot, "#iterations", "22")
        dialog = await open_save_dialog(pilot)
        await pilot.press(*"mine", "enter")
        await pilot.pause()
        # Still open, asking; nothing written yet.
        assert app.screen is dialog, "asks first: still open"
        assert "replace" in str(problem_line(dialog).content).lower(), "asks first: the question"
        assert "Replace" in str(dialog.query_one("#preset-save", Button).label), "the button"
        assert load_preset("mine").plan.iterations == 11, "asks first: nothing written yet"
        # Escape keeps it.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not dialog, what="closing")
        assert load_preset("mine").plan.iterations == 11, "asks first: Escape keeps it"

        # Again, and this time confirm with a second Enter.
        dialog = await open_save_dialog(pilot)
        await pilot.press(*"mine", "enter")
        await pilot.pause()
        assert app.screen is dialog, "asks first: asks again"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not dialog, what="saving")
        assert load_preset("mine").plan.iterations == 22, "asks first: replaced after yes"


async def close_unsaved(pilot, dialog) -> None:
    """Escape out of the save dialog; back on the main screen, no preset of yours changed."""
    app = pilot.app
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is not dialog, what="closing")
    assert app.screen is app.main
    assert load_preset("mine").plan.iterations == 11 and load_preset("other").plan.iterations == 12


async def pick_from_palette(pilot, query: str) -> None:
    app = pilot.app
    await search_palette(pilot, query)
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), what="the command")
    await pilot.pause()


async def test_a_preset_of_yours_is_kept_when_the_question_is_cancelled_and_deleted_after_yes(
    make_app,
) -> None:
    """Both parts in one app (an app start costs more than a part), each from the main screen."""
    save_user_preset("old look", RunConfig.from_flat(iterations=11))
    save_user_preset("keeper", RunConfig.from_flat(iterations=12))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        # Cancelling the question keeps the preset.
        app.action_delete_preset()
        await wait_for(pilot, lambda: isinstance(app.screen, DeletePresetScreen), what="dialog")
        await pilot.press("enter")  # the first choosable one
        await pilot.pause()
        await pilot.press("escape")  # no
        await pilot.pause()
        await pilot.press("escape")  # and out
        await wait_for(pilot, lambda: not isinstance(app.screen, DeletePresetScreen), what="out")
        assert user_preset_names() == ["keeper", "old look"], "cancelled: both kept"
        assert app.screen is app.main, "cancelled: back on the main screen"

        # A preset of yours is deleted from the palette after asking.
        await pick_from_palette(pilot, "delete a preset")
        assert isinstance(app.screen, DeletePresetScreen), "delete: the dialog"
        dialog = app.screen
        options = dialog.query_one(OptionList)
        listed = [options.get_option_at_index(i) for i in range(options.option_count)]
        by_id = {option.id: option for option in listed}
        assert not by_id["old look"].disabled and not by_id["keeper"].disabled, "delete: yours"
        # Built-in presets are listed as such and cannot be chosen.
        assert by_id["default"].disabled, "delete: a built-in cannot be chosen"
        assert "cannot be deleted" in str(by_id["default"].prompt), "delete: and says so"
        options.highlighted = listed.index(by_id["old look"])
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog, "delete: asks first"
        question = str(dialog.query_one("#delete-preset-question", Static).content)
        assert "old look" in question, "delete: the question names it"
        assert "old look" in user_preset_names(), "delete: nothing deleted before yes"
        await pilot.press("enter")  # the question's default button: Delete
        await wait_for(pilot, lambda: app.screen is not dialog, what="deleting")
        assert user_preset_names() == ["keeper"], "delete: only it deleted"
        assert not (locations.user_presets_dir() / "old look.toml").exists(), "delete: its file"
        preset = app.main.query_one("#preset", Dropdown)
        assert "old look" not in [value for _, value in preset.options], "delete: the box"
        assert any("Deleted" in note.message for note in app._notifications), "delete: said"


async def test_with_no_presets_of_yours_deleting_says_built_ins_stay(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        app.action_delete_preset()
        await pilot.pause()
        assert not isinstance(app.screen, DeletePresetScreen)
        notes = [note.message for note in app._notifications]
        assert any("built-in presets cannot be deleted" in note for note in notes), notes

"""The app's drop-down (nst_tui/app/widgets/dropdown.py) in a tiny app of its own: one widget
while closed, opened by the keys Select opens on, chosen in its list, closed unchanged by
Escape or a blur, and a Changed for each change of value, by a person or by code."""

from __future__ import annotations

import pytest
from app_helpers import wait_for
from textual.app import App, ComposeResult
from textual.widgets import Input

from nst_tui.app.widgets.dropdown import Dropdown, DropdownList, UnknownChoiceError

CHOICES = [("Adam", "adam"), ("L-BFGS", "lbfgs"), ("RMSprop", "rmsprop"), ("Rprop", "rprop")]


class Box(App):
    """A drop-down and a text field to move focus to; records every Changed."""

    def __init__(self, choices=CHOICES, **dropdown) -> None:
        super().__init__()
        self.choices = choices
        self.dropdown_args = {"value": "lbfgs", "allow_blank": False, **dropdown}
        self.changes: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield Dropdown(self.choices, id="choice", **self.dropdown_args)
        yield Input(id="other")

    def on_dropdown_changed(self, event: Dropdown.Changed) -> None:
        assert event.control is event.dropdown
        self.changes.append(event.value)

    @property
    def dropdown(self) -> Dropdown:
        return self.query_one(Dropdown)


def the_list(app: Box) -> DropdownList:
    return app.dropdown.query_one(DropdownList)


async def opened(pilot, app: Box, key: str) -> DropdownList:
    app.dropdown.focus()
    await pilot.press(key)
    await wait_for(pilot, lambda: app.dropdown.is_open, what="the list")
    return the_list(app)


async def test_closed_it_is_one_widget_showing_its_choice_and_an_arrow() -> None:
    app = Box()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        dropdown = app.dropdown
        assert list(dropdown.children) == [], "no child widgets while closed"
        line = dropdown.render().plain
        assert line.startswith("L-BFGS") and line.endswith(" ▼ "), line
        assert len(line) == dropdown.content_size.width
        assert app.changes == [], "the value given at the start is no change"


@pytest.mark.parametrize("key", ["enter", "space", "down", "up"])
async def test_the_keys_select_opens_on_open_it_on_the_current_choice(key: str) -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        choice_list = await opened(pilot, app, key)
        assert app.focused is choice_list
        assert choice_list.highlighted == 1, "the current choice (L-BFGS) highlighted"
        assert app.dropdown.render().plain.endswith("▲ ")


async def test_a_click_opens_it_a_click_on_a_choice_chooses_it() -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.click("#choice")
        await wait_for(pilot, lambda: app.dropdown.is_open, what="the list")
        assert app.focused is the_list(app)
        await pilot.click(DropdownList, offset=(2, 2))  # the third line: RMSprop
        await wait_for(pilot, lambda: not app.dropdown.children, what="the list removed")
        assert app.dropdown.value == "rmsprop" and app.changes == ["rmsprop"]
        assert app.focused is app.dropdown


async def test_a_click_on_its_line_while_open_closes_it() -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.click("#choice")
        await wait_for(pilot, lambda: app.dropdown.is_open, what="the list")
        await pilot.click("#choice")
        await wait_for(pilot, lambda: not app.dropdown.children, what="the list removed")
        await pilot.pause()
        assert not app.dropdown.is_open and app.changes == []


async def test_a_disabled_dropdown_does_not_open() -> None:
    app = Box(disabled=True)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.click("#choice")
        await pilot.pause()
        assert not app.dropdown.is_open and app.focused is not app.dropdown


async def test_down_and_enter_choose_post_one_change_and_close_the_list() -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        await opened(pilot, app, "enter")
        await pilot.press("down", "down", "up", "enter")
        await wait_for(pilot, lambda: not app.dropdown.children, what="the list removed")
        assert app.dropdown.value == "rmsprop"
        assert app.changes == ["rmsprop"]
        assert app.focused is app.dropdown, "focus comes back to the drop-down"
        assert not app.dropdown.is_open


async def test_choosing_the_current_choice_again_is_no_change() -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        await opened(pilot, app, "enter")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.dropdown.children, what="the list removed")
        assert app.changes == []


async def test_escape_closes_without_change_and_gives_focus_back() -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        await opened(pilot, app, "enter")
        await pilot.press("down", "escape")
        await wait_for(pilot, lambda: not app.dropdown.children, what="the list removed")
        assert app.dropdown.value == "lbfgs" and app.changes == []
        assert app.focused is app.dropdown


async def test_losing_focus_closes_without_change() -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        await opened(pilot, app, "enter")
        await pilot.press("down")
        app.query_one("#other", Input).focus()
        await wait_for(pilot, lambda: not app.dropdown.children, what="the list removed")
        assert app.dropdown.value == "lbfgs" and app.changes == []
        assert app.focused is app.query_one("#other")


async def test_a_letter_jumps_to_the_next_choice_that_starts_with_it() -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        choice_list = await opened(pilot, app, "enter")
        await pilot.press("r")
        assert choice_list.highlighted == 2, "RMSprop"
        await pilot.press("r")
        assert choice_list.highlighted == 3, "Rprop"
        await pilot.press("R")
        assert choice_list.highlighted == 2, "round again"
        await pilot.press("z")
        assert choice_list.highlighted == 2, "no choice: it stays"
        assert app.changes == [], "moving is no change"


async def test_a_value_set_by_code_posts_changed_and_an_unknown_one_raises() -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        app.dropdown.value = "adam"
        await wait_for(pilot, lambda: app.changes == ["adam"], what="Changed")
        assert app.dropdown.render().plain.startswith("Adam")
        with pytest.raises(UnknownChoiceError):
            app.dropdown.value = "sgd"
        with pytest.raises(UnknownChoiceError):
            app.dropdown.clear()  # blank is not allowed here
        with app.dropdown.prevent(Dropdown.Changed):
            app.dropdown.value = "rprop"
        await pilot.pause()
        assert app.changes == ["adam"], "a prevented change posts nothing"


async def test_new_options_keep_the_choice_if_it_is_among_them() -> None:
    app = Box()
    async with app.run_test(size=(40, 12)) as pilot:
        app.dropdown.set_options([("lbfgs!", "lbfgs"), ("sgd", "sgd")])
        assert app.dropdown.value == "lbfgs"
        assert app.dropdown.render().plain.startswith("lbfgs!")
        app.dropdown.set_options([("sgd", "sgd")])
        assert app.dropdown.value == "sgd", "gone: the first choice"
        await wait_for(pilot, lambda: app.changes == ["sgd"], what="Changed")


async def test_a_blank_dropdown_shows_its_prompt_and_offers_it_first() -> None:
    app = Box(value=None, allow_blank=True, prompt="custom")
    async with app.run_test(size=(40, 12)) as pilot:
        dropdown = app.dropdown
        assert dropdown.value is None  # blank
        assert dropdown.render().plain.startswith("custom")
        choice_list = await opened(pilot, app, "enter")
        assert choice_list.highlighted == 0, "the prompt, first"
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.changes == ["adam"], what="Changed")
        dropdown.clear()
        await wait_for(pilot, lambda: app.changes == ["adam", None], what="Changed to blank")
        assert dropdown.render().plain.startswith("custom")


async def test_a_long_label_is_cut_with_an_ellipsis() -> None:
    app = Box(choices=[("a very long label for a narrow box", "x")], value="x")
    async with app.run_test(size=(12, 4)) as pilot:
        await pilot.pause()
        line = app.dropdown.render().plain
        assert line.endswith("… ▼ ") and line.startswith("a very"), line
        assert len(line) == app.dropdown.content_size.width

"""A line that shows the same text is not updated, one that stays one line is not laid out
again, and the footer is not rebuilt when the focus moves between widgets with the same keys
(each of these was a layout of the whole screen: nst_tui/app/widgets/lines.py, keys_footer.py)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from nst_tui.app.widgets.keys_footer import KeysFooter
from nst_tui.app.widgets.lines import show


class Lines(App[None]):
    CSS = "#line { width: 20; }"

    def compose(self) -> ComposeResult:
        yield Static("ready", id="line")
        yield Input(id="first")
        yield Input(id="second")
        yield KeyedInput(id="keyed")
        yield KeysFooter()


class KeyedInput(Input):
    BINDINGS = [Binding("ctrl+t", "noop", "Try", id="try")]

    def action_noop(self) -> None:
        pass


async def test_a_line_is_updated_only_when_its_text_changes_and_laid_out_only_when_it_may_grow():
    app = Lines()
    async with app.run_test(size=(60, 10)) as pilot:
        line = app.query_one("#line", Static)
        updates: list[bool] = []
        original = line.update
        line.update = lambda content, layout=True: (
            updates.append(layout),
            original(content, layout=layout),
        )
        show(line, "ready")
        assert updates == []  # the same text: nothing done
        show(line, "Run is off")
        assert updates == [False]  # one line within 20 columns, and it was: no layout
        show(line, "a reason that takes more than one line of twenty columns")
        assert updates == [False, True]  # it grows: laid out
        await pilot.pause()
        assert line.size.height > 1
        show(line, "short again")
        assert updates == [False, True, True]  # it shrinks back: laid out


async def test_the_footer_is_rebuilt_only_when_the_keys_it_shows_change():
    app = Lines()
    async with app.run_test(size=(60, 10)) as pilot:
        footer = app.query_one(KeysFooter)
        rebuilds: list[int] = []
        original = footer.recompose

        async def counted():
            rebuilds.append(1)
            await original()

        footer.recompose = counted
        app.query_one("#first").focus()
        await pilot.pause()
        rebuilds.clear()
        app.query_one("#second").focus()  # the same keys
        await pilot.pause()
        assert rebuilds == []
        app.query_one("#keyed").focus()  # a key of its own: shown
        await pilot.pause()
        await pilot.pause()
        assert rebuilds == [1]
        assert "Try" in {key.description for key in footer.query("FooterKey")}
        app.query_one("#first").focus()  # gone again
        await pilot.pause()
        await pilot.pause()
        assert len(rebuilds) == 2
        assert "Try" not in {key.description for key in footer.query("FooterKey")}

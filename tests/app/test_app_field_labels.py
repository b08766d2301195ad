"""A form row draws its own label: one widget fewer per row (each start and each layout of the
main screen pays for every widget), and the row reads as before: the label in the first 14
columns, the control beside it, the error under the control."""

from __future__ import annotations

import pytest
from app_helpers import form_settled, set_text, wait_for
from screen_text import screen_lines
from textual.widgets import Label, Tooltip

from nst_tui.app.widgets.form.fields import Field, SelectField, TextField


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_text_field_and_a_choice_draw_their_labels_without_a_label_widget(
    make_app, size
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await form_settled(pilot)
        for selector, text, control in (
            ("#output_size-field", "Output size", "#output_size"),
            ("#device-field", "Device", "#device"),
        ):
            field = app.main.query_one(selector, Field)
            assert isinstance(field, (TextField, SelectField))
            assert not field.query(Label), f"{selector} still has a Label widget"
            app.main.form.scroll_to_widget(field, animate=False)
            await pilot.pause()
            line = screen_lines(app)[field.region.y]
            label = line[field.region.x : field.region.x + 14]
            assert label == text.ljust(14), repr(label)
            # The control starts where the label's 14 columns end.
            assert app.main.query_one(control).region.x == field.region.x + 14
        # A control sized by its text (a checkbox) stays inside its row, as in a grid cell.
        overwrite = app.main.query_one("#overwrite")
        assert overwrite.region.right <= overwrite.parent.region.right
        # The label's words are the field's: its tooltip shows over the label too.
        assert app.main.query_one("#output_size-field").tooltip.startswith("Size of the saved")


async def test_a_bad_value_shows_its_error_under_the_control(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#iterations", "many")
        field = app.main.query_one("#iterations-field", Field)
        await wait_for(pilot, lambda: field.has_class("-invalid"))
        await pilot.pause()
        error = field.query_one(".field-error")
        lines = screen_lines(app)
        assert error.region.y == field.region.y + 1
        assert lines[field.region.y].startswith("Iterations", field.region.x)
        assert lines[error.region.y][field.region.x : field.region.x + 14] == " " * 14
        assert field.error and field.error[:10] in lines[error.region.y]


async def test_the_labels_columns_show_the_fields_tooltip(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), tooltips=True) as pilot:
        await form_settled(pilot)
        field = app.main.query_one("#output_size-field", Field)
        app.main.form.scroll_to_widget(field, animate=False)
        await pilot.pause()
        await pilot.hover(field, offset=(3, 0))  # on the word "Output"
        tooltip = app.screen.query_one(Tooltip)
        await wait_for(pilot, lambda: tooltip.display, what="the tooltip")
        assert str(tooltip.content).startswith("Size of the saved image")

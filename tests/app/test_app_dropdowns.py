"""The main screen's drop-downs are one widget each while closed, and one opened near the
bottom of the screen stays above the footer (its keys stay in sight), at 80x24 and 120x40."""

from __future__ import annotations

import pytest
from app_helpers import form_settled, wait_for
from textual.widgets import Footer, Select

from nst_tui.app.widgets.dropdown import Dropdown, DropdownList


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_each_drop_down_is_one_widget_and_one_opened_at_the_bottom_stays_above_the_footer(
    make_app, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await form_settled(pilot)
        # Each drop-down is one widget while closed (Textual's Select was six).
        assert not app.main.query(Select), "Textual's Select is not used"
        dropdowns = app.main.query(Dropdown)
        assert len(dropdowns) >= 10 and all(not box.children for box in dropdowns)
        footer = app.main.query_one(Footer)
        # The lowest drop-down in sight, scrolled to the row just above the footer.
        form = app.main.form
        select = app.main.query_one("#device", Dropdown)
        form.scroll_to_widget(select, animate=False)  # from below: to the form's last row
        await pilot.pause()
        await pilot.pause()
        assert select.region.bottom == footer.region.y, (select.region, footer.region)
        select.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: select.is_open and select.query(DropdownList))
        overlay = select.query_one(DropdownList)
        await wait_for(pilot, lambda: overlay.region.height > 0)
        await pilot.pause()
        assert overlay.region.bottom <= footer.region.y, (overlay.region, footer.region)

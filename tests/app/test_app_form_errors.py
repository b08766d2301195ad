"""Where the form shows an error between fields: under the field its `NSTError.setting`
names, whatever its words; at the form's end when it names none (never guessed from the
message's first word)."""

from __future__ import annotations

import pytest
from app_helpers import form_settled, run_is_off_because, set_text

import nst_tui.app.widgets.form.form
from nst_engine.errors import ConfigError


def refuse_with(monkeypatch: pytest.MonkeyPatch, error: ConfigError) -> None:
    """The check between fields (sizes against the network) refuses with `error`."""

    def refuse(*arguments, **options) -> None:
        raise error

    monkeypatch.setattr(nst_tui.app.widgets.form.form, "check_fits_network", refuse)


async def test_an_error_is_shown_under_the_field_its_setting_names(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        refuse_with(monkeypatch, ConfigError("too many pixels for this seed", setting="seed"))
        await set_text(pilot, "#iterations", "5")
        run_is_off_because(app, "too many pixels for this seed")
        assert app.main.query_one("#seed-field").error == "too many pixels for this seed"
        assert str(app.main.query_one("#form-error").content) == ""


async def test_an_error_naming_no_setting_is_shown_at_the_forms_end(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        refuse_with(monkeypatch, ConfigError("size and seed do not fit this machine together"))
        await set_text(pilot, "#iterations", "5")
        run_is_off_because(app, "size and seed do not fit")
        # Not under Compute size: the message's first word names it, but the error does not.
        assert app.main.query_one("#size-field").error == ""
        shown = str(app.main.query_one("#form-error").content)
        assert shown == "size and seed do not fit this machine together"

"""The Preset box names the preset the form's settings are, or says "custom"; choosing a
preset keeps the style images' blend unless the preset has one of its own."""

from __future__ import annotations

from app_helpers import form_settled, set_text, wait_for
from screen_text import line_of
from test_app_artist_fields import add_style, choose

from nst_engine.settings.presets import load_preset
from nst_tui.app.screens.run_actions import fill_form


def preset_box(app) -> str:
    """What the Preset box shows, as painted."""
    line = line_of(app, "#preset")
    return line[len(" Preset") : line.index("Save as")].strip(" ▼")


async def test_the_preset_box_names_the_forms_preset_says_custom_otherwise_and_keeps_the_blend(
    make_app, tiny_config, demo_pair
) -> None:
    """Every part in one app (an app start costs more than a part), each from the tiny form."""
    content, _ = demo_pair
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        # The box names the preset whose settings the form has.
        assert preset_box(app) == "custom", "names: the tests' tiny settings are no preset's"
        # A run made with the painterly preset: its settings are the preset's.
        painterly = load_preset("painterly", tiny_config)
        fill_form(app, painterly, "run Y")
        await wait_for(pilot, lambda: preset_box(app) == "painterly (built-in)", what="the name")
        await set_text(pilot, "#iterations", "201")  # changed: no longer the preset's
        assert preset_box(app) == "custom", "names: iterations changed"
        await set_text(pilot, "#iterations", "200")
        assert preset_box(app) == "painterly (built-in)", "names: iterations set back"

        # It says custom after another run's settings are loaded.
        fill_form(app, tiny_config.replace(iterations=31), "run X")  # no preset's settings
        await wait_for(pilot, lambda: app.form_state.config is not None, what="the settings")
        await form_settled(pilot)
        assert app.form_state.config.plan.iterations == 31, "custom after a run: iterations"
        assert preset_box(app) == "custom", "custom after a run's settings"
        await choose(pilot, "#preset", "painterly")
        assert preset_box(app) == "painterly (built-in)", "custom after a run: then painterly"
        fill_form(app, tiny_config.replace(iterations=31), "run X")
        await wait_for(pilot, lambda: preset_box(app) == "custom", what="custom again")
        assert app.form_state.config.plan.iterations == 31, "custom after a run: back to 31"

        # Choosing a preset keeps the blend weights.
        second = await add_style(pilot, content)
        await set_text(pilot, "#style-blend", "3")
        await set_text(pilot, f"#{second}-blend", "1")
        await choose(pilot, "#preset", "painterly")
        assert app.main.query_one("#style-blend").value == "3", "blend: the first weight"
        assert app.main.query_one(f"#{second}-blend").value == "1", "blend: the second weight"
        assert app.form_state.config.look.style_blend == (3.0, 1.0), "blend: the config"
        assert preset_box(app) == "painterly (built-in)", "blend: the images', not the preset's"


async def test_at_80_columns_the_preset_box_holds_its_name_on_one_line(make_app) -> None:
    from screen_text import screen_lines

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_settled(pilot)
        await choose(pilot, "#preset", "painterly")
        box = app.main.query_one("#preset")
        assert box.region.height == 1
        below = screen_lines(app)[box.region.y + 1][box.region.x : box.region.right]
        assert not below.strip(), below  # nothing of the name wrapped onto the next line
        assert preset_box(app).startswith("painterly")

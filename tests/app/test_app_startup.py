"""Opening the app: what a new user sees, and that the first frame does not wait for torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app_helpers import form_settled, reason_text, wait_for
from textual.widgets import Button

from nst_tui.app.app import NSTApp
from nst_tui.app.remembered import Remembered, default_config
from nst_tui.app.widgets.dropdown import Dropdown


async def test_a_new_user_sees_the_demo_pair_and_can_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = NSTApp(folder=tmp_path)  # nothing remembered yet: the defaults
    async with app.run_test(size=(120, 40)) as pilot:
        await form_settled(pilot)
        from nst_engine.settings.gallery import demo_pair

        content, style = demo_pair()
        assert app.main.query_one("#content").value == str(content)
        assert app.main.query_one("#style").value == str(style)
        output = Path(app.main.query_one("#output").value)
        assert output.parent == tmp_path
        assert output.name == f"{content.stem}-{style.stem}.png"
        assert app.main.query_one("#iterations").value == str(default_config().plan.iterations)
        assert app.form_state.config is not None
        assert not app.main.query_one("#run", Button).disabled
        assert "Ready" in reason_text(app)


async def test_at_80x24_the_devices_fill_in_the_output_never_overwrites_and_the_form_fits(
    make_app, tmp_path: Path
) -> None:
    """Every part in one app (an app start costs more than a part); none changes the form."""
    (tmp_path / "rocket-swirl.png").write_bytes(b"taken")
    app = make_app()
    async with app.run_test() as pilot:  # 80x24
        # Part: the device list starts with auto and cpu and fills in (first: before the probe).
        device = app.main.query_one("#device", Dropdown)
        values = lambda: [value for _, value in device.options]  # noqa: E731
        assert {"auto", "cpu"} <= set(values()), ("the first device list", values())
        # The probe (which imports torch) replaces the plain names with descriptions.
        await wait_for(
            pilot,
            lambda: any("cpu (" in str(label) for label, _ in device.options),
            what="the device probe",
        )
        assert device.value == "cpu", "the device list: the config's choice not kept"
        await form_settled(pilot)
        # Part: the proposed output never overwrites.
        output = Path(app.main.query_one("#output").value)
        assert output.name == "rocket-swirl-2.png", ("the proposed output", output)
        # Part: the form fits 80x24.
        form = app.main.form
        preview = app.main.preview
        assert form.region.width >= 40, ("80x24: the form", form.region)
        assert preview.region.width >= 30 and preview.region.height >= 8, (
            "80x24: the preview",
            preview.region,
        )
        assert app.main.query_one("#run").region.width > 0, "80x24: no Run button"


def test_the_first_frame_is_painted_without_importing_torch(tmp_path: Path) -> None:
    script = """
import sys
from nst_tui.app.app import NSTApp

class FirstFrame(NSTApp):
    async def on_ready(self):  # Ready: the first frame has been displayed
        print("torch" in sys.modules)
        self.exit(0)

FirstFrame().run(headless=True, size=(80, 24))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


async def test_remembered_settings_that_fail_to_load_are_named(make_app, tmp_path: Path) -> None:
    from nst_tui.app.remembered import settings_path

    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('[form]\niterations = "many"\nseed = 7\n', encoding="utf-8")
    from nst_tui.app.remembered import load_remembered

    remembered = load_remembered()
    assert remembered.problems == ["iterations"]
    assert remembered.config.plan.seed == 7
    app = NSTApp(remembered, folder=tmp_path)
    async with app.run_test() as pilot:
        await form_settled(pilot)
        assert app.main.query_one("#seed").value == "7"
        assert any("iterations" in str(note.message) for note in app._notifications)


def test_remembered_is_used_when_given(tiny_config) -> None:
    app = NSTApp(Remembered(tiny_config))
    assert app.remembered.config.plan.iterations == tiny_config.plan.iterations

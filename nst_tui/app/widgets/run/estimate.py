"""The cost line under Run: about how long the form's run takes and how much memory it needs.

`≈ 3 min 40 s · 2.1 GB of 18 GB free (cpu)`. Memory is modelled from the form alone (no
torch, nst_engine/cost/estimate.py), so it follows every keystroke. Time needs the device's rate
(nst_engine/cost/rates.py): the last runs' figures, or a quick measurement, made once per device
on the app's engine thread, never during a run and only after the first frame; until then
the line says "estimating…". Settings that cannot be meant (a compute size of 99999, a
hundred million iterations) replace "Ready" with a warning, and Run asks first when the
estimate exceeds the memory free on the device.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.widget import Widget
from textual.widgets import Static

from nst_engine.cost import estimate
from nst_engine.cost.estimate import Estimate, warning_line, workload_of
from nst_tui.app.widgets.by_id import by_id
from nst_tui.app.widgets.lines import show

if TYPE_CHECKING:
    from nst_engine.cost.rates import DeviceProfile
    from nst_engine.settings.config import RunConfig
    from nst_engine.video.settings import SequenceSettings
    from nst_tui.app.messages import FormChecked

PROFILE_DELAY = 1.5  # seconds after the first frame before the engine thread is asked
CONFIRM_ID = "confirm-memory"

log = logging.getLogger("nst.app")


class EstimateLine(Static):
    """Time and memory of the form's run; a warning in place of "Ready" when absurd."""

    DEFAULT_CSS = """
    EstimateLine {
        height: auto;
        color: $text-muted;
    }
    """

    def __init__(self) -> None:
        super().__init__("", id="estimate", markup=False)
        self.config: RunConfig | None = None
        self.sequence: SequenceSettings | None = None  # the content is a sequence: all its frames
        self.result: Estimate | None = None  # the latest estimate shown
        self._profiles: dict[str, DeviceProfile] = {}  # per device setting (auto, cpu, cuda:0)
        self._profiled_after: dict[str, int] = {}  # the app's last run number when each was made
        self._asking: set[str] = set()
        self._unknown: set[str] = set()  # settings whose device could not be asked about
        self._allowed = False  # the first frame is out and the app's own probe went first
        self._warned = False  # the run panel's reason line shows our warning

    def on_mount(self) -> None:
        self.call_after_refresh(self.set_timer, PROFILE_DELAY, self._allow_profiles)

    def _allow_profiles(self) -> None:
        self._allowed = True
        self._show()

    # --- the form's result ----------------------------------------------------------------

    def form_checked(self, message: FormChecked) -> None:
        """The form made `message.config` (or none): estimate it (the App calls this)."""
        self.config = message.config
        self.sequence = message.sequence
        self._show()

    def _image_sizes(self) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        from nst_tui.app.widgets.form.path_field import PathField

        sizes = []
        for name in ("content", "style"):
            field = by_id(self.screen, f"{name}-field", PathField)
            sizes.append(None if field is None else field.image_size)
        return sizes[0], sizes[1]

    def estimate_for(self, config: RunConfig) -> Estimate:
        """The estimate of `config` with the images in the form, and the memory free now."""
        setting = config.machine.device
        profile = self._profiles.get(setting)
        work = workload_of(config, *self._image_sizes())
        result = estimate.estimate(work, profile, self._free_memory(setting, profile), setting)
        frames = self._frames()
        if self.sequence is not None and frames and result.seconds is not None:
            from nst_tui.app.widgets.form.sequence_fields import sequence_seconds

            seconds = sequence_seconds(result.seconds, config, self.sequence, frames)
            result = dataclasses.replace(result, seconds=seconds)
        return result

    def _frames(self) -> int:
        """The content's frames (0: an image, or not known yet)."""
        return getattr(by_id(self.screen, "content-field", Widget), "frames", 0)

    @staticmethod
    def _free_memory(setting: str, profile: DeviceProfile | None) -> int | None:
        device = profile.device if profile is not None else setting
        if device.startswith("cpu"):
            return estimate.cpu_free_bytes()  # read live: cheap, and it changes
        return profile.free_bytes if profile is not None else None

    def _show(self) -> None:
        config = self.config
        if config is None or not self.is_attached:
            self.result = None
            show(self, "")
            self.tooltip = None
            self._restore_reason()
            return
        self._want_profile(config.machine.device)
        self.result = self.estimate_for(config)
        self._fit_text()
        warning = warning_line(self.result)
        if warning:
            self._warn(warning)
        else:
            self._restore_reason()

    def _fit_text(self) -> None:
        """The whole line where it fits, else the short one (80 columns); whole as tooltip."""
        if self.result is None:
            return
        whole, short = self.result.summary(), self.result.summary(compact=True)
        if self.config is not None and self.config.machine.device in self._unknown:
            whole, short = (text.replace("estimating…", "time unknown") for text in (whole, short))
        width = self.content_region.width
        show(self, whole if width == 0 or len(whole) <= width else short)
        self.tooltip = whole

    def on_resize(self) -> None:
        self._fit_text()

    def _warn(self, warning: str) -> None:
        """The warning in place of "Ready" in the run panel's reason line (when idle)."""
        if getattr(self.app, "running", False):
            return
        asks = "Ctrl+R asks first" if self.result and self.result.too_big else "Ctrl+R runs"
        reason = self.screen.query_one("#run-reason", Static)
        reason.update(f"Warning: {warning}. {asks}")
        colour = self.app.current_theme.warning
        if colour:
            reason.styles.color = colour
        self._warned = True

    def _restore_reason(self) -> None:
        if not self._warned or getattr(self.app, "running", False):
            return
        self._warned = False
        reason = self.screen.query_one("#run-reason", Static)
        reason.styles.clear_rule("color")
        form_state = getattr(self.app, "form_state", None)
        panel = reason.parent
        if form_state is not None and hasattr(panel, "set_ready"):
            panel.set_ready(form_state.problem)

    # --- the device's rate (on the engine thread) -----------------------------------------

    def _want_profile(self, setting: str) -> None:
        """Ask for the device's rate if it is missing or older than the last run."""
        last_run = getattr(self.app, "current_run_number", 0)
        fresh = setting in self._profiles and self._profiled_after.get(setting) == last_run
        if fresh or setting in self._asking or setting in self._unknown or not self._allowed:
            return
        if getattr(self.app, "running", False):
            return  # a measurement would slow the run and be slowed by it
        self._asking.add(setting)
        self.run_worker(
            lambda: self._fetch_profile(setting, last_run),
            thread=True,
            group="estimate",
            exit_on_error=False,
        )

    def _fetch_profile(self, setting: str, last_run: int) -> None:
        """A thread worker: the engine thread finds (or measures) the device's rate."""
        from nst_engine.cost import rates

        engine = getattr(self.app, "_engine_thread", None)
        try:
            if engine is not None:  # torch's calls all on the app's one engine thread
                profile = engine.submit(rates.device_profile, setting).result()
            else:
                profile = rates.device_profile(setting)
        except Exception:
            log.warning("no estimate for the device %s", setting, exc_info=True)
            profile = None
        with contextlib.suppress(RuntimeError):  # the app has closed
            self.app.call_from_thread(self._profile_found, setting, profile, last_run)

    def _profile_found(self, setting: str, profile: DeviceProfile | None, last_run: int) -> None:
        self._asking.discard(setting)
        if profile is None:
            self._unknown.add(setting)  # not asked again: the time stays unknown
            return
        self._profiles[setting] = profile
        self._profiled_after[setting] = last_run
        if self.config is not None and self.config.machine.device == setting:
            self._show()

    # --- before Run -------------------------------------------------------------------------

    def ask_before_run(self, config: RunConfig, start: Callable[[RunConfig], object]) -> bool:
        """When `config` needs more memory than is free, ask in a dialog and start on yes.

        True when a dialog was opened (the caller then does not start the run itself).
        """
        from nst_tui.app.screens.confirm import ConfirmScreen

        result = self.estimate_for(config)
        if not result.too_big:
            return False
        assert result.free_bytes is not None
        question = (
            f"This run needs about {estimate.format_bytes(result.bytes)} of memory and "
            f"{result.device} has {estimate.format_bytes(result.free_bytes)} free (an estimate). "
            "It may fail, or slow the whole machine down while it swaps. Run anyway?"
        )

        def answered(run_anyway: bool | None) -> None:
            if run_anyway:
                start(config)

        self.app.push_screen(
            ConfirmScreen(question, "Run anyway", "Cancel  Esc", default_yes=False, id=CONFIRM_ID),
            answered,
        )
        return True

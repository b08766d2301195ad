"""The form's output name: proposed, checked, said when a run owns it, numbered after a run.

Part of `SettingsForm` (a mixin, kept apart so that form.py stays about the fields). A name
that a run not finished yet owns (nst_engine/store/output_owners.py: a stopped run's, kept for its
resume) is never proposed. One typed by hand is a warning under the field, not an error: the
person may want that name, and nothing is lost if they take it, as the stopped run's resume
then writes the next free name and says so. Run stays on. A name that a running run is
writing is said too; the queue numbers this run's (nst_tui/app/queue_actions.py), as two runs ending
on one name could not both write it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Checkbox, Static

from nst_engine.errors import ConfigError, OutputError
from nst_tui.app.widgets.form.fields import TextField
from nst_tui.app.widgets.form.path_field import PathField
from nst_tui.app.widgets.lines import show
from nst_tui.app.wording import for_the_app


def owner_warning(path: Path) -> str:
    """What to say under the field when an unfinished run owns `path` ("" when none does)."""
    from nst_engine.store.output_owners import owner_note, owner_of

    owner = owner_of(path)
    if owner is None:
        return ""
    if owner.status == "running":  # the queue gives this run the next free name instead
        return f"{owner_note(owner)}; this run will be numbered"
    return f"{owner_note(owner)}; if taken, it resumes to the next free name"


class OutputName:
    """The output field's behaviour, for `SettingsForm`."""

    output_auto: bool  # the output is the proposed name, to follow the inputs
    chosen_output: str | None  # the name typed in, which later runs number
    _offered_output: str | None  # the numbered name put in after a run
    _initial_output: Path
    content_is_sequence: Callable[[], bool]  # SequenceForm's

    def _parse_output(self, text: str) -> Path:
        self._warn("")
        if not text.strip():
            raise ConfigError("give an output file, such as result.png")
        from nst_engine.running.outputs import check_output_path
        from nst_engine.store.output_owners import free_output

        path = Path(text.strip()).expanduser()
        overwrite = self.is_mounted and self.query_one("#overwrite", Checkbox).value
        if self.is_mounted and self.content_is_sequence():
            from nst_tui.app.widgets.form.sequence_fields import check_sequence_output

            check_sequence_output(path, overwrite)  # a video file or a folder of frames
            return path
        try:
            check_output_path(path, overwrite)
        except OutputError as error:
            message = for_the_app(error.message)
            if path.is_file() and not overwrite:
                message += f" ('{free_output(path).name}' is free)"
            raise OutputError(message) from None
        if not overwrite and not self.output_auto:  # a proposed name is owned by no run
            self._warn(owner_warning(path))
        return path

    def _warn(self, text: str) -> None:
        if not self.is_mounted:
            return
        line = self.query_one("#output-warning", Static)
        show(line, text)
        line.display = bool(text)

    def _follow_inputs(self) -> None:
        """Keep the proposed output name in step with the images while it is untouched."""
        if self.output_auto:
            self.propose_output()

    def propose_output(self) -> None:
        """Put a fresh name (here) in the output field: no file, and no unfinished run's."""
        from nst_engine.running.outputs import default_output_path
        from nst_tui.app.widgets.form.sequence_fields import sequence_output_name

        content = self.query_one("#content-field", PathField).path
        style = self.query_one("#style-field", PathField).path
        folder = getattr(self.app, "folder", None)
        if self.content_is_sequence():
            proposed = sequence_output_name(content, style, folder)
        else:
            proposed = default_output_path(content, style, folder)
        self._initial_output = proposed
        self.output_auto = True
        self.query_one("#output-field", TextField).text = str(proposed)

    def after_run(self) -> None:
        """The output now exists (or a stopped run owns it): offer the next free name,
        numbered as proposed names are.

        A name typed in becomes `NAME-2.png`, `NAME-3.png`... on later runs, so Run stays on
        and nothing is overwritten; with 'replace the output' ticked the name stays.
        """
        from nst_engine.store.output_owners import free_output

        if self.output_auto:
            self.propose_output()
        elif self.chosen_output and not self.query_one("#overwrite", Checkbox).value:
            offered = free_output(Path(self.chosen_output.strip()).expanduser())
            self._offered_output = str(offered)
            self.query_one("#output-field", TextField).text = str(offered)
        self.check_soon()

"""What can be done with a past run, from the history and from the run's own screen: load its
settings into the form (or an image's), run it again, resume it, delete it after asking.

Runs are handed to the app's queue (`NSTApp.enqueue`); the form is the main screen's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_engine.errors import NSTError
from nst_engine.store.run_record import SEQUENCE
from nst_engine.store.runs import RunFolder, delete_run
from nst_tui.app.widgets.picture.cells import CellBuilder, fit_cells

if TYPE_CHECKING:
    from nst_engine.settings.config import RunConfig


def return_to_main(app) -> None:
    """Close the history and the run's screen: back to the form."""
    while len(app.screen_stack) > 1 and app.screen is not app.main:
        app.pop_screen()


def fill_form(app, config: RunConfig, source: str) -> None:
    """Put `config` in the main screen's form, images included, with a fresh output name."""
    form = app.main.form
    form.load(config, paths=True)
    form.propose_output()  # never the old result's name: a run of these settings makes a new one
    missing = [
        str(path) for path in (config.inputs.content, *config.styles) if path and not path.exists()
    ]
    note = f" (missing now: {', '.join(missing)})" if missing else ""
    app.notify(f"Loaded the settings of {source}{note}.", timeout=6)


def load_settings(app, folder: RunFolder) -> None:
    try:
        config = folder.config()
    except NSTError as error:
        app.notify(error.message, title="Settings not loaded", severity="error")
        return
    return_to_main(app)
    fill_form(app, config, f"run {folder.id}")
    settings = sequence_settings(folder)
    if settings is not None:  # its frame iterations, temporal weight, guided or not
        app.main.form.load_sequence(settings)


def load_settings_from_image(app, path: Path) -> None:
    """The settings an nst-tui image carries, into the form (images too, where they exist)."""
    from nst_engine.errors import ConfigError
    from nst_engine.running.images import read_embedded_settings
    from nst_engine.settings.config import RunConfig

    try:
        try:
            text = read_embedded_settings(path)
        except (OSError, ValueError):
            raise ConfigError(f"'{path}' is not a readable image") from None
        if text is None:
            raise ConfigError(f"'{path}' carries no nst-tui settings (not made by nst-tui?)")
        config = RunConfig.from_toml(text, source=f"the settings in '{path.name}'")
    except NSTError as error:
        app.notify(error.message, title="Settings not loaded", severity="error", timeout=8)
        return
    # A preset-like image: keep the images.
    if config.inputs.content is None or config.inputs.style is None:
        config = config.replace(**_paths_of(app.main.form.paths_base()))
    return_to_main(app)
    fill_form(app, config, f"image {path.name}")


def _paths_of(config: RunConfig) -> dict[str, Any]:
    return {
        "content": config.inputs.content,
        "style": config.inputs.style,
        "extra_styles": config.inputs.extra_styles,
    }


def fresh_output(app, config: RunConfig) -> RunConfig:
    """`config` writing to a new file (no file, no unfinished run's name): beside the old
    result, else where the app proposes."""
    from nst_engine.running.outputs import default_output_path
    from nst_engine.store.output_owners import free_output

    old = config.inputs.output
    if old is not None and old.parent.is_dir():
        return config.replace(output=free_output(old))
    return config.replace(
        output=default_output_path(config.inputs.content, config.inputs.style, app.folder)
    )


def submit(app, config: RunConfig, folder: RunFolder | None = None, sequence=None) -> bool:
    """Hand a run to the app: its queue where it has one, else start it if nothing runs.
    `sequence`: a sequence's SequenceSettings (its resume)."""
    enqueue = getattr(app, "enqueue", None)
    if enqueue is not None:
        if sequence is None:
            enqueue(config, folder)
        else:
            enqueue(config, folder, sequence=sequence)
        return True
    if folder is not None:
        app.notify(
            "Resuming needs the app's run queue, which this version lacks.", severity="error"
        )
        return False
    if app.running:
        app.notify("A run is going: run this one when it has ended.", severity="warning")
        return False
    return_to_main(app)
    app.start_run(config)
    return True


def run_again(app, folder: RunFolder) -> None:
    try:
        config = fresh_output(app, folder.config())
    except NSTError as error:
        app.notify(error.message, title="Not run", severity="error")
        return
    if submit(app, config, sequence=sequence_settings(folder)):
        app.notify(f"Running {folder.id} again: {config.inputs.output}", timeout=6)


def sequence_settings(folder: RunFolder):
    """A sequence's SequenceSettings (None for a picture's run)."""
    from nst_engine.video.settings import SequenceSettings

    record = folder.record()
    return SequenceSettings(**record.sequence) if record.kind == SEQUENCE else None


def resume(app, folder: RunFolder) -> None:
    """Queue the run's resume, to its own output or, if that was taken since, the next free
    name (the notice says which); whether it can be resumed is the engine's answer
    (nst_engine/store/resume.py), the same as `nst-tui resume`'s."""
    from nst_engine.store.resume import NotResumable
    from nst_engine.store.resume import resume as resume_run

    if folder.record().kind == SEQUENCE:
        resume_frames(app, folder)
        return
    try:
        resumed = resume_run(folder)
    except NotResumable as refusal:
        app.notify(refusal.message, title="Not resumed", severity="warning")
        return
    except NSTError as error:
        app.notify(error.message, title="Not resumed", severity="error")
        return
    if submit(app, resumed.config, folder):
        text = f"Resuming {folder.id} from iteration {resumed.from_iteration}"
        note = resumed.note
        app.notify(f"{text}; {note}." if note else f"{text}.", timeout=10 if note else 6)


def resume_frames(app, folder: RunFolder) -> None:
    """Queue a stopped sequence's resume: its frames done kept, the frame in progress from
    its checkpoint (nst_engine/video/sequence_record.py), as `nst-tui resume ID` does."""
    from nst_engine.video.sequence_record import resume_sequence

    try:
        config, _source, _output, settings = resume_sequence(folder)
    except NSTError as error:  # NotResumable too: finished, or running elsewhere
        app.notify(error.message, title="Not resumed", severity="warning")
        return
    if settings.chunks > 1:  # its chunks' frames are in OUTPUT.chunks/, run at once elsewhere
        app.notify(
            f"Run {folder.id} was made in {settings.chunks} chunks at once: go on with "
            f"`nst-tui resume {folder.id} --device DEVICE,DEVICE` (or --cluster ADDRESS).",
            title="Not resumed here",
            severity="warning",
        )
        return
    record = folder.record()
    if submit(app, config, folder, settings):
        app.notify(
            f"Resuming {folder.id} after frame {record.frames_done} of {record.frames_total}.",
            timeout=6,
        )


def ask_delete(app, folder: RunFolder, deleted) -> None:
    """Ask, then delete the run's folder; `deleted()` is called once it is gone."""
    from nst_tui.app.screens.confirm import ConfirmScreen

    def answered(yes: bool | None) -> None:
        if not yes:
            return
        try:
            delete_run(folder)
        except NSTError as error:
            app.notify(error.message, title="Not deleted", severity="error")
            return
        app.notify(f"Deleted run {folder.id}.", timeout=4)
        deleted()

    app.push_screen(
        ConfirmScreen(
            f"Delete run {folder.id}? Its folder goes (settings, snapshots, checkpoint, "
            "log); the result where you asked for it stays.",
            "Delete",
            "Keep  Esc",
            id="confirm-delete-run",
        ),
        answered,
    )


def choose_image_for_settings(app) -> None:
    """A file dialog for an nst-tui image; its settings go into the form."""
    from nst_tui.app.screens.file_picker import FilePickerScreen

    def chosen(path: Path | None) -> None:
        if path is not None:
            load_settings_from_image(app, path)

    start = app.main.form.paths_base().inputs.output or app.folder
    app.push_screen(FilePickerScreen("Choose an image made by nst-tui", Path(start)), chosen)


def picture_strips(folder: RunFolder, cells: tuple[int, int], *, thumbnail: bool) -> list:
    """Half-block rows of a run's picture fitted in `cells` (a worker thread calls this)."""
    from PIL import Image

    paths = [folder.thumbnail_path] if thumbnail else []
    best = folder.picture()
    if best is not None:
        paths.append(best)
    for path in paths:
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError):
            continue
        fitted = image.resize(fit_cells(image.size, cells), Image.Resampling.BOX)
        return CellBuilder().build(fitted)
    return []

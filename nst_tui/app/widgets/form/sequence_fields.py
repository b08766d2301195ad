"""A sequence as the form's content: a video file or a folder of frames (nst_engine/video/).

`ContentField` accepts an image, a video file (anything `is_video_path` names) or a folder of
frames; for a sequence its check says what it holds ("video · 48 frames · 24 fps · 640x360",
"folder · 8 frames · 32x21") and its thumbnail is the first frame. Without PyAV a video is the
engine's one line. While the content is a sequence the form shows `SequenceFields` (frame
iterations, temporal weight, guided or independent: the engine's defaults), mounted the first
time only, so that the form of a picture costs no more widgets than before, and the output
it proposes is a folder `CONTENT-STYLE-frames` for a folder of frames, or a video
`CONTENT-STYLE.mp4` for a video (its frame rate and sound are kept: an artist who gave a
video wants a video back).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical

from nst_engine.errors import ConfigError, OutputError
from nst_engine.settings.table import IMAGE_SUFFIXES
from nst_engine.video.settings import (
    SequenceSettings,
)
from nst_tui.app.widgets.by_id import by_id
from nst_tui.app.widgets.form.fields import SelectField, TextField
from nst_tui.app.widgets.form.path_field import PathField

FRAME_CHOICES = [("guided by the flow", "guided"), ("independent (flickers)", "independent")]


def is_video_path(path: Path) -> bool:
    from nst_engine.video.frames import is_video_path as video_path  # not at the app's start

    return video_path(path)


def looks_like_sequence(path: Path | None) -> bool:
    """Whether `path` names a sequence: a folder (of frames) or a video file."""
    return path is not None and (path.is_dir() or is_video_path(path))


def describe_rate(rate: Fraction | None) -> str:
    return f" · {round(float(rate), 2):g} fps" if rate else ""


class ContentField(PathField):
    """The content: an image, or a sequence's video file or folder of frames."""

    @property
    def is_sequence(self) -> bool:
        return looks_like_sequence(self.path)

    def _read(self, path: Path, max_pixels: int):
        """A sequence's first frame and what it holds (in the check's thread)."""
        if not looks_like_sequence(path):
            return super()._read(path, max_pixels)
        from nst_engine.running.images import load_image
        from nst_engine.video.frames import open_frames

        source = open_frames(path)  # InputImageError: one line (no frames, no PyAV, ...)
        if source.is_video:
            frames = source.frames()
            image, notes = next(frames), ()
            frames.close()
        else:  # read as a run reads it: the same checks and notes
            loaded = load_image(source.frame_files[0], "first frame", max_pixels)
            image, notes = loaded.image, loaded.notes
        kind = "video" if source.is_video else "folder"
        width, height = image.size
        rate = describe_rate(source.rate)
        text = f"{kind} · {source.count} frames{rate} · {width}x{height}"
        return image, notes, text, source.count


def _frame_iterations(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"frame iterations must be a whole number of at least 1, got '{text}'")
    return value


def _temporal_weight(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"temporal weight must be a number, 0 or more, got '{text}'")
    return value


class SequenceFields(Vertical):
    """How a sequence runs, beyond each frame's settings (nst_engine/video/settings.py)."""

    DEFAULT_CSS = "SequenceFields { height: auto; }"

    def __init__(self, settings: SequenceSettings | None = None) -> None:
        super().__init__(id="sequence-fields")
        self.initial = settings or SequenceSettings()

    def compose(self) -> ComposeResult:
        initial = self.initial
        yield TextField(
            "Frame iters", "frame_iterations", _frame_iterations, str(initial.frame_iterations),
            tooltip="Iterations of each frame after the first, which starts from the previous "
            "result (the first frame has Iterations)",
        )  # fmt: skip
        yield TextField(
            "Temporal wt", "temporal_weight", _temporal_weight, f"{initial.temporal_weight:g}",
            tooltip="How strongly a frame keeps the previous result where the optical flow "
            "is trusted (0: a warm start only)",
        )  # fmt: skip
        yield SelectField(
            "Frames", "guided", FRAME_CHOICES, "guided" if initial.guided else "independent",
            tooltip="guided: each frame starts from the previous one carried by the optical "
            "flow (no flicker); independent: each frame on its own",
        )  # fmt: skip

    def value(self, problems: list[str]) -> SequenceSettings | None:
        if not self.query("#guided-field"):  # mounted, not composed yet
            return self.initial
        try:
            iterations = self.query_one("#frame_iterations-field", TextField).parse()
            weight = self.query_one("#temporal_weight-field", TextField).parse()
        except ConfigError as error:
            problems.append(error.message)
            return None
        guided = self.query_one("#guided-field", SelectField).value == "guided"
        return SequenceSettings(iterations, weight, guided)

    def load(self, settings: SequenceSettings) -> None:
        self.initial = settings
        if not self.query("#guided-field"):
            return  # composed from `initial`
        self.query_one("#frame_iterations-field", TextField).text = str(settings.frame_iterations)
        self.query_one("#temporal_weight-field", TextField).text = f"{settings.temporal_weight:g}"
        guided = "guided" if settings.guided else "independent"
        self.query_one("#guided-field", SelectField).set_value(guided)


class SequenceForm:
    """The form's side of a sequence, for `SettingsForm` (a mixin, as OutputName is)."""

    def content_is_sequence(self) -> bool:
        content = by_id(self, "content-field", ContentField)  # type: ignore[arg-type]
        return content is not None and content.is_sequence

    def read_sequence(self, problems: list[str]) -> SequenceSettings | None:
        """The sequence's settings when the content is a sequence (its fields shown, mounted
        the first time), else None with its fields hidden."""
        is_sequence = self.content_is_sequence()
        fields = by_id(self, "sequence-fields", SequenceFields)  # type: ignore[arg-type]
        if fields is None:
            if not is_sequence:
                return None
            content = self.query_one("#content-field")  # type: ignore[attr-defined]
            initial = self.sequence_base  # type: ignore[attr-defined]  # remembered, or defaults
            self.mount(SequenceFields(initial), after=content)  # type: ignore[attr-defined]
            return initial  # the fields' own values, until they are there
        fields.display = is_sequence
        return fields.value(problems) if is_sequence else None

    def load_sequence(self, settings: SequenceSettings) -> None:
        """A sequence run's settings into its fields (made now if not yet there)."""
        found = self.query(SequenceFields)  # type: ignore[attr-defined]
        if found:
            found.first(SequenceFields).load(settings)
        else:
            content = self.query_one("#content-field")  # type: ignore[attr-defined]
            self.mount(SequenceFields(settings), after=content)  # type: ignore[attr-defined]
        self.check_soon()  # type: ignore[attr-defined]


def sequence_seconds(seconds: float, config, settings: SequenceSettings, frames: int) -> float:
    """A sequence's time from one run's (`seconds`: the first frame's, with `config`'s
    iterations): the later frames have `frame_iterations` each when guided."""
    from nst_engine.settings.sizes import planned_iterations

    first = planned_iterations(config)
    later = settings.frame_iterations if settings.guided else first
    return seconds * (first + (frames - 1) * later) / first


def sequence_output_name(content: Path | None, style: Path | None, folder: Path | None) -> Path:
    """`CONTENT-STYLE.mp4` for a video, `CONTENT-STYLE-frames` (a folder) for a folder of
    frames, in `folder` (default: here); numbered so that it names nothing there and no
    output of an unfinished run."""
    from nst_engine.running.outputs import free_output_path
    from nst_engine.store.output_index import owned_outputs

    name = f"{content.stem if content else 'frames'}-{style.stem if style else 'style'}"
    name += ".mp4" if content is not None and is_video_path(content) else "-frames"
    return free_output_path((folder or Path.cwd()) / name, owned_outputs())


def check_sequence_output(path: Path, overwrite: bool) -> None:
    """A sequence's output: a video file to write or a folder for its frames, refused in one
    line now rather than after the first frame."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise OutputError(
            f"output '{path.name}' is an image's name; a sequence needs a video file (.mp4) "
            "or a folder for its frames"
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"output folder '{parent}' does not exist or is not writable")
    if is_video_path(path):
        from nst_engine.video.frames import import_av

        import_av(path)  # the `video` extra's one line when PyAV is missing
        if path.exists() and not overwrite:
            raise OutputError(f"output '{path.name}' already exists; choose another name")
    elif path.exists() and (not path.is_dir() or any(path.iterdir())):
        # A folder of frames there would be kept and the sequence go on after them.
        raise OutputError(f"output '{path.name}' already exists; choose another name")

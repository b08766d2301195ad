"""Messages between the parts of the app: from the run worker (another thread) and the form.

Every run message carries the id of the run that sent it; the app drops those of a run that
is no longer the current one, so a cancelled run's late messages never reach a newer run.
Messages that arrive faster than they are painted (progress, preview frames) say that a
newer one replaces an older one still waiting in the queue (`can_replace`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from PIL import Image
    from textual.strip import Strip
    from typing_extensions import Self

    from nst_engine.settings.config import RunConfig
    from nst_engine.video.settings import SequenceSettings


# --- from the run worker ----------------------------------------------------------------------


@dataclass
class RunMessage(Message):
    """Base of everything a run's worker posts; `run_number` names the run: the app's own
    number for it this session ("Run 3"), not its id in the store (its folder's name)."""

    run_number: int

    @classmethod
    def of(cls, run_number: int, event: Any) -> Self:
        """This message for an engine event with the same field names (the message's own
        fields that the event lacks keep their defaults: a sequence's, for a frame's run)."""
        names = [
            item.name
            for item in fields(cls)
            if item.name != "run_number" and hasattr(event, item.name)
        ]
        return cls(run_number, **{name: getattr(event, name) for name in names})


@dataclass
class RunBegan(RunMessage):
    """The queue started this job (its first event came): the screen may follow it now."""

    slot: str = ""  # the device slot it runs on ("auto", "cuda:1")


@dataclass
class JobDone(RunMessage):
    """The job ended, whatever the way: after its RunFinished, RunCancelled or RunFailed, or
    dropped from the queue before it started (its run folder says `stopped`; `queued` when
    the app quits, for a later resume)."""

    status: str  # "finished" | "stopped" | "failed"
    error: str = ""  # a failed job's one line


@dataclass
class RunStatus(RunMessage):
    """A preparation stage (loading weights), or waiting for the previous run to stop."""

    text: str


@dataclass
class RunStarted(RunMessage):
    device: str
    weights_source: str
    compute_size: tuple[int, int]
    output_size: tuple[int, int]
    total: int
    notes: tuple[str, ...] = ()
    # Coarse to fine: the compute size of each scale, smallest first (empty: one scale).
    scale_sizes: tuple[tuple[int, int], ...] = ()


@dataclass
class RunProgress(RunMessage):
    """Where the run is; posted about ten times a second, and always for the last step."""

    index: int  # over all scales
    total: int
    elapsed: float  # seconds since the run started iterating
    rate: float  # iterations per second at the current scale (0 while unknown)
    losses: dict[str, float]
    scale: int = 1  # coarse to fine: the scale running (1-based) and how many there are
    scales: int = 1
    time_left: float | None = None  # the engine's estimate (nst_engine.running.progress), if given
    # A sequence: index and total count over all its frames; the frame running (1-based) of
    # how many, and that frame's own iteration of its total.
    frame: int = 0
    frames: int = 0
    frame_index: int = 0
    frame_total: int = 0

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunProgress) and message.run_number == self.run_number

    @property
    def eta(self) -> float | None:
        """Seconds left, or None while unknown: the engine's estimate (it knows the scales),
        else the iterations left at the current rate."""
        if self.time_left is not None:
            return self.time_left
        if self.rate <= 0:
            return None
        return (self.total - self.index) / self.rate


@dataclass
class RunPreview(RunMessage):
    """A preview frame, built in the worker: half-block cells, or an image for graphics."""

    index: int
    image: Image.Image  # the frame's pixels (kept to re-fit the preview on resize)
    strips: list[Strip] | None = None  # half-block rows, one per terminal line

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunPreview) and message.run_number == self.run_number


@dataclass
class RunSnapshot(RunMessage):
    index: int
    path: Path


@dataclass
class RunFinished(RunMessage):
    path: Path
    seconds: float
    iterations: int
    losses: dict[str, float]
    notes: tuple[str, ...] = ()
    frames: int = 0  # a sequence: how many frames (`path` is its output: a folder or a video)
    last_frame: Path | None = None  # ...and its last frame's file (gone for a video output)


@dataclass
class RunCancelled(RunMessage):
    index: int  # iterations completed (a sequence: frames done)
    partial_path: Path | None  # None when no iteration had completed (a sequence: its frames)
    frames: int = 0  # a sequence: how many frames it has


@dataclass
class RunFrame(RunMessage):
    """A sequence's frame `number` of `total` starts (its loss curve starts again)."""

    number: int
    total: int


@dataclass
class RunFailed(RunMessage):
    """The engine refused or failed: its one-line message (or a short line for a bug)."""

    title: str
    text: str  # for a bug (title "Internal error"): says so, and the log with its traceback


# --- from the form and its checks ------------------------------------------------------


@dataclass
class FormChecked(Message):
    """The form was checked: the config it makes, or why it cannot make one yet."""

    config: RunConfig | None
    problem: str = ""
    problems: list[str] = field(default_factory=list)
    sequence: SequenceSettings | None = None  # the content is a video or a folder of frames

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FormChecked)


@dataclass
class ImageChecked(Message):
    """A path field's image was read (or refused) in a background thread."""

    path_text: str  # the text that was checked
    problem: str = ""  # empty when the image is usable
    size: tuple[int, int] | None = None
    notes: tuple[str, ...] = ()
    strips: list[Any] | None = None  # thumbnail rows
    check_id: int = 0  # which check of the field this answers (stale answers are dropped)
    sequence: str = ""  # the content is a video or folder of frames: what it holds (one line)
    frames: int = 0  # ...and how many frames

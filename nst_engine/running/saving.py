"""Writing a run's images: the result, snapshots, and what a stopped run made.

No result is lost: when the output folder went away or filled up during the run, the image
goes to the rescue folder instead, and the error says where.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from nst_engine.errors import OutputError
from nst_engine.running.images import save_image
from nst_engine.running.outputs import partial_output_path, unique_path
from nst_engine.running.tensors import tensor_to_image
from nst_engine.settings.config import RunConfig


class Saver:
    """Saves a run's images at `size`, each with the run's settings embedded."""

    def __init__(self, config: RunConfig, header: str, size: tuple[int, int], total: int):
        assert config.inputs.output is not None
        self.config = config
        self.header = header  # the first metadata line: version, weights, device
        self.size = size
        self.total = total
        self.output: Path = config.inputs.output

    def save(
        self, image: torch.Tensor, path: Path, note: str, overwrite: bool | None = None
    ) -> Path:
        """`image` at the output size in `path` (`overwrite`: None, as the settings say)."""
        picture = tensor_to_image(image)
        if picture.size != self.size:
            picture = picture.resize(self.size, Image.Resampling.LANCZOS)
        metadata = f"{self.header}\n# {note}\n{self.config.to_toml()}"
        if overwrite is None:
            overwrite = self.config.inputs.overwrite
        return save_image(picture, path, metadata, overwrite=overwrite)

    def final(self, image: torch.Tensor) -> tuple[Path, tuple[str, ...]]:
        """The result at the output path; if that fails, in the rescue folder (and raise)."""
        note = f"finished: {self.config.plan.iterations} iterations"
        try:
            return self.save(image, self.output, note), ()
        except OutputError as error:
            # The folder went away or filled up during the run: never lose the result.
            try:
                rescued = self.save(image, rescue_path(self.output.name), note)
            except (OSError, OutputError):
                raise error from None
            raise OutputError(
                f"{error.message}; the result was saved to {rescued} instead"
            ) from None

    def partial(self, image: torch.Tensor, index: int) -> Path | None:
        """A stopped run's image beside the output; None if there is nothing to keep."""
        if index == 0:
            return None
        path = partial_output_path(self.output, index, self.total)
        note = f"partial: stopped after {index} of {self.total} iterations"
        try:
            return self.save(image, path, note)
        except OutputError:
            return self.save(image, rescue_path(path.name), note)


def rescue_path(name: str) -> Path:
    """A free name for `name` in the rescue folder (made if need be)."""
    from nst_engine.store.locations import rescue_dir

    folder = rescue_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return unique_path(folder / name)

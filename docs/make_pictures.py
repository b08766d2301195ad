"""Make the README's pictures of issues 10 and 22's features from the built-in gallery only.

    python docs/make_pictures.py [--size 256] [--iterations 150] [--only colour,blend,...]
        [--frame-size 128] [--frame-iterations 100,35]

Every input is a gallery image the project may ship (styles/gallery.toml credits them);
each row is content, style(s), then results side by side with a caption under each. The
runs go through the engine exactly as `nst-tui run` does, with the oxford weights.
Figures: colour, blend, scale, presets; regions (masks from `nst-tui masks`' own code);
sequence (run_sequence guided and independent, at --frame-size with --frame-iterations:
the first frame's, then each later one's; its numbers are benchmarks/video.py's).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nst_engine.running.events import Finished
from nst_engine.running.transfer import run
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import gallery_image
from nst_engine.settings.presets import load_preset
from nst_engine.store.safe_files import write_atomically

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from quality import frame_change  # noqa: E402 (the benchmarks' measure of flicker)

HERE = Path(__file__).parent
TILE = 200  # each picture's height in the strip
CAPTION = 22
FRAMES, SHIFT = 6, 3  # the sequence figure's frames, and its window's px per frame
FRAME_TILE = 150  # a frame's height in the sequence figure
AMPLIFY = 4  # the frame-to-frame change's gain in the sequence figure
FONT = ImageFont.load_default(size=15)
LANCZOS = Image.Resampling.LANCZOS


def image_of(name: str) -> Path:
    return gallery_image(name).path


def result(
    preset: str, content: str, styles: list[str], work: Path, tag: str = "", **changes
) -> Path:
    """One run of `preset` (with `changes`) on gallery images; the result's path (named by
    `tag` where the changes' values would make too long a name)."""
    label = "-".join(
        [preset, content, *styles, *([tag] if tag else (f"{k}{v}" for k, v in changes.items()))]
    )
    output = work / f"{label.replace('/', '_').replace(',', '_')}.png"
    base = RunConfig.from_flat(
        content=image_of(content),
        style=image_of(styles[0]),
        extra_styles=tuple(image_of(name) for name in styles[1:]),
        output=output,
        overwrite=True,
    )
    config = RunConfig.from_dict(
        {"weights": "oxford", **SETTINGS, **changes}, load_preset(preset, base)
    )
    started = time.perf_counter()
    for event in run(config):
        if isinstance(event, Finished):
            print(f"  {output.name}: {time.perf_counter() - started:.0f} s", flush=True)
    return output


def strip(tiles: list[tuple[Path, str]], path: Path) -> None:
    """The images side by side at TILE px high, each captioned; saved as JPEG."""
    pictures = []
    for file, caption in tiles:
        with Image.open(file) as image:
            pictures.append((image.convert("RGB"), caption))
    save_jpeg(captioned_row(pictures, TILE), path)


def captioned_row(pictures: list[tuple[Image.Image, str]], height: int) -> Image.Image:
    """The pictures side by side at `height` px, each edged and with its caption under it."""
    resized = [
        (picture.resize((round(picture.width * height / picture.height), height), LANCZOS), text)
        for picture, text in pictures
    ]
    total = sum(picture.width for picture, _ in resized) + 4 * (len(resized) - 1)
    row = Image.new("RGB", (total, height + CAPTION), "white")
    draw = ImageDraw.Draw(row)
    x = 0
    for picture, caption in resized:
        row.paste(picture, (x, 0))
        # A grey edge, so that a white mask is seen against the white sheet.
        draw.rectangle((x, 0, x + picture.width - 1, height - 1), outline="#aaaaaa")
        draw.text(
            (x + picture.width / 2, height + 3), caption, fill="black", font=FONT, anchor="ma"
        )
        x += picture.width + 4
    return row


def save_jpeg(sheet: Image.Image, path: Path) -> None:
    write_atomically(path, lambda stream: sheet.save(stream, "JPEG", quality=88))
    print(f"wrote {path}", flush=True)


def colour(work: Path) -> None:
    runs = [
        (result("default", "astronaut", ["swirl"], work, preserve_color=mode), f"colour {mode}")
        for mode in ("off", "luminance", "histogram")
    ]
    strip(
        [(image_of("astronaut"), "content"), (image_of("swirl"), "style"), *runs],
        HERE / "colour.jpg",
    )


def blend(work: Path) -> None:
    runs = [
        (result("default", "rocket", ["mosaic"], work), "mosaic alone"),
        (
            result("default", "rocket", ["mosaic", "swirl"], work, style_blend=[0.5, 0.5]),
            "blend 0.5, 0.5",
        ),
        (result("default", "rocket", ["swirl"], work), "swirl alone"),
    ]
    strip([(image_of("rocket"), "content"), *runs], HERE / "blend.jpg")


def scale(work: Path) -> None:
    runs = [
        (result("default", "astronaut", ["mosaic"], work, style_scale=s), f"style scale {s:g}")
        for s in (0.5, 1.0, 2.0)
    ]
    strip(
        [(image_of("astronaut"), "content"), (image_of("mosaic"), "style"), *runs],
        HERE / "style-scale.jpg",
    )


def presets(work: Path) -> None:
    names = ("default", "true-colour", "painterly", "fine-texture")
    runs = [(result(name, "rocket", ["swirl"], work), name) for name in names]
    strip([(image_of("rocket"), "content"), (image_of("swirl"), "style"), *runs],
          HERE / "presets.jpg")  # fmt: skip


def regions(work: Path) -> None:
    """Mosaic on the rocket's left half and swirl on its right (masks by `nst-tui masks`),
    beside the same two styles blended over the whole picture."""
    left, right = masks_of("rocket", "left-right", work)
    both = ["mosaic", "swirl"]
    masked = result("default", "rocket", both, work, "masked", style_masks=[str(left), str(right)])
    blended = result("default", "rocket", both, work, style_blend=[0.5, 0.5])
    strip(
        [(image_of("rocket"), "content"), (left, "mask 1"), (image_of("mosaic"), "style 1"),
         (right, "mask 2"), (image_of("swirl"), "style 2"), (masked, "each style in its mask"),
         (blended, "blend 0.5, 0.5, no masks")],
        HERE / "regions.jpg",
    )  # fmt: skip


def masks_of(content: str, split: str, work: Path) -> tuple[Path, Path]:
    """The two masks `nst-tui masks CONTENT --split SPLIT` writes for a gallery image."""
    from nst_tui.cli.masks_command import mask_paths, run_masks_command

    prefix = str(work / f"{content}-{split}")
    options = {"content": str(image_of(content)), "split": split, "overwrite": True}
    run_masks_command(argparse.Namespace(output=prefix, **options))
    return mask_paths(prefix)


def sequence(work: Path) -> None:
    """A window moving over the astronaut, styled guided (nst-tui video) and frame by frame
    (--independent), with each row's change from frame to frame once the motion is undone."""
    from nst_engine.video.settings import SequenceSettings

    clip = moving_window("astronaut", work / "clip")
    size, first, later = SEQUENCE["size"], SEQUENCE["iterations"], SEQUENCE["frame_iterations"]
    config = RunConfig.from_flat(
        content=clip, style=image_of("mosaic"), size=size, iterations=first, weights="oxford"
    )
    guided = styled(config, clip, work / "guided", SequenceSettings(frame_iterations=later))
    alone = styled(config, clip, work / "alone", SequenceSettings(guided=False))
    changes = [
        (frame_change(frames, SHIFT), name)
        for frames, name in ((guided, "guided"), (alone, "independent"))
    ]
    rows = [
        (f"guided (nst-tui video): first frame {first} iterations, then {later} a frame, "
         "from the warped previous result with the temporal loss", numbered(guided)),
        (f"independent (nst-tui video --independent): {first} iterations a frame",
         numbered(alone)),
        (f"change from frame to frame once the {SHIFT} px motion is undone, x{AMPLIFY}: "
         + ", ".join(f"{name} {change.mean():.1f}" for change, name in changes)
         + " grey levels (mean per pixel)",
         [(Image.fromarray(np.clip(change * AMPLIFY, 0, 255).astype(np.uint8)), name)
          for change, name in changes]),
    ]  # fmt: skip
    save_jpeg(headed_rows(rows, FRAME_TILE), HERE / "sequence.jpg")


def moving_window(content: str, folder: Path) -> Path:
    """FRAMES square crops of SEQUENCE's size across a gallery image, SHIFT px apart, as
    benchmarks/video.py makes its clip: the known motion to undo when measuring flicker."""
    from nst_engine.video.frames import write_frame

    folder.mkdir()
    size = SEQUENCE["size"]
    with Image.open(image_of(content)) as image:
        photo = image.convert("RGB").resize((size * 2, size * 2), LANCZOS)
    for number in range(FRAMES):
        left = size // 2 + SHIFT * number  # across the face's middle
        write_frame(
            photo.crop((left, size // 4, left + size, size // 4 + size)), folder, number + 1
        )
    return folder


def styled(config: RunConfig, clip: Path, output: Path, settings) -> list[Image.Image]:
    """The clip's frames styled by run_sequence with `settings`, in order."""
    from nst_engine.video.sequence import FrameDone, run_sequence

    for event in run_sequence(config, clip, output, settings):
        if isinstance(event, FrameDone):
            print(f"  {output.name} frame {event.number}: {event.seconds:.0f} s", flush=True)
    return [Image.open(path).convert("RGB") for path in sorted(output.glob("*.png"))]


def numbered(frames: list[Image.Image]) -> list[tuple[Image.Image, str]]:
    return [(frame, f"frame {number}") for number, frame in enumerate(frames, start=1)]


def headed_rows(rows: list[tuple[str, list]], height: int) -> Image.Image:
    """Captioned rows of pictures, each under its heading, one above the other."""
    made = [(heading, captioned_row(pictures, height)) for heading, pictures in rows]
    width = max(row.width for _, row in made)
    sheet = Image.new("RGB", (width, sum(row.height + CAPTION for _, row in made)), "white")
    draw, y = ImageDraw.Draw(sheet), 0
    for heading, row in made:
        draw.text((4, y + 3), heading, fill="black", font=FONT)
        sheet.paste(row, (0, y + CAPTION))
        y += row.height + CAPTION
    return sheet


FIGURES = {
    "colour": colour,
    "blend": blend,
    "scale": scale,
    "presets": presets,
    "regions": regions,
    "sequence": sequence,
}
SETTINGS: dict = {}
# The sequence figure's clip and runs: crops of this size, first frame, later frames.
SEQUENCE = {"size": 128, "iterations": 100, "frame_iterations": 35}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--only", default=",".join(FIGURES))
    parser.add_argument("--frame-size", type=int, default=SEQUENCE["size"])
    parser.add_argument("--frame-iterations", default="100,35", help="first frame, later ones")
    arguments = parser.parse_args()
    SETTINGS.update(size=arguments.size, iterations=arguments.iterations)
    first, later = (int(part) for part in arguments.frame_iterations.split(","))
    SEQUENCE.update(size=arguments.frame_size, iterations=first, frame_iterations=later)
    with tempfile.TemporaryDirectory() as folder:
        for name in arguments.only.split(","):
            print(name, flush=True)
            FIGURES[name](Path(folder))


if __name__ == "__main__":
    main()

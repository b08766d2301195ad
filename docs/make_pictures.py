"""Make the README's pictures of issue 10's features from the built-in gallery only.

    python docs/make_pictures.py [--size 256] [--iterations 150] [--only colour,blend,...]

Every input is a gallery image the project may ship (styles/gallery.toml credits them);
each row is content, style(s), then results side by side with a caption under each. The
runs go through the engine exactly as `nst-tui run` does, with the oxford weights.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from nst_engine.running.events import Finished
from nst_engine.running.transfer import run
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import gallery_image
from nst_engine.settings.presets import load_preset
from nst_engine.store.safe_files import write_atomically

HERE = Path(__file__).parent
TILE = 200  # each picture's height in the strip
CAPTION = 22


def image_of(name: str) -> Path:
    return gallery_image(name).path


def result(preset: str, content: str, styles: list[str], work: Path, **changes) -> Path:
    """One run of `preset` (with `changes`) on gallery images; the result's path."""
    label = "-".join([preset, content, *styles, *(f"{k}{v}" for k, v in changes.items())])
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
            image = image.convert("RGB")
            width = round(image.width * TILE / image.height)
            pictures.append((image.resize((width, TILE), Image.Resampling.LANCZOS), caption))
    total = sum(picture.width for picture, _ in pictures) + 4 * (len(pictures) - 1)
    sheet = Image.new("RGB", (total, TILE + CAPTION), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=15)
    x = 0
    for picture, caption in pictures:
        sheet.paste(picture, (x, 0))
        draw.text((x + picture.width / 2, TILE + 3), caption, fill="black", font=font, anchor="ma")
        x += picture.width + 4
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


FIGURES = {"colour": colour, "blend": blend, "scale": scale, "presets": presets}
SETTINGS: dict = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--only", default=",".join(FIGURES))
    arguments = parser.parse_args()
    SETTINGS.update(size=arguments.size, iterations=arguments.iterations)
    with tempfile.TemporaryDirectory() as folder:
        for name in arguments.only.split(","):
            print(name, flush=True)
            FIGURES[name](Path(folder))


if __name__ == "__main__":
    main()

"""Do faces stay readable? Presets on a portrait, scored inside the face (issue 18).

    python benchmarks/faces.py                      # astronaut + 2 paintings, 192 px, 200 it.
    python benchmarks/faces.py --styles udnie.jpg --presets default --set style_weight=3
    python benchmarks/faces.py --size 256 --keep /tmp/faces --json faces.json

The content is the gallery's portrait (styles/astronaut.jpg, public domain), her face inside
FACE_BOX; the styles come from --images (../shared/images). Each preset runs as
benchmarks/evaluate.py runs it (its own settings but the shared size, iterations, weights,
device, then --set). Each result is scored against the photo inside the face box (SSIM of
the luminance, correlation of the Sobel edges: 1 is the photo's face, low is a face painted
over) and on the whole picture (SSIM; sliced Wasserstein distance of 7x7 patches to the
painting: how much style it took, lower is more). A row for the photo itself shows where an
unchanged picture stands. Pictures go to a temporary folder, or --keep DIR outside the
repository (they are made from paintings the repository does not ship).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path


def _evaluate():
    """benchmarks/evaluate.py (a sibling script, no package), loaded once."""
    if "evaluate" not in sys.modules:
        path = Path(__file__).with_name("evaluate.py")
        spec = importlib.util.spec_from_file_location("evaluate", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["evaluate"] = module  # its dataclasses look themselves up there
        spec.loader.exec_module(module)
    return sys.modules["evaluate"]


evaluate = _evaluate()
quality = evaluate.quality
PORTRAIT = evaluate.REPOSITORY / "styles" / "astronaut.jpg"
# The astronaut's face (hair line to chin, ear to ear) as fractions of the picture's width
# and height: left, top, right, bottom.
FACE_BOX = (0.33, 0.105, 0.55, 0.375)
DEFAULT_STYLES = ("starry_night.jpg", "the_scream.jpg")
DEFAULT_PRESETS = ("default", "true-colour", "fine-texture", "painterly")
HEADER = (
    "| style | method | face SSIM ↑ | face edges ↑ | SSIM ↑ | SWD full ↓ |",
    "|---|---|---:|---:|---:|---:|",
)


def crop(rgb, box: tuple[float, float, float, float]):
    """The part of an H x W x 3 array inside `box` (fractions: left, top, right, bottom)."""
    height, width = rgb.shape[:2]
    left, top, right, bottom = box
    return rgb[
        round(top * height) : round(bottom * height), round(left * width) : round(right * width)
    ]


def face_scores(result, photo, painting, box=FACE_BOX) -> dict[str, float]:
    """SSIM and edge correlation inside the face, SSIM and SWD of the whole (PIL images)."""
    from PIL import Image

    output = quality.to_array(result)
    height, width = output.shape[:2]
    if photo.size != (width, height):
        photo = photo.resize((width, height), Image.Resampling.LANCZOS)
    whole = quality.measure(result, photo, painting)
    face_out = quality.luminance(crop(output, box))
    face_in = quality.luminance(crop(quality.to_array(photo), box))
    return {
        "face_ssim": quality.ssim(face_out, face_in),
        "face_edges": quality.edge_correlation(face_out, face_in),
        "ssim": whole.ssim,
        "swd_full": whole.swd_full,
    }


def format_row(style: str, method: str, scores: dict[str, float]) -> str:
    return (
        f"| {style} | {method} | {scores['face_ssim']:.3f} | {scores['face_edges']:.3f} | "
        f"{scores['ssim']:.3f} | {scores['swd_full']:.4f} |"
    )


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=evaluate.SHARED_IMAGES, metavar="DIR")
    parser.add_argument("--styles", help="comma-separated paintings in --images")
    parser.add_argument("--presets", help="comma-separated preset names")
    parser.add_argument("--size", type=int, default=192, metavar="N", help="longest side")
    parser.add_argument("--iterations", type=int, default=200, metavar="N")
    parser.add_argument("--weights", default="oxford")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", type=int, metavar="N")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the pictures in DIR")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, report=print) -> int:
    from PIL import Image

    from nst_engine.cost.bench import parse_settings
    from nst_engine.errors import NSTError

    arguments = parse_arguments(argv)
    styles = [arguments.images / name for name in _names(arguments.styles, DEFAULT_STYLES)]
    missing = [str(path) for path in styles if not path.is_file()]
    if missing:
        report(f"skipped: {', '.join(missing)} not there; give --images DIR or --styles")
        return 0
    presets = _names(arguments.presets, DEFAULT_PRESETS)
    rows = []
    try:
        settings = parse_settings(arguments.set)
        if arguments.threads:
            evaluate.set_threads(arguments.threads)
        if arguments.keep:
            evaluate.check_folder(arguments.keep)
            arguments.keep.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="nst-faces-") as temporary:
            folder = arguments.keep or Path(temporary)
            plan = evaluate.Plan(
                arguments.size, arguments.iterations, arguments.weights, arguments.device,
                folder, settings,
            )  # fmt: skip
            report(f"astronaut at {plan.size} px, {plan.iterations} iterations, {plan.weights}")
            report("\n".join(HEADER))
            photo = Image.open(PORTRAIT).convert("RGB")
            for style in styles:
                painting = Image.open(style).convert("RGB")
                for name in presets:
                    label = evaluate.method_label(name, settings)
                    output = folder / f"astronaut-{style.stem}-{name}.png"
                    config = evaluate.preset_config(name, PORTRAIT, style, output, plan)
                    evaluate.run_preset(config)
                    with Image.open(output) as opened:
                        scores = face_scores(opened.convert("RGB"), photo, painting)
                    rows.append({"style": style.stem, "method": label, **scores})
                    report(format_row(style.stem, label, scores))
                size = Image.open(output).size
                unchanged = photo.resize(size, Image.Resampling.LANCZOS)
                scores = face_scores(unchanged, photo, painting)
                rows.append({"style": style.stem, "method": evaluate.PHOTO, **scores})
                report(format_row(style.stem, evaluate.PHOTO, scores))
    except NSTError as error:
        report(f"error: {error.message}")
        return 2
    if arguments.json:
        from nst_engine.store.safe_files import write_atomically

        write_atomically(arguments.json, (json.dumps(rows, indent=2) + "\n").encode())
    return 0


def _names(text: str | None, default: tuple[str, ...]) -> list[str]:
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    return names or list(default)


if __name__ == "__main__":
    sys.exit(main())

"""Images in and out: load and convert any common file, save atomically with settings embedded.

Loading accepts JPEG, PNG, BMP, WebP, TIFF (and whatever else Pillow reads), applies the
EXIF orientation, and converts every mode to 8-bit RGB: grey and 1-bit are spread to three
channels, 16-bit and 32-bit integer images are scaled down (not clipped), transparent
pixels are laid over white, CMYK and other colour spaces are converted. Animated images
give their first frame, and say so.

Saving writes PNG (default) or JPEG to a temporary file beside the target, then links it
into place, so the final path holds either nothing or a complete image, and an existing
file is never replaced unless asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from nst_engine.errors import InputImageError, OutputError
from nst_engine.running.outputs import output_format
from nst_engine.store import safe_files

# We check the pixel count ourselves (with a limit the user can raise) right after reading
# the header, before any pixel is decoded; Pillow's own global limit would get there first.
Image.MAX_IMAGE_PIXELS = None

MIN_INPUT_SIDE = 16
METADATA_KEY = "nst-tui"


@dataclass(frozen=True)
class LoadedImage:
    image: Image.Image  # 8-bit RGB
    notes: tuple[str, ...] = ()  # things the user should know (first frame of an animation...)


def load_image(path: Path, role: str, max_pixels: int = 100_000_000) -> LoadedImage:
    """The image at `path` as 8-bit RGB; `role` ("content image") names it in messages."""
    where = f"{role} '{path}'"
    if not path.exists():
        raise InputImageError(f"{where} does not exist")
    if path.is_dir():
        raise InputImageError(f"{where} is a folder, not an image file")
    try:
        if path.stat().st_size == 0:
            raise InputImageError(f"{where} is an empty file")
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                # Exact counts, as --max-pixels takes them (rounded megapixels read "0 over 0.005").
                raise InputImageError(
                    f"{where} is {width}x{height} ({width * height:,} pixels), over the limit of "
                    f"{max_pixels:,} pixels; raise --max-pixels if you trust this file"
                )
            notes = []
            frames = getattr(image, "n_frames", 1)
            if frames > 1:
                image.seek(0)
                notes.append(f"{where} is animated ({frames} frames); using its first frame")
            image.load()
            converted = to_rgb(ImageOps.exif_transpose(image))
    except InputImageError:
        raise
    except PermissionError:
        raise InputImageError(f"{where} cannot be read: permission denied") from None
    except UnidentifiedImageError:
        raise InputImageError(f"{where} is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InputImageError(f"{where} is damaged or incomplete ({error})") from None
    if min(converted.size) < MIN_INPUT_SIDE:
        raise InputImageError(
            f"{where} is {converted.width}x{converted.height} pixels; it must be at least "
            f"{MIN_INPUT_SIDE}x{MIN_INPUT_SIDE}"
        )
    return LoadedImage(converted, tuple(notes))


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB, scaling high bit depths and flattening alpha on white."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        highest = values.max(initial=0)
        if mode == "F":
            peak = 1.0 if highest <= 1.0 else 255.0
        elif mode.startswith("I;16") or 255 < highest <= 65535:
            peak = 65535.0
        elif highest > 65535:
            peak = float(2**31 - 1)  # 32-bit data: the whole signed range, so nothing clips
        else:
            peak = 255.0
        grey = np.clip(np.rint(values / peak * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "RGB":
        return image.copy()
    return image.convert("RGB")


# --- saving -----------------------------------------------------------------------------------


def save_image(
    image: Image.Image, path: Path, settings_text: str = "", overwrite: bool = False
) -> Path:
    """Write `image` to `path` atomically, with `settings_text` embedded; returns `path`.

    PNG carries the text in an iTXt chunk named "nst-tui", JPEG in its comment segment.
    """
    image_format = output_format(path)
    options: dict = {}
    if image_format == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", "nst-tui")
        if settings_text:
            info.add_itxt(METADATA_KEY, settings_text)
        options["pnginfo"] = info
    else:
        options.update(quality=95, subsampling=0)
        if settings_text:
            options["comment"] = f"{METADATA_KEY}\n{settings_text}".encode()
    return _write(
        path, lambda stream: image.save(stream, format=image_format, **options), overwrite
    )


def write_file(data: bytes, path: Path, overwrite: bool = False) -> Path:
    """Write an already encoded image (from a remote worker) to `path`, atomically and, unless
    `overwrite`, never over an existing file; errors as save_image's."""
    return _write(path, lambda stream: stream.write(data), overwrite)


def _write(path: Path, write, overwrite: bool) -> Path:
    """`write(stream)` into a fresh temporary file beside `path`, flushed, then moved into
    place (nst_engine/store/safe_files.py: never through a link, never over a file unless
    `overwrite`); an OutputError saying what went wrong."""
    try:
        safe_files.write_atomically(path, write, replace=overwrite)
    except FileExistsError:
        raise OutputError(
            f"output '{path}' already exists; choose another name or allow overwriting (--overwrite)"
        ) from None
    except FileNotFoundError:
        raise OutputError(f"output folder '{path.parent}' does not exist") from None
    except PermissionError:
        raise OutputError(f"output folder '{path.parent}' is not writable") from None
    except OSError as error:
        raise OutputError(f"could not write '{path}': {error.strerror or error}") from None
    return path


def read_embedded_settings(path: Path) -> str | None:
    """The settings text an nst-tui output carries, or None."""
    with Image.open(path) as image:
        if image.format == "PNG":
            value = image.info.get(METADATA_KEY)
            return str(value) if value is not None else None
        comment = image.info.get("comment")
        if isinstance(comment, bytes):
            comment = comment.decode("utf-8", "replace")
        if comment and comment.startswith(METADATA_KEY + "\n"):
            return comment[len(METADATA_KEY) + 1 :]
    return None

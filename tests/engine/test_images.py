"""Loading images: every common mode and format to 8-bit RGB, checked by pixel values;
every unusable file refused with an InputImageError that says why."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_engine.errors import InputImageError
from nst_engine.running.images import MIN_INPUT_SIDE, load_image, to_rgb

SIDE = 24  # above the 16 px minimum


def load(path: Path, **options) -> Image.Image:
    loaded = load_image(path, "content image", **options)
    assert loaded.image.mode == "RGB"
    return loaded.image


def pixel(image: Image.Image, x: int = 0, y: int = 0) -> tuple[int, int, int]:
    return image.getpixel((x, y))


# --- modes ---------------------------------------------------------------------------------------


def test_grey_l_is_spread_to_three_equal_channels(tmp_path):
    path = tmp_path / "grey.png"
    Image.new("L", (SIDE, SIDE), 77).save(path)
    assert pixel(load(path)) == (77, 77, 77)


def test_one_bit_black_and_white(tmp_path):
    image = Image.new("1", (SIDE, SIDE), 0)
    image.putpixel((3, 0), 1)
    path = tmp_path / "bits.png"
    image.save(path)
    loaded = load(path)
    assert pixel(loaded, 0) == (0, 0, 0)
    assert pixel(loaded, 3) == (255, 255, 255)


def test_grey_with_alpha_is_laid_over_white(tmp_path):
    image = Image.new("LA", (SIDE, SIDE), (0, 0))  # black, fully transparent
    image.putpixel((1, 0), (0, 255))  # black, opaque
    image.putpixel((2, 0), (0, 128))  # black, half transparent
    path = tmp_path / "la.png"
    image.save(path)
    loaded = load(path)
    assert pixel(loaded, 0) == (255, 255, 255)
    assert pixel(loaded, 1) == (0, 0, 0)
    assert all(abs(channel - 127) <= 1 for channel in pixel(loaded, 2))


def test_rgba_is_composited_over_white(tmp_path):
    image = Image.new("RGBA", (SIDE, SIDE), (255, 0, 0, 0))
    image.putpixel((1, 0), (255, 0, 0, 255))
    image.putpixel((2, 0), (0, 0, 255, 64))
    path = tmp_path / "rgba.png"
    image.save(path)
    loaded = load(path)
    assert pixel(loaded, 0) == (255, 255, 255)  # transparent red is white, not red or black
    assert pixel(loaded, 1) == (255, 0, 0)
    red, green, blue = pixel(loaded, 2)
    assert abs(red - 191) <= 1 and abs(green - 191) <= 1 and blue == 255


def test_palette_with_a_transparent_index_shows_white_there(tmp_path):
    image = Image.new("P", (SIDE, SIDE), 0)
    image.putpalette([0, 255, 0] + [200, 10, 10] + [0, 0, 0] * 254)
    image.putpixel((1, 0), 1)
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    loaded = load(path)
    assert pixel(loaded, 0) == (255, 255, 255)  # index 0 is transparent green
    assert pixel(loaded, 1) == (200, 10, 10)


def test_palette_without_transparency_keeps_its_colours(tmp_path):
    image = Image.new("P", (SIDE, SIDE), 1)
    image.putpalette([0, 0, 0] + [12, 34, 56] + [0, 0, 0] * 254)
    path = tmp_path / "palette.gif"
    image.save(path)
    assert pixel(load(path)) == (12, 34, 56)


def test_cmyk_is_converted_to_rgb(tmp_path):
    path = tmp_path / "cmyk.tif"
    image = Image.new("CMYK", (SIDE, SIDE), (0, 0, 0, 0))  # no ink: white
    image.putpixel((1, 0), (0, 255, 255, 0))  # magenta + yellow: red
    image.save(path)
    loaded = load(path)
    assert pixel(loaded, 0) == (255, 255, 255)
    assert pixel(loaded, 1) == (255, 0, 0)


def test_sixteen_bit_grey_png_is_scaled_not_clipped(tmp_path):
    values = np.zeros((SIDE, SIDE), dtype=np.uint16)
    values[0, :4] = [65535, 32768, 257, 0]
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as check:
        assert check.mode == "I;16"
    loaded = load(path)
    assert [pixel(loaded, x)[0] for x in range(4)] == [255, 128, 1, 0]
    assert pixel(loaded, 1) == (128, 128, 128)


def test_thirty_two_bit_integer_images_are_scaled_not_clipped():
    sixteen_bit_range = Image.fromarray(np.array([[0, 32768, 65535] * 8] * 20, dtype=np.int32))
    assert sixteen_bit_range.mode == "I"
    assert [pixel(to_rgb(sixteen_bit_range), x)[0] for x in range(3)] == [0, 128, 255]

    eight_bit_range = Image.fromarray(np.array([[0, 100, 255] * 8] * 20, dtype=np.int32))
    assert [pixel(to_rgb(eight_bit_range), x)[0] for x in range(3)] == [0, 100, 255]

    full_range = Image.fromarray(np.array([[0, 2**30, 2**31 - 1] * 8] * 20, dtype=np.int32))
    assert [pixel(to_rgb(full_range), x)[0] for x in range(3)] == [0, 128, 255]


def test_thirty_two_bit_tiff_loads(tmp_path):
    path = tmp_path / "int32.tif"
    Image.fromarray(np.array([[0, 65535] * 12] * 20, dtype=np.int32)).save(path)
    loaded = load(path)
    assert pixel(loaded, 0) == (0, 0, 0)
    assert pixel(loaded, 1) == (255, 255, 255)


def test_float_images_in_0_1_or_0_255_are_scaled(tmp_path):
    unit = Image.fromarray(np.array([[0.0, 0.5, 1.0] * 8] * 20, dtype=np.float32))
    assert unit.mode == "F"
    assert [pixel(to_rgb(unit), x)[0] for x in range(3)] == [0, 128, 255]
    bytes_range = Image.fromarray(np.array([[0.0, 100.0, 255.0] * 8] * 20, dtype=np.float32))
    assert [pixel(to_rgb(bytes_range), x)[0] for x in range(3)] == [0, 100, 255]
    path = tmp_path / "float.tif"
    unit.save(path)
    assert pixel(load(path), 2) == (255, 255, 255)


def test_rgb_passes_through_unchanged():
    image = Image.new("RGB", (SIDE, SIDE), (1, 2, 3))
    converted = to_rgb(image)
    assert converted is not image
    assert pixel(converted) == (1, 2, 3)


# --- orientation, formats, animations ------------------------------------------------------------


def marked_image() -> Image.Image:
    """40 wide, 20 high, grey, with a red 8x8 block in the top-left corner."""
    image = Image.new("RGB", (40, 20), (128, 128, 128))
    image.paste((255, 0, 0), (0, 0, 8, 8))
    return image


def save_with_orientation(image: Image.Image, path: Path, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, exif=exif.tobytes(), **({"quality": 95} if path.suffix == ".jpg" else {}))


def is_red(rgb: tuple[int, int, int]) -> bool:
    return rgb[0] > 200 and rgb[1] < 60 and rgb[2] < 60


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
@pytest.mark.parametrize(
    ("orientation", "marked_corner"),
    [(6, (17, 2)), (8, (2, 37))],
    ids=["6-top-left-goes-to-top-right", "8-top-left-goes-to-bottom-left"],
)
def test_exif_orientation_is_applied(tmp_path, suffix, orientation, marked_corner):
    path = tmp_path / f"rotated{suffix}"
    save_with_orientation(marked_image(), path, orientation)
    loaded = load(path)
    assert loaded.size == (20, 40)
    assert is_red(pixel(loaded, *marked_corner))
    assert not is_red(pixel(loaded, 2, 2))


@pytest.mark.parametrize(
    ("suffix", "options"),
    [(".jpg", {"quality": 100}), (".png", {}), (".bmp", {}), (".webp", {"lossless": True}),
     (".tiff", {})],
)  # fmt: skip
def test_common_formats_are_readable(tmp_path, suffix, options):
    path = tmp_path / f"picture{suffix}"
    image = Image.new("RGB", (30, 20), (200, 100, 50))
    image.save(path, **options)
    loaded = load(path)
    assert loaded.size == (30, 20)
    assert all(abs(a - b) <= 2 for a, b in zip(pixel(loaded, 10, 10), (200, 100, 50), strict=True))


def test_an_animated_gif_gives_its_first_frame_and_a_note(tmp_path):
    path = tmp_path / "moving.gif"
    frames = [Image.new("RGB", (SIDE, SIDE), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = load_image(path, "style image")
    assert pixel(loaded.image) == (255, 0, 0)
    assert len(loaded.notes) == 1
    assert "animated (2 frames); using its first frame" in loaded.notes[0]
    assert "style image" in loaded.notes[0]


def test_a_still_image_has_no_notes(tmp_path):
    path = tmp_path / "still.png"
    Image.new("RGB", (SIDE, SIDE)).save(path)
    assert load_image(path, "content image").notes == ()


def test_paths_with_spaces_and_non_ascii_characters_work(tmp_path):
    folder = tmp_path / "my photos ü"
    folder.mkdir()
    path = folder / "café au lait 東京.jpg"
    Image.new("RGB", (SIDE, SIDE), (10, 200, 10)).save(path, quality=100)
    assert abs(pixel(load(path))[1] - 200) <= 2


# --- refusals ------------------------------------------------------------------------------------


def refusal(path: Path, **options) -> str:
    with pytest.raises(InputImageError) as caught:
        load_image(path, "content image", **options)
    message = caught.value.message
    assert message.startswith(f"content image '{path}'")
    assert "\n" not in message
    return message


@pytest.mark.parametrize("size", [(15, 40), (40, 15), (1, 1)])
def test_images_below_16_pixels_are_refused_saying_the_minimum(tmp_path, size):
    path = tmp_path / "tiny.png"
    Image.new("RGB", size).save(path)
    message = refusal(path)
    assert f"is {size[0]}x{size[1]} pixels" in message
    assert f"at least {MIN_INPUT_SIDE}x{MIN_INPUT_SIDE}" in message


def test_an_image_of_exactly_16_pixels_is_accepted(tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (16, 16)).save(path)
    assert load(path).size == (16, 16)


def test_the_pixel_limit_is_checked_and_named(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 50)).save(path)
    message = refusal(path, max_pixels=4999)
    assert "100x50" in message
    assert "4,999 pixels" in message
    assert "--max-pixels" in message
    assert load(path, max_pixels=5000).size == (100, 50)


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one tiny, wrong IDAT: a would-be bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_claiming(50_000, 50_000))
    message = refusal(path)
    assert "50000x50000" in message
    assert "over the limit of 100,000,000 pixels" in message


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert "is an empty file" in refusal(path)


def test_a_text_file_named_jpg_is_refused(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n" * 20, encoding="utf-8")
    assert "is not an image Pillow can read" in refusal(path)


def encoded(image_format: str) -> bytes:
    image = Image.radial_gradient("L").convert("RGB").resize((64, 64))
    stream = io.BytesIO()
    image.save(stream, format=image_format)
    return stream.getvalue()


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.3, 0.5, 0.8, 0.95])
def test_a_truncated_file_gives_an_input_image_error_and_nothing_else(
    tmp_path, image_format, fraction
):
    data = encoded(image_format)
    path = tmp_path / f"cut.{image_format.lower()}"
    path.write_bytes(data[: max(1, int(len(data) * fraction))])
    message = refusal(path)
    assert "damaged" in message or "not an image" in message


def test_a_missing_path_and_a_folder_are_refused_clearly(tmp_path):
    assert refusal(tmp_path / "nothing.jpg").endswith("does not exist")
    assert refusal(tmp_path).endswith("is a folder, not an image file")

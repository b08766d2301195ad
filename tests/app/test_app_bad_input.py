"""The form with bad input, as tests/cli/test_cli_bad_input.py has it for `nst-tui run`: images,
sizes the network cannot take and outputs (broken presets: test_app_presets.py). Each bad
value is named where it was typed and beside Run, which stays off; the app stays up; a good
value turns Run on again. Unusual but valid images are accepted, converted as a run would.
The cases of a kind share one app: starting it costs more than all of them (what each image
case says, app or not: tests/engine/test_images.py).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from app_helpers import (
    form_settled,
    run_is_off_because,
    run_is_on,
    set_text,
    thumbnail_pixel,
    wait_for,
)
from PIL import Image
from textual.widgets import Checkbox

from nst_engine.store import locations
from nst_tui.app.widgets.dropdown import Dropdown
from nst_tui.app.widgets.form.path_field import PathField

# --- images that cannot be used ------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encoded(image: Image.Image, image_format: str) -> bytes:
    stream = io.BytesIO()
    image.save(stream, format=image_format)
    return stream.getvalue()


def make_bad_image(folder: Path, case: str) -> tuple[Path, str]:
    """A file for `case` and what the message about it says."""
    picture = Image.radial_gradient("L").convert("RGB")
    path = folder / f"{case}.png"
    if case == "missing":
        path = folder / "missing.jpg"
        return path, "does not exist"
    if case == "folder":
        return folder, "is a folder, not an image file"
    if case == "empty":
        path.write_bytes(b"")
        return path, "is an empty file"
    if case == "text named .jpg":
        path = folder / "notes.jpg"
        path.write_text("not an image\n", encoding="utf-8")
        return path, "is not an image Pillow can read"
    if case in ("truncated jpeg", "truncated png"):
        data = encoded(picture, "JPEG" if case == "truncated jpeg" else "PNG")
        path = folder / ("cut.jpg" if case == "truncated jpeg" else "cut.png")
        path.write_bytes(data[: len(data) // 2])
        return path, "is damaged or incomplete"
    if case == "decompression bomb":
        header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
        path.write_bytes(
            b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 100))
            + png_chunk(b"IEND", b"")
        )
        return path, "is 50000x50000 (2,500,000,000 pixels), over the limit of 100,000,000 pixels"
    if case == "1x1":
        Image.new("RGB", (1, 1)).save(path)
        return path, "is 1x1 pixels; it must be at least 16x16"
    if case == "8x30":
        Image.new("RGB", (8, 30)).save(path)
        return path, "is 8x30 pixels; it must be at least 16x16"
    raise ValueError(case)


BAD_IMAGES = [
    "missing", "folder", "empty", "text named .jpg", "truncated jpeg", "truncated png",
    "decompression bomb", "1x1", "8x30",
]  # fmt: skip


async def test_an_unusable_image_is_named_and_run_stays_off(make_app, tmp_path, demo_pair):
    """Every case in one app (an app start costs more than a case), each from a good form."""
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        for case in BAD_IMAGES:
            folder = tmp_path / case.replace(" ", "-")
            folder.mkdir()
            path, problem = make_bad_image(folder, case)
            role = "style" if case in ("folder", "empty", "truncated png", "1x1") else "content"
            # (A folder as the content is a sequence of frames: tests/app/test_app_sequences.py.)
            await set_text(pilot, f"#{role}", str(path))
            field = app.main.query_one(f"#{role}-field", PathField)
            message = f"{role} image '{path}' {problem}"
            assert field.problem.startswith(message), (case, field.problem)
            assert str(field.query_one(".path-info").content) == field.problem, case
            assert field.has_class("-invalid") and not field.query_one("CellImage").display, case
            run_is_off_because(app, message)
            await pilot.press("ctrl+r")  # refused: a notice, no run, the app stays
            await pilot.pause()
            assert not app.running and app.is_running, case
            await set_text(pilot, f"#{role}", str(demo_pair[0 if role == "content" else 1]))
            run_is_on(app)


async def test_the_pixel_limit_says_how_to_raise_it_in_the_app(make_app, tmp_path) -> None:
    path, _ = make_bad_image(tmp_path, "decompression bomb")
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#content", str(path))
        reason = run_is_off_because(app, "raise max_input_pixels (a preset setting)")
        assert "--max-pixels" not in reason  # a flag the app does not have


async def test_a_preset_can_lower_and_raise_the_pixel_limit(make_app) -> None:
    presets = locations.user_presets_dir()
    presets.mkdir(parents=True)
    (presets / "strict.toml").write_text("max_input_pixels = 1000\n", encoding="utf-8")
    (presets / "trusting.toml").write_text("max_input_pixels = 200000000\n", encoding="utf-8")
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        preset = app.main.query_one("#preset", Dropdown)
        preset.value = "strict"
        await pilot.pause()
        await form_settled(pilot)  # both images are checked again under the new limit
        run_is_off_because(app, "is 640x427 (273,280 pixels), over the limit of 1,000 pixels")
        preset.value = "trusting"
        await pilot.pause()
        await form_settled(pilot)
        run_is_on(app)
        assert app.form_state.config.machine.max_input_pixels == 200_000_000


# --- unusual images that are fine ----------------------------------------------------------------


def marked_rotated_jpeg(path: Path) -> None:
    """64x32 stored, left half red, with EXIF orientation 6: shown 32x64, top half red."""
    image = Image.new("RGB", (64, 32), (128, 128, 128))
    image.paste((255, 0, 0), (0, 0, 32, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, exif=exif.tobytes(), quality=95)


def make_good_image(folder: Path, case: str) -> tuple[Path, str, dict]:
    """An unusual image, its size as shown, and {(x, y) of the thumbnail: expected colour}."""
    side = 24
    if case == "16-bit grey":
        path = folder / "grey16.png"
        Image.fromarray(np.full((side, side), 32896, dtype=np.uint16)).save(path)
        return path, "24x24", {(1, 1): (128, 128, 128)}
    if case == "grey":
        path = folder / "grey.png"
        Image.new("L", (side, side), 77).save(path)
        return path, "24x24", {(1, 1): (77, 77, 77)}
    if case == "grey+alpha":
        path = folder / "la.png"
        Image.new("LA", (side, side), (0, 0)).save(path)  # transparent black: white
        return path, "24x24", {(1, 1): (255, 255, 255)}
    if case == "palette+transparency":
        path = folder / "palette.png"
        image = Image.new("P", (side, side), 0)
        image.putpalette([0, 255, 0] + [200, 10, 10] * 255)
        image.save(path, transparency=0)  # index 0 (green) is transparent: white
        return path, "24x24", {(1, 1): (255, 255, 255)}
    if case == "cmyk":
        path = folder / "cmyk.jpg"
        Image.new("CMYK", (side, side), (0, 255, 255, 0)).save(path, quality=100)
        return path, "24x24", {(1, 1): (255, 0, 0)}
    if case == "exif-rotated":
        path = folder / "rotated.jpg"
        marked_rotated_jpeg(path)
        return path, "32x64", {(2, 1): (255, 0, 0), (2, 6): (128, 128, 128)}
    if case == "animated gif":
        path = folder / "moving.gif"
        frames = [Image.new("RGB", (side, side), colour) for colour in ((255, 0, 0), (0, 0, 255))]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
        return path, "24x24", {(1, 1): (255, 0, 0)}
    if case == "spaces and non-ascii path":
        inner = folder / "my photos ü"
        inner.mkdir()
        path = inner / "café au lait 東京.png"
        Image.new("RGB", (side, side), (10, 200, 10)).save(path)
        return path, "24x24", {(1, 1): (10, 200, 10)}
    raise ValueError(case)


GOOD_IMAGES = [
    "16-bit grey", "grey", "grey+alpha", "palette+transparency", "cmyk", "exif-rotated",
    "animated gif", "spaces and non-ascii path",
]  # fmt: skip


def close_to(colour: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 6 for a, b in zip(colour, expected, strict=True))


async def test_an_unusual_image_is_accepted_and_converted(make_app, tmp_path) -> None:
    """Every case in one app (an app start costs more than a case)."""
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        for case in GOOD_IMAGES:
            folder = tmp_path / case.replace(" ", "-")
            folder.mkdir()
            path, size, pixels = make_good_image(folder, case)
            role = "style" if case == "animated gif" else "content"
            await set_text(pilot, f"#{role}", str(path))
            field = app.main.query_one(f"#{role}-field", PathField)
            assert field.problem == "", (case, field.problem)
            info = str(field.query_one(".path-info").content)
            assert info.startswith(f"{size} px"), (case, info)  # "pixels" where there is room
            assert field.query_one("CellImage").has_picture, case
            for (x, y), expected in pixels.items():
                assert close_to(thumbnail_pixel(field, x, y), expected), (case, x, y)
            if case == "animated gif":
                assert f"style image '{path}' is animated (2 frames); using its first frame" in info
            else:
                assert "\n" not in info, case  # no notes
            run_is_on(app)
            assert app.form_state.config.value(role) == path, case


# --- sizes the network cannot take ---------------------------------------------------------------


async def test_a_compute_size_too_small_for_the_layers_is_refused_before_run(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#size", "12")
        content = app.form_state.problem.split("'")[1]
        message = (
            f"content image '{content}' becomes 12x8 at this compute size, but layer relu5_1 "
            "needs at least 16x16; use a larger compute size or a less elongated image"
        )
        run_is_off_because(app, message)
        # Under the Compute size field, not only in the run's status.
        assert app.main.query_one("#size-field").error == message
        assert str(app.main.query_one("#form-error").content) == ""
        await set_text(pilot, "#size", "24")
        run_is_on(app)
        assert app.main.query_one("#size-field").error == ""


@pytest.mark.parametrize(
    ("role", "stored", "shown", "size_name"),
    [
        ("content", (400, 16), "32x1", "compute size"),
        ("style", (16, 400), "1x32", "style size"),
    ],
)
async def test_an_extremely_elongated_image_is_refused_before_run(
    make_app, tmp_path, demo_pair, role, stored, shown, size_name
) -> None:
    path = tmp_path / "strip.png"
    Image.new("RGB", stored, (90, 90, 90)).save(path)
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, f"#{role}", str(path))
        assert app.main.query_one(f"#{role}-field", PathField).problem == ""  # a valid file
        run_is_off_because(
            app,
            f"{role} image '{path}' becomes {shown} at this {size_name}",
            "needs at least 16x16",
        )
        setting = "size" if role == "content" else "style_size"
        assert "needs at least 16x16" in app.main.query_one(f"#{setting}-field").error
        await set_text(pilot, f"#{role}", str(demo_pair[0]))
        run_is_on(app)


async def test_a_style_size_too_small_is_refused_before_run(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#style_size", "8")
        run_is_off_because(app, "style image", "becomes 8x")
        assert "becomes 8x" in app.main.query_one("#style_size-field").error
        await set_text(pilot, "#style_size", "")
        run_is_on(app)


# --- the output ----------------------------------------------------------------------------------


def bad_output(folder: Path, case: str) -> tuple[str, str]:
    if case == "folder missing":
        return str(
            folder / "nowhere" / "out.png"
        ), f"output folder '{folder / 'nowhere'}' does not exist"
    if case == "folder is a file":
        (folder / "file").write_text("x")
        return str(
            folder / "file" / "out.png"
        ), f"output folder '{folder / 'file'}' is not a folder"
    if case == "a folder":
        (folder / "results.png").mkdir()
        return str(folder / "results.png"), "is a folder; give a file name such as result.png"
    if case == "unknown suffix":
        return str(folder / "out.gif"), "must end in .png or .jpg (got '.gif')"
    if case == "empty":
        return "  ", "give an output file, such as result.png"
    raise ValueError(case)


BAD_OUTPUTS = ["folder missing", "folder is a file", "a folder", "unknown suffix", "empty"]


async def test_an_output_that_cannot_be_written_is_refused(make_app, tmp_path) -> None:
    """Every case in one app (an app start costs more than a case), each from a good form."""
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        for case in BAD_OUTPUTS:
            text, message = bad_output(tmp_path, case)
            await set_text(pilot, "#output", text)
            assert message in app.main.query_one("#output-field").error, case
            run_is_off_because(app, message)
            await set_text(pilot, "#output", str(tmp_path / "fine.png"))
            run_is_on(app)


async def test_an_output_folder_that_is_not_writable_is_refused(
    make_app, tmp_path, monkeypatch
) -> None:
    import nst_engine.running.outputs

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    real_access = nst_engine.running.outputs.os.access
    # As root a read-only folder is still writable: answer for it as for anyone else.
    monkeypatch.setattr(
        nst_engine.running.outputs.os,
        "access",
        lambda path, mode: False if Path(path) == locked else real_access(path, mode),
    )
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#output", str(locked / "out.png"))
        run_is_off_because(app, f"output folder '{locked}' is not writable")
        await set_text(pilot, "#output", str(tmp_path / "out.png"))
        run_is_on(app)


@pytest.mark.slow  # runs the engine
async def test_an_existing_output_is_never_replaced_without_the_box(make_app, tmp_path) -> None:
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"my earlier result")
    app = make_app()
    async with app.run_test() as pilot:
        await form_settled(pilot)
        await set_text(pilot, "#output", str(taken))
        reason = run_is_off_because(
            app,
            f"output '{taken}' already exists; choose another name or tick "
            "'replace the output if it exists'",
        )
        assert "--overwrite" not in reason
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not app.running and taken.read_bytes() == b"my earlier result"
        app.main.query_one("#overwrite", Checkbox).value = True
        await pilot.pause()
        await form_settled(pilot)
        run_is_on(app)
        await pilot.press("ctrl+r")  # asked for explicitly: replaced by the result
        await wait_for(pilot, lambda: not app.running, timeout=60, what="the run")
        with Image.open(taken) as image:
            assert image.size == (32, 21)

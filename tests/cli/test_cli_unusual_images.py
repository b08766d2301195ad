"""`nst-tui run` accepts unusual but valid images end to end (conversion is checked by pixel
values in tests/engine/test_images.py), and says when it takes an animation's first frame.
The command runs in this process (a tiny run with random weights)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nst_engine.running.images import read_embedded_settings

TINY = ("--size", "48", "--iterations", "2", "--weights", "random")


def make_image(kind: str, folder):
    """An unusual but valid content image of `kind`; its path."""
    gradient = Image.linear_gradient("L").resize((96, 64))
    if kind == "16-bit":
        path = folder / "deep.png"
        Image.fromarray(np.asarray(gradient, dtype=np.uint16) * 257).save(path)
    elif kind == "grey":
        path = folder / "grey.jpg"
        gradient.save(path)
    elif kind == "grey+alpha":
        path = folder / "grey-alpha.png"
        Image.merge("LA", (gradient, gradient.point(lambda v: 255 - v))).save(path)
    elif kind == "palette+transparency":
        path = folder / "palette.png"
        palette = gradient.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        palette.info["transparency"] = 0
        palette.save(path, transparency=0)
    elif kind == "cmyk":
        path = folder / "cmyk.jpg"
        gradient.convert("RGB").convert("CMYK").save(path)
    elif kind == "exif-rotated":
        path = folder / "rotated.jpg"
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
        gradient.convert("RGB").save(path, exif=exif)
    elif kind == "tiff":
        path = folder / "picture.tiff"
        gradient.convert("RGB").save(path, compression="tiff_lzw")
    elif kind == "spaces and ünïcödé":
        path = folder / "my pictures ünïcödé" / "çat photo.png"
        path.parent.mkdir()
        gradient.convert("RGB").save(path)
    else:  # pragma: no cover - a typo in the parameter list
        raise AssertionError(kind)
    return path


@pytest.mark.parametrize(
    "kind",
    [
        "16-bit",
        "grey",
        "grey+alpha",
        "palette+transparency",
        "cmyk",
        "exif-rotated",
        "tiff",
        "spaces and ünïcödé",
    ],
)
def test_an_unusual_valid_content_image_runs_to_a_result(nst_tui_here, work, demo_pair, kind):
    content = make_image(kind, work)
    output = work / "out folder ünï" / "résultat.png"
    output.parent.mkdir()
    result = nst_tui_here("run", content, demo_pair[1], "-o", output, *TINY)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() == str(output)
    with Image.open(output) as image:
        image.load()
        expected = (32, 48) if kind == "exif-rotated" else (48, 32)  # upright, then resized
        assert image.size == expected
    assert f"content = {str(content)!r}".replace("'", '"') in read_embedded_settings(output)


def test_an_animated_gif_uses_its_first_frame_and_says_so(nst_tui_here, work, demo_pair):
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "green", "blue")]
    gif = work / "moving.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = nst_tui_here("run", demo_pair[0], gif, "-o", "out.png", *TINY)
    assert result.returncode == 0, result.stderr
    assert f"style image '{gif}' is animated (3 frames); using its first frame" in result.stderr
    assert (work / "out.png").exists()


def test_the_first_frame_really_is_the_one_used(tmp_path):
    from nst_engine.running.images import load_image

    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "green")]
    path = tmp_path / "two.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    loaded = load_image(path, "style image")
    assert loaded.image.getpixel((5, 5)) == (255, 0, 0)

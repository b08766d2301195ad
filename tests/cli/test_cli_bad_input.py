"""`nst-tui run` with bad input: one line on stderr naming the problem, exit status 2,
no traceback, nothing written. The command runs in this process (`nst_tui_here`); one test
holds the real process to the same contract (`python -m nst_tui.cli`, its own exit status)."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from cli_run import assert_one_line_error
from PIL import Image

TINY = ("--size", "48", "--iterations", "2", "--weights", "random")


def fail_if_reached(*arguments, **keywords):
    raise AssertionError("the command went on to the run with a bad input")


@pytest.fixture
def no_run_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a mistake refused while the run is prepared (torch loaded): the run itself fails
    the test, as the command should never get there."""
    from nst_engine.running import transfer

    monkeypatch.setattr(transfer, "run", fail_if_reached)


@pytest.fixture(autouse=True)
def no_preparation_starts(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A mistake the command failed to refuse would start a run in this process (the demo at
    its preset's size, with no time limit): preparing the run fails the test at once instead.
    Tests of mistakes refused during that preparation ask for `no_run_starts`."""
    import nst_tui.cli.headless

    if "no_run_starts" not in request.fixturenames:
        monkeypatch.setattr(nst_tui.cli.headless, "_execute", fail_if_reached)


def test_a_mistake_is_one_line_and_exit_2_from_the_real_process(nst_tui, work):
    """The contract the in-process tests below rely on, held by the process a script runs:
    its exit status is 2, stderr one line, stdout empty, nothing written."""
    result = nst_tui("run", "--demo", "-o", "out.png", "--iterations=abc")
    assert_one_line_error(result, "--iterations")
    assert list(work.iterdir()) == []


# --- numbers ------------------------------------------------------------------------------------

# flag -> (values refused, extra flags it needs); every flag refuses text, negatives, NaN
# and infinities; those that need a positive number refuse 0 too.
NUMERIC_FLAGS = {
    "--iterations": (("abc", "-1", "0", "nan", "inf", "2.5"), ()),
    "--lr": (("abc", "-1", "0", "nan", "inf", "-inf"), ()),
    "--tv-weight": (("abc", "-1", "nan", "inf"), ()),
    "--size": (("abc", "-5", "0", "nan", "inf", "10x", "0x10"), ()),
    "--output-size": (("abc", "-5", "0", "nan"), ()),
    "--style-size": (("abc", "-5", "0", "nan"), ()),
    "--seed": (("abc", "-1", "nan", "inf", "1.5"), ()),
    "--init-noise": (("abc", "-1", "nan", "inf"), ()),
    "--snapshot-every": (("abc", "-1", "nan", "inf"), ()),
    "--max-pixels": (("abc", "-1", "0", "nan", "inf"), ()),
    "--beta1": (("abc", "-1", "nan", "inf", "1", "1.5"), ("--optimizer", "adam")),
    "--beta2": (("abc", "-1", "nan", "1"), ("--optimizer", "adam")),
    "--eps": (("abc", "-1", "0", "nan", "inf"), ("--optimizer", "adam")),
    "--rho": (("abc", "-1", "nan", "1.5"), ("--optimizer", "adadelta")),
    "--alpha": (("abc", "-1", "nan", "1.5"), ("--optimizer", "rmsprop")),
    "--momentum": (("abc", "-1", "nan", "1"), ("--optimizer", "sgd")),
    "--history-size": (("abc", "-1", "0", "nan", "2.5"), ("--optimizer", "lbfgs")),
    "--min-size": (("abc", "-1", "nan", "inf", "1.5"), ()),
    "--scale-iterations": (("abc", "-1", "0", "nan", "inf", "2.5"), ()),
}
NUMERIC_CASES = [
    (flag, value, extra) for flag, (values, extra) in NUMERIC_FLAGS.items() for value in values
]


@pytest.mark.parametrize(
    ("flag", "value", "extra"), NUMERIC_CASES, ids=[f"{f}={v}" for f, v, _ in NUMERIC_CASES]
)
def test_a_bad_number_is_one_line_naming_the_flag(nst_tui_here, work, flag, value, extra):
    result = nst_tui_here("run", "--demo", "-o", "out.png", *extra, f"{flag}={value}")
    assert_one_line_error(result, flag)
    assert list(work.iterdir()) == []


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (("--style-layers", "relu9_1=1"), ("unknown VGG19 layer 'relu9_1'", "did you mean")),
        (("--content-layers", "relu42"), ("unknown VGG19 layer 'relu42'", "relu4_2")),
        (("--style-layers", "relu1_1=0,relu2_1=0"), ("choose at least one style layer",)),
        (("--content-layers", "relu4_2=0"), ("choose at least one content layer",)),
        (("--style-layers", "relu1_1=-1"), ("relu1_1 must be at least 0",)),
        (("--optimizer", "newton"), ("--optimizer must be one of",)),
        (("--beta1", "0.5"), ("--beta1 applies to adam; the optimizer is",)),
        (("--optimizer", "adam", "--history-size", "5"), ("--history-size applies to lbfgs",)),
        (("--optimizer", "sgd", "--rho", "0.5"), ("--rho applies to adadelta",)),
        (("--optimizer", "sgd", "--momentum", "0", "--nesterov", "yes"), ("nesterov",)),
        (("--optimizer", "sgd", "--nesterov", "perhaps"), ("--nesterov must be true or false",)),
        (("--init", "zeros"), ("--init must be one of",)),
        (("--pooling", "min"), ("--pooling must be one of",)),
        (("--precision", "fp16"), ("--precision must be one of auto, fp32, bf16",)),
        (("--memory-format", "nhwc"), ("--memory-format must be one of",)),
        (("--cuda-graph", "yes"), ("--cuda-graph must be one of auto, on, off",)),
        (("--device", "tpu"), ("device must be auto, cpu, cuda or cuda:N",)),
        (("--colour", "red"), ("unrecognized arguments: --colour",)),
        (("--iterations",), ("--iterations: expected one argument",)),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(nst_tui_here, work, arguments, fragments):
    assert_one_line_error(nst_tui_here("run", "--demo", "-o", "out.png", *arguments), *fragments)
    assert list(work.iterdir()) == []


def test_demo_together_with_images_is_refused(nst_tui_here, demo_pair):
    result = nst_tui_here("run", "--demo", *demo_pair, "-o", "out.png")
    assert_one_line_error(result, "give either --demo or CONTENT STYLE")


def test_a_missing_style_image_argument_is_refused(nst_tui_here, demo_pair):
    result = nst_tui_here("run", demo_pair[0], "-o", "out.png")
    assert_one_line_error(result, "give a CONTENT and a STYLE image")


def test_an_unknown_command_is_refused(nst_tui_here):
    assert_one_line_error(nst_tui_here("paint"), "invalid choice: 'paint'")


# --- presets -------------------------------------------------------------------------------------


def test_a_preset_file_with_a_syntax_error_is_refused(nst_tui_here, work):
    (work / "broken.toml").write_text("iterations = = 3\n", encoding="utf-8")
    result = nst_tui_here("run", "--demo", "-o", "out.png", "--preset", "broken.toml")
    assert_one_line_error(result, "broken.toml", "is not valid TOML")


def test_a_preset_with_an_unknown_key_is_refused(nst_tui_here, work):
    (work / "typo.toml").write_text("iteration = 3\n", encoding="utf-8")
    result = nst_tui_here("run", "--demo", "-o", "out.png", "--preset", "typo.toml")
    assert_one_line_error(result, "unknown setting 'iteration'")


def test_an_unknown_preset_name_is_refused(nst_tui_here):
    result = nst_tui_here("run", "--demo", "-o", "out.png", "--preset", "nonesuch")
    assert_one_line_error(result, "no preset called 'nonesuch'", "reference-2022")


def test_a_missing_preset_file_is_refused(nst_tui_here):
    result = nst_tui_here("run", "--demo", "-o", "out.png", "--preset", "missing.toml")
    assert_one_line_error(result, "missing.toml", "does not exist")


# --- images --------------------------------------------------------------------------------------


def bad_images(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (a content image that cannot be used, what the message says)."""
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    text = folder / "text.jpg"
    text.write_text("not an image\n", encoding="utf-8")
    stream = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").save(stream, format="JPEG")
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(stream.getvalue()[: len(stream.getvalue()) // 2])
    stream = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").save(stream, format="PNG")
    truncated_png = folder / "truncated.png"
    truncated_png.write_bytes(stream.getvalue()[: len(stream.getvalue()) // 2])
    tiny = folder / "tiny.png"
    Image.new("RGB", (8, 30)).save(tiny)
    one_pixel = folder / "one.png"
    Image.new("RGB", (1, 1), (200, 10, 10)).save(one_pixel)
    strip = folder / "strip.png"
    Image.new("RGB", (4000, 20), (10, 200, 10)).save(strip)
    return {
        "missing": (folder / "missing.jpg", "does not exist"),
        "folder": (folder, "is a folder, not an image file"),
        "empty": (empty, "is an empty file"),
        "text": (text, "is not an image Pillow can read"),
        "truncated": (truncated, "is damaged or incomplete"),
        "truncated-png": (truncated_png, "is damaged or incomplete"),
        "tiny": (tiny, "it must be at least 16x16"),
        "one-pixel": (one_pixel, "is 1x1 pixels; it must be at least 16x16"),
        "elongated": (
            strip,
            "becomes 48x1 at this compute size, but layer relu5_1 needs at least 16x16",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "folder",
        "empty",
        "text",
        "truncated",
        "truncated-png",
        "tiny",
        "one-pixel",
        "elongated",
    ],
)
def test_an_unusable_content_image_is_refused(nst_tui_here, work, demo_pair, case):
    folder = work / "inputs"
    folder.mkdir()
    path, fragment = bad_images(folder)[case]
    result = nst_tui_here("run", path, demo_pair[1], "-o", "out.png", *TINY)
    assert_one_line_error(result, f"content image '{path}'", fragment)
    assert not (work / "out.png").exists()


def test_an_unusable_style_image_is_refused(nst_tui_here, work, demo_pair):
    path = work / "style.jpg"
    path.write_text("no", encoding="utf-8")
    result = nst_tui_here("run", demo_pair[0], path, "-o", "out.png", *TINY)
    assert_one_line_error(result, f"style image '{path}'", "is not an image")


def test_a_decompression_bomb_is_refused_from_its_header(nst_tui_here, work, demo_pair):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    bomb = work / "bomb.png"
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )
    result = nst_tui_here("run", bomb, demo_pair[1], "-o", "out.png", *TINY)
    assert_one_line_error(result, "50000x50000", "over the limit of 100,000,000 pixels")


def test_max_pixels_refuses_a_normal_image_above_it(nst_tui_here, work):
    result = nst_tui_here("run", "--demo", "-o", "out.png", "--max-pixels", "1000", *TINY)
    assert_one_line_error(result, "over the limit of 1,000 pixels", "--max-pixels")


# --- output ----------------------------------------------------------------------------------------


def test_an_output_folder_that_does_not_exist_is_refused(nst_tui_here, work):
    result = nst_tui_here("run", "--demo", "-o", work / "nowhere" / "out.png", *TINY)
    assert_one_line_error(result, "output folder", "does not exist")


def test_an_output_folder_that_is_not_writable_is_refused(nst_tui_here, work):
    folder = work / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a read-only folder is still writable")
        result = nst_tui_here("run", "--demo", "-o", folder / "out.png", *TINY)
        assert_one_line_error(result, "is not writable")
    finally:
        folder.chmod(0o700)


def test_an_existing_output_is_refused_and_left_untouched(nst_tui_here, work):
    existing = work / "out.png"
    existing.write_bytes(b"my earlier result")
    result = nst_tui_here("run", "--demo", "-o", existing, *TINY)
    assert_one_line_error(result, "already exists", "--overwrite")
    assert existing.read_bytes() == b"my earlier result"
    assert sorted(p.name for p in work.iterdir()) == ["out.png"]


def test_an_output_with_an_unknown_suffix_is_refused(nst_tui_here):
    assert_one_line_error(nst_tui_here("run", "--demo", "-o", "out.gif", *TINY), "must end in .png")


# --- device and weights -----------------------------------------------------------------------------


def test_a_device_that_does_not_exist_is_refused_suggesting_the_cpu(nst_tui_here, no_run_starts):
    import torch

    device = "cuda:99" if torch.cuda.is_available() else "cuda"
    result = nst_tui_here("run", "--demo", "-o", "out.png", "--device", device, *TINY)
    line = assert_one_line_error(result, device)
    if not torch.cuda.is_available():
        assert "use --device cpu" in line


class RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


def test_a_weights_file_holding_code_is_refused_and_does_not_run(nst_tui_here, work, no_run_starts):
    import torch

    marker = work / "marker.txt"
    evil = work / "weights.pth"
    torch.save({"0.weight": torch.zeros(64, 3, 3, 3), "payload": RunsCode(marker)}, evil)
    result = nst_tui_here(
        "run", "--demo", "-o", "out.png", "--weights", evil, "--size", "48", "--iterations", "2"
    )
    assert_one_line_error(result, "holds Python objects", "refusing to load it")
    assert not marker.exists()
    assert not (work / "out.png").exists()


def test_a_missing_weights_file_is_refused(nst_tui_here, work):
    result = nst_tui_here(
        "run", "--demo", "-o", "out.png", "--weights", work / "none.pth", *TINY[:4]
    )
    assert_one_line_error(result, "none.pth", "does not exist")

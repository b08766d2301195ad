"""Saving results: settings embedded, never clobbering, never leaving half a file behind."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from nst_engine.errors import OutputError
from nst_engine.running.images import read_embedded_settings, save_image
from nst_engine.running.outputs import (
    check_output_path,
    default_output_path,
    partial_output_path,
    snapshot_path,
    unique_path,
)
from nst_engine.settings.config import RunConfig


@pytest.fixture
def picture() -> Image.Image:
    return Image.radial_gradient("L").convert("RGB").resize((40, 30))


@pytest.fixture
def config(tmp_path) -> RunConfig:
    return RunConfig.from_flat(
        content=tmp_path / "photo with space.jpg",
        style=tmp_path / "stÿle.png",
        output=tmp_path / "out.png",
        iterations=42,
        optimizer={"name": "adam", "lr": 2.5},
        style_layers={"relu1_1": 0.5, "relu3_1": 2.0},
        tv_weight=1.5,
    )


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".jpeg"])
def test_settings_text_is_embedded_and_read_back(tmp_path, picture, config, suffix):
    path = tmp_path / f"result{suffix}"
    text = "# made by nst-tui\n" + config.to_toml()
    assert save_image(picture, path, text) == path
    with Image.open(path) as saved:
        assert saved.format == ("PNG" if suffix == ".png" else "JPEG")
        assert saved.size == picture.size
    assert read_embedded_settings(path) == text
    assert RunConfig.from_toml(read_embedded_settings(path)) == config


def test_an_image_without_settings_reads_as_none(tmp_path, picture):
    for name in ("plain.png", "plain.jpg"):
        picture.save(tmp_path / name)
        assert read_embedded_settings(tmp_path / name) is None
    save_image(picture, tmp_path / "bare.png")
    assert read_embedded_settings(tmp_path / "bare.png") is None


def test_saving_onto_an_existing_file_is_refused_and_leaves_it_untouched(tmp_path, picture):
    path = tmp_path / "taken.png"
    path.write_bytes(b"precious bytes that are not even an image")
    before = path.read_bytes()
    with pytest.raises(OutputError) as caught:
        save_image(picture, path, "settings")
    assert "already exists" in caught.value.message
    assert "--overwrite" in caught.value.message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.png"]  # no temporary left


def test_overwrite_replaces_an_existing_file(tmp_path, picture):
    path = tmp_path / "taken.png"
    path.write_bytes(b"old")
    save_image(picture, path, "new settings", overwrite=True)
    assert read_embedded_settings(path) == "new settings"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.png"]


def test_no_temporary_files_are_left_after_saving(tmp_path, picture):
    save_image(picture, tmp_path / "a.png", "x")
    save_image(picture, tmp_path / "b.jpg", "x")
    save_image(picture, tmp_path / "a.png", "y", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.jpg"]


def test_saving_into_a_missing_folder_or_with_a_bad_suffix_is_an_output_error(tmp_path, picture):
    with pytest.raises(OutputError, match="does not exist"):
        save_image(picture, tmp_path / "gone" / "out.png")
    with pytest.raises(OutputError, match=r"must end in \.png or \.jpg \(got '\.gif'\)"):
        save_image(picture, tmp_path / "out.gif")
    assert list(tmp_path.iterdir()) == []


def test_check_output_path_refuses_what_could_not_be_written_at_the_end(tmp_path):
    (tmp_path / "exists.png").write_bytes(b"x")
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(OutputError, match="output folder .* does not exist"):
        check_output_path(tmp_path / "missing" / "out.png")
    with pytest.raises(OutputError, match="is not a folder"):
        check_output_path(tmp_path / "file" / "out.png")
    with pytest.raises(OutputError, match="already exists"):
        check_output_path(tmp_path / "exists.png")
    with pytest.raises(OutputError, match="is a folder; give a file name"):
        check_output_path(tmp_path / "folder.png", overwrite=True)
    with pytest.raises(OutputError, match="must end in .png or .jpg"):
        check_output_path(tmp_path / "out.tiff")
    check_output_path(tmp_path / "exists.png", overwrite=True)
    check_output_path(tmp_path / "new.jpg")


def test_check_output_path_refuses_a_folder_that_is_not_writable(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            # As root a read-only folder is still writable: answer for it as for anyone else.
            real_access = os.access
            monkeypatch.setattr(
                os,
                "access",
                lambda path, mode: False if Path(path) == folder else real_access(path, mode),
            )
        with pytest.raises(OutputError, match="is not writable"):
            check_output_path(folder / "out.png")
    finally:
        folder.chmod(0o700)


def test_partial_and_snapshot_names_say_how_far_the_run_got(tmp_path):
    output = tmp_path / "out.png"
    assert partial_output_path(output, 7, 300).name == "out.partial-007-of-300.png"
    assert snapshot_path(output, 20, 100).name == "out.step-020.png"
    (tmp_path / "out.partial-007-of-300.png").write_bytes(b"x")
    assert partial_output_path(output, 7, 300).name == "out.partial-007-of-300-2.png"
    assert unique_path(tmp_path / "free.png") == tmp_path / "free.png"


# --- atomicity under SIGKILL ---------------------------------------------------------------------

# One process imports numpy, Pillow and the engine once (a quarter of a second each time) and
# forks a saver per attempt: each saver is a process of its own, killed as a lone one would be.
# Commands on its stdin, one reply line each: "save MODE PATH" -> "saver PID" (the saver starts
# once that is said), "poll PID" -> "running" or "ended CODE", "reap PID" -> "ended CODE". A
# saver asked to save "once" says "saved" when its save has ended.
SAVERS = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import numpy as np
    from PIL import Image
    from nst_engine.running.images import save_image

    noise = np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)
    picture = Image.fromarray(noise, "RGB")

    def saver(path, overwrite, go):
        os.read(go, 1)  # the test knows this process's id
        while True:
            save_image(picture, path, "settings " * 100, overwrite=overwrite)
            if not overwrite:
                break
        print("saved", flush=True)
        while True:
            time.sleep(3600)  # wait to be killed

    def ended(status):
        return f"ended {os.waitstatus_to_exitcode(status)}"

    print("ready", flush=True)
    for line in sys.stdin:
        command, argument = line.split(" ", 1)
        argument = argument.rstrip("\\n")
        if command == "save":
            mode, path = argument.split(" ", 1)
            go, going = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    saver(Path(path), mode == "overwrite", go)
                finally:
                    os._exit(1)  # never back into this loop
            os.close(go)
            print(f"saver {pid}", flush=True)
            os.write(going, b"g")
            os.close(going)
        elif command == "poll":
            pid, status = os.waitpid(int(argument), os.WNOHANG)
            print(ended(status) if pid else "running", flush=True)
        else:
            print(ended(os.waitpid(int(argument), 0)[1]), flush=True)
    """
)


def assert_absent_or_complete(path: Path) -> None:
    if not path.exists():
        return
    with Image.open(path) as image:
        image.load()
        assert image.size == (700, 700)


def ask(savers: subprocess.Popen, command: str) -> str:
    """Send `command` to the savers' process; its reply (a saver's "saved" lines skipped)."""
    savers.stdin.write(command + "\n")
    savers.stdin.flush()
    while (line := savers.stdout.readline().strip()) == "saved":
        pass
    return line


@pytest.fixture
def savers():
    process = subprocess.Popen(
        [sys.executable, "-c", SAVERS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),  # no threads in the forking process
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.stdin.close()
        process.kill()
        process.wait()
        process.stdout.close()


def test_a_save_killed_at_random_moments_never_leaves_a_partial_file(tmp_path, savers):
    randomness = random.Random(1234)
    shared = tmp_path / "replaced.png"
    outcomes = set()
    for attempt in range(24):
        # Even attempts: a first save to a fresh name (hard-link path); odd: repeated
        # replacements of one file (os.replace path).
        fresh = attempt % 2 == 0
        path = tmp_path / f"fresh-{attempt}.png" if fresh else shared
        reply = ask(savers, f"save {'once' if fresh else 'overwrite'} {path}")
        assert reply.startswith("saver "), reply
        pid = int(reply.split()[1])
        try:
            if attempt == 0:  # once the save has ended, however long it took
                assert savers.stdout.readline().strip() == "saved"
            elif attempt != 2:  # attempt 2: at once, before any save can have ended
                time.sleep(randomness.uniform(0.0, 0.35))  # the random moment
            assert ask(savers, f"poll {pid}") == "running", "the saver died on its own"
            os.kill(pid, signal.SIGKILL)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert ask(savers, f"reap {pid}") == f"ended {-signal.SIGKILL}"
        assert_absent_or_complete(path)
        outcomes.add(path.exists())
    # The kills landed before and after a file was complete (attempts 2 and 0 see to that
    # on a machine of any speed or load), and in the middle of writes (whose temporaries,
    # hidden beside the target, are what a kill leaves behind).
    assert outcomes == {True, False}
    assert any(p.name.startswith(".") and p.suffix == ".tmp" for p in tmp_path.iterdir())


def test_a_killed_saves_old_temporary_is_cleaned_up_when_the_output_is_next_checked(tmp_path):
    import os
    import time

    from nst_engine.running.outputs import check_output_path
    from nst_engine.store.safe_files import STALE_TEMPORARY_SECONDS

    target = tmp_path / "result.png"
    stale = tmp_path / ".result.png.0badcafe.tmp"
    fresh = tmp_path / ".result.png.12345678.tmp"
    unrelated = tmp_path / ".other.png.0badcafe.tmp"
    for leftover in (stale, fresh, unrelated):
        leftover.write_bytes(b"half a png")
    old = time.time() - STALE_TEMPORARY_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(unrelated, (old, old))
    check_output_path(target)
    assert not stale.exists()
    assert fresh.exists()  # may belong to a save in progress
    assert unrelated.exists()  # another output's business


def test_the_default_output_name_joins_content_and_style_and_never_overwrites(tmp_path):
    first = default_output_path(Path("a/cat.jpg"), Path("b/wave.png"), tmp_path)
    assert first == tmp_path / "cat-wave.png"
    first.write_bytes(b"taken")
    assert default_output_path(Path("cat.jpg"), Path("wave.png"), tmp_path).name == "cat-wave-2.png"

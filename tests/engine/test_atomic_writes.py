"""One atomic write (nst_engine/store/safe_files.py: write_atomically) for every whole file the
project writes: a kill at any moment leaves the old file or the new one, whole; no link is
followed; no two writes share a temporary; what killed writes leave does not pile up. No
module writes a whole file any other way (tests/engine/test_no_own_writes.py), and each
writer goes through it (tests/engine/test_writers.py)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import nst_engine
from nst_engine.store import safe_files
from nst_engine.store.safe_files import (
    STALE_TEMPORARY_SECONDS,
    remove_temporaries,
    write_atomically,
)

ROOT = Path(nst_engine.__file__).resolve().parents[1]

# --- killed at any moment -----------------------------------------------------------------------

SIZE = 1 << 20

# Writes versions after START of a self-checking file, saying each step it takes as
# "STEP KIND VERSION": a file opened (the temporary, then the folder to sync it), a piece
# written, an fsync, the rename (replace) or the hard link (link, for a file never written
# over: replace=False), done. At step PAUSE it waits, on a stdin nothing is written to, to
# be killed there. The kills are timed by these steps, never by the clock: a busy machine
# changes when they land, not where.
WRITER = textwrap.dedent(
    """
    import hashlib, os, sys
    from pathlib import Path
    from nst_engine.store.safe_files import write_atomically

    folder, mode = Path(sys.argv[1]), sys.argv[2]
    version, pause = int(sys.argv[3]), int(sys.argv[4])
    steps = 0

    def step(kind):
        global steps
        steps += 1
        print(steps, kind, version, flush=True)
        if steps == pause:
            sys.stdin.readline()

    def observed(name):
        real = getattr(os, name)
        def call(*args, **options):
            result = real(*args, **options)
            step(name)
            return result
        setattr(os, name, call)

    for name in ("open", "fsync", "replace", "link"):
        observed(name)

    def content(version):
        body = version.to_bytes(8, "big") * (SIZE // 8)
        return body + hashlib.sha256(body).digest()

    def in_pieces(data):
        def write(stream):
            for start in range(0, len(data), SIZE // 4):
                stream.write(data[start : start + SIZE // 4])
                step("piece")
        return write

    while True:
        version += 1
        data = content(version)
        if mode == "bytes":
            write_atomically(folder / "target", data)
        elif mode == "stream":  # as torch.save or Pillow write
            write_atomically(folder / "target", in_pieces(data))
        else:
            write_atomically(folder / f"fresh-{version}", data, replace=False)
        step("done")
    """
).replace("SIZE", str(SIZE))

# The steps of one version in each mode: open, [piece x 4,] fsync, replace or link, open
# (the folder), fsync (the folder), done.
STEPS = {"bytes": 6, "stream": 10, "fresh": 6}


def content(version: int) -> bytes:
    body = version.to_bytes(8, "big") * (SIZE // 8)
    return body + hashlib.sha256(body).digest()


def version_of(path: Path) -> int:
    """The version a whole file holds; AssertionError for a partial or mixed one."""
    data = path.read_bytes()
    assert len(data) == SIZE + 32, f"{path.name}: {len(data)} bytes, a partial file"
    version = int.from_bytes(data[:8], "big")
    assert data == content(version), f"{path.name}: torn (pieces of several versions)"
    return version


def temporaries(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir() if path.name.endswith(".tmp")}


def killed_writer(folder: Path, mode: str, start: int, kill_at: int, pause: bool) -> list:
    """The steps (number, kind, version) a writer of versions after `start` said before it was
    SIGKILLed: paused at step `kill_at`, or, not paused, anywhere after it said that step."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    command = [sys.executable, "-c", WRITER, str(folder), mode, str(start)]
    child = subprocess.Popen(
        [*command, str(kill_at if pause else 0)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    lines = []
    try:
        while len(lines) < kill_at:
            lines.append(child.stdout.readline())
            assert lines[-1], "the writer died on its own"
        child.send_signal(signal.SIGKILL)
        lines += child.stdout.readlines()  # what it said before the kill landed
    finally:
        child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL, "the writer died on its own"
    # The kill may land while a line is being written: a step half said is not counted (a
    # kill not paused may follow one step more than was said; check_folder allows that).
    said = [line.split() for line in lines if line.endswith("\n")]
    assert all(len(fields) == 3 for fields in said), lines
    return [(int(number), kind, int(version)) for number, kind, version in said]


def after(said: list, start: int) -> tuple[int, bool]:
    """What the steps said leave: the last version put in place, and whether the temporary
    of the next one was made (the folder's open comes after the rename: not a temporary)."""
    placed, making = start, False
    for _, kind, version in said:
        if kind == "open" and version > placed:
            making = True
        elif kind in ("replace", "link"):
            placed, making = version, kind == "link"  # a link leaves the temporary to unlink
        elif kind == "done":
            making = False
    return placed, making


def check_folder(folder: Path, mode: str, placed: int, exact: bool) -> int:
    """The files are whole: at `placed`, or (not `exact`: the writer may have done one step
    more than it said) at `placed` or the version after. The version now in place."""
    if mode == "fresh":
        assert all(version_of(folder / f"fresh-{n}") == n for n in range(1, placed + 1))
        following = folder / f"fresh-{placed + 1}"
        if following.exists() and not exact:
            placed += version_of(following) - placed
        assert not (folder / f"fresh-{placed + 1}").exists()
        return placed
    version = version_of(folder / "target")
    assert version == placed or (not exact and version == placed + 1)
    return version


def test_a_write_killed_at_any_moment_leaves_the_old_or_the_new_file_whole(tmp_path):
    """Killed paused at each step of a write (exactly what each leaves), then at random moments
    (wherever the kill lands after a random step): never a partial file, never two
    temporaries from one kill, and the next open of the folder removes what is left."""
    write_atomically(tmp_path / "target", content(0))
    versions = {"target": 0, "fresh": 0}
    randomness = random.Random(2024)
    kills = [(mode, step, True) for mode in STEPS for step in range(1, STEPS[mode] + 1)]
    for _ in range(12):
        mode = randomness.choice(list(STEPS))
        kills.append((mode, randomness.randint(1, 3 * STEPS[mode]), False))
    paused_at = set()
    for mode, kill_at, pause in kills:
        which = "fresh" if mode == "fresh" else "target"
        before = temporaries(tmp_path)
        said = killed_writer(tmp_path, mode, versions[which], kill_at, pause)
        placed, making = after(said, versions[which])
        versions[which] = check_folder(tmp_path, mode, placed, exact=pause)
        left = temporaries(tmp_path) - before
        if pause:
            assert said[-1][0] == kill_at
            paused_at.add(said[-1][1])
            assert len(left) == making, f"paused after {said[-1]}: left {left}"
        else:
            assert len(left) <= 1, f"one kill left several temporaries: {left}"
    assert paused_at == {"open", "piece", "fsync", "replace", "link", "done"}

    # The next open of a run folder removes them all (under its lock: no write is going on).
    remove_temporaries(tmp_path)
    assert temporaries(tmp_path) == set()
    assert version_of(tmp_path / "target") == versions["target"] > 0


def test_the_next_write_of_a_file_removes_what_its_killed_writes_left(tmp_path):
    """Where no lock says that no write is going on (caches, settings, presets): the
    temporaries old enough that no write can still be making them."""
    target = tmp_path / "settings.toml"
    stale = tmp_path / ".settings.toml.0badcafe.tmp"
    young = tmp_path / ".settings.toml.12345678.tmp"  # may be another process's write
    other = tmp_path / ".presets.toml.0badcafe.tmp"  # another file's business
    lookalike = tmp_path / ".settings.toml.mine.tmp"  # not a name write_atomically makes
    for leftover in (stale, young, other, lookalike):
        leftover.write_bytes(b"half a file")
    old = time.time() - STALE_TEMPORARY_SECONDS - 60
    for leftover in (stale, other, lookalike):
        os.utime(leftover, (old, old))
    write_atomically(target, b"whole")
    assert target.read_bytes() == b"whole"
    assert not stale.exists()
    assert young.exists() and other.exists() and lookalike.exists()


# --- no link followed, no fixed temporary ---------------------------------------------------------


def test_a_link_at_the_target_is_replaced_and_what_it_points_to_is_untouched(tmp_path):
    victim = tmp_path / "bashrc"
    victim.write_bytes(b"the user's own")
    target = tmp_path / "run.json"
    target.symlink_to(victim)
    write_atomically(target, b"{}")
    assert not target.is_symlink() and target.read_bytes() == b"{}"
    assert victim.read_bytes() == b"the user's own"


def test_never_over_an_existing_name_not_even_a_link(tmp_path):
    victim = tmp_path / "bashrc"
    victim.write_bytes(b"the user's own")
    target = tmp_path / "out.png"
    target.symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_atomically(target, b"picture", replace=False)
    assert target.is_symlink() and victim.read_bytes() == b"the user's own"
    assert temporaries(tmp_path) == set()


def test_a_link_planted_at_the_temporary_name_is_never_written_through(tmp_path, monkeypatch):
    """The temporary is created, never opened: a link (or file) already at its name, however
    it was guessed, stops the write instead of receiving it."""
    victim = tmp_path / "bashrc"
    victim.write_bytes(b"the user's own")
    monkeypatch.setattr(safe_files.secrets, "token_hex", lambda size: "0badcafe")
    (tmp_path / ".rates.json.0badcafe.tmp").symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_atomically(tmp_path / "rates.json", b"{}")
    assert victim.read_bytes() == b"the user's own"
    assert not (tmp_path / "rates.json").exists()


def test_two_writes_of_one_file_at_once_never_share_a_temporary(tmp_path):
    """A write started while another of the same file is in the middle (two app instances
    saving their settings): both complete, each from its own temporary; the last renamed
    wins, whole."""
    target = tmp_path / "settings.toml"
    names = []

    def outer(stream) -> None:
        stream.write(b"outer, first half; ")
        names.append(temporaries(tmp_path))
        write_atomically(target, b"inner, whole")
        stream.write(b"outer, second half")

    write_atomically(target, outer)
    assert target.read_bytes() == b"outer, first half; outer, second half"
    assert len(names[0]) == 1  # the outer write's temporary, still there after the inner one
    assert temporaries(tmp_path) == set()


def test_a_writer_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "checkpoint.pt"
    write_atomically(target, b"the last good checkpoint")

    def torn(stream) -> None:
        stream.write(b"half a check")
        raise RuntimeError("No space left on device")

    with pytest.raises(RuntimeError, match="No space"):
        write_atomically(target, torn)
    assert target.read_bytes() == b"the last good checkpoint"
    assert temporaries(tmp_path) == set()

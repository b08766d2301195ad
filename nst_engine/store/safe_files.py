"""Writing and reading files safely: never half-written, never through a planted link, never
hanging on a FIFO or reading /dev/zero until memory runs out.

A run folder may have been handed to the user by someone else, or had links planted in it:
`run.log` linked to `~/.bashrc` must not get the run's log appended. So every file is opened
without following a link at its name (`O_NOFOLLOW`), and a whole file is written to a fresh
temporary of a random name beside it, created exclusively (`O_EXCL`: nothing that exists
there, link or not, is ever opened), flushed to the disk, then renamed over the target (a
rename replaces a link at the target's name, never what it points to). `write_atomically` is
the one way the project writes a whole file (tests/engine/test_no_own_writes.py holds every
module to it); appends (a run's log and loss history) go through `open_for_append`.

Cheap to import: no torch, no Pillow.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# Flags where the platform has them (Windows has neither O_NOFOLLOW nor O_NONBLOCK).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)

Writer = Callable[[BinaryIO], object]

# A write killed in the middle (SIGKILL, a power cut) leaves its temporary behind; one older
# than this cannot belong to a write still going on (the largest file, the weights, takes
# seconds), so the next write to the same file removes it.
STALE_TEMPORARY_SECONDS = 600


def temporary_name(path: Path) -> Path:
    """`.NAME.RANDOM.tmp` beside `path`: where a write to `path` goes before it is renamed."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def write_atomically(
    path: Path, content: bytes | Writer, *, replace: bool = True, sync_folder: bool = True
) -> Path:
    """Write `content` (bytes, or a function that writes to a binary stream: torch.save,
    Pillow's save) to `path`, so that `path` holds the old file or the whole new one, whatever
    happens, and no link is followed. `replace=False`: never over an existing file
    (FileExistsError). `sync_folder=False`: the rename is not forced to the disk (the file's
    bytes always are), for a folder that is itself renamed into place after. Errors are
    raised as they came (OSError, or what the writing function raised), with the temporary
    removed; what earlier writes to `path` that were killed left is removed first."""
    remove_stale_temporaries(path)
    temporary = temporary_name(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    try:
        descriptor = os.open(temporary, flags, 0o666)
        with os.fdopen(descriptor, "wb") as stream:
            if isinstance(content, bytes):
                stream.write(content)
            else:
                content(stream)
            stream.flush()
            os.fsync(stream.fileno())
        _move_into_place(temporary, path, replace)
        if sync_folder:
            sync(path.parent)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return path


def _move_into_place(temporary: Path, path: Path, replace: bool) -> None:
    if replace:
        os.replace(temporary, path)
        return
    try:
        # A hard link never replaces an existing file: no window in which one could be lost.
        os.link(temporary, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        # Some file systems have no hard links; a check-then-rename is the best left.
        if os.path.lexists(path):
            raise FileExistsError(path) from None
        os.rename(temporary, path)


def open_for_append(path: Path):
    """`path` opened to append text (UTF-8), created if missing; a link at `path`, or anything
    but a regular file, is refused (OSError)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC
    descriptor = _open(path, flags, 0o666)
    try:
        _check_regular(descriptor, path)
    except OSError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "a", encoding="utf-8")


def open_regular(path: Path, limit: int | None = None) -> BinaryIO:
    """`path` opened for reading if it is a regular file (not a link, FIFO, device or folder)
    of at most `limit` bytes; else OSError. Never blocks on a FIFO."""
    descriptor = _open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _BINARY)
    try:
        size = _check_regular(descriptor, path)
        if limit is not None and size > limit:
            raise OSError(f"{path} is {size:,} bytes, more than the {limit:,} expected")
        if _NONBLOCK:
            os.set_blocking(descriptor, True)
    except OSError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "rb")


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes (open_regular's rules)."""
    with open_regular(path, limit) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise OSError(f"{path} is more than the {limit:,} bytes expected")
    return data


def _open(path: Path, flags: int, mode: int = 0o666) -> int:
    """os.open, with a link at `path` said as such (O_NOFOLLOW's ELOOP reads "Too many
    levels of symbolic links")."""
    try:
        return os.open(path, flags, mode)
    except OSError as error:
        if error.errno == errno.ELOOP and is_link(path):
            raise OSError(errno.ELOOP, f"{path.name} is a link, which is not followed") from None
        raise


def _check_regular(descriptor: int, path: Path) -> int:
    """The size of the open file, if it is a regular one."""
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        raise OSError(f"{path} is not a regular file")
    return status.st_size


def is_link(path: Path) -> bool:
    with contextlib.suppress(OSError):
        return stat.S_ISLNK(os.lstat(path).st_mode)
    return False


def remove_stale_temporaries(path: Path) -> None:
    """Delete the temporaries of writes to `path` that were killed more than
    STALE_TEMPORARY_SECONDS ago (younger ones may be another process's write going on)."""
    own = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{8}}\.tmp")
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if own.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)


def remove_temporaries(folder: Path) -> None:
    """Delete the temporaries (`.NAME.RANDOM.tmp`) that writes killed in the middle left in
    `folder` (only call it when no write can be going on there)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    if entry.is_file(follow_symlinks=False) or entry.is_symlink():
                        os.unlink(entry.path)


def sync(folder: Path) -> None:
    """Make a rename in `folder` survive a power cut (where the platform allows)."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

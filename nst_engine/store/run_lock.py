"""The lock a running run holds on its folder: `run.lock`, locked (fcntl.flock) by the process
that runs it, for as long as it runs, and released by the system when that process ends,
however it ends (SIGKILL, a power cut).

It answers two questions the recorded pid cannot: whether a run marked `running` still runs
(a pid is reused by unrelated processes; a lock is not), and whether another `nst-tui resume`
already runs it (two resumes of one run would write one folder and one output). The file
holds the holder's pid, for the message.

Within one process the lock is reentrant: `nst-tui resume` takes it before it touches the
folder, and the engine takes it again when the run begins. Where the platform has no fcntl,
or the folder cannot take the file (read-only, gone), there is no lock and nothing is refused
for it. Cheap to import: no torch.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from nst_engine.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "run.lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# A look at the lock by the history (a shared lock, for an instant) can make one attempt to
# take it fail: try again for this long before saying another process holds it.
TAKE_ATTEMPTS = 20
TAKE_PAUSE = 0.02  # seconds

# The folders this process holds: path -> (descriptor, how many times taken).
_held: dict[Path, tuple[int, int]] = {}
_guard = threading.Lock()


class RunBusy(ConfigError):
    """Another process runs the run (it holds its lock)."""


@contextlib.contextmanager
def holding(folder: Path, run_id: str) -> Iterator[None]:
    """Hold `folder`'s lock for the block (RunBusy if another process holds it)."""
    take(folder, run_id)
    try:
        yield
    finally:
        release(folder)


def take(folder: Path, run_id: str) -> None:
    """Lock `folder` for this process (again, if it holds it already); RunBusy if another
    process holds it. A folder that cannot take the lock file is run without one."""
    key = Path(os.path.abspath(folder))
    with _guard:
        if key in _held:
            descriptor, depth = _held[key]
            _held[key] = (descriptor, depth + 1)
            return
        if fcntl is None:
            return
        try:
            descriptor = os.open(
                key / LOCK_FILE, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o666
            )
        except OSError:
            return  # read-only or vanished: the run will say what it cannot write
        for _ in range(TAKE_ATTEMPTS):
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(descriptor)
                    return
                time.sleep(TAKE_PAUSE)
        else:
            holder = _pid_in(descriptor)
            os.close(descriptor)
            by = f"process {holder}" if holder else "another process"
            raise RunBusy(
                f"run '{run_id}' is already being resumed by {by}; wait for it to end, or stop it"
            )
        with contextlib.suppress(OSError):
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        _held[key] = (descriptor, 1)


def release(folder: Path) -> None:
    """Give back one taking of `folder`'s lock (the last one unlocks it)."""
    key = Path(os.path.abspath(folder))
    with _guard:
        if key not in _held:
            return
        descriptor, depth = _held.pop(key)
        if depth > 1:
            _held[key] = (descriptor, depth - 1)
            return
        os.close(descriptor)  # closing the last descriptor of the lock releases it


def is_held(folder: Path) -> bool | None:
    """Whether some process (this one included) holds `folder`'s lock; None when the folder
    has no lock file (a run of an earlier version) or it cannot be looked at."""
    key = Path(os.path.abspath(folder))
    with _guard:
        if key in _held:
            return True
    if fcntl is None:
        return None
    try:
        descriptor = os.open(key / LOCK_FILE, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as error:
        return True if error.errno in (errno.EAGAIN, errno.EACCES) else None
    finally:
        os.close(descriptor)
    return False


def still_running(folder: Path, pid: int | None, host: str) -> bool:
    """Whether the process that marked the run in `folder` `running` (process `pid` on
    `host`) still runs it. Its lock says: a pid may belong to an unrelated process by now.
    Without a lock file (a run of an earlier version), its pid; another host's: assume so."""
    if host and host != socket.gethostname():
        return True  # no way to tell from here
    held = is_held(folder)
    return _alive(pid) if held is None else held


def _alive(pid: int | None) -> bool:
    """Whether process `pid` (of this host) may still be running."""
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _pid_in(descriptor: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(descriptor, 32, 0).decode("ascii").strip()
        return int(text) if text else None
    return None

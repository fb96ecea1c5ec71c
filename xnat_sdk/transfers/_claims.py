"""Claims on local files while they are downloaded, so that processes sharing a target (a
cluster's nodes on shared storage, two runs of one script) download each file once.

A claim is an exclusive advisory lock (``flock``) on a hidden file beside the target,
``.{name}.xnat-claim``, removed by its holder when the download is over. The operating
system releases the lock when its process ends, however it ends (``kill -9`` too), so a
claim never outlives its holder; where the file system has no locks (or the folder cannot
take the claim file), files are downloaded unclaimed, as before claims existed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from xnat_sdk.archives import temp_stem

try:
    import fcntl
except ImportError:  # Windows: downloads go unclaimed
    fcntl = None  # type: ignore[assignment]

__all__ = ["claim"]

_POLL = 0.05
"""Seconds between two looks at a claim held elsewhere (doubling up to one second)."""


def claim_path(target: Path) -> Path:
    """The claim file of ``target`` (a name no temporary name of a transfer can take)."""
    return target.parent / f".{temp_stem(target.name)}.xnat-claim"


@contextlib.contextmanager
def claim(target: Path, wait: Callable[[], bool] | None = None) -> Iterator[bool]:
    """Hold the claim on ``target`` in the block (yields True), or yield False when another
    process holds it. With ``wait``, wait for it instead, as long as ``wait()`` says the
    holder is still at work (then yield False: go on unclaimed). Yields True, unclaimed,
    where claims cannot be made."""
    path = claim_path(target)
    fd = _take(path, wait)
    if fd is None or fd < 0:
        yield fd is None
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _take(path: Path, wait: Callable[[], bool] | None) -> int | None:
    """The descriptor holding the claim file ``path`` locked; None when claims cannot be
    made here; -1 when another process holds it (and ``wait`` gave up)."""
    if fcntl is None:
        return None
    pause = _POLL
    made = False  # the folder, when it was missing
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileNotFoundError:
            if made or not _made(path.parent):
                return None
            made = True
            continue
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if wait is None or not wait():
                return -1
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
            continue
        except OSError:  # no locks on this file system
            os.close(fd)
            return None
        if _still_there(fd, path):
            return fd
        os.close(fd)  # its last holder removed it meanwhile: claim the new one


def _made(folder: Path) -> bool:
    """Make ``folder`` (and its parents); False when it cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return True


def _still_there(fd: int, path: Path) -> bool:
    """Whether ``path`` is still the file open as ``fd``."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def holder_at_work(target: Path, limit: float) -> Callable[[], bool]:
    """A ``wait`` for :func:`claim`: True while a temporary file of ``target`` (the
    holder's download) changed in the last ``limit`` seconds, or ``limit`` seconds have
    not yet passed since the first call."""
    started = time.time()
    prefix = f".{temp_stem(target.name)}.xnat-"

    def at_work() -> bool:
        newest = started
        with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.name.endswith(".part"):
                    with contextlib.suppress(OSError):
                        newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
        return time.time() - newest < limit

    return at_work

"""The record of the files a bulk download verified, so that a rerun skips them without
reading them again (the quick check of rsync, the stat data of git's index).

Each folder a bulk download writes files into gets a hidden file, ``.xnat-sdk-verified``:
a header line, then one line per verified file (appended, never rewritten in place)::

    ["name", size, mtime_ns, ctime_ns, inode, "md5 listed by the server"]<TAB>check

``check`` is the start of the line's SHA-256: a line cut short (a killed run), two lines
written over each other (two nodes appending at once over NFS) or edited by hand fails it
and is ignored; the last valid line of a name counts. A file is skipped unread when its
``stat`` gives the recorded size, modification and change times (ns) and inode, and the
server lists the recorded MD5 (and size); anything else (a file replaced, touched, changed
in place, or changed on the server) is read and hashed as before. The record is a cache:
losing lines (or the whole file) costs a re-hash, never a wrong skip.

A line is only written for a file whose times are older than the record file's own
modification time just before the write (the file system's clock, set by touching it): a
file changed later in the same clock tick as it was verified could otherwise keep its
recorded times (git's "racily clean" entries); such a file is simply hashed next time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Protocol

from xnat_sdk.archives import SDK_FILES, temp_beside

__all__ = ["RECORD_NAME", "VerifiedRecord", "stamp_of"]

RECORD_NAME = ".xnat-sdk-verified"
"""The name of each folder's record (hidden; never a downloaded file's name)."""
assert RECORD_NAME in SDK_FILES

_HEADER = b"xnat-sdk verified files v1 (a cache of what was verified; safe to delete)\n"
_FLAGS = os.O_CLOEXEC | os.O_NOFOLLOW if hasattr(os, "O_NOFOLLOW") else 0
_FLUSH_EVERY = 10.0
"""Seconds between two writes of the lines noted (and at the end of the run)."""
_FLUSH_COUNT = 1000
"""... or once this many lines wait."""
_FOLDERS_KEPT = 256
"""Folders whose records a run keeps in memory (a million files' would take hundreds of MB);
a folder forgotten and met again is read again."""
_TICK_WAIT = 2.5
"""Seconds the last flush waits at most for the file system's clock to pass the times of
the files just verified (its granularity: a few ms, 1 s on some, 2 s on FAT)."""

_log = logging.getLogger("xnat_sdk")

_Stamp = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


class _File(Protocol):
    @property
    def target(self) -> Path: ...
    @property
    def size(self) -> int | None: ...
    @property
    def digest(self) -> str | None: ...


def stamp_of(path: Path) -> _Stamp | None:
    """``path``'s size, modification and change times (ns) and inode, None when it cannot
    be read: what tells that a file is no longer the one seen (changed in place, touched,
    or replaced, by another process too)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


def _line(name: str, stamp: _Stamp, digest: str) -> bytes:
    body = json.dumps([name, *stamp, digest], separators=(",", ":")).encode("ascii")
    return body + b"\t" + hashlib.sha256(body).hexdigest()[:16].encode() + b"\n"


def _parse(data: bytes) -> tuple[dict[str, tuple[_Stamp, str]], int] | None:
    """``({name: (stamp, digest)}, lines)`` of a record's contents; None when they are not
    a record (no header)."""
    if not data.startswith(_HEADER):
        return None
    entries: dict[str, tuple[_Stamp, str]] = {}
    lines = data[len(_HEADER) :].split(b"\n")
    for raw in lines:
        body, _, check = raw.rpartition(b"\t")
        if not body or hashlib.sha256(body).hexdigest()[:16].encode() != check:
            continue
        try:
            name, size, mtime, ctime, ino, digest = json.loads(body)
        except ValueError:
            continue
        values = (size, mtime, ctime, ino)
        if isinstance(name, str) and isinstance(digest, str) and _ints(values):
            entries[name] = ((size, mtime, ctime, ino), digest)
    return entries, len(lines)


def _ints(values: tuple[object, ...]) -> bool:
    return all(type(value) is int for value in values)


class VerifiedRecord:
    """The records of one run's folders: :meth:`known` (a file to skip unread, with
    ``full`` never), :meth:`note` (a file just verified), :meth:`flush` (at the end)."""

    def __init__(self, full: bool = False) -> None:
        self._full = full
        self._lock = threading.Lock()
        self._folders: dict[Path, dict[str, tuple[_Stamp, str]] | None] = {}
        self._pending: dict[Path, list[tuple[_Stamp, bytes]]] = {}
        self._waiting = 0
        self._flushed = time.monotonic()

    def known(self, item: _File) -> int | None:
        """The size of ``item``'s local file when the record says it was verified as it is
        now and the server still lists its MD5 (one ``stat``, no read); else None."""
        if self._full or item.digest is None:
            return None
        entries = self._entries(item.target.parent)
        seen = entries.get(item.target.name) if entries else None
        if seen is None or seen[1] != item.digest.lower():
            return None
        stamp = stamp_of(item.target)
        if stamp is None:
            return None
        if stamp != seen[0] or (item.size is not None and stamp[0] != item.size):
            return None
        return stamp[0]

    def note(self, item: _File) -> None:
        """``item``'s local file was just verified (read or downloaded): record it."""
        if item.digest is None:
            return  # verified by its size: a stat, nothing to save
        stamp = stamp_of(item.target)
        if stamp is None:
            return
        line = _line(item.target.name, stamp, item.digest.lower())
        with self._lock:
            self._pending.setdefault(item.target.parent, []).append((stamp, line))
            self._waiting += 1
            due = self._waiting >= _FLUSH_COUNT or time.monotonic() - self._flushed >= _FLUSH_EVERY
        if due:
            self.flush()

    def flush(self, final: bool = False) -> None:
        """Write the lines noted so far (each folder's appended to its record). A line of
        a file changed in the file system's current clock tick waits for a later flush; at
        the ``final`` one, for the next tick (at most :data:`_TICK_WAIT` seconds)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._waiting = 0
            self._flushed = time.monotonic()
        deadline = time.monotonic() + _TICK_WAIT
        for folder, lines in pending.items():
            if self._entries(folder) is None:
                continue
            left = _append(folder / RECORD_NAME, lines)
            while left and final and time.monotonic() < deadline:
                time.sleep(0.005)
                left = _append(folder / RECORD_NAME, left)
            if left and not final:
                with self._lock:
                    self._pending.setdefault(folder, []).extend(left)
                    self._waiting += len(left)

    def _entries(self, folder: Path) -> dict[str, tuple[_Stamp, str]] | None:
        """The record of ``folder`` ({} when there is none yet; None when its name is taken
        by something else: then nothing is recorded there)."""
        with self._lock:
            if folder in self._folders:
                return self._folders[folder]
        entries = _load(folder / RECORD_NAME)
        with self._lock:
            while len(self._folders) >= _FOLDERS_KEPT:  # the oldest (plans go folder by folder)
                del self._folders[next(iter(self._folders))]
            return self._folders.setdefault(folder, entries)


def _load(path: Path) -> dict[str, tuple[_Stamp, str]] | None:
    try:
        fd = os.open(path, os.O_RDONLY | _FLAGS)
    except FileNotFoundError:
        return {}
    except OSError:
        return None  # a folder, a symlink, unreadable: not ours
    try:
        with os.fdopen(fd, "rb") as stream:
            data = stream.read()
    except OSError:
        return None
    found = _parse(data)
    if found is None:
        return {} if not data else None
    entries, lines = found
    if lines > 2 * len(entries) + 64:  # mostly outdated lines: write the live ones alone
        _rewrite(path, entries)
    return entries


def _rewrite(path: Path, entries: dict[str, tuple[_Stamp, str]]) -> None:
    """Replace the record at ``path`` by ``entries`` (a concurrent run's lines written
    meanwhile may be lost: their files are hashed again)."""
    body = b"".join(_line(name, stamp, digest) for name, (stamp, digest) in entries.items())
    with contextlib.suppress(OSError):
        fd, temp = temp_beside(path)
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(_HEADER + body)
            os.replace(temp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _append(path: Path, lines: list[tuple[_Stamp, bytes]]) -> list[tuple[_Stamp, bytes]]:
    """Append the lines of the files whose times are older than now (the file system's
    clock: the record's modification time once touched) to the record at ``path``; returns
    the others (changed in the current tick), or [] when the record cannot be written."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _FLAGS, 0o644)
    except OSError as exc:
        _log.debug("no record of verified files in %s: %s", path.parent, exc)
        return []
    try:
        if os.fstat(fd).st_size == 0:
            os.write(fd, _HEADER)
        elif os.read(fd, len(_HEADER)) != _HEADER:  # (a new descriptor reads from 0)
            return []  # not a record: never written into
        os.utime(fd)
        now = os.fstat(fd).st_mtime_ns
        ready: list[bytes] = []
        later: list[tuple[_Stamp, bytes]] = []
        for stamp, line in lines:
            if stamp[1] < now and stamp[2] < now:
                ready.append(line)
            else:
                later.append((stamp, line))
        data = b"".join(ready)
        while data:
            data = data[os.write(fd, data) :]
        return later
    except (OSError, NotImplementedError) as exc:  # (no utime of a descriptor: Windows)
        _log.debug("record of verified files in %s not written: %s", path.parent, exc)
        return []
    finally:
        os.close(fd)

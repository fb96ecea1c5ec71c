"""Removing the temporary files that server processes killed mid-upload left behind.

Temporary names carry the pid of their writer
(:func:`xnat_sdk.testing._areas.files.storage.temp_prefix`); :func:`remove_stale_temp_files`
runs at startup and keeps the files of live processes.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

from xnat_sdk.testing._areas.files.storage import LOADED_AT, file_exists
from xnat_sdk.testing._server.store import Store

__all__ = ["LEGACY_TEMP_GRACE_S", "remove_stale_temp_files"]


log = logging.getLogger("xnat_sdk.testing")

_OWNED_TEMP = re.compile(r"^\.(?:upload|extract)-(\d+)-")

#: Old-style names carry no pid: removed once untouched for this long.
LEGACY_TEMP_GRACE_S = 3600.0


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":
        return True  # os.kill would terminate the process there: keep what we cannot check
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except (OverflowError, ValueError):
        return False
    return True


def _owner_alive(name: str, mtime: float, now: float) -> bool:
    match = _OWNED_TEMP.match(name)
    if match is None:
        # Pre-pid names can only come from a server of an older version. One still
        # writing keeps the file fresh; anything older is a leftover.
        return now - mtime < LEGACY_TEMP_GRACE_S
    pid = int(match.group(1))
    if pid == os.getpid():
        # Same pid, earlier file: a previous server that got our pid (containers).
        return mtime >= LOADED_AT
    return _pid_alive(pid)


def remove_stale_temp_files(store: Store) -> list[Path]:
    """Delete the temporary files of server processes that are gone (killed mid-upload).

    Files of live processes (another server on the same folder) stay, and so does any
    file the ``files`` table records (a user may upload a file named ``.upload-...``).
    Returns the removed paths.
    """
    now = time.time()
    candidates: list[Path] = []
    with os.scandir(store.data_dir) as entries:
        candidates += [
            Path(e.path)
            for e in entries
            if e.name.startswith(".extract-") and e.is_file(follow_symlinks=False)
        ]
    for folder, _dirs, names in os.walk(store.files_root):
        candidates += [Path(folder, n) for n in names if n.startswith(".upload-")]
    removed: list[Path] = []
    freed = 0
    for path in candidates:
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if _owner_alive(path.name, st.st_mtime, now) or _recorded(store, path):
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
        freed += st.st_size
    if removed:
        log.info("removed %d temporary files (%d bytes) of stopped servers", len(removed), freed)
    return removed


def _recorded(store: Store, path: Path) -> bool:
    try:
        rel = path.relative_to(store.files_root).parts
    except ValueError:
        return False
    if len(rel) < 2 or not rel[0].isdigit():
        return False
    return file_exists(store, int(rel[0]), "/".join(rel[1:]))

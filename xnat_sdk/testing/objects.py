"""Creating archive objects and storing files in the store (used by REST handlers, seeding,
and other modules such as the import/prearchive services).

All ``create_*`` functions run inside a write transaction: pass the connection from
``with store.tx() as db:``. They do not check permissions or label syntax (the REST layer
does); they do keep the store consistent (unique labels are the caller's check too).

Files: :func:`store_file` streams a body (any binary file object or bytes) to a temporary
file next to its destination while computing MD5 and size, then renames it into place and
records it in ``files`` (constant memory); :func:`store_files` does the same for many
files (an extracted archive) with one transaction. Resource folders are
``{data_dir}/files/{resource_id}/``.

Temporary files are named ``.upload-{pid}-...`` (``.extract-{pid}-...`` for archives
awaiting extraction, in the data folder) after the process writing them, so that
:func:`remove_stale_temp_files` can tell at startup which ones a killed server left behind.
Listings come from the ``files`` table, so they never show a temporary file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from xnat_sdk.testing.store import Store, dumps_data, now_timestamp

__all__ = [
    "CHUNK",
    "VALID_ID",
    "FileRecord",
    "add_share",
    "create_experiment",
    "create_project",
    "create_reconstruction",
    "create_resource",
    "create_scan",
    "create_subject",
    "delete_resource",
    "remove_stale_temp_files",
    "resource_dir",
    "safe_relpath",
    "set_custom_field",
    "store_file",
    "store_files",
    "temp_prefix",
]

CHUNK = 1 << 20
VALID_ID = re.compile(r"^[A-Za-z0-9_-]+\Z")

log = logging.getLogger("xnat_sdk.testing")

_TEMP_KINDS = ("upload", "extract")
_OWNED_TEMP = re.compile(r"^\.(?:upload|extract)-(\d+)-")
#: Nothing this process wrote predates this (see :func:`_owner_alive`).
_LOADED_AT = time.time()
#: Old-style names carry no pid: removed once untouched for this long.
LEGACY_TEMP_GRACE_S = 3600.0


def create_project(
    store: Store,
    db: sqlite3.Connection,
    project_id: str,
    *,
    name: str = "",
    secondary_id: str = "",
    description: str = "",
    accessibility: str = "private",
    data: Mapping[str, str] | None = None,
    user: str = "admin",
) -> str:
    """Insert a project; its creator becomes an owner. Returns the ID."""
    db.execute(
        "INSERT INTO projects(id, secondary_id, name, description, accessibility, data, "
        "insert_date, insert_user, event_id) VALUES(?,?,?,?,?,?,?,?,?)",
        (
            project_id,
            secondary_id or project_id,
            name or project_id,
            description,
            accessibility,
            dumps_data(data or {}),
            now_timestamp(),
            user,
            store.next_event(db),
        ),
    )
    if user and user != "guest":
        db.execute(
            "INSERT OR REPLACE INTO project_users(project, login, level) VALUES(?,?,?)",
            (project_id, user, "owner"),
        )
    return project_id


def create_subject(
    store: Store,
    db: sqlite3.Connection,
    project: str,
    label: str,
    *,
    data: Mapping[str, str] | None = None,
    user: str = "admin",
    subject_id: str | None = None,
) -> str:
    """Insert a subject; returns its accession ID (``XNAT_S00001``)."""
    sid = subject_id or store.next_accession(db, "S")
    db.execute(
        "INSERT INTO subjects(id, project, label, data, insert_date, insert_user, event_id) "
        "VALUES(?,?,?,?,?,?,?)",
        (sid, project, label, dumps_data(data or {}), now_timestamp(), user, store.next_event(db)),
    )
    return sid


def create_experiment(
    store: Store,
    db: sqlite3.Connection,
    project: str,
    label: str,
    xsi_type: str,
    *,
    subject_id: str | None = None,
    session_id: str | None = None,
    data: Mapping[str, str] | None = None,
    user: str = "admin",
) -> str:
    """Insert an experiment (session, subject assessor, or image assessor with
    ``session_id``); returns its accession ID (``XNAT_E00001``). ``data["date"]`` is also
    kept in the ``date`` column."""
    eid = store.next_accession(db, "E")
    fields = dict(data or {})
    db.execute(
        "INSERT INTO experiments(id, project, label, xsi_type, subject_id, session_id, date, "
        "data, insert_date, insert_user, event_id) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
        (
            eid,
            project,
            label,
            xsi_type,
            subject_id,
            session_id,
            fields.get("date"),
            dumps_data(fields),
            now_timestamp(),
            user,
            store.next_event(db),
        ),
    )
    return eid


def create_scan(
    store: Store,
    db: sqlite3.Connection,
    experiment_id: str,
    scan_id: str,
    xsi_type: str,
    *,
    type: str = "",
    data: Mapping[str, str] | None = None,
    user: str = "admin",
) -> int:
    """Insert a scan; returns its ``xnat_imagescandata_id``."""
    fields = dict(data or {})
    if type:
        fields["type"] = type
    cur = db.execute(
        "INSERT INTO scans(experiment_id, id, xsi_type, type, data, insert_date, insert_user, "
        "event_id) VALUES(?,?,?,?,?,?,?,?)",
        (
            experiment_id,
            scan_id,
            xsi_type,
            fields.get("type", ""),
            dumps_data(fields),
            now_timestamp(),
            user,
            store.next_event(db),
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def create_reconstruction(
    store: Store,
    db: sqlite3.Connection,
    experiment_id: str,
    recon_id: str,
    *,
    type: str = "",
    base_scan_type: str = "",
    data: Mapping[str, str] | None = None,
) -> int:
    """Insert a reconstruction; returns its ``xnat_reconstructedimagedata_id``."""
    fields = dict(data or {})
    cur = db.execute(
        "INSERT INTO reconstructions(experiment_id, id, type, base_scan_type, data, insert_date,"
        " event_id) VALUES(?,?,?,?,?,?,?)",
        (
            experiment_id,
            recon_id,
            type or fields.get("type", ""),
            base_scan_type or fields.get("baseScanType", ""),
            dumps_data(fields),
            now_timestamp(),
            store.next_event(db),
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def create_resource(
    store: Store,
    db: sqlite3.Connection,
    parent_kind: str,
    parent_id: str,
    label: str,
    *,
    format: str = "",
    content: str = "",
    description: str = "",
    tags: str = "",
    inout: str = "",
) -> int:
    """Insert a resource catalog; returns its ``xnat_abstractresource_id``."""
    cur = db.execute(
        "INSERT INTO resources(parent_kind, parent_id, label, format, content, description, "
        "tags, inout, insert_date, event_id) VALUES(?,?,?,?,?,?,?,?,?,?)",
        (
            parent_kind,
            parent_id,
            label,
            format,
            content,
            description,
            tags,
            inout,
            now_timestamp(),
            store.next_event(db),
        ),
    )
    assert cur.lastrowid is not None
    resource_dir(store, cur.lastrowid).mkdir(parents=True, exist_ok=True)
    return cur.lastrowid


def resource_dir(store: Store, resource_id: int) -> Path:
    """The folder holding the files of resource ``resource_id``."""
    return store.files_root / str(resource_id)


def delete_resource(store: Store, db: sqlite3.Connection, resource_id: int) -> None:
    """Remove a resource, its file rows and its folder."""
    import shutil

    db.execute("DELETE FROM files WHERE resource_id=?", (resource_id,))
    db.execute("DELETE FROM resources WHERE id=?", (resource_id,))
    shutil.rmtree(resource_dir(store, resource_id), ignore_errors=True)


def set_custom_field(
    db: sqlite3.Connection, kind: str, owner_id: str, name: str, value: str | None
) -> None:
    """Set (or with ``None`` clear) custom variable ``name`` (stored lower-case)."""
    name = name.lower()
    if value is None:
        db.execute(
            "DELETE FROM custom_fields WHERE kind=? AND owner_id=? AND name=?",
            (kind, owner_id, name),
        )
    else:
        db.execute(
            "INSERT OR REPLACE INTO custom_fields(kind, owner_id, name, value) VALUES(?,?,?,?)",
            (kind, owner_id, name, value),
        )


def add_share(db: sqlite3.Connection, kind: str, object_id: str, project: str, label: str) -> None:
    """Share subject/experiment ``object_id`` into ``project`` under ``label``."""
    db.execute(
        "INSERT OR REPLACE INTO shares(kind, object_id, project, label) VALUES(?,?,?,?)",
        (kind, object_id, project, label),
    )


def safe_relpath(path: str) -> str:
    """Normalise a resource-relative file path; ``ValueError`` when it escapes or is empty."""
    p = path.replace("\\", "/").strip("/")
    parts = [x for x in p.split("/") if x not in ("", ".")]
    if not parts or any(x == ".." for x in parts):
        raise ValueError(f"invalid file path {path!r}")
    return "/".join(parts)


@dataclass(frozen=True)
class FileRecord:
    """One stored file."""

    resource_id: int
    path: str
    size: int
    md5: str


def store_file(
    store: Store,
    resource_id: int,
    relpath: str,
    body: IO[bytes] | bytes,
    *,
    overwrite: bool = False,
    format: str = "",
    content: str = "",
    tags: str = "",
) -> FileRecord | None:
    """Stream ``body`` into resource ``resource_id`` at ``relpath``.

    Returns ``None`` (and stores nothing) when the file exists and ``overwrite`` is false.
    """
    relpath = safe_relpath(relpath)
    if not overwrite and _file_exists(store, resource_id, relpath):
        return None
    dest = resource_dir(store, resource_id) / relpath
    dest.parent.mkdir(parents=True, exist_ok=True)
    md5 = hashlib.md5()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=temp_prefix("upload"))
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(body, bytes):
                out.write(body)
                md5.update(body)
                size = len(body)
            else:
                while True:
                    chunk = body.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    md5.update(chunk)
                    size += len(chunk)
        with store.tx() as db:
            exists = db.execute(
                "SELECT 1 FROM files WHERE resource_id=? AND path=?", (resource_id, relpath)
            ).fetchone()
            if exists and not overwrite:
                os.unlink(tmp)
                return None
            os.replace(tmp, dest)
            db.execute(
                "INSERT INTO files(resource_id, path, size, md5, format, content, tags, mtime) "
                "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(resource_id, path) DO UPDATE SET "
                "size=excluded.size, md5=excluded.md5, mtime=excluded.mtime, "
                "format=excluded.format, content=excluded.content, tags=excluded.tags",
                (resource_id, relpath, size, md5.hexdigest(), format, content, tags, time.time()),
            )
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return FileRecord(resource_id, relpath, size, md5.hexdigest())


def store_files(
    store: Store,
    resource_id: int,
    members: Iterable[tuple[str, IO[bytes]]],
    *,
    overwrite: bool = False,
    format: str = "",
    content: str = "",
    tags: str = "",
) -> list[str]:
    """Store many files at once (an extracted archive): each ``(relpath, stream)`` is
    written to a temporary name beside its destination (MD5 and size computed while
    writing), then all are renamed into place and recorded in one transaction.

    ``relpath`` must already be normalised (:func:`safe_relpath`). Returns the paths not
    stored because they exist and ``overwrite`` is false. On an error nothing is
    published and no temporary file is left behind.
    """
    root = str(resource_dir(store, resource_id))
    taken = {
        str(r["path"])
        for r in store.query("SELECT path FROM files WHERE resource_id=?", (resource_id,))
    }
    token = temp_prefix("upload") + os.urandom(6).hex()
    made: set[str] = set()
    staged: list[tuple[str, str, str, int, str]] = []  # tmp, dest, rel, size, md5
    duplicates: list[str] = []
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        for rel, body in members:
            if not overwrite and rel in taken:
                duplicates.append(rel)
                continue
            taken.add(rel)
            dest = f"{root}/{rel}"
            folder = os.path.dirname(dest)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            tmp = f"{folder}/{token}-{len(staged)}"
            md5 = hashlib.md5()
            size = 0
            fd = os.open(tmp, flags, 0o644)
            staged.append((tmp, dest, rel, 0, ""))
            with os.fdopen(fd, "wb", buffering=0) as out:
                while True:
                    chunk = body.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    md5.update(chunk)
                    size += len(chunk)
            staged[-1] = (tmp, dest, rel, size, md5.hexdigest())
        with store.tx() as db:
            if not overwrite:
                present = {
                    str(r[0])
                    for r in db.execute(
                        "SELECT path FROM files WHERE resource_id=?", (resource_id,)
                    ).fetchall()
                }
                late = [item for item in staged if item[2] in present]
                if late:
                    duplicates += [item[2] for item in late]
                    for item in late:
                        os.unlink(item[0])
                    staged = [item for item in staged if item[2] not in present]
            now = time.time()
            db.executemany(
                "INSERT INTO files(resource_id, path, size, md5, format, content, tags, mtime) "
                "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(resource_id, path) DO UPDATE SET "
                "size=excluded.size, md5=excluded.md5, mtime=excluded.mtime, "
                "format=excluded.format, content=excluded.content, tags=excluded.tags",
                [
                    (resource_id, rel, size, md5, format, content, tags, now)
                    for _, _, rel, size, md5 in staged
                ],
            )
            for tmp, dest, *_ in staged:
                os.replace(tmp, dest)
            staged = []
    finally:
        for tmp, *_ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return duplicates


def temp_prefix(kind: str) -> str:
    """The start of a temporary file name owned by this process: ``.{kind}-{pid}-``."""
    if kind not in _TEMP_KINDS:
        raise ValueError(f"unknown temporary file kind {kind!r}")
    return f".{kind}-{os.getpid()}-"


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
        return mtime >= _LOADED_AT
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
    return _file_exists(store, int(rel[0]), "/".join(rel[1:]))


def _file_exists(store: Store, resource_id: int, relpath: str) -> bool:
    row = store.one("SELECT 1 FROM files WHERE resource_id=? AND path=?", (resource_id, relpath))
    return row is not None

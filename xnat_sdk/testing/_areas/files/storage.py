"""Resource rows and the files in them (used by REST handlers, seeding, and other areas such
as the import/prearchive services).

:func:`create_resource` and :func:`delete_resource` run inside a write transaction (pass
the connection from ``with store.tx() as db:``). :func:`store_file` streams a body (any
binary file object or bytes) to a temporary file next to its destination while computing
MD5 and size, then renames it into place and records it in ``files`` (constant memory);
:func:`store_files` does the same for many files (an extracted zip or tar) with one
transaction. Resource folders are ``{data_dir}/files/{resource_id}/``.

Temporary files are named ``.upload-{pid}-...`` (``.extract-{pid}-...`` for uploads
awaiting extraction, in the data folder) after the process writing them (:func:`temp_prefix`),
so that :func:`xnat_sdk.testing._areas.files.leftovers.remove_stale_temp_files` can tell at
startup which ones a killed server left behind. Listings come from the ``files`` table, so
they never show a temporary file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from xnat_sdk.testing._server.store import Store, now_timestamp

__all__ = [
    "CHUNK",
    "LOADED_AT",
    "FileRecord",
    "create_resource",
    "delete_resource",
    "file_digest",
    "file_exists",
    "resource_dir",
    "safe_relpath",
    "store_file",
    "store_files",
    "temp_prefix",
]


CHUNK = 1 << 20

_TEMP_KINDS = ("upload", "extract")

#: Nothing this process wrote predates this (see :func:`_owner_alive`).
LOADED_AT = time.time()


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
    xsi_type: str = "xnat:resourceCatalog",
    data: str = "{}",
) -> int:
    """Insert a resource catalog (of type ``xsi_type``, a site's subtype keeping its own
    fields as JSON ``data``); returns its ``xnat_abstractresource_id``."""
    cur = db.execute(
        "INSERT INTO resources(parent_kind, parent_id, label, format, content, description, "
        "tags, inout, insert_date, event_id, xsi_type, data) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
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
            xsi_type,
            data,
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
    db.execute("DELETE FROM files WHERE resource_id=?", (resource_id,))
    db.execute("DELETE FROM resources WHERE id=?", (resource_id,))
    shutil.rmtree(resource_dir(store, resource_id), ignore_errors=True)


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
    if not overwrite and file_exists(store, resource_id, relpath):
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
    """Store many files at once (an extracted zip or tar): each ``(relpath, stream)`` is
    written to a temporary name beside its destination (MD5 and size computed while
    writing), then all are renamed into place and recorded in one transaction.

    ``relpath`` must already be normalised (:func:`safe_relpath`). Returns the paths not
    stored because they exist and ``overwrite`` is false. On an error nothing is
    published and no temporary file is left behind.
    """
    taken = {
        str(r["path"])
        for r in store.query("SELECT path FROM files WHERE resource_id=?", (resource_id,))
    }
    staged: list[_Staged] = []
    duplicates: list[str] = []
    try:
        _stage(str(resource_dir(store, resource_id)), members, taken, overwrite, staged, duplicates)
        _publish(store, resource_id, overwrite, (format, content, tags), staged, duplicates)
    finally:
        for tmp, *_ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return duplicates


#: A file written for :func:`store_files`: temporary path, destination, relpath, size, md5.
_Staged = tuple[str, str, str, int, str]
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _stage(
    root: str,
    members: Iterable[tuple[str, IO[bytes]]],
    taken: set[str],
    overwrite: bool,
    staged: list[_Staged],
    duplicates: list[str],
) -> None:
    """Write each member to a temporary file beside its destination (into ``staged``)."""
    token = temp_prefix("upload") + os.urandom(6).hex()
    made: set[str] = set()
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
        fd = os.open(tmp, _NEW_FILE, 0o644)
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


def _publish(
    store: Store,
    resource_id: int,
    overwrite: bool,
    meta: tuple[str, str, str],
    staged: list[_Staged],
    duplicates: list[str],
) -> None:
    """Record the staged files and rename them into place, in one transaction (files that
    appeared meanwhile are duplicates unless ``overwrite``); empties ``staged``."""
    format, content, tags = meta
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
                staged[:] = [item for item in staged if item[2] not in present]
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
        staged.clear()


def temp_prefix(kind: str) -> str:
    """The start of a temporary file name owned by this process: ``.{kind}-{pid}-``."""
    if kind not in _TEMP_KINDS:
        raise ValueError(f"unknown temporary file kind {kind!r}")
    return f".{kind}-{os.getpid()}-"


def file_exists(store: Store, resource_id: int, relpath: str) -> bool:
    row = store.one("SELECT 1 FROM files WHERE resource_id=? AND path=?", (resource_id, relpath))
    return row is not None


def file_digest(path: Path) -> tuple[int, str]:
    """Size and MD5 of a file, read in chunks."""
    md5 = hashlib.md5()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            md5.update(chunk)
            size += len(chunk)
    return size, md5.hexdigest()

"""Creating and deleting archive rows in the store (used by the REST handlers, seeding, and
other areas such as the import/prearchive services).

All functions run inside a write transaction: pass the connection from
``with store.tx() as db:``. They do not check permissions or label syntax (the REST layer
does); they do keep the store consistent (unique labels are the caller's check too).
Resources and files are :mod:`xnat_sdk.testing._areas.files.storage`.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Mapping

from xnat_sdk.testing._areas.files.storage import resource_dir
from xnat_sdk.testing._server.store import Store, dumps_data, now_timestamp

__all__ = [
    "VALID_ID",
    "add_share",
    "create_experiment",
    "create_project",
    "create_reconstruction",
    "create_scan",
    "create_subject",
    "delete_experiment",
    "delete_resources",
    "delete_scan",
    "delete_subject",
    "set_custom_field",
]


VALID_ID = re.compile(r"^[A-Za-z0-9_-]+\Z")


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


def free_accession(store: Store, db: sqlite3.Connection, kind: str, table: str) -> str:
    """The next generated accession ID not already taken (clients may pick their own IDs,
    and XNAT's ``CreateNewID`` skips IDs in use)."""
    while True:
        candidate = store.next_accession(db, kind)
        if db.execute(f"SELECT 1 FROM {table} WHERE id=?", (candidate,)).fetchone() is None:
            return candidate


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
    """Insert a subject; returns its accession ID (``subject_id``, else a new
    ``XNAT_S00001``-style one that no subject has yet)."""
    sid = subject_id or free_accession(store, db, "S", "subjects")
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
    experiment_id: str | None = None,
) -> str:
    """Insert an experiment (session, subject assessor, or image assessor with
    ``session_id``); returns its accession ID (``XNAT_E00001``). ``data["date"]`` is also
    kept in the ``date`` column. ``experiment_id`` is the client's ID (else a new
    ``XNAT_E00001``-style one that no experiment has yet)."""
    eid = experiment_id or free_accession(store, db, "E", "experiments")
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


def add_share(
    db: sqlite3.Connection, kind: str, object_id: str, project: str, label: str | None
) -> None:
    """Share subject/experiment ``object_id`` into ``project`` under ``label`` (None: without
    a label of its own there, as XNAT stores a share made without ``label=``)."""
    db.execute(
        "INSERT OR REPLACE INTO shares(kind, object_id, project, label) VALUES(?,?,?,?)",
        (kind, object_id, project, label),
    )


# -- deletion ------------------------------------------------------------------------------


def delete_resources(
    store: Store, db: sqlite3.Connection, kind: str, parent_id: str, remove_files: bool
) -> None:
    for r in db.execute(
        "SELECT id FROM resources WHERE parent_kind=? AND parent_id=?", (kind, parent_id)
    ).fetchall():
        db.execute("DELETE FROM files WHERE resource_id=?", (r[0],))
        db.execute("DELETE FROM resources WHERE id=?", (r[0],))
        if remove_files:
            shutil.rmtree(resource_dir(store, r[0]), ignore_errors=True)


def delete_scan(store: Store, db: sqlite3.Connection, pk: int, remove: bool) -> None:
    delete_resources(store, db, "scan", str(pk), remove)
    db.execute("DELETE FROM scans WHERE pk=?", (pk,))


def delete_experiment(store: Store, db: sqlite3.Connection, eid: str, remove: bool) -> None:
    for s in db.execute("SELECT pk FROM scans WHERE experiment_id=?", (eid,)).fetchall():
        delete_scan(store, db, s[0], remove)
    for r in db.execute("SELECT pk FROM reconstructions WHERE experiment_id=?", (eid,)).fetchall():
        delete_resources(store, db, "reconstruction", str(r[0]), remove)
    db.execute("DELETE FROM reconstructions WHERE experiment_id=?", (eid,))
    for a in db.execute("SELECT id FROM experiments WHERE session_id=?", (eid,)).fetchall():
        delete_experiment(store, db, a[0], remove)
    delete_resources(store, db, "experiment", eid, remove)
    delete_resources(store, db, "assessor", eid, remove)
    db.execute("DELETE FROM custom_fields WHERE kind='experiment' AND owner_id=?", (eid,))
    db.execute("DELETE FROM shares WHERE kind='experiment' AND object_id=?", (eid,))
    db.execute("DELETE FROM experiments WHERE id=?", (eid,))


def delete_subject(store: Store, db: sqlite3.Connection, sid: str, remove: bool) -> None:
    for e in db.execute("SELECT id FROM experiments WHERE subject_id=?", (sid,)).fetchall():
        delete_experiment(store, db, e[0], remove)
    delete_resources(store, db, "subject", sid, remove)
    db.execute("DELETE FROM custom_fields WHERE kind='subject' AND owner_id=?", (sid,))
    db.execute("DELETE FROM shares WHERE kind='subject' AND object_id=?", (sid,))
    db.execute("DELETE FROM subjects WHERE id=?", (sid,))

"""Fast seeding of a store without HTTP (used by :class:`xnat_sdk.testing.LocalXNAT`)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Mapping

from xnat_sdk.testing._areas.archive.model import (
    VALID_ID,
    create_experiment,
    create_project,
    create_scan,
    create_subject,
    free_accession,
    set_custom_field,
)
from xnat_sdk.testing._areas.archive.xsd import SchemaInfo, load_schema_info
from xnat_sdk.testing._areas.files.storage import create_resource, resource_dir, store_file
from xnat_sdk.testing._server.store import Store, dumps_data, now_timestamp
from xnat_sdk.testing.errors import XNATSeedError

__all__ = [
    "XNATSeedError",
    "add_member",
    "bulk",
    "file",
    "project",
    "resource",
    "scan",
    "session",
    "subject",
]

PARENT_KINDS = ("project", "subject", "experiment", "scan", "reconstruction", "assessor")
#: the table and key column of each parent kind (a scan's and a reconstruction's resources
#: are keyed by the row's ``pk``: the ``int`` ``seed_scan`` returns)
_PARENT_ROWS = {
    "project": ("projects", "id"),
    "subject": ("subjects", "id"),
    "experiment": ("experiments", "id"),
    "assessor": ("experiments", "id"),
    "scan": ("scans", "pk"),
    "reconstruction": ("reconstructions", "pk"),
}


def checked_fields(
    schema: SchemaInfo | None, kind: str, xsi: str, fields: Mapping[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """(data fields, custom variables) of ``fields``, checked (see :mod:`._seedcheck`)."""
    from xnat_sdk.testing import _seedcheck  # loads the server's request machinery

    return _seedcheck.checked_fields(_schema(schema), kind, xsi, fields)


def checked_type(schema: SchemaInfo | None, xsi_type: str, base: str) -> str:
    """The declared spelling of ``xsi_type``, a ``base`` (see :mod:`._seedcheck`)."""
    from xnat_sdk.testing import _seedcheck

    return _seedcheck.checked_type(_schema(schema), xsi_type, base)


def _schema(schema: SchemaInfo | None) -> SchemaInfo:
    """``schema``, else the core schemas a server without site schemas knows."""
    if schema is not None:
        return schema
    from xnat_sdk_codegen.core import default_core_schemas  # same wheel, imports nothing

    return load_schema_info(default_core_schemas())


def add_member(store: Store, project_id: str, login: str, level: str = "member") -> None:
    """Give ``login`` the role ``level`` in ``project_id``."""
    levels = ("owner", "member", "collaborator")
    if level not in levels:
        raise XNATSeedError(
            "level", level, f"level must be owner, member or collaborator, got {level!r}", levels
        )
    if store.get_user(login) is None:
        raise XNATSeedError("login", login, f"unknown user {login!r} (add_user creates one)")
    _known_project(store, project_id)
    with store.tx() as db:
        db.execute(
            "INSERT OR REPLACE INTO project_users(project, login, level) VALUES(?,?,?)",
            (project_id, login, level),
        )


def project(
    store: Store,
    project_id: str,
    *,
    name: str | None = None,
    accessibility: str = "private",
    owner: str = "admin",
    fields: Mapping[str, str] | None = None,
    schema: SchemaInfo | None = None,
) -> str:
    """Create a project (:class:`XNATSeedError` on a bad ID, a duplicate, an ``owner`` who
    is no user, or a field key ``xnat:projectData`` lacks)."""
    if not VALID_ID.match(project_id):
        raise XNATSeedError(
            "project_id", project_id, f"invalid project ID {project_id!r}: use A-Z a-z 0-9 _ -"
        )
    kinds = ("private", "protected", "public")
    if accessibility not in kinds:
        raise XNATSeedError(
            "accessibility",
            accessibility,
            f"accessibility must be private, protected or public: {accessibility!r}",
            kinds,
        )
    if store.get_user(owner) is None:
        raise XNATSeedError("owner", owner, f"unknown user {owner!r} (add_user creates one)")
    data, custom = checked_fields(schema, "project", "xnat:projectData", fields)
    # the fields the project row holds as columns (listed by /data/projects), as a PUT stores them
    name = name or data.pop("name", None) or project_id
    data.pop("name", None)
    secondary_id = data.pop("secondary_ID", None) or project_id
    description = data.pop("description", None) or ""
    with store.tx() as db:
        if db.execute("SELECT 1 FROM projects WHERE id=?", (project_id,)).fetchone():
            raise XNATSeedError("project_id", project_id, f"project {project_id!r} already exists")
        create_project(
            store,
            db,
            project_id,
            name=name,
            secondary_id=secondary_id,
            description=description,
            accessibility=accessibility,
            data=data,
            user=owner,
        )
        for k, v in custom.items():
            set_custom_field(db, "project", project_id, k, v)
    return project_id


def _subject_id(store: Store, project_id: str, subject: str) -> str:
    row = store.one(
        "SELECT id FROM subjects WHERE id=? OR (project=? AND label=?)",
        (subject, project_id, subject),
    )
    if row is None:
        raise XNATSeedError("subject", subject, f"no subject {subject!r} in project {project_id!r}")
    return str(row[0])


def _label_free(store: Store, table: str, project_id: str, label: str) -> None:
    """Refuse a second subject or experiment of one label in a project (XNAT's labels are
    unique there: a PUT of the label updates the one it has)."""
    row = store.one(f"SELECT id FROM {table} WHERE project=? AND label=?", (project_id, label))
    if row is not None:
        kind = "a subject" if table == "subjects" else "an experiment"
        raise XNATSeedError(
            "label", label, f"project {project_id!r} has {kind} {label!r} already ({row[0]})"
        )


def _known_project(store: Store, project_id: str) -> None:
    if store.one("SELECT 1 FROM projects WHERE id=?", (project_id,)) is None:
        raise XNATSeedError("project", project_id, f"unknown project {project_id!r}")


def subject(
    store: Store,
    project_id: str,
    label: str,
    *,
    fields: Mapping[str, str] | None = None,
    schema: SchemaInfo | None = None,
) -> str:
    """Create a subject; returns its accession ID."""
    _known_project(store, project_id)
    _label_free(store, "subjects", project_id, label)
    data, custom = checked_fields(schema, "subject", "xnat:subjectData", fields)
    with store.tx() as db:
        sid = create_subject(store, db, project_id, label, data=data)
        for k, v in custom.items():
            set_custom_field(db, "subject", sid, k, v)
    return sid


def session(
    store: Store,
    project_id: str,
    subject_ref: str,
    label: str,
    *,
    xsi_type: str = "xnat:mrSessionData",
    fields: Mapping[str, str] | None = None,
    schema: SchemaInfo | None = None,
) -> str:
    """Create an experiment under a subject (ID or label); returns its accession ID."""
    known = _schema(schema)
    xsi_type = checked_type(known, xsi_type, "xnat:experimentData")
    _known_project(store, project_id)
    sid = _subject_id(store, project_id, subject_ref)
    _label_free(store, "experiments", project_id, label)
    data, custom = checked_fields(known, "experiment", xsi_type, fields)
    with store.tx() as db:
        eid = create_experiment(store, db, project_id, label, xsi_type, subject_id=sid, data=data)
        for k, v in custom.items():
            set_custom_field(db, "experiment", eid, k, v)
    return eid


def scan(
    store: Store,
    session_id: str,
    scan_id: str,
    *,
    type: str = "",
    xsi_type: str = "xnat:mrScanData",
    fields: Mapping[str, str] | None = None,
    schema: SchemaInfo | None = None,
) -> int:
    """Create a scan; returns its ``xnat_imagescandata_id``."""
    known = _schema(schema)
    xsi_type = checked_type(known, xsi_type, "xnat:imageScanData")
    if store.one("SELECT 1 FROM experiments WHERE id=?", (session_id,)) is None:
        raise XNATSeedError("session_id", session_id, f"unknown experiment {session_id!r}")
    if store.one("SELECT 1 FROM scans WHERE experiment_id=? AND id=?", (session_id, scan_id)):
        raise XNATSeedError(
            "scan_id", scan_id, f"experiment {session_id!r} has a scan {scan_id!r} already"
        )
    data, _ = checked_fields(known, "scan", xsi_type, fields)
    with store.tx() as db:
        return create_scan(store, db, session_id, scan_id, xsi_type, type=type, data=data)


def resource(
    store: Store,
    parent_kind: str,
    parent_id: str,
    label: str,
    *,
    format: str = "",
    content: str = "",
) -> int:
    """Create a resource; returns its ``xnat_abstractresource_id``."""
    if parent_kind not in PARENT_KINDS:
        raise XNATSeedError(
            "parent_kind",
            parent_kind,
            f"parent_kind must be one of {', '.join(PARENT_KINDS)}, got {parent_kind!r}",
            PARENT_KINDS,
        )
    table, key = _PARENT_ROWS[parent_kind]
    if store.one(f"SELECT 1 FROM {table} WHERE {key}=?", (parent_id,)) is None:
        raise XNATSeedError(
            "parent_id", parent_id, f"no {parent_kind} {parent_id!r} to hold resource {label!r}"
        )
    with store.tx() as db:
        return create_resource(
            store, db, parent_kind, parent_id, label, format=format, content=content
        )


def file(store: Store, resource_id: int, path: str, data: bytes) -> None:
    """Store ``data`` at ``path`` in resource ``resource_id`` (overwrites)."""
    if store.one("SELECT 1 FROM resources WHERE id=?", (resource_id,)) is None:
        raise XNATSeedError("resource_id", resource_id, f"unknown resource {resource_id}")
    store_file(store, resource_id, path, data, overwrite=True)


def bulk(
    store: Store,
    project_id: str,
    n_subjects: int,
    *,
    sessions_per_subject: int = 1,
    scans_per_session: int = 3,
    files_per_scan: int = 0,
    file_size: int = 0,
) -> None:
    """Create ``n_subjects`` subjects ``SUBJ_00001``... with sessions, scans and files
    (resource ``DICOM`` per scan when ``files_per_scan``), in a single transaction; the
    project is made when missing (:class:`XNATSeedError` on a bad ID or a count that is
    no whole number >= 0)."""
    if not VALID_ID.match(project_id):
        raise XNATSeedError(
            "project_id", project_id, f"invalid project ID {project_id!r}: use A-Z a-z 0-9 _ -"
        )
    counts = {
        "n_subjects": n_subjects,
        "sessions_per_subject": sessions_per_subject,
        "scans_per_session": scans_per_session,
        "files_per_scan": files_per_scan,
        "file_size": file_size,
    }
    for what, count in counts.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise XNATSeedError(what, count, f"{what} must be a whole number >= 0, got {count!r}")
    payload = os.urandom(file_size) if file_size else b""
    digest = hashlib.md5(payload).hexdigest()
    now = now_timestamp()
    empty = dumps_data({})
    pending_files: list[tuple[int, str]] = []
    with store.tx() as db:
        if db.execute("SELECT 1 FROM projects WHERE id=?", (project_id,)).fetchone() is None:
            create_project(store, db, project_id)
        labels = {f"SUBJ_{i:05d}" for i in range(1, n_subjects + 1)}
        rows = db.execute("SELECT label FROM subjects WHERE project=?", (project_id,))
        taken = sorted(labels.intersection(str(row[0]) for row in rows))
        if taken:
            raise XNATSeedError(
                "project",
                project_id,
                f"project {project_id!r} has subjects {', '.join(taken[:3])}... already: "
                "seed_bulk names its subjects SUBJ_00001...; seed another project",
            )
        for i in range(1, n_subjects + 1):
            sid = free_accession(store, db, "S", "subjects")
            db.execute(
                "INSERT INTO subjects(id, project, label, data, insert_date, insert_user) "
                "VALUES(?,?,?,?,?,?)",
                (sid, project_id, f"SUBJ_{i:05d}", empty, now, "admin"),
            )
            for j in range(1, sessions_per_subject + 1):
                eid = free_accession(store, db, "E", "experiments")
                label = f"SUBJ_{i:05d}_MR{j}"
                db.execute(
                    "INSERT INTO experiments(id, project, label, xsi_type, subject_id, date, data,"
                    " insert_date, insert_user) VALUES(?,?,?,?,?,?,?,?,?)",
                    (
                        eid,
                        project_id,
                        label,
                        "xnat:mrSessionData",
                        sid,
                        "2024-01-01",
                        dumps_data({"date": "2024-01-01"}),
                        now,
                        "admin",
                    ),
                )
                pending_files += _bulk_scans(
                    db, eid, now, scans_per_session, files_per_scan, (len(payload), digest)
                )
    for rid, name in pending_files:
        folder = resource_dir(store, rid)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(payload)


def _bulk_scans(
    db: sqlite3.Connection,
    eid: str,
    now: str,
    scans_per_session: int,
    files_per_scan: int,
    payload: tuple[int, str],
) -> list[tuple[int, str]]:
    """The scans ``1..n`` (types ``T1``...) of experiment ``eid`` and, with
    ``files_per_scan``, their ``DICOM`` resource rows and file rows (``payload`` = size and
    MD5 of every file); returns the ``(resource id, name)`` of the files to write."""
    size, digest = payload
    pending_files: list[tuple[int, str]] = []
    for k in range(1, scans_per_session + 1):
        stype = f"T{k}"
        cur = db.execute(
            "INSERT INTO scans(experiment_id, id, xsi_type, type, data, insert_date,"
            " insert_user) VALUES(?,?,?,?,?,?,?)",
            (
                eid,
                str(k),
                "xnat:mrScanData",
                stype,
                dumps_data({"type": stype, "series_description": stype}),
                now,
                "admin",
            ),
        )
        if files_per_scan:
            rcur = db.execute(
                "INSERT INTO resources(parent_kind, parent_id, label, format, "
                "content, insert_date) VALUES(?,?,?,?,?,?)",
                ("scan", str(cur.lastrowid), "DICOM", "DICOM", "RAW", now),
            )
            assert rcur.lastrowid is not None
            for n in range(files_per_scan):
                name = f"{n + 1:04d}.dcm"
                db.execute(
                    "INSERT INTO files(resource_id, path, size, md5, mtime) VALUES(?,?,?,?,?)",
                    (rcur.lastrowid, name, size, digest, time.time()),
                )
                pending_files.append((rcur.lastrowid, name))
    return pending_files

"""The prearchive of the local XNAT server, and archiving prearchive sessions.

Endpoints (XNAT 1.8 shapes, see the REST spec §7):

* ``GET /data/prearchive``, ``GET /data/prearchive/projects[/{P}[,{P2}]]``: session rows;
  ``PUT /data/prearchive``: rebuild every session from disk (admins);
* ``GET|DELETE|POST /data/prearchive/projects/{P}/{TS}/{FOLDER}``: the row (``format=json``),
  the session XML (default, ``format=xml``), a zip (``format=zip``); delete; ``?action=``
  ``build|reset-status|move|commit|set-status``;
* ``.../scans``, ``.../scans/{S}`` (zip, DELETE), ``.../scans/{S}/resources``,
  ``.../scans/{S}/resources/{R}/files[/{name}]``, ``.../resources[/{R}/files[/{name}]]``,
  ``.../logs[/last]``;
* ``GET /data/projects/{P}/prearchive_code`` (``0``/``4``/``5``) and
  ``PUT /data/projects/{P}/prearchive_code/{code}``;
* ``POST /data/services/archive`` and ``POST /data/services/prearchive/{move,rebuild,delete}``.

Storage: table ``prearchive_sessions`` (one row per ``(project, timestamp, folder)``; the
project of unassigned sessions is ``Unassigned``), table ``prearchive_scans``, and the files
under ``{data_dir}/prearchive/{project}/{timestamp}/{folder}/SCANS/{scan}/{resource}/``.

:func:`create_session` (used by the import service) writes a parsed DICOM study into the
prearchive and :func:`archive_session` moves one into the archive.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import html
import io
import json
import re
import shutil
import sqlite3
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from xnat_sdk.testing.routing import HttpError, RequestContext, Router, is_true
from xnat_sdk.testing.store import dumps_data, loads_data, now_timestamp

if TYPE_CHECKING:
    from xnat_sdk.testing.app import ServerState
    from xnat_sdk.testing.dicomtools import DicomStudy
    from xnat_sdk.testing.store import Store, User

__all__ = [
    "COLUMNS",
    "SCHEMA_SQL",
    "ArchiveRequest",
    "PrearcSession",
    "archive_session",
    "create_session",
    "delete_session",
    "file_digest",
    "find_receiving",
    "find_session",
    "merge_into_session",
    "register",
    "session_rows",
]

UNASSIGNED = "Unassigned"

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS prearchive_sessions(
    project TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    tag TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'READY',
    lastmod TEXT NOT NULL,
    uploaded TEXT NOT NULL DEFAULT '',
    scan_date TEXT NOT NULL DEFAULT '',
    scan_time TEXT NOT NULL DEFAULT '',
    autoarchive TEXT NOT NULL DEFAULT 'Manual',
    prevent_anon TEXT NOT NULL DEFAULT 'false',
    prevent_auto_commit TEXT NOT NULL DEFAULT 'false',
    source TEXT NOT NULL DEFAULT '',
    visit TEXT NOT NULL DEFAULT '',
    protocol TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT '',
    xsi_type TEXT NOT NULL DEFAULT 'xnat:mrSessionData',
    data TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY(project, timestamp, folder)
);
CREATE TABLE IF NOT EXISTS prearchive_scans(
    project TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    folder TEXT NOT NULL,
    scan_id TEXT NOT NULL,
    xsi_type TEXT NOT NULL,
    series_description TEXT NOT NULL DEFAULT '',
    modality TEXT NOT NULL DEFAULT '',
    series_uid TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY(project, timestamp, folder, scan_id)
);
CREATE TABLE IF NOT EXISTS prearchive_logs(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    folder TEXT NOT NULL,
    date TEXT NOT NULL,
    entry TEXT NOT NULL
);
"""

#: The prearchive row columns, in XNAT's table order.
COLUMNS = [
    "project",
    "timestamp",
    "lastmod",
    "uploaded",
    "scan_date",
    "scan_time",
    "subject",
    "folderName",
    "name",
    "tag",
    "status",
    "url",
    "autoarchive",
    "prevent_anon",
    "prevent_auto_commit",
    "SOURCE",
    "VISIT",
    "PROTOCOL",
    "TIMEZONE",
]

_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]+\Z")


# -- model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrearcSession:
    """One prearchive session row."""

    project: str
    timestamp: str
    folder: str
    name: str
    subject: str
    tag: str
    status: str
    lastmod: str
    uploaded: str
    scan_date: str
    scan_time: str
    autoarchive: str
    prevent_anon: str
    prevent_auto_commit: str
    source: str
    visit: str
    protocol: str
    timezone: str
    xsi_type: str
    data: dict[str, str]

    @property
    def url(self) -> str:
        """``/prearchive/projects/{project}/{timestamp}/{folder}`` (no ``/data``)."""
        return f"/prearchive/projects/{self.project}/{self.timestamp}/{self.folder}"

    def row(self, status: str | None = None) -> dict[str, str]:
        """The listing row (every column a string)."""
        return {
            "project": self.project,
            "timestamp": self.timestamp,
            "lastmod": self.lastmod,
            "uploaded": self.uploaded,
            "scan_date": self.scan_date,
            "scan_time": self.scan_time,
            "subject": self.subject,
            "folderName": self.folder,
            "name": self.name,
            "tag": self.tag,
            "status": status or self.status,
            "url": self.url,
            "autoarchive": self.autoarchive,
            "prevent_anon": self.prevent_anon,
            "prevent_auto_commit": self.prevent_auto_commit,
            "SOURCE": self.source,
            "VISIT": self.visit,
            "PROTOCOL": self.protocol,
            "TIMEZONE": self.timezone,
        }


@dataclass(frozen=True)
class PrearcScan:
    """One scan of a prearchive session."""

    scan_id: str
    xsi_type: str
    series_description: str
    modality: str
    series_uid: str
    data: dict[str, str]


def _session(row: sqlite3.Row) -> PrearcSession:
    return PrearcSession(
        project=row["project"],
        timestamp=row["timestamp"],
        folder=row["folder"],
        name=row["name"],
        subject=row["subject"],
        tag=row["tag"],
        status=row["status"],
        lastmod=row["lastmod"],
        uploaded=row["uploaded"],
        scan_date=row["scan_date"],
        scan_time=row["scan_time"],
        autoarchive=row["autoarchive"],
        prevent_anon=row["prevent_anon"],
        prevent_auto_commit=row["prevent_auto_commit"],
        source=row["source"],
        visit=row["visit"],
        protocol=row["protocol"],
        timezone=row["timezone"],
        xsi_type=row["xsi_type"],
        data=loads_data(row["data"]),
    )


def _scan_sort_key(scan_id: str) -> tuple[int, int, str]:
    return (0, int(scan_id), "") if scan_id.isdigit() else (1, 0, scan_id)


def scans_of(store: Store, s: PrearcSession) -> list[PrearcScan]:
    """The scans of a session, in scan ID order."""
    rows = store.query(
        "SELECT * FROM prearchive_scans WHERE project=? AND timestamp=? AND folder=?",
        (s.project, s.timestamp, s.folder),
    )
    scans = [
        PrearcScan(
            r["scan_id"],
            r["xsi_type"],
            r["series_description"],
            r["modality"],
            r["series_uid"],
            loads_data(r["data"]),
        )
        for r in rows
    ]
    scans.sort(key=lambda x: _scan_sort_key(x.scan_id))
    return scans


# -- disk layout ----------------------------------------------------------------------------


def prearchive_root(store: Store) -> Path:
    """``{data_dir}/prearchive``."""
    return store.data_dir / "prearchive"


def session_dir(store: Store, s: PrearcSession) -> Path:
    """The folder of a session (holds ``SCANS/`` and ``RESOURCES/``)."""
    return prearchive_root(store) / s.project / s.timestamp / s.folder


def _check_segment(value: str, what: str) -> str:
    if not _SAFE_SEGMENT.match(value) or value in (".", ".."):
        raise HttpError(400, f"Invalid {what}: {value}")
    return value


def _safe_relpath(base: Path, rel: str) -> Path:
    target = (base / rel).resolve()
    if base.resolve() not in target.parents and target != base.resolve():
        raise HttpError(400, f"Invalid file path: {rel}")
    return target


def _files_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _now_ts() -> str:
    t = _dt.datetime.now()
    return t.strftime("%Y%m%d_%H%M%S") + f"{t.microsecond // 1000:03d}"


def clean_label(text: str) -> str:
    """XNAT's label cleaning: characters outside ``[A-Za-z0-9_-]`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9_\-]", "_", text.strip())


def log_entry(store: Store, s: PrearcSession, entry: str) -> None:
    """Append an entry to a session's log."""
    with store.tx() as db:
        db.execute(
            "INSERT INTO prearchive_logs(project, timestamp, folder, date, entry) "
            "VALUES(?,?,?,?,?)",
            (s.project, s.timestamp, s.folder, now_timestamp(), entry),
        )


# -- queries ------------------------------------------------------------------------------


def find_session(store: Store, project: str, timestamp: str, folder: str) -> PrearcSession | None:
    """The session ``(project, timestamp, folder)`` or ``None``."""
    row = store.one(
        "SELECT * FROM prearchive_sessions WHERE project=? AND timestamp=? AND folder=?",
        (project, timestamp, folder),
    )
    return _session(row) if row is not None else None


def session_rows(store: Store, projects: Sequence[str] | None = None) -> list[PrearcSession]:
    """Every session (of ``projects`` when given), ordered by project, timestamp, folder."""
    if projects is None:
        rows = store.query("SELECT * FROM prearchive_sessions")
    elif not projects:
        return []
    else:
        marks = ",".join("?" * len(projects))
        rows = store.query(
            f"SELECT * FROM prearchive_sessions WHERE project IN ({marks})", list(projects)
        )
    out = [_session(r) for r in rows]
    out.sort(key=lambda s: (s.project, s.timestamp, s.folder))
    return out


def project_exists(store: Store, project: str) -> str | None:
    """The canonical project ID for an ID or secondary ID (as the archive resolves them)."""
    from xnat_sdk.testing.lookup import find_project

    row = find_project(store, project)
    return str(row["id"]) if row is not None else None


def can_edit(store: Store, user: User, project: str) -> bool:
    """Admins, owners and members may change a project's data (and its prearchive)."""
    from xnat_sdk.testing import auth

    if project == UNASSIGNED:
        return user.admin
    return auth.can_edit(store, user, project)


def can_read(store: Store, user: User, project: str) -> bool:
    """Whoever may read a project's data, by the archive's rules (Unassigned: admins)."""
    from xnat_sdk.testing import auth

    if project == UNASSIGNED:
        return user.admin
    return auth.can_read(store, user, project)


def _autoarchive_of(store: Store, project: str) -> str:
    if project == UNASSIGNED:
        return ""
    row = store.one("SELECT data FROM projects WHERE id=?", (project,))
    code = loads_data(row[0]).get("prearchive_code", "0") if row is not None else "0"
    return {"4": "AutoArchive", "5": "AutoArchiveOverwrite"}.get(code, "Manual")


# -- writing ------------------------------------------------------------------------------


def create_session(
    store: Store,
    project: str,
    study: DicomStudy,
    *,
    subject: str | None = None,
    label: str | None = None,
    source: str = "",
    visit: str = "",
    protocol: str = "",
) -> PrearcSession:
    """Write a parsed DICOM study as a new prearchive session (status ``READY``)."""
    name = clean_label(label or study.session_label or study.study_instance_uid)
    if not name:
        name = "session"
    subject_label = subject if subject is not None else study.subject_label
    root = prearchive_root(store) / project
    while True:  # a fresh timestamp folder, even for concurrent uploads of one study
        timestamp = _now_ts()
        folder = root / timestamp / name
        try:
            folder.mkdir(parents=True)
            break
        except FileExistsError:
            time.sleep(0.001)
    scans_dir = folder / "SCANS"
    scans_dir.mkdir()
    scan_rows: list[tuple[Any, ...]] = []
    for series in study.series.values():
        target = scans_dir / series.number / "DICOM"
        target.mkdir(parents=True, exist_ok=True)
        for f in series.files:
            (target / f.stored_name).write_bytes(f.data)
        scan_rows.append(
            (
                project,
                timestamp,
                name,
                series.number,
                series.xsi_type,
                series.description,
                series.modality,
                series.series_instance_uid,
                dumps_data({"frames": str(len(series.files))}),
            )
        )
    now = now_timestamp()
    data = {
        "UID": study.study_instance_uid,
        "dcmPatientId": study.patient_id,
        "dcmPatientName": study.patient_name,
        "dcmAccessionNumber": study.accession_number,
        "modality": study.modalities[0] if study.modalities else "",
        "study_description": study.study_description,
    }
    with store.tx() as db:
        db.execute(
            "INSERT INTO prearchive_sessions(project, timestamp, folder, name, subject, tag, "
            "status, lastmod, uploaded, scan_date, scan_time, autoarchive, source, visit, "
            "protocol, xsi_type, data) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                project,
                timestamp,
                name,
                name,
                subject_label,
                study.study_instance_uid,
                "READY",
                now,
                now,
                study.scan_date,
                study.scan_time + ".0" if study.scan_time else "",
                _autoarchive_of(store, project),
                source,
                visit,
                protocol,
                study.xsi_type,
                dumps_data(data),
            ),
        )
        db.executemany(
            "INSERT INTO prearchive_scans(project, timestamp, folder, scan_id, xsi_type, "
            "series_description, modality, series_uid, data) VALUES(?,?,?,?,?,?,?,?,?)",
            scan_rows,
        )
    s = find_session(store, project, timestamp, name)
    assert s is not None
    log_entry(store, s, f"Session created from upload ({study.file_count} files).")
    return s


def merge_into_session(store: Store, s: PrearcSession, study: DicomStudy) -> PrearcSession:
    """Add a study's instances to an existing session (gradual DICOM uploads).

    Files land in ``SCANS/{series number}/DICOM`` (an instance sent twice is replaced);
    new series become new scans. The session is ``READY`` afterwards.
    """
    folder = session_dir(store, s)
    known = {sc.series_uid: sc.scan_id for sc in scans_of(store, s)}
    new_rows: list[tuple[Any, ...]] = []
    for series in study.series.values():
        scan_id = known.get(series.series_instance_uid, series.number)
        target = folder / "SCANS" / scan_id / "DICOM"
        target.mkdir(parents=True, exist_ok=True)
        for f in series.files:
            (target / f.stored_name).write_bytes(f.data)
        count = len(_files_in(target))
        new_rows.append(
            (
                s.project,
                s.timestamp,
                s.folder,
                scan_id,
                series.xsi_type,
                series.description,
                series.modality,
                series.series_instance_uid,
                dumps_data({"frames": str(count)}),
            )
        )
    with store.tx() as db:
        db.executemany(
            "INSERT OR REPLACE INTO prearchive_scans(project, timestamp, folder, scan_id, "
            "xsi_type, series_description, modality, series_uid, data) "
            "VALUES(?,?,?,?,?,?,?,?,?)",
            new_rows,
        )
    merged = _set_status(store, s, "READY")
    log_entry(store, merged, f"Added {study.file_count} files from a gradual upload.")
    return merged


def find_receiving(
    store: Store, project: str, study: DicomStudy, name: str
) -> PrearcSession | None:
    """The open session a gradual upload of ``study`` belongs to (same UID and folder)."""
    rows = store.query(
        "SELECT * FROM prearchive_sessions WHERE project=? AND tag=? AND folder=? AND "
        "status IN ('READY', 'RECEIVING', 'ERROR') ORDER BY timestamp DESC",
        (project, study.study_instance_uid, clean_label(name)),
    )
    return _session(rows[0]) if rows else None


def delete_session(store: Store, s: PrearcSession) -> None:
    """Remove a session: its rows and its folder."""
    with store.tx() as db:
        for table in ("prearchive_sessions", "prearchive_scans", "prearchive_logs"):
            db.execute(
                f"DELETE FROM {table} WHERE project=? AND timestamp=? AND folder=?",
                (s.project, s.timestamp, s.folder),
            )
    shutil.rmtree(session_dir(store, s), ignore_errors=True)
    ts_dir = session_dir(store, s).parent
    if ts_dir.is_dir() and not any(ts_dir.iterdir()):
        ts_dir.rmdir()


def _set_status(store: Store, s: PrearcSession, status: str) -> PrearcSession:
    with store.tx() as db:
        db.execute(
            "UPDATE prearchive_sessions SET status=?, lastmod=? WHERE project=? AND "
            "timestamp=? AND folder=?",
            (status, now_timestamp(), s.project, s.timestamp, s.folder),
        )
    new = find_session(store, s.project, s.timestamp, s.folder)
    assert new is not None
    return new


def move_session(store: Store, s: PrearcSession, new_project: str) -> PrearcSession:
    """Move a session to another project's prearchive (same timestamp and folder)."""
    if find_session(store, new_project, s.timestamp, s.folder) is not None:
        raise HttpError(
            409,
            f"A prearchive resource with session {s.folder} and timestamp {s.timestamp} "
            f"already exists in the project {new_project}",
        )
    src = session_dir(store, s)
    dest = prearchive_root(store) / new_project / s.timestamp / s.folder
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.move(str(src), str(dest))
    old_ts = src.parent
    if old_ts.is_dir() and not any(old_ts.iterdir()):
        old_ts.rmdir()
    with store.tx() as db:
        for table in ("prearchive_sessions", "prearchive_scans", "prearchive_logs"):
            db.execute(
                f"UPDATE {table} SET project=? WHERE project=? AND timestamp=? AND folder=?",
                (new_project, s.project, s.timestamp, s.folder),
            )
        db.execute(
            "UPDATE prearchive_sessions SET lastmod=?, autoarchive=?, status='READY' "
            "WHERE project=? AND timestamp=? AND folder=?",
            (
                now_timestamp(),
                _autoarchive_of(store, new_project),
                new_project,
                s.timestamp,
                s.folder,
            ),
        )
    moved = find_session(store, new_project, s.timestamp, s.folder)
    assert moved is not None
    log_entry(store, moved, f"Moved from project {s.project} to {new_project}.")
    return moved


def rebuild_session(store: Store, s: PrearcSession) -> PrearcSession:
    """Re-read the DICOM files on disk and rebuild the scan table; status ``READY``.

    Every ``SCANS/{id}`` folder stays scan ``{id}``; its type, description and modality come
    from the first DICOM file in it. Folders without DICOM keep their previous row, if any.
    """
    from xnat_sdk.testing.dicomtools import parse_upload

    folder = session_dir(store, s)
    previous = {sc.scan_id: sc for sc in scans_of(store, s)}
    scan_rows: list[tuple[Any, ...]] = []
    for scan_dir in _resource_dirs(folder / "SCANS"):
        entries = [(p.name, p.read_bytes()) for p in _files_in(scan_dir / "DICOM")]
        studies = parse_upload(entries, ignore_unparsable=True)
        series = [se for st in studies for se in st.series.values()]
        if series:
            first_series = series[0]
            scan_rows.append(
                (
                    s.project,
                    s.timestamp,
                    s.folder,
                    scan_dir.name,
                    first_series.xsi_type,
                    first_series.description,
                    first_series.modality,
                    first_series.series_instance_uid,
                    dumps_data({"frames": str(sum(len(se.files) for se in series))}),
                )
            )
        elif scan_dir.name in previous:
            old = previous[scan_dir.name]
            scan_rows.append(
                (
                    s.project,
                    s.timestamp,
                    s.folder,
                    old.scan_id,
                    old.xsi_type,
                    old.series_description,
                    old.modality,
                    old.series_uid,
                    dumps_data(old.data),
                )
            )
    with store.tx() as db:
        db.execute(
            "DELETE FROM prearchive_scans WHERE project=? AND timestamp=? AND folder=?",
            (s.project, s.timestamp, s.folder),
        )
        db.executemany(
            "INSERT INTO prearchive_scans(project, timestamp, folder, scan_id, "
            "xsi_type, series_description, modality, series_uid, data) "
            "VALUES(?,?,?,?,?,?,?,?,?)",
            scan_rows,
        )
    new = _set_status(store, s, "READY")
    log_entry(store, new, "Session rebuilt.")
    return new


# -- archiving ----------------------------------------------------------------------------


@dataclass
class ArchiveRequest:
    """What to archive where (request parameters already resolved)."""

    project: str | None = None
    subject: str | None = None
    label: str | None = None
    overwrite: str = "none"
    overwrite_files: bool = False
    quarantine: bool = False


def _subject_id(db: sqlite3.Connection, project: str, label: str) -> str | None:
    row = db.execute(
        "SELECT id FROM subjects WHERE project=? AND lower(label)=lower(?)", (project, label)
    ).fetchone()
    if row is not None:
        return str(row[0])
    try:
        row = db.execute(
            "SELECT object_id FROM shares WHERE kind='subject' AND project=? AND "
            "lower(label)=lower(?)",
            (project, label),
        ).fetchone()
    except sqlite3.Error:
        row = None
    if row is not None:
        return str(row[0])
    row = db.execute("SELECT id FROM subjects WHERE id=?", (label,)).fetchone()
    return str(row[0]) if row is not None else None


def file_digest(path: Path) -> tuple[int, str]:
    """Size and MD5 of a file, read in chunks."""
    md5 = hashlib.md5()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            md5.update(chunk)
            size += len(chunk)
    return size, md5.hexdigest()


def archive_session(
    store: Store, user: User, s: PrearcSession, req: ArchiveRequest
) -> tuple[str, str, str]:
    """Archive a prearchive session; returns ``(project, subject label, session label)``.

    Raises :class:`HttpError`: 400 for Unassigned without a project or no subject, 403 when
    the user may not write into the project, 409 when the session label exists and
    ``overwrite`` is ``none`` (and for subject/modality clashes when merging). On success
    the prearchive session is removed.
    """
    from xnat_sdk.testing import objects

    project_param = req.project or (s.project if s.project != UNASSIGNED else None)
    if project_param is None:
        raise HttpError(400, "Cannot archive sessions from the Unassigned folder.")
    project = project_exists(store, project_param)
    if project is None or not can_edit(store, user, project):
        raise HttpError(403, "Invalid permissions for new project.")
    subject_label = clean_label(req.subject or s.subject or s.data.get("dcmPatientName", ""))
    if not subject_label:
        raise HttpError(400, "Unable to identify subject.")
    label = clean_label(req.label or s.name or s.folder)
    if not label:
        raise HttpError(400, "unable to deduce session label")
    merge = req.overwrite in ("append", "delete")
    replace_scans = req.overwrite == "delete"
    scans = scans_of(store, s)
    folder = session_dir(store, s)
    pending_files: list[tuple[Path, Path]] = []  # (source, destination), copied after commit
    cleared: list[Path] = []  # resource folders emptied by overwrite=delete, after commit
    # hash outside the store lock: the transaction below only writes rows
    digests = {p: file_digest(p) for p in _files_in(folder / "SCANS")}
    fields = {
        k: v
        for k, v in {
            "date": s.scan_date,
            "time": s.scan_time.split(".")[0] if s.scan_time else "",
            "UID": s.data.get("UID", ""),
            "modality": s.data.get("modality", ""),
            "dcmPatientId": s.data.get("dcmPatientId", ""),
            "dcmPatientName": s.data.get("dcmPatientName", ""),
            "dcmAccessionNumber": s.data.get("dcmAccessionNumber", ""),
            "prearchivePath": str(folder),
        }.items()
        if v
    }
    with store.tx() as db:
        existing = db.execute(
            "SELECT * FROM experiments WHERE project=? AND (label=? OR id=?)",
            (project, label, label),
        ).fetchone()
        subj_id = _subject_id(db, project, subject_label)
        if existing is not None:
            if not merge:
                raise _Conflict("Session already exists, retry with overwrite enabled")
            if existing["xsi_type"] != s.xsi_type:
                raise _Conflict(
                    "Invalid modification of session modality via archive process.  Data "
                    "may require a manual merge."
                )
            if existing["subject_id"] != subj_id:  # also when the subject would be new
                raise _Conflict(
                    "Invalid modification of session subject via archive process.: "
                    f"{existing['label']} Already Exists for another Subject"
                )
        if subj_id is None:
            subj_id = objects.create_subject(store, db, project, subject_label, user=user.login)
        else:
            row = db.execute("SELECT label FROM subjects WHERE id=?", (subj_id,)).fetchone()
            subject_label = str(row[0]) if row is not None else subject_label
        status = "quarantine" if req.quarantine else "active"
        if existing is None:
            expt_id = objects.create_experiment(
                store,
                db,
                project,
                label,
                s.xsi_type,
                subject_id=subj_id,
                data=fields,
                user=user.login,
            )
            db.execute("UPDATE experiments SET status=? WHERE id=?", (status, expt_id))
        else:
            expt_id = str(existing["id"])
            label = str(existing["label"])
            merged = loads_data(existing["data"])
            merged.update(fields)
            db.execute(
                "UPDATE experiments SET data=?, status=? WHERE id=?",
                (dumps_data(merged), status if req.quarantine else existing["status"], expt_id),
            )
        for scan in scans:
            scan_folder = folder / "SCANS" / scan.scan_id
            scan_row = db.execute(
                "SELECT pk FROM scans WHERE experiment_id=? AND id=?", (expt_id, scan.scan_id)
            ).fetchone()
            if scan_row is None:
                scan_pk = objects.create_scan(
                    store,
                    db,
                    expt_id,
                    scan.scan_id,
                    scan.xsi_type,
                    type=scan.series_description,
                    data={
                        "series_description": scan.series_description,
                        "modality": scan.modality,
                        "UID": scan.series_uid,
                        "quality": "usable",
                        **scan.data,
                    },
                    user=user.login,
                )
            else:
                scan_pk = int(scan_row[0])
            for res_dir in _resource_dirs(scan_folder):
                res_row = db.execute(
                    "SELECT id FROM resources WHERE parent_kind='scan' AND parent_id=? AND label=?",
                    (str(scan_pk), res_dir.name),
                ).fetchone()
                is_dicom = res_dir.name == "DICOM"
                if res_row is None:
                    res_id = objects.create_resource(
                        store,
                        db,
                        "scan",
                        str(scan_pk),
                        res_dir.name,
                        format="DICOM" if is_dicom else "",
                        content="RAW" if is_dicom else "",
                    )
                else:
                    res_id = int(res_row[0])
                    if replace_scans:
                        db.execute("DELETE FROM files WHERE resource_id=?", (res_id,))
                        cleared.append(objects.resource_dir(store, res_id))
                for path in _files_in(res_dir):
                    rel = path.relative_to(res_dir).as_posix()
                    have = db.execute(
                        "SELECT id FROM files WHERE resource_id=? AND path=?", (res_id, rel)
                    ).fetchone()
                    if have is not None and not (req.overwrite_files or replace_scans):
                        continue
                    size, md5 = digests[path]
                    db.execute(
                        "INSERT INTO files(resource_id, path, size, md5, format, content, tags, "
                        "mtime) VALUES(?,?,?,?,?,?,'',?) ON CONFLICT(resource_id, path) DO "
                        "UPDATE SET size=excluded.size, md5=excluded.md5, mtime=excluded.mtime",
                        (
                            res_id,
                            rel,
                            size,
                            md5,
                            "DICOM" if is_dicom else "",
                            "RAW" if is_dicom else "",
                            time.time(),
                        ),
                    )
                    pending_files.append((path, objects.resource_dir(store, res_id) / rel))
    for res_folder in cleared:
        shutil.rmtree(res_folder, ignore_errors=True)
    for src, dest in pending_files:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".archive-{dest.name}")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
    delete_session(store, s)
    return project, subject_label, label


class _Conflict(HttpError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message)


def archive_uri(project: str, subject: str, label: str) -> str:
    """``/data/archive/projects/P/subjects/S/experiments/E``."""
    return f"/data/archive/projects/{project}/subjects/{subject}/experiments/{label}"


def run_archive(
    store: Store, user: User, s: PrearcSession, req: ArchiveRequest
) -> tuple[str, str, str]:
    """:func:`archive_session`, marking the prearchive session CONFLICT (409) or ERROR (5xx)."""
    try:
        return archive_session(store, user, s, req)
    except HttpError as err:
        # refused requests (400/403) leave the session alone; failed archiving marks it
        failed = err.status == 409 or err.status >= 500
        if failed and find_session(store, s.project, s.timestamp, s.folder) is not None:
            _set_status(store, s, "CONFLICT" if err.status == 409 else "ERROR")
            log_entry(store, s, f"Archive failed: {err.message}")
        raise


# -- request helpers ------------------------------------------------------------------------


def all_params(ctx: RequestContext) -> dict[str, list[str]]:
    """Query, form and (for a JSON body) JSON parameters, each name to all its values."""
    out: dict[str, list[str]] = {}
    for k, v in ctx.request.args.items(multi=True):
        out.setdefault(k, []).append(v)
    ctype = (ctx.request.mimetype or "").lower()
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for k, v in ctx.request.form.items(multi=True):
            out.setdefault(k, []).append(v)
    elif ctype == "application/json":
        try:
            body = json.loads(ctx.request.get_data(cache=True) or b"{}")
        except ValueError:
            body = {}
        if isinstance(body, dict):
            for k, v in body.items():
                values = v if isinstance(v, list) else [v]
                out.setdefault(str(k), []).extend(str(x) for x in values)
    return out


def first(params: Mapping[str, list[str]], *names: str) -> str | None:
    """The first value of the first of ``names`` present (exact names)."""
    for name in names:
        values = params.get(name)
        if values:
            return values[0]
    return None


_PREARC_URI = re.compile(r"^/prearchive/projects/([^/]+)/([^/]+)/([^/]+)/?$")


def strip_data_prefix(uri: str) -> str:
    """Drop a leading ``/data`` or ``/REST`` (and the host part of an absolute URL)."""
    uri = re.sub(r"^https?://[^/]+", "", uri.strip())
    for prefix in ("/data/", "/REST/"):
        if uri.startswith(prefix):
            return uri[len(prefix) - 1 :]
    return uri


def resolve_src(store: Store, src: str) -> PrearcSession:
    """The session a ``src`` URI names; 400 for archive URIs, 404 for unknown sessions."""
    path = strip_data_prefix(src)
    m = _PREARC_URI.match(path)
    if m is None:
        if path.startswith("/archive") or path.startswith("/projects"):
            raise HttpError(400, f"Invalid src URI ({src})")
        raise HttpError(404, "Unknown prearchive session.")
    s = find_session(store, m.group(1), m.group(2), m.group(3))
    if s is None:
        raise HttpError(404, f"{path} not found.")
    return s


def _session_from_ctx(ctx: RequestContext, *, write: bool = False) -> PrearcSession:
    p, ts, folder = ctx.params["project"], ctx.params["timestamp"], ctx.params["folder"]
    s = find_session(ctx.store, p, ts, folder)
    if s is None:
        raise HttpError(404, f"Unable to find the prearchive session {p}/{ts}/{folder}.")
    allowed = can_edit(ctx.store, ctx.user, p) if write else _can_view(ctx, p)
    if not allowed:
        raise HttpError(403, "Unable to modify session data for destination project.")
    return s


def _can_view(ctx: RequestContext, project: str) -> bool:
    return ctx.user.admin or can_edit(ctx.store, ctx.user, project)


def rows_response(
    ctx: RequestContext, sessions: Iterable[PrearcSession], status: str | None = None
) -> Response:
    """Prearchive rows as a table (batch services default to XML, like XNAT)."""
    rows = [s.row(status) for s in sessions]
    return ctx.table(COLUMNS, rows, default_format="xml")


# -- session XML and zips ----------------------------------------------------------------


def _xml_escape(text: str) -> str:
    return html.escape(text, quote=True)


_XML_ELEMENT = {
    "xnat:mrSessionData": "MRSession",
    "xnat:ctSessionData": "CTSession",
    "xnat:petSessionData": "PETSession",
    "xnat:otherDicomSessionData": "OtherDicomSession",
}


def session_xml(store: Store, s: PrearcSession) -> str:
    """A session document like the one XNAT keeps beside a prearchive session."""
    element = _XML_ELEMENT.get(s.xsi_type, s.xsi_type.split(":")[-1].replace("Data", ""))
    folder = session_dir(store, s)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<xnat:{element} xmlns:xnat="http://nrg.wustl.edu/xnat" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'label="{_xml_escape(s.name)}" project="{_xml_escape(s.project)}" '
        f'UID="{_xml_escape(s.tag)}">\n',
    ]
    if s.scan_date:
        parts.append(f"  <xnat:date>{s.scan_date}</xnat:date>\n")
    if s.scan_time:
        parts.append(f"  <xnat:time>{s.scan_time.split('.')[0]}</xnat:time>\n")
    parts.append(f"  <xnat:subject_ID>{_xml_escape(s.subject)}</xnat:subject_ID>\n")
    parts.append(f"  <xnat:prearchivePath>{_xml_escape(str(folder))}</xnat:prearchivePath>\n")
    parts.append("  <xnat:scans>\n")
    for scan in scans_of(store, s):
        parts.append(
            f'    <xnat:scan ID="{_xml_escape(scan.scan_id)}" type="'
            f'{_xml_escape(scan.series_description)}" UID="{_xml_escape(scan.series_uid)}" '
            f'xsi:type="{scan.xsi_type}">\n'
            f"      <xnat:series_description>{_xml_escape(scan.series_description)}"
            "</xnat:series_description>\n"
        )
        for res in _resource_dirs(folder / "SCANS" / scan.scan_id):
            files = _files_in(res)
            parts.append(
                f'      <xnat:file label="{_xml_escape(res.name)}" format="{res.name}" '
                f'content="RAW" xsi:type="xnat:resourceCatalog" '
                f'URI="SCANS/{scan.scan_id}/{res.name}/scan_{scan.scan_id}_catalog.xml" '
                f'file_count="{len(files)}" file_size="{sum(f.stat().st_size for f in files)}"/>\n'
            )
        parts.append("    </xnat:scan>\n")
    parts.append(f"  </xnat:scans>\n</xnat:{element}>\n")
    return "".join(parts)


def _resource_dirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir())


def zip_folder(folder: Path, prefix: str, name: str) -> Response:
    """A zip of ``folder`` with entries under ``prefix/`` as an attachment ``name``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for path in _files_in(folder):
            zf.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    resp = Response(buf.getvalue(), mimetype="application/zip")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}";'
    return resp


def file_response(path: Path) -> Response:
    """The bytes of one file as an attachment."""
    resp = Response(path.read_bytes(), mimetype=_mimetype(path.name))
    resp.headers["Content-Disposition"] = f'attachment; filename="{path.name}";'
    return resp


def _mimetype(name: str) -> str:
    if name.lower().endswith(".dcm"):
        return "application/dicom"
    if name.lower().endswith(".xml"):
        return "text/xml"
    return "application/octet-stream"


# -- handlers -------------------------------------------------------------------------------


def _list_all(ctx: RequestContext) -> Response:
    if ctx.user.admin:
        sessions = session_rows(ctx.store)
    else:
        projects = [
            str(r[0])
            for r in ctx.store.query(
                "SELECT project FROM project_users WHERE login=? AND level IN ('owner','member')",
                (ctx.user.login,),
            )
        ]
        sessions = session_rows(ctx.store, projects)
    tag = ctx.q("tag")
    if tag is not None:
        if not ctx.user.admin:
            raise HttpError(403, "Only site or data administrators may search by tag.")
        sessions = [s for s in sessions if s.tag == tag]
    return ctx.table(COLUMNS, [s.row() for s in sessions])


def _rebuild_all(ctx: RequestContext) -> Response:
    if not ctx.user.admin:
        raise HttpError(
            403, "Only site or data administrators can request a rebuild of the prearchive."
        )
    for s in session_rows(ctx.store):
        rebuild_session(ctx.store, s)
    return ctx.text("")


def _list_projects(ctx: RequestContext) -> Response:
    wanted = [p for p in ctx.params["projects"].split(",") if p]
    canonical: list[str] = []
    for p in wanted:
        if p == UNASSIGNED:
            if not ctx.user.admin:
                raise HttpError(
                    403, f"The current user does not have access to the requested project: {p}"
                )
            canonical.append(p)
            continue
        real = project_exists(ctx.store, p)
        if real is None or not can_read(ctx.store, ctx.user, real):
            raise HttpError(
                403, f"The current user does not have access to the requested project: {p}"
            )
        canonical.append(real)
    sessions = session_rows(ctx.store, canonical)
    return ctx.table(COLUMNS, [s.row() for s in sessions])


def _get_session(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx)
    fmt = ctx.format
    if fmt == "json":
        return ctx.table(COLUMNS, [s.row()])
    if fmt in (None, "xml"):
        return ctx.xml(session_xml(ctx.store, s))
    if fmt == "zip":
        return zip_folder(session_dir(ctx.store, s), s.folder, f"{s.folder}.zip")
    if fmt == "html":
        body = f"<html><body><h3>{html.escape(s.url)}</h3></body></html>"
        return ctx.text(body, mimetype="text/html")
    raise HttpError(400, f"Requested type {fmt} is not supported")


def _delete_session(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx, write=True)
    if ctx.tail:
        raise HttpError(400, "Invalid path for a prearchive session delete.")
    delete_session(ctx.store, s)
    return ctx.text("")


def _post_session(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx, write=True)
    params = all_params(ctx)
    action = first(params, "action")
    if not action:
        raise HttpError(400, "No action parameter was specified for the prearchive session.")
    if action == "build":
        rebuild_session(ctx.store, s)
        return ctx.text(f"/data{s.url}", mimetype="text/uri-list")
    if action == "reset-status":
        _set_status(ctx.store, s, "READY")
        return ctx.text(f"/data{s.url}", mimetype="text/uri-list")
    if action == "set-status":
        status = first(params, "status")
        if not status:
            raise HttpError(400, "The set-status action needs a status parameter.")
        _set_status(ctx.store, s, status)
        return ctx.text(f"/data{s.url}", mimetype="text/uri-list")
    if action == "move":
        new_project = first(params, "newProject")
        if not new_project:
            raise HttpError(400, "The move action needs a newProject parameter.")
        target = _check_move_target(ctx, new_project)
        moved = move_session(ctx.store, s, target)
        return ctx.text(f"/data{moved.url}", status=301, mimetype="text/uri-list")
    if action == "commit":
        built = rebuild_session(ctx.store, s)
        if built.autoarchive in ("AutoArchive", "AutoArchiveOverwrite"):
            req = ArchiveRequest(
                overwrite="append" if built.autoarchive == "AutoArchiveOverwrite" else "none"
            )
            uri = archive_uri(*run_archive(ctx.store, ctx.user, built, req))
            return ctx.text(uri, status=301, mimetype="text/uri-list")
        return ctx.text(f"/data{s.url}", mimetype="text/uri-list")
    raise HttpError(400, f"Unsupported action: {action}")


def _check_move_target(ctx: RequestContext, new_project: str) -> str:
    if new_project == UNASSIGNED:
        if not ctx.user.admin:
            raise HttpError(403, "Invalid permissions for new project.")
        return UNASSIGNED
    target = project_exists(ctx.store, new_project)
    if target is None:
        raise HttpError(404, f"One or more specified projects does not exist: {new_project}")
    if not can_edit(ctx.store, ctx.user, target):
        raise HttpError(403, "Invalid permissions for new project.")
    return target


def _list_scans(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx)
    rows = [
        {"ID": sc.scan_id, "xsiType": sc.xsi_type, "series_description": sc.series_description}
        for sc in scans_of(ctx.store, s)
    ]
    return ctx.table(["ID", "xsiType", "series_description"], rows)


def _scan_dir(ctx: RequestContext, s: PrearcSession) -> Path:
    scan = ctx.params["scan"]
    known = {sc.scan_id for sc in scans_of(ctx.store, s)}
    if scan not in known:
        raise HttpError(404, f"Unknown scan {scan}")
    return session_dir(ctx.store, s) / "SCANS" / scan


def _get_scan(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx)
    folder = _scan_dir(ctx, s)
    if ctx.format != "zip":
        raise HttpError(400, "Only zip format is supported for a prearchive scan.")
    return zip_folder(folder, ctx.params["scan"], f"{ctx.params['scan']}.zip")


def _delete_scan(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx, write=True)
    folder = _scan_dir(ctx, s)
    shutil.rmtree(folder, ignore_errors=True)
    with ctx.store.tx() as db:
        db.execute(
            "DELETE FROM prearchive_scans WHERE project=? AND timestamp=? AND folder=? AND "
            "scan_id=?",
            (s.project, s.timestamp, s.folder, ctx.params["scan"]),
        )
        db.execute(
            "UPDATE prearchive_sessions SET lastmod=? WHERE project=? AND timestamp=? AND folder=?",
            (now_timestamp(), s.project, s.timestamp, s.folder),
        )
    return ctx.text("")


def _resource_rows(folder: Path) -> list[dict[str, str]]:
    rows = []
    for res in _resource_dirs(folder):
        files = _files_in(res)
        rows.append(
            {
                "label": res.name,
                "file_count": str(len(files)),
                "file_size": str(sum(f.stat().st_size for f in files)),
            }
        )
    return rows


def _scan_resources(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx)
    return ctx.table(["label", "file_count", "file_size"], _resource_rows(_scan_dir(ctx, s)))


def _file_rows(ctx: RequestContext, res: Path) -> list[dict[str, str]]:
    base = ctx.path.rstrip("/")
    pretty = ctx.flag("prettyPrint")
    rows = []
    for f in _files_in(res):
        rel = f.relative_to(res).as_posix()
        size = f.stat().st_size
        rows.append(
            {
                "Name": rel,
                "Size": _pretty_size(size) if pretty else str(size),
                "URI": f"{base}/{rel}",
            }
        )
    return rows


def _pretty_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)  # pragma: no cover


def _scan_resource_dir(ctx: RequestContext, s: PrearcSession) -> Path:
    label = _check_segment(ctx.params["resource"], "resource")
    folder = _scan_dir(ctx, s) / label
    if not folder.is_dir():
        raise HttpError(404, f"Unable to find resource {label}.")
    return folder


def _scan_files(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx)
    res = _scan_resource_dir(ctx, s)
    if ctx.tail.strip("/"):
        return _one_file(res, ctx.tail.strip("/"))
    if ctx.format == "zip":
        return zip_folder(res, res.name, f"{res.name}.zip")
    return ctx.table(["Name", "Size", "URI"], _file_rows(ctx, res))


def _one_file(res: Path, rel: str) -> Response:
    path = _safe_relpath(res, rel)
    if not path.is_file():
        raise HttpError(404, f"Unable to find file {rel}.")
    return file_response(path)


def _scan_resource(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx)
    res = _scan_resource_dir(ctx, s)
    if ctx.format == "zip":
        return zip_folder(res, res.name, f"{res.name}.zip")
    rows = [r for r in _resource_rows(res.parent) if r["label"] == res.name]
    return ctx.table(["label", "file_count", "file_size"], rows)


def _session_resources(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx)
    folder = session_dir(ctx.store, s)
    rows: list[dict[str, str]] = []
    for sc in scans_of(ctx.store, s):
        for r in _resource_rows(folder / "SCANS" / sc.scan_id):
            rows.append({"category": "scans", "cat_id": sc.scan_id, **r})
    for r in _resource_rows(folder / "RESOURCES"):
        rows.append({"category": "resources", "cat_id": "", **r})
    return ctx.table(["category", "cat_id", "label", "file_count", "file_size"], rows)


def _session_resource_files(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx)
    label = _check_segment(ctx.params["resource"], "resource")
    res = session_dir(ctx.store, s) / "RESOURCES" / label
    if not res.is_dir():
        raise HttpError(404, f"Unable to find resource {label}.")
    if ctx.tail.strip("/"):
        return _one_file(res, ctx.tail.strip("/"))
    if ctx.format == "zip":
        return zip_folder(res, label, f"{label}.zip")
    return ctx.table(["Name", "Size", "URI"], _file_rows(ctx, res))


def _logs(ctx: RequestContext) -> Response:
    s = _session_from_ctx(ctx)
    rows = ctx.store.query(
        "SELECT id, date, entry FROM prearchive_logs WHERE project=? AND timestamp=? AND "
        "folder=? ORDER BY id",
        (s.project, s.timestamp, s.folder),
    )
    if ctx.tail.strip("/") == "last":
        return ctx.text(str(rows[-1]["entry"]) if rows else "")
    return ctx.table(["id", "date", "entry"], [dict(r) for r in rows])


# -- batch services -------------------------------------------------------------------------


def _sources(ctx: RequestContext, params: Mapping[str, list[str]]) -> list[PrearcSession]:
    srcs = params.get("src", [])
    if not srcs:
        p, ts, folder = (first(params, k) for k in ("project", "timestamp", "folder"))
        if p and ts and folder:
            srcs = [f"/prearchive/projects/{p}/{ts}/{folder}"]
    if not srcs:
        raise HttpError(404, "Unknown prearchive session.")
    return [resolve_src(ctx.store, src) for src in srcs]


def _check_edit_all(ctx: RequestContext, sessions: Sequence[PrearcSession], verb: str) -> None:
    denied = sorted({s.project for s in sessions if not can_edit(ctx.store, ctx.user, s.project)})
    if denied:
        raise HttpError(
            403,
            f"Invalid permissions for user {ctx.user.login} to {verb} prearchive sessions in "
            f"one or more projects: {', '.join(denied)}",
        )


def _batch_delete(ctx: RequestContext) -> Response:
    params = all_params(ctx)
    sessions = _sources(ctx, params)
    _check_edit_all(ctx, sessions, "delete")
    for s in sessions:
        delete_session(ctx.store, s)
    return rows_response(ctx, sessions, "QUEUED_DELETING")


def _batch_rebuild(ctx: RequestContext) -> Response:
    params = all_params(ctx)
    sessions = _sources(ctx, params)
    _check_edit_all(ctx, sessions, "rebuild")
    for s in sessions:
        rebuild_session(ctx.store, s)
    return rows_response(ctx, sessions, "QUEUED_BUILDING")


def _batch_move(ctx: RequestContext) -> Response:
    params = all_params(ctx)
    new_project = first(params, "newProject")
    if not new_project:
        raise HttpError(400, "The newProject parameter is required.")
    sessions = _sources(ctx, params)
    _check_edit_all(ctx, sessions, "move")
    target = _check_move_target(ctx, new_project)
    for s in sessions:
        if s.project != target:
            move_session(ctx.store, s, target)
    return rows_response(ctx, sessions, "QUEUED_MOVING")


_DEST_RE = re.compile(
    r"^/archive/projects/(?P<project>[^/]+)(?:/subjects/(?P<subject>[^/]+)"
    r"(?:/experiments/(?P<experiment>[^/]+))?)?/?$"
)


def parse_archive_dest(dest: str) -> dict[str, str]:
    """``/archive/projects/P[/subjects/S[/experiments/E]]`` -> its parts (400 otherwise)."""
    m = _DEST_RE.match(strip_data_prefix(dest))
    if m is None:
        raise HttpError(400, f"Invalid dest URI ({dest})")
    return {k: v for k, v in m.groupdict().items() if v}


def _archive(ctx: RequestContext) -> Response:
    ctx.require_user()
    params = all_params(ctx)
    sessions = _sources(ctx, params)
    dest_parts: dict[str, str] = {}
    dest = first(params, "dest")
    if dest:
        dest_parts = parse_archive_dest(dest)
    overwrite = (first(params, "overwrite") or "none").lower()
    req = ArchiveRequest(
        project=first(params, "project", "PROJECT_ID") or dest_parts.get("project"),
        subject=first(params, "subject", "subject_ID", "SUBJECT_ID") or dest_parts.get("subject"),
        label=first(params, "session", "label", "EXPT_LABEL") or dest_parts.get("experiment"),
        overwrite=overwrite if overwrite in ("append", "delete") else "none",
        overwrite_files=is_true(first(params, "overwrite_files")),
        quarantine=is_true(first(params, "quarantine")),
    )
    if len(sessions) > 1:
        done: list[PrearcSession] = []
        for s in sessions:
            run_archive(ctx.store, ctx.user, s, req)
            done.append(s)
        return rows_response(ctx, done, "ARCHIVING")
    s = sessions[0]
    uri = archive_uri(*run_archive(ctx.store, ctx.user, s, req))
    if is_true(first(params, "redirect")):
        resp = ctx.text("", status=303)
        resp.headers["Location"] = ctx.site_url + uri
        return resp
    return ctx.text(uri + "\r\n", mimetype="text/uri-list")


def _get_prearchive_code(ctx: RequestContext) -> Response:
    project = project_exists(ctx.store, ctx.params["project"])
    if project is None or not can_read(ctx.store, ctx.user, project):
        raise HttpError(404, f"Unable to find project {ctx.params['project']}.")
    row = ctx.store.one("SELECT data FROM projects WHERE id=?", (project,))
    code = loads_data(row[0]).get("prearchive_code", "0") if row is not None else "0"
    return ctx.text(code if code in ("0", "4", "5") else "0")


def _put_prearchive_code(ctx: RequestContext) -> Response:
    project = project_exists(ctx.store, ctx.params["project"])
    if project is None:
        raise HttpError(404, f"Unable to find project {ctx.params['project']}.")
    if not (ctx.user.admin or ctx.store.project_role(project, ctx.user.login) == "owner"):
        raise HttpError(403, "Only project owners may change the prearchive setting.")
    code = ctx.params["code"]
    if code not in ("0", "4", "5"):
        raise HttpError(400, f"Invalid prearchive code {code}: use 0, 4 or 5.")
    with ctx.store.tx() as db:
        row = db.execute("SELECT data FROM projects WHERE id=?", (project,)).fetchone()
        data = loads_data(row[0]) if row is not None else {}
        data["prearchive_code"] = code
        db.execute("UPDATE projects SET data=? WHERE id=?", (dumps_data(data), project))
        db.execute(
            "UPDATE prearchive_sessions SET autoarchive=? WHERE project=?",
            ({"4": "AutoArchive", "5": "AutoArchiveOverwrite"}.get(code, "Manual"), project),
        )
    return ctx.text("")


def _project_setting(ctx: RequestContext, write: bool) -> str:
    """The project of a settings route, checking read (or owner) access."""
    project = project_exists(ctx.store, ctx.params["project"])
    if project is None or not can_read(ctx.store, ctx.user, project):
        raise HttpError(404, f"Unable to find project {ctx.params['project']}.")
    if write and not (ctx.user.admin or ctx.store.project_role(project, ctx.user.login) == "owner"):
        raise HttpError(403, "Only project owners may change project settings.")
    return project


def _setting_value(ctx: RequestContext, project: str, key: str, default: str) -> str:
    row = ctx.store.one("SELECT data FROM projects WHERE id=?", (project,))
    return loads_data(row[0]).get(key, default) if row is not None else default


def _set_setting(ctx: RequestContext, project: str, key: str, value: str) -> None:
    with ctx.store.tx() as db:
        row = db.execute("SELECT data FROM projects WHERE id=?", (project,)).fetchone()
        data = loads_data(row[0]) if row is not None else {}
        data[key] = value
        db.execute("UPDATE projects SET data=? WHERE id=?", (dumps_data(data), project))


def _get_quarantine_code(ctx: RequestContext) -> Response:
    project = _project_setting(ctx, write=False)
    return ctx.text(_setting_value(ctx, project, "quarantine_code", "0"))


def _put_quarantine_code(ctx: RequestContext) -> Response:
    project = _project_setting(ctx, write=True)
    code = ctx.params["code"]
    if code not in ("0", "1"):
        raise HttpError(400, f"Invalid quarantine code {code}: use 0 or 1.")
    _set_setting(ctx, project, "quarantine_code", code)
    return ctx.text("")


def _get_current_arc(ctx: RequestContext) -> Response:
    project = _project_setting(ctx, write=False)
    return ctx.text(_setting_value(ctx, project, "current_arc", "arc001"))


def _put_current_arc(ctx: RequestContext) -> Response:
    project = _project_setting(ctx, write=True)
    folder = ctx.params["folder"]
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", folder):
        raise HttpError(400, f"Invalid archive folder {folder!r}.")
    _set_setting(ctx, project, "current_arc", folder)
    return ctx.text("")


def on_startup(state: ServerState) -> None:
    """Create the prearchive folder."""
    prearchive_root(state.store).mkdir(parents=True, exist_ok=True)


def register(router: Router) -> None:
    """Register the prearchive routes and the archive/prearchive batch services."""
    base = "/data/prearchive/projects/{project}/{timestamp}/{folder}"
    router.add("GET", "/data/prearchive", _list_all)
    router.add("PUT", "/data/prearchive", _rebuild_all)
    router.add("GET", "/data/prearchive/projects", _list_all)
    router.add("GET", "/data/prearchive/projects/{projects}", _list_projects)
    router.add("GET", base, _get_session)
    router.add("DELETE", base, _delete_session, tail=True)
    router.add("POST", base, _post_session)
    router.add("GET", base + "/logs", _logs, tail=True)
    router.add("GET", base + "/scans", _list_scans)
    router.add("GET", base + "/scans/{scan}", _get_scan)
    router.add("DELETE", base + "/scans/{scan}", _delete_scan)
    router.add("GET", base + "/scans/{scan}/resources", _scan_resources)
    router.add("GET", base + "/scans/{scan}/resources/{resource}", _scan_resource)
    router.add("GET", base + "/scans/{scan}/resources/{resource}/files", _scan_files, tail=True)
    router.add("GET", base + "/resources", _session_resources)
    router.add("GET", base + "/resources/{resource}/files", _session_resource_files, tail=True)
    router.add(
        "GET", "/data/projects/{project}/prearchive_code", _get_prearchive_code, archive=True
    )
    router.add(
        "PUT",
        "/data/projects/{project}/prearchive_code/{code}",
        _put_prearchive_code,
        archive=True,
    )
    # project archive settings XNAT serves beside prearchive_code
    qc = "/data/projects/{project}/quarantine_code"
    router.add("GET", qc, _get_quarantine_code, archive=True)
    router.add("PUT", qc + "/{code}", _put_quarantine_code, archive=True)
    arc = "/data/projects/{project}/current_arc"
    router.add("GET", arc, _get_current_arc, archive=True)
    router.add("PUT", arc + "/{folder}", _put_current_arc, archive=True)
    router.add("POST", "/data/services/archive", _archive)
    router.add("POST", "/data/services/prearchive/delete", _batch_delete)
    router.add("POST", "/data/services/prearchive/rebuild", _batch_rebuild)
    router.add("POST", "/data/services/prearchive/move", _batch_move)

"""Archiving a prearchive session: its subject, experiment, scans and files go into the
archive tree (merged into an existing session with ``overwrite=append|delete``), then the
prearchive session is removed."""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from xnat_sdk.testing._areas.archive.model import create_experiment, create_scan, create_subject
from xnat_sdk.testing._areas.files.storage import create_resource, file_digest, resource_dir
from xnat_sdk.testing._areas.prearchive.access import can_edit, project_exists
from xnat_sdk.testing._areas.prearchive.layout import (
    clean_label,
    files_in,
    resource_dirs,
    session_dir,
)
from xnat_sdk.testing._areas.prearchive.model import (
    UNASSIGNED,
    PrearcScan,
    PrearcSession,
    find_session,
    scans_of,
)
from xnat_sdk.testing._areas.prearchive.sessions import delete_session, log_entry, set_status
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import Store, User, dumps_data, loads_data

__all__ = ["ArchiveRequest", "archive_session", "archive_uri", "run_archive"]


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


def archive_session(
    store: Store, user: User, s: PrearcSession, req: ArchiveRequest
) -> tuple[str, str, str]:
    """Archive a prearchive session; returns ``(project, subject label, session label)``.

    Raises :class:`HttpError`: 400 for Unassigned without a project or no subject, 403 when
    the user may not write into the project, 409 when the session label exists and
    ``overwrite`` is ``none`` (and for subject/modality clashes when merging). On success
    the prearchive session is removed.
    """
    project, subject_label, label = _destination(store, user, s, req)
    scans = scans_of(store, s)
    folder = session_dir(store, s)
    plan = _CopyPlan()
    # hash outside the store lock: the transaction below only writes rows
    digests = {p: file_digest(p) for p in files_in(folder / "SCANS")}
    fields = _session_fields(s, folder)
    with store.tx() as db:
        existing = db.execute(
            "SELECT * FROM experiments WHERE project=? AND (label=? OR id=?)",
            (project, label, label),
        ).fetchone()
        subj_id = _subject_id(db, project, subject_label)
        if existing is not None:
            _check_merge(req, s, existing, subj_id)
        subj_id, subject_label = _archived_subject(store, db, user, project, subj_id, subject_label)
        expt_id, label = _archived_experiment(
            store, db, user, req, s, (project, label, subj_id), existing, fields
        )
        for scan in scans:
            scan_pk = _archived_scan(store, db, user, expt_id, scan)
            for res_dir in resource_dirs(folder / "SCANS" / scan.scan_id):
                _archive_resource(store, db, req, scan_pk, res_dir, digests, plan)
    plan.publish()
    delete_session(store, s)
    return project, subject_label, label


def _destination(
    store: Store, user: User, s: PrearcSession, req: ArchiveRequest
) -> tuple[str, str, str]:
    """``(project, subject label, session label)`` the session goes to (400/403)."""
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
    return project, subject_label, label


#: the session fields XNAT's session builder takes from DICOM (``ImageSessionAttributes``,
#: ``MRSessionAttributes``; see :mod:`.dicom_fields`), kept in the prearchive session's data
BUILT_SESSION_FIELDS = (
    "acquisition_site",
    "session_type",
    "scanner",
    "scanner/manufacturer",
    "scanner/model",
    "operator",
    "study_id",
    "dcmPatientBirthDate",
    "dcmPatientWeight",
    "fieldStrength",
)


def _session_fields(s: PrearcSession, folder: Path) -> dict[str, str]:
    """The fields the archived session gets from the prearchive session (non-empty ones)."""
    return {
        k: v
        for k, v in {
            "date": s.scan_date,
            "time": s.scan_time.split(".")[0] if s.scan_time else "",
            "UID": s.data.get("UID", ""),
            "modality": s.data.get("modality", ""),
            "dcmPatientId": s.data.get("dcmPatientId", ""),
            "dcmPatientName": s.data.get("dcmPatientName", ""),
            "dcmAccessionNumber": s.data.get("dcmAccessionNumber", ""),
            **{k: s.data.get(k, "") for k in BUILT_SESSION_FIELDS},
            "prearchivePath": str(folder),
        }.items()
        if v
    }


def _check_merge(
    req: ArchiveRequest, s: PrearcSession, existing: sqlite3.Row, subj_id: str | None
) -> None:
    """409 unless the session may be merged into the archived ``existing`` one."""
    if req.overwrite not in ("append", "delete"):
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


def _archived_subject(
    store: Store,
    db: sqlite3.Connection,
    user: User,
    project: str,
    subj_id: str | None,
    subject_label: str,
) -> tuple[str, str]:
    """``(ID, label)`` of the subject archived into (created when new)."""
    if subj_id is None:
        return create_subject(store, db, project, subject_label, user=user.login), subject_label
    row = db.execute("SELECT label FROM subjects WHERE id=?", (subj_id,)).fetchone()
    return subj_id, str(row[0]) if row is not None else subject_label


def _archived_experiment(
    store: Store,
    db: sqlite3.Connection,
    user: User,
    req: ArchiveRequest,
    s: PrearcSession,
    where: tuple[str, str, str],
    existing: sqlite3.Row | None,
    fields: dict[str, str],
) -> tuple[str, str]:
    """``(ID, label)`` of the archived session: created, or ``existing`` with the fields
    merged in (``where`` = project, label, subject ID)."""
    project, label, subj_id = where
    status = "quarantine" if req.quarantine else "active"
    if existing is None:
        expt_id = create_experiment(
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
        return expt_id, label
    expt_id = str(existing["id"])
    merged = loads_data(existing["data"])
    merged.update(fields)
    db.execute(
        "UPDATE experiments SET data=?, status=? WHERE id=?",
        (dumps_data(merged), status if req.quarantine else existing["status"], expt_id),
    )
    return expt_id, str(existing["label"])


def _archived_scan(
    store: Store, db: sqlite3.Connection, user: User, expt_id: str, scan: PrearcScan
) -> int:
    """The ``xnat_imagescandata_id`` of the archived scan (created when new)."""
    scan_row = db.execute(
        "SELECT pk FROM scans WHERE experiment_id=? AND id=?", (expt_id, scan.scan_id)
    ).fetchone()
    if scan_row is not None:
        return int(scan_row[0])
    return create_scan(
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


def _archive_resource(
    store: Store,
    db: sqlite3.Connection,
    req: ArchiveRequest,
    scan_pk: int,
    res_dir: Path,
    digests: dict[Path, tuple[int, str]],
    plan: _CopyPlan,
) -> None:
    """Record the files of one scan resource folder (copied by ``plan`` after the commit)."""
    replace_scans = req.overwrite == "delete"
    res_row = db.execute(
        "SELECT id FROM resources WHERE parent_kind='scan' AND parent_id=? AND label=?",
        (str(scan_pk), res_dir.name),
    ).fetchone()
    is_dicom = res_dir.name == "DICOM"
    if res_row is None:
        res_id = create_resource(
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
            plan.cleared.append(resource_dir(store, res_id))
    for path in files_in(res_dir):
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
        plan.pending.append((path, resource_dir(store, res_id) / rel))


@dataclass
class _CopyPlan:
    """The disk work of archiving, done once its transaction has committed."""

    #: ``(source, destination)`` of each file to copy
    pending: list[tuple[Path, Path]] = field(default_factory=list)
    #: resource folders emptied by ``overwrite=delete``
    cleared: list[Path] = field(default_factory=list)

    def publish(self) -> None:
        """Empty the cleared folders, then copy each file in (through a temporary name)."""
        for res_folder in self.cleared:
            shutil.rmtree(res_folder, ignore_errors=True)
        for src, dest in self.pending:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".archive-{dest.name}")
            shutil.copyfile(src, tmp)
            tmp.replace(dest)


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
            set_status(store, s, "CONFLICT" if err.status == 409 else "ERROR")
            log_entry(store, s, f"Archive failed: {err.message}")
        raise

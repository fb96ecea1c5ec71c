"""Writing prearchive sessions: create one from a DICOM study, add a gradual upload to it,
set its status, move it to another project, rebuild it from its files, delete it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from xnat_sdk.testing._areas.prearchive.dicom_studies import DicomStudy, parse_upload
from xnat_sdk.testing._areas.prearchive.layout import (
    clean_label,
    files_in,
    now_ts,
    prearchive_root,
    resource_dirs,
    session_dir,
)
from xnat_sdk.testing._areas.prearchive.model import (
    PrearcSession,
    autoarchive_of,
    find_session,
    scans_of,
)
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import Store, dumps_data, now_timestamp

__all__ = [
    "create_session",
    "delete_session",
    "log_entry",
    "merge_into_session",
    "move_session",
    "rebuild_session",
    "set_status",
]


def log_entry(store: Store, s: PrearcSession, entry: str) -> None:
    """Append an entry to a session's log."""
    with store.tx() as db:
        db.execute(
            "INSERT INTO prearchive_logs(project, timestamp, folder, date, entry) "
            "VALUES(?,?,?,?,?)",
            (s.project, s.timestamp, s.folder, now_timestamp(), entry),
        )


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
    timestamp, folder = _new_session_folder(prearchive_root(store) / project, name)
    key = (project, timestamp, name)
    scan_rows = _write_scans(folder / "SCANS", key, study)
    _insert_session(store, key, study, subject_label, (source, visit, protocol), scan_rows)
    s = find_session(store, project, timestamp, name)
    assert s is not None
    log_entry(store, s, f"Session created from upload ({study.file_count} files).")
    return s


def _new_session_folder(root: Path, name: str) -> tuple[str, Path]:
    """``(timestamp, folder)`` of a fresh ``{timestamp}/{name}`` folder under ``root``, even
    for concurrent uploads of one study."""
    while True:
        timestamp = now_ts()
        folder = root / timestamp / name
        try:
            folder.mkdir(parents=True)
            return timestamp, folder
        except FileExistsError:
            time.sleep(0.001)


def _write_scans(
    scans_dir: Path, key: tuple[str, str, str], study: DicomStudy
) -> list[tuple[Any, ...]]:
    """Write each series to ``SCANS/{series number}/DICOM``; returns the scan rows."""
    scans_dir.mkdir()
    scan_rows: list[tuple[Any, ...]] = []
    for series in study.series.values():
        target = scans_dir / series.number / "DICOM"
        target.mkdir(parents=True, exist_ok=True)
        for f in series.files:
            (target / f.stored_name).write_bytes(f.data)
        scan_rows.append(
            (
                *key,
                series.number,
                series.xsi_type,
                series.description,
                series.modality,
                series.series_instance_uid,
                dumps_data({"frames": str(len(series.files)), **series.fields}),
            )
        )
    return scan_rows


def _insert_session(
    store: Store,
    key: tuple[str, str, str],
    study: DicomStudy,
    subject_label: str,
    origin: tuple[str, str, str],
    scan_rows: list[tuple[Any, ...]],
) -> None:
    """The session row (``key`` = project, timestamp, folder; ``origin`` = source, visit,
    protocol) and its scan rows."""
    project, timestamp, name = key
    source, visit, protocol = origin
    now = now_timestamp()
    data = {
        "UID": study.study_instance_uid,
        "dcmPatientId": study.patient_id,
        "dcmPatientName": study.patient_name,
        "dcmAccessionNumber": study.accession_number,
        "modality": study.modalities[0] if study.modalities else "",
        "study_description": study.study_description,
        **study.fields,
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
                autoarchive_of(store, project),
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
        count = len(files_in(target))
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
                dumps_data({"frames": str(count), **series.fields}),
            )
        )
    with store.tx() as db:
        db.executemany(
            "INSERT OR REPLACE INTO prearchive_scans(project, timestamp, folder, scan_id, "
            "xsi_type, series_description, modality, series_uid, data) "
            "VALUES(?,?,?,?,?,?,?,?,?)",
            new_rows,
        )
    merged = set_status(store, s, "READY")
    log_entry(store, merged, f"Added {study.file_count} files from a gradual upload.")
    return merged


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


def set_status(store: Store, s: PrearcSession, status: str) -> PrearcSession:
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
                autoarchive_of(store, new_project),
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
    folder = session_dir(store, s)
    previous = {sc.scan_id: sc for sc in scans_of(store, s)}
    scan_rows: list[tuple[Any, ...]] = []
    for scan_dir in resource_dirs(folder / "SCANS"):
        entries = [(p.name, p.read_bytes()) for p in files_in(scan_dir / "DICOM")]
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
                    dumps_data(
                        {
                            "frames": str(sum(len(se.files) for se in series)),
                            **first_series.fields,
                        }
                    ),
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
    new = set_status(store, s, "READY")
    log_entry(store, new, "Session rebuilt.")
    return new

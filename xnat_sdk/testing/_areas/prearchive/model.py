"""Prearchive session and scan rows: the tables, their Python shapes and the queries."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xnat_sdk.testing._areas.prearchive.layout import clean_label
from xnat_sdk.testing._server.store import Store, loads_data

if TYPE_CHECKING:
    from xnat_sdk.testing._areas.prearchive.dicom_studies import DicomStudy

__all__ = [
    "COLUMNS",
    "SCHEMA_SQL",
    "UNASSIGNED",
    "PrearcScan",
    "PrearcSession",
    "autoarchive_of",
    "find_receiving",
    "find_session",
    "scans_of",
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


def autoarchive_of(store: Store, project: str) -> str:
    if project == UNASSIGNED:
        return ""
    row = store.one("SELECT data FROM projects WHERE id=?", (project,))
    code = loads_data(row[0]).get("prearchive_code", "0") if row is not None else "0"
    return {"4": "AutoArchive", "5": "AutoArchiveOverwrite"}.get(code, "Manual")

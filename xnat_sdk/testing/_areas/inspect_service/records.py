"""The store as flat records (one dict of strings per project, subject, experiment, scan)
and counts per element type."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from xnat_sdk.testing._areas.inspect_service.display_fields import BASE_ELEMENTS
from xnat_sdk.testing._server.store import Store, loads_data

__all__ = [
    "element_counts",
    "experiment_records",
    "project_records",
    "scan_records",
    "subject_records",
]


def element_counts(store: Store, projects: Sequence[str] | None = None) -> dict[str, int]:
    """Record counts per element type (base elements included with 0): of the whole site
    (XNAT's ``getTotalCounts``), or with ``projects`` only of the records those projects
    own or share (``getReadableCounts``, for ``?readable``)."""
    counts = dict.fromkeys(BASE_ELEMENTS, 0)
    projects_where = subjects_where = experiments_where = scans_where = ""
    args: tuple[str, ...] = ()
    if projects is not None:
        marks = ",".join("?" * len(projects)) or "NULL"
        args = tuple(projects)

        def owned_or_shared(kind: str) -> str:
            return (
                f" WHERE project IN ({marks}) OR id IN "
                f"(SELECT object_id FROM shares WHERE kind='{kind}' AND project IN ({marks}))"
            )

        projects_where = f" WHERE id IN ({marks})"
        subjects_where = owned_or_shared("subject")
        experiments_where = owned_or_shared("experiment")
        scans_where = f" WHERE experiment_id IN (SELECT id FROM experiments{experiments_where})"
    row = store.one(f"SELECT count(*) FROM projects{projects_where}", args)
    counts["xnat:projectData"] = int(row[0]) if row is not None else 0
    row = store.one(f"SELECT count(*) FROM subjects{subjects_where}", args * 2)
    counts["xnat:subjectData"] = int(row[0]) if row is not None else 0
    for table, where in (("experiments", experiments_where), ("scans", scans_where)):
        sql = f"SELECT xsi_type, count(*) FROM {table}{where} GROUP BY xsi_type"
        for r in store.query(sql, args * 2):
            counts[str(r[0])] = counts.get(str(r[0]), 0) + int(r[1])
    return counts


def _strip_prefix(data: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        out[key] = value
        short = key.rsplit("/", 1)[-1]
        out.setdefault(short, value)
    return out


def _custom(store: Store, kind: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    try:
        rows = store.query("SELECT owner_id, name, value FROM custom_fields WHERE kind=?", (kind,))
    except sqlite3.Error:
        return out
    for r in rows:
        out.setdefault(str(r[0]), {})[f"field_map={str(r[1]).lower()}"] = str(r[2])
    return out


def project_records(store: Store) -> dict[str, dict[str, str]]:
    """Every project as a flat record keyed by ID."""
    custom = _custom(store, "project")
    users: dict[tuple[str, str], list[str]] = {}
    for u in store.query("SELECT project, login, level FROM project_users ORDER BY login"):
        users.setdefault((str(u["project"]), str(u["level"])), []).append(str(u["login"]))
    counts: dict[tuple[str, str], int] = {}
    for c in store.query(
        "SELECT project, xsi_type, COUNT(*) AS n FROM experiments GROUP BY project, xsi_type"
    ):
        counts[(str(c["project"]), str(c["xsi_type"]))] = int(c["n"])
    out = {}
    for r in store.query("SELECT * FROM projects"):
        pid = str(r["id"])
        extra = {
            "project_access": str(r["accessibility"]),
            # XNAT joins the users of a role with " <br/> " in these display fields
            "project_owners": " <br/> ".join(users.get((pid, "owner"), [])),
            "project_members": " <br/> ".join(users.get((pid, "member"), [])),
            "project_collabs": " <br/> ".join(users.get((pid, "collaborator"), [])),
        }
        for mod in ("mr", "ct", "pet", "ut"):
            n = counts.get((pid, f"xnat:{mod}SessionData"), 0)
            extra[f"proj_{mod}_count"] = str(n) if n else ""
        rec = _strip_prefix(loads_data(r["data"]))
        rec.update(
            id=r["id"],
            secondary_id=r["secondary_id"],
            name=r["name"],
            description=r["description"],
            insert_date=r["insert_date"],
            insert_user=r["insert_user"],
            project=r["id"],
        )
        rec.update(extra)
        rec.update(custom.get(r["id"], {}))
        out[str(r["id"])] = rec
    return out


def subject_records(store: Store) -> dict[str, dict[str, str]]:
    """Every subject as a flat record keyed by accession ID."""
    custom = _custom(store, "subject")
    out = {}
    for r in store.query("SELECT * FROM subjects"):
        rec = _strip_prefix(loads_data(r["data"]))
        rec.update(
            id=r["id"],
            label=r["label"],
            project=r["project"],
            insert_date=r["insert_date"],
            insert_user=r["insert_user"],
        )
        rec.update(custom.get(r["id"], {}))
        out[str(r["id"])] = rec
    return out


def experiment_records(
    store: Store, subjects: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """Every experiment as a flat record keyed by accession ID."""
    custom = _custom(store, "experiment")
    out = {}
    for r in store.query("SELECT * FROM experiments"):
        rec = _strip_prefix(loads_data(r["data"]))
        subj = subjects.get(str(r["subject_id"] or ""), {})
        rec.update(
            id=r["id"],
            label=r["label"],
            project=r["project"],
            xsi_type=r["xsi_type"],
            subject_id=r["subject_id"] or "",
            subject_label=subj.get("label", ""),
            date=r["date"] or rec.get("date", ""),
            status=r["status"],
            insert_date=r["insert_date"],
            insert_user=r["insert_user"],
        )
        rec.update(custom.get(r["id"], {}))
        out[str(r["id"])] = rec
    return out


def scan_records(store: Store, experiments: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    """Every scan as a flat record."""
    out = []
    for r in store.query("SELECT * FROM scans"):
        rec = _strip_prefix(loads_data(r["data"]))
        expt = experiments.get(str(r["experiment_id"]), {})
        rec.update(
            id=r["id"],
            type=r["type"],
            xsi_type=r["xsi_type"],
            image_session_id=r["experiment_id"],
            project=expt.get("project", ""),
            session_label=expt.get("label", ""),
            subject_id=expt.get("subject_id", ""),
        )
        out.append(rec)
    return out

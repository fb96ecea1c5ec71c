"""Data-type introspection of the local XNAT server (what xnatpy's ``inspect`` reads).

* ``GET /data/search/elements``: ``ELEMENT_NAME, SINGULAR, PLURAL, SECURED, COUNT`` for the
  standard element types plus every type the archive holds (with record counts); filters
  ``secured``, ``used``; META ``title: Data-Types``.
* ``GET /data/search/elements/{type}[,{type2}]``: the search (display) fields of each type,
  ``FIELD_ID, HEADER, SUMMARY, TYPE, REQUIRES_VALUE, DESC, ELEMENT_NAME, SRC``; XML unless
  ``format=json``; unknown type -> 400.

The field catalog and the record builders here are shared with :mod:`xnat_sdk.testing.search`.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from werkzeug.wrappers import Response

from xnat_sdk.testing.routing import HttpError, RequestContext, Router
from xnat_sdk.testing.store import loads_data

if TYPE_CHECKING:
    from xnat_sdk.testing.store import Store

__all__ = [
    "BASE_ELEMENTS",
    "DisplayField",
    "Kind",
    "element_counts",
    "fields_of",
    "kind_of",
    "register",
]

Kind = Literal["project", "subject", "experiment", "scan"]


@dataclass(frozen=True)
class DisplayField:
    """One search field: its ID, header, type and the record key holding its value."""

    id: str
    header: str
    type: str
    key: str
    desc: str = ""


def _f(fid: str, header: str, key: str, type_: str = "string", desc: str = "") -> DisplayField:
    return DisplayField(fid, header, type_, key, desc or header)


_FIELDS: dict[Kind, tuple[DisplayField, ...]] = {
    "project": (
        _f("ID", "ID", "id"),
        _f("SECONDARY_ID", "Secondary ID", "secondary_id"),
        _f("NAME", "Title", "name"),
        _f("DESCRIPTION", "Description", "description"),
        _f("KEYWORDS", "Keywords", "keywords"),
        _f("PI", "PI", "pi"),
        _f("INSERT_DATE", "Inserted", "insert_date", "date"),
        _f("INSERT_USER", "Creator", "insert_user"),
        _f("PROJECT_ACCESS", "Accessibility", "project_access"),
        _f("PROJECT_OWNERS", "Owners", "project_owners"),
        _f("PROJECT_MEMBERS", "Members", "project_members"),
        _f("PROJECT_COLLABS", "Collaborators", "project_collabs"),
        _f("PROJ_MR_COUNT", "MR Count", "proj_mr_count", "integer"),
        _f("PROJ_CT_COUNT", "CT Count", "proj_ct_count", "integer"),
        _f("PROJ_PET_COUNT", "PET Count", "proj_pet_count", "integer"),
        _f("PROJ_UT_COUNT", "UT Count", "proj_ut_count", "integer"),
    ),
    "subject": (
        _f("SUBJECT_ID", "Subject", "id"),
        _f("SUBJECT_LABEL", "Label", "label"),
        _f("PROJECT", "Project", "project"),
        _f("INSERT_DATE", "Inserted", "insert_date", "date"),
        _f("INSERT_USER", "Creator", "insert_user"),
        _f("GENDER_TEXT", "Gender", "gender"),
        _f("HANDEDNESS_TEXT", "Handedness", "handedness"),
        _f("YOB", "YOB", "yob", "integer"),
        _f("DOB", "DOB", "dob", "date"),
        _f("EDUC", "Education", "education", "integer"),
        _f("SES", "SES", "ses", "integer"),
        _f("RACE", "Race", "race"),
        _f("ETHNICITY", "Ethnicity", "ethnicity"),
        _f("SUB_GROUP", "Group", "group"),
    ),
    "experiment": (
        _f("SESSION_ID", "Session", "id"),
        _f("EXPT_ID", "ID", "id"),
        _f("LABEL", "Label", "label"),
        _f("SUBJECT_ID", "Subject", "subject_id"),
        _f("SUBJECT_LABEL", "Subject Label", "subject_label"),
        _f("PROJECT", "Project", "project"),
        _f("DATE", "Date", "date", "date"),
        _f("TIME", "Time", "time", "time"),
        _f("MODALITY", "Modality", "modality"),
        _f("SCANNER", "Scanner", "scanner"),
        _f("UID", "UID", "UID"),
        _f("NOTE", "Notes", "note"),
        _f("INSERT_DATE", "Inserted", "insert_date", "date"),
        _f("INSERT_USER", "Creator", "insert_user"),
    ),
    "scan": (
        _f("ID", "ID", "id"),
        _f("TYPE", "Type", "type"),
        _f("SERIES_DESCRIPTION", "Series Description", "series_description"),
        _f("QUALITY", "Quality", "quality"),
        _f("NOTE", "Note", "note"),
        _f("MODALITY", "Modality", "modality"),
        _f("FRAMES", "Frames", "frames", "integer"),
        _f("UID", "UID", "UID"),
        _f("IMAGE_SESSION_ID", "Session", "image_session_id"),
        _f("PROJECT", "Project", "project"),
    ),
}

#: Hidden key columns every search result of a kind carries (what clients build URIs from).
KEY_COLUMNS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "project": (("id", "id"),),
    "subject": (("subject_id", "id"), ("subjectid", "id"), ("project", "project")),
    "experiment": (("session_id", "id"), ("subject_id", "subject_id"), ("project", "project")),
    "scan": (("id", "id"), ("image_session_id", "image_session_id"), ("project", "project")),
}

#: The elements listed even when the archive holds none of them.
BASE_ELEMENTS: tuple[str, ...] = (
    "xnat:projectData",
    "xnat:subjectData",
    "xnat:mrSessionData",
    "xnat:petSessionData",
    "xnat:ctSessionData",
    "xnat:mrScanData",
    "xnat:petScanData",
    "xnat:ctScanData",
)

_GENERIC_EXPERIMENTS = {
    "xnat:experimentData",
    "xnat:subjectAssessorData",
    "xnat:imageSessionData",
    "xnat:imageAssessorData",
}
_GENERIC_SCANS = {"xnat:imageScanData"}

_NAMES = {
    "xnat:projectData": ("Project", "Projects"),
    "xnat:subjectData": ("Subject", "Subjects"),
    "xnat:otherDicomSessionData": ("Other DICOM Session", "Other DICOM Sessions"),
    "xnat:otherDicomScanData": ("Other DICOM Scan", "Other DICOM Scans"),
    "xnat:scScanData": ("Secondary Capture Scan", "Secondary Capture Scans"),
}


def kind_of(element: str) -> Kind | None:
    """Which kind of record an element type names (``None`` when unknown)."""
    if element == "xnat:projectData":
        return "project"
    if element == "xnat:subjectData":
        return "subject"
    if element in _GENERIC_SCANS or re.fullmatch(r"[A-Za-z]+:[A-Za-z]+ScanData", element):
        return "scan"
    if element in _GENERIC_EXPERIMENTS or re.fullmatch(r"[A-Za-z]+:[A-Za-z]+Data", element):
        return "experiment"
    return None


def is_generic(element: str) -> bool:
    """True for abstract types that match every experiment or every scan."""
    return element in _GENERIC_EXPERIMENTS or element in _GENERIC_SCANS


def fields_of(kind: Kind) -> tuple[DisplayField, ...]:
    """The display fields of a kind."""
    return _FIELDS[kind]


def names_of(element: str) -> tuple[str, str]:
    """``(singular, plural)`` display names of an element type."""
    if element in _NAMES:
        return _NAMES[element]
    local = element.split(":", 1)[-1]
    m = re.fullmatch(r"([a-z]+)(Session|Scan)Data", local)
    if m is not None:
        singular = f"{m.group(1).upper()} {m.group(2)}"
    else:
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", local.removesuffix("Data"))
        singular = words[:1].upper() + words[1:]
    return singular, singular + "s"


def element_counts(store: Store) -> dict[str, int]:
    """Record counts per element type (base elements included with 0)."""
    counts = dict.fromkeys(BASE_ELEMENTS, 0)
    row = store.one("SELECT count(*) FROM projects")
    counts["xnat:projectData"] = int(row[0]) if row is not None else 0
    row = store.one("SELECT count(*) FROM subjects")
    counts["xnat:subjectData"] = int(row[0]) if row is not None else 0
    for table in ("experiments", "scans"):
        for r in store.query(f"SELECT xsi_type, count(*) FROM {table} GROUP BY xsi_type"):
            counts[str(r[0])] = counts.get(str(r[0]), 0) + int(r[1])
    return counts


def _elements(ctx: RequestContext) -> Response:
    counts = element_counts(ctx.store)
    rows = []
    for element, count in counts.items():
        kind = kind_of(element)
        secured = kind in ("project", "subject", "experiment")
        if ctx.q("secured") is not None and not secured:
            continue
        if ctx.q("used") is not None and count == 0:
            continue
        singular, plural = names_of(element)
        rows.append(
            {
                "ELEMENT_NAME": element,
                "SINGULAR": singular,
                "PLURAL": plural,
                "SECURED": "true" if secured else "false",
                "COUNT": str(count),
            }
        )
    rows.sort(key=lambda r: r["ELEMENT_NAME"])
    cols = ["ELEMENT_NAME", "SINGULAR", "PLURAL", "SECURED", "COUNT"]
    return ctx.table(cols, rows, meta={"title": "Data-Types"})


_FIELD_COLUMNS = [
    "FIELD_ID",
    "HEADER",
    "SUMMARY",
    "TYPE",
    "REQUIRES_VALUE",
    "DESC",
    "ELEMENT_NAME",
    "SRC",
]


def _element_fields(ctx: RequestContext) -> Response:
    wanted = [e for e in ctx.params["elements"].split(",") if e]
    known = element_counts(ctx.store)
    rows = []
    for element in wanted:
        kind = kind_of(element)
        if kind is None or (element not in known and not is_generic(element)):
            raise HttpError(400, f"Unknown data type: {element}")
        for f in fields_of(kind):
            rows.append(
                {
                    "FIELD_ID": f.id,
                    "HEADER": f.header,
                    "SUMMARY": f.desc,
                    "TYPE": f.type,
                    "REQUIRES_VALUE": "false",
                    "DESC": f.desc,
                    "ELEMENT_NAME": element,
                    "SRC": "0",
                }
            )
    cols = [
        "FIELD_ID",
        "HEADER",
        "SUMMARY",
        "TYPE",
        "REQUIRES_VALUE",
        "DESC",
        "ELEMENT_NAME",
        "SRC",
    ]
    meta = {"title": "Search Fields", "element_name": ",".join(wanted)}
    return ctx.table(cols, rows, meta=meta, default_format="xml")


# -- records (shared with search) ---------------------------------------------------------


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


def register(router: Router) -> None:
    """Register the element-introspection routes."""
    router.add("GET", "/data/search/elements", _elements)
    router.add("GET", "/data/search/elements/{elements}", _element_fields)

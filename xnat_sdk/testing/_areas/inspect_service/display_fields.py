"""The search (display) fields of each kind of record, and which kind an element type is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BASE_ELEMENTS",
    "KEY_COLUMNS",
    "DisplayField",
    "Kind",
    "fields_of",
    "is_generic",
    "kind_of",
    "names_of",
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
    #: the XML path (under the element) of a display field made of that one schema field,
    #: which ``SchemaElement.getDisplayFieldForXMLPath`` finds for it; "" otherwise
    path: str = ""


def _f(
    fid: str, header: str, key: str, type_: str = "string", desc: str = "", path: str = ""
) -> DisplayField:
    return DisplayField(fid, header, type_, key, desc or header, path)


_FIELDS: dict[Kind, tuple[DisplayField, ...]] = {
    "project": (
        _f("ID", "ID", "id", path="ID"),
        _f("SECONDARY_ID", "Secondary ID", "secondary_id", path="secondary_ID"),
        _f("NAME", "Title", "name", path="name"),
        _f("DESCRIPTION", "Description", "description"),
        _f("KEYWORDS", "Keywords", "keywords", path="keywords"),
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
        _f("SUBJECT_ID", "Subject", "id", path="ID"),
        _f("SUBJECT_LABEL", "Label", "label"),
        _f("PROJECT", "Project", "project", path="project"),
        _f("INSERT_DATE", "Inserted", "insert_date", "date", path="meta/insert_date"),
        _f("INSERT_USER", "Creator", "insert_user"),
        _f("GENDER_TEXT", "Gender", "gender"),
        _f("HANDEDNESS_TEXT", "Handedness", "handedness"),
        _f("YOB", "YOB", "yob", "integer"),
        _f("DOB", "DOB", "dob", "date"),
        _f("EDUC", "Education", "education", "integer"),
        _f("SES", "SES", "ses", "integer"),
        _f("RACE", "Race", "race"),
        _f("ETHNICITY", "Ethnicity", "ethnicity"),
        _f("SUB_GROUP", "Group", "group", path="group"),
        _f("PROJECTS", "Projects", "projects", desc="All projects tied to a subject"),
    ),
    "experiment": (
        _f("SESSION_ID", "Session", "id", path="ID"),
        _f("EXPT_ID", "ID", "id"),
        _f("LABEL", "Label", "label"),
        _f("SUBJECT_ID", "Subject", "subject_id", path="subject_ID"),
        _f("SUBJECT_LABEL", "Subject Label", "subject_label"),
        _f("PROJECT", "Project", "project", path="project"),
        _f("DATE", "Date", "date", "date", path="date"),
        _f("TIME", "Time", "time", "time"),
        _f("MODALITY", "Modality", "modality"),
        _f("SCANNER", "Scanner", "scanner"),
        _f("UID", "UID", "UID"),
        _f("NOTE", "Notes", "note"),
        _f("INSERT_DATE", "Inserted", "insert_date", "date", path="meta/insert_date"),
        _f("INSERT_USER", "Creator", "insert_user"),
        _f("PROJECTS", "Projects", "projects", desc="All Projects for this session"),
    ),
    "scan": (
        _f("ID", "ID", "id", path="ID"),
        _f("TYPE", "Type", "type", path="type"),
        _f(
            "SERIES_DESCRIPTION",
            "Series Description",
            "series_description",
            path="series_description",
        ),
        _f("QUALITY", "Quality", "quality", path="quality"),
        _f("NOTE", "Note", "note", path="note"),
        _f("MODALITY", "Modality", "modality", path="modality"),
        _f("FRAMES", "Frames", "frames", "integer", path="frames"),
        _f("UID", "UID", "UID", path="UID"),
        _f("IMAGE_SESSION_ID", "Session", "image_session_id", path="image_session_ID"),
        _f("PROJECT", "Project", "project", path="project"),
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

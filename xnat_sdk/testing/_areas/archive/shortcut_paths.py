"""The XML path each listing's shortcut names, as XNAT's field mapping holds it.

xnat-web ``XMLPathShortcuts`` registers every shortcut of a listing with its path (some
read-only: ``session_ID`` is ``xnat:imagesessiondata/id``), and the listings' resources take
them all (``getShortcuts(type, true)``) into their ``fieldMapping``. ``formatHeaders``
(``QueryOrganizerResource``) names a column by the first key whose path equals the column's
XML path, case aside (``SecureResource.getLabelForFieldMapping``), so
``columns=xnat:imageSessionData/ID`` answers a column ``session_ID``. Two keys of one path
(``UID`` and ``studyInstanceUID``): the first in the ``HashMap``'s order, ``UID`` (bucket
49 of 128 before 103). A key registered twice keeps its later path (``stabilization`` is
``xnat:petsessiondata/stabilization`` only). The scans, subjects and experiments listings
(``ScanList``, ``ProjectSubjectList``/``SubjectListResource``, ``ProjSubExptList``/
``ExperimentListResource``) are covered; each table is in the order that decides ties.
"""

from __future__ import annotations

import functools

__all__ = ["DEMOGRAPHICS", "shortcut_types", "xnat_paths"]

_MR = ("coil", "fieldStrength", "marker")
_SESSION = (
    "scanner",
    "operator",
    "dcmAccessionNumber",
    "dcmPatientId",
    "dcmPatientName",
    "session_type",
    "modality",
)
_VALIDATION = ("method", "status", "date", "notes")
_PET_SCAN = (
    "orientation",
    "originalFileName",
    "systemType",
    "fileType",
    "transaxialFOV",
    "acqType",
    "facility",
    "numPlanes",
    "numGates",
    "planeSeparation",
    "binSize",
    "dataType",
)
_PET_SESSION = {
    "studyType": "studyType",
    "patientID": "patientID",
    "patientName": "patientName",
    "stabilization": "stabilization",
    "scan_start_time": "start_time_scan",
    "injection_start_time": "start_time_injection",
    "tracer_name": "tracer/name",
    "tracer_startTime": "tracer/startTime",
    "tracer_dose": "tracer/dose",
    "tracer_sa": "tracer/specificActivity",
    "tracer_totalmass": "tracer/totalMass",
    "tracer_intermediate": "tracer/intermediate",
    "tracer_isotope": "tracer/isotope/half-life",
    "tracer_transmissions": "tracer/transmissions",
    "tracer_transmissions_start": "tracer/transmissions_starttime",
}
#: the demographics shortcuts of the subject listing (each ``demographics/{name}``)
DEMOGRAPHICS = (
    "dob",
    "yob",
    "age",
    "gender",
    "handedness",
    "ses",
    "education",
    "educationDesc",
    "race",
    "ethnicity",
    "weight",
    "height",
    "gestational_age",
    "post_menstrual_age",
    "birth_weight",
)


def _meta(root: str) -> dict[str, str]:
    return {
        "insert_date": f"{root}/meta/insert_date",
        "insert_user": f"{root}/meta/insert_user/login",
        "last_modified": f"{root}/meta/last_modified",
        "xsiType": f"{root}/extension_item/element_name",
    }


def _experiment() -> dict[str, str]:
    expt, session = "xnat:experimentData", "xnat:imageSessionData"
    plain = ("ID", "visit_id", "visit", "protocol", "date", "time", "note", "project", "label")
    return {
        **{k: f"{expt}/{k}" for k in plain},
        "pi_firstname": f"{expt}/investigator/firstname",
        "pi_lastname": f"{expt}/investigator/lastname",
        **{f"validation_{v}": f"{expt}/validation/{v}" for v in _VALIDATION},
        **{k: f"{session}/{k}" for k in _SESSION},
        "UID": f"{session}/UID",
        "studyInstanceUID": f"{session}/UID",
        **{k: f"xnat:mrSessionData/{k}" for k in _MR},
        **{k: f"xnat:petSessionData/{p}" for k, p in _PET_SESSION.items()},
        "subject_ID": "xnat:subjectAssessorData/subject_ID",
        "subject_label": "xnat:subjectData/label",
        "subject_project": "xnat:subjectData/project",
        "session_ID": f"{session}/ID",
        "session_label": f"{session}/label",
        "session_project": f"{session}/project",
        **_meta(expt),
    }


def _scan() -> dict[str, str]:
    scan = "xnat:imageScanData"
    plain = (
        *("ID", "type", "UID", "note", "quality", "condition", "series_description"),
        *("documentation", "scanner", "modality", "frames"),
    )
    return {
        **{k: f"{scan}/{k}" for k in plain},
        **{f"validation_{v}": f"{scan}/validation/{v}" for v in _VALIDATION},
        "xnat_imagescandata_id": f"{scan}/xnat_imagescandata_id",
        "scanTime": f"{scan}/startTime",
        **{k: f"xnat:mrScanData/{k}" for k in (*_MR, "stabilization")},
        **{k: f"xnat:petScanData/parameters/{k}" for k in _PET_SCAN},
        "numFrames": "xnat:petScanData/parameters/frames/numFrames",
        **_meta(scan),
    }


def _subject() -> dict[str, str]:
    subject = "xnat:subjectData"
    plain = ("project", "label", "ID", "group", "src")
    demographics = f"{subject}/demographics[@xsi:type=xnat:demographicData]"
    meta = _meta(subject)
    del meta["xsiType"]  # no such shortcut for subjects
    return {
        **{k: f"{subject}/{k}" for k in plain},
        "pi_firstname": f"{subject}/investigator/firstname",
        "pi_lastname": f"{subject}/investigator/lastname",
        **{k: f"{demographics}/{k}" for k in DEMOGRAPHICS},
        **meta,
    }


_TABLES = {"experiment": _experiment, "scan": _scan, "subject": _subject}


@functools.cache
def xnat_paths(kind: str) -> dict[str, str] | None:
    """``{lower-case XML path: shortcut}`` of a listing of ``kind`` (``"experiment"``,
    ``"scan"``, ``"subject"``): the name ``formatHeaders`` gives a column of that path; None
    for a listing not covered here."""
    table = _TABLES.get(kind)
    if table is None:
        return None
    out: dict[str, str] = {}
    for key, path in table().items():
        out.setdefault(path.lower(), key)
    return out


@functools.cache
def shortcut_types(kind: str) -> dict[str, str]:
    """``{shortcut: the type its path starts at}`` of a listing of ``kind`` (``scanner``:
    ``xnat:imageSessionData``; empty for a listing not covered here): where a filter's or a
    column's shortcut moves the query's root (``getRootElementName`` reads the shortcut's
    path) and whose field types its value."""
    table = _TABLES.get(kind)
    return {} if table is None else {k: p.split("/", 1)[0] for k, p in table().items()}

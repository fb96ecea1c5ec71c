"""Filters on the listings XNAT does not filter: an experiment's scans, reconstructions and
assessors (``ScanList``, ``ReconList``, ``ProjSubExptAsstList`` replace the criteria their
query organizer got from the request with their own, ``qo.setWhere``). The SDK matches
those filters itself, on columns it asks for, and a field a document leaves out is empty."""

from __future__ import annotations

import itertools

import requests

import xnat_sdk
from xnat_sdk.models import MrSessionData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

_serial = itertools.count(1)


def _session_with_scans(server: LocalXNAT) -> tuple[str, str]:
    project = f"UNFILT{next(_serial)}"
    server.seed_project(project)
    server.seed_subject(project, "S1")
    eid = server.seed_session(project, "S1", "MR1")
    server.seed_scan(eid, "1", type="T1", fields={"UID": "1.2.3"})
    server.seed_scan(eid, "2", type="T2", fields={"UID": "1.2.4"})
    server.seed_scan(eid, "3", type="T2", xsi_type="xnat:ctScanData")
    return project, eid


def test_the_server_lists_every_scan_whatever_the_filter(server: LocalXNAT) -> None:
    _, eid = _session_with_scans(server)
    got = requests.get(
        f"{server.url}/data/experiments/{eid}/scans",
        params={"type": "T1", "UID": "nothing", "format": "json"},
        auth=("admin", "admin"),
        timeout=30,
    ).json()["ResultSet"]
    assert [r["ID"] for r in got["Result"]] == ["1", "2", "3"]
    # a filter's type is still the query's root: the MR scans
    got = requests.get(
        f"{server.url}/data/experiments/{eid}/scans",
        params={"xnat:mrScanData/type": "T9", "format": "json"},
        auth=("admin", "admin"),
        timeout=30,
    ).json()["ResultSet"]
    assert [r["ID"] for r in got["Result"]] == ["1", "2"]


def test_scan_filter_on_a_field_some_scans_lack(server: LocalXNAT, session: XNATSession) -> None:
    """The CT scan has no UID: its document leaves the field out, and it does not match."""
    project, _ = _session_with_scans(server)
    scans = session.projects[project].experiments.of_type(MrSessionData)["MR1"].scans
    assert [s.id for s in scans.filter(UID="1.2.3")] == ["1"]
    assert [s.id for s in scans.filter(UID="1.2.*")] == ["1", "2"]
    assert [s.id for s in scans.filter(type="T2")] == ["2", "3"]


def test_assessor_filter_on_a_column_the_listing_does_not_show(
    server: LocalXNAT, session: XNATSession
) -> None:
    """``note`` is not a default column of a session's assessors listing, and XNAT ignores
    the filter: the SDK asks for the column and matches it."""
    project, eid = _session_with_scans(server)
    for label, note in (("QC1", "good"), ("QC2", "poor")):
        resp = requests.put(
            f"{server.url}/data/experiments/{eid}/assessors/{label}",
            params={"xsiType": "xnat:qcAssessmentData", "xnat:qcAssessmentData/note": note},
            auth=("admin", "admin"),
            timeout=30,
        )
        assert resp.status_code in (200, 201), resp.text
    assessors = session.projects[project].experiments.of_type(MrSessionData)["MR1"].assessors
    assert [a.label for a in assessors.filter(note="good")] == ["QC1"]
    assert [a.label for a in assessors.filter(label="QC2")] == ["QC2"]
    table = assessors.filter(note="poor").tabulate(["ID", "label"])
    assert [row["label"] for row in table] == ["QC2"]


def test_project_filter_for_a_user_xnat_does_not_filter_for(server: LocalXNAT) -> None:
    """``ProjectListResource`` replaces the request's criteria with the user's readable
    projects unless the user is an all-data admin: the server lists both projects, and the
    SDK matches ``keywords`` (not a default column) on the column it asks for."""
    wanted, other = f"KEYW{next(_serial)}", f"KEYW{next(_serial)}"
    server.seed_project(wanted, fields={"keywords": "brain"})
    server.seed_project(other, fields={"keywords": "heart"})
    for project in (wanted, other):
        server.add_member(project, "user", "member")
    listed = requests.get(
        f"{server.url}/data/projects",
        params={"keywords": "brain", "format": "json"},
        auth=("user", "user"),
        timeout=30,
    ).json()["ResultSet"]["Result"]
    assert {wanted, other} <= {row["ID"] for row in listed}
    with xnat_sdk.connect(server.url, user="user", password="user") as as_user:
        found = [p.id for p in as_user.projects.filter(keywords="brain")]
    assert wanted in found and other not in found

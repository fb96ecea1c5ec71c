"""The columns of empty subject and scan listings: ``ProjectSubjectList``,
``SubjectListResource`` and ``ScanList`` call ``QueryOrganizerResource.formatHeaders``
whatever the row count, so an empty CSV names its columns as a full one does and ends with
``URI`` (unlike the experiment listings, which keep the query's SQL aliases when empty)."""

from __future__ import annotations

import csv
import io

import requests

from xnat_sdk.testing.local import LocalXNAT


def _header(server: LocalXNAT, path: str, params: dict[str, str]) -> list[str]:
    resp = requests.get(
        f"{server.url}{path}", params={"format": "csv", **params}, auth=("admin", "admin")
    )
    assert resp.status_code == 200, resp.text
    return next(csv.reader(io.StringIO(resp.text)))


def test_empty_subject_and_scan_listings_name_their_columns(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    xnat_server.seed_subject(xnat_project, "S1")
    eid = xnat_server.seed_session(xnat_project, "S1", "E1")
    subjects = f"/data/projects/{xnat_project}/subjects"
    assert _header(xnat_server, subjects, {"label": "NONE"}) == _header(xnat_server, subjects, {})
    assert _header(xnat_server, subjects, {"label": "NONE"})[-1] == "URI"
    scans = _header(xnat_server, f"/data/experiments/{eid}/scans", {})
    assert scans[-1] == "URI" and {"ID", "type", "xsiType"} <= set(scans)

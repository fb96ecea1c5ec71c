"""Malformed requests get a 4xx naming the problem and change nothing (never a 500)."""

from __future__ import annotations

import pytest
import requests

from tests.server.conftest import rows
from xnat_sdk.testing.local import LocalXNAT


def _session(server: LocalXNAT, project: str) -> str:
    server.seed_subject(project, "S1")
    return server.seed_session(project, "S1", "E1")


@pytest.mark.parametrize(
    "name",
    ["x%00y.txt", "%00", "dir/%00/f.txt"],
    ids=["mid", "only", "dir"],
)
def test_nul_in_a_file_path_is_a_400_and_stores_nothing(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session, name: str
) -> None:
    eid = _session(xnat_server, xnat_project)
    rid = xnat_server.seed_resource("experiment", eid, "R")
    base = f"{xnat_server.url}/data/experiments/{eid}/resources/R/files"
    r = admin.put(f"{base}/{name}", data=b"payload")
    assert r.status_code == 400, (r.status_code, r.text[:200])
    assert "Invalid character" in r.text
    assert admin.get(f"{base}/{name}").status_code == 400
    assert rows(admin.get(base, params={"format": "json"})) == []
    assert xnat_server.store.one("SELECT 1 FROM files WHERE resource_id=?", (rid,)) is None


@pytest.mark.parametrize("xsi", ["xnat:subjectData", "xnat:projectData", "xnat:mrScanData"])
def test_experiment_put_with_a_non_experiment_type_is_refused(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session, xsi: str
) -> None:
    xnat_server.seed_subject(xnat_project, "S1")
    url = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/S1/experiments/BAD1"
    r = admin.put(url, params={"xsiType": xsi})
    assert r.status_code == 422, (r.status_code, r.text[:200])
    assert "Only xnat:Subject documents" in r.text
    assert admin.get(url, params={"format": "json"}).status_code == 404
    found = xnat_server.store.one(
        "SELECT 1 FROM experiments WHERE project=? AND label='BAD1'", (xnat_project,)
    )
    assert found is None
    # the same PUT with an experiment type works
    assert admin.put(url, params={"xsiType": "xnat:mrSessionData"}).status_code == 201


@pytest.mark.parametrize(
    ("xsi", "status", "text"),
    [
        ("xnat:mrSessionData", 400, "Only Scan documents can be PUT to this address"),
        ("xnat:subjectData", 400, "Only Scan documents can be PUT to this address"),
        ("xnat:noSuchScanData", 400, "Unknown data type"),
        ("nonsense", 400, "Unknown data type"),
    ],
)
def test_scan_put_with_a_non_scan_type_is_refused(
    xnat_server: LocalXNAT,
    xnat_project: str,
    admin: requests.Session,
    xsi: str,
    status: int,
    text: str,
) -> None:
    eid = _session(xnat_server, xnat_project)
    url = f"{xnat_server.url}/data/experiments/{eid}/scans"
    r = admin.put(f"{url}/9", params={"xsiType": xsi, "type": "T1"})
    assert r.status_code == status, (r.status_code, r.text[:200])
    assert text in r.text
    assert rows(admin.get(url, params={"format": "json"})) == []
    assert admin.put(f"{url}/9", params={"xsiType": "xnat:mrScanData"}).status_code == 200
    assert [(s["ID"], s["xsiType"]) for s in rows(admin.get(url, params={"format": "json"}))] == [
        ("9", "xnat:mrScanData")
    ]

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


@pytest.mark.parametrize("kind", ["subject", "experiment"])
def test_moving_an_object_by_a_project_field_is_a_409(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session, kind: str
) -> None:
    other = f"{xnat_project}_B"
    xnat_server.seed_project(other)
    eid = _session(xnat_server, xnat_project)
    if kind == "subject":
        url = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/S1"
        xsi, table, label = "xnat:subjectData", "subjects", "S1"
    else:
        url = f"{xnat_server.url}/data/experiments/{eid}"
        xsi, table, label = "xnat:mrSessionData", "experiments", "E1"
    r = admin.put(url, params={f"{xsi}/project": other, f"{xsi}/note": "moved?"})
    assert r.status_code == 409, (r.status_code, r.text[:200])
    assert "Project must be modified through separate URI" in r.text
    row = xnat_server.store.one(
        f"SELECT project, data FROM {table} WHERE project=? AND label=?", (xnat_project, label)
    )
    assert row is not None and "moved?" not in row["data"]
    # naming the owning project is no move: accepted
    r = admin.put(url, params={f"{xsi}/project": xnat_project, f"{xsi}/note": "kept"})
    assert r.status_code == 200, (r.status_code, r.text[:200])
    assert (
        admin.get(url, params={"format": "json"}).json()["items"][0]["data_fields"]["note"]
        == "kept"
    )


@pytest.mark.parametrize(
    ("target", "key", "bad", "good", "stored"),
    [
        ("subject", "yob", "abc", "1980", "1980"),
        (
            "subject",
            "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/yob",
            "1.5x",
            "1975",
            "1975",
        ),
        ("experiment", "date", "notadate", "03/04/2021", None),
        ("experiment", "xnat:mrSessionData/date", "2021-13-45", "2021-03-04", "2021-03-04"),
        ("experiment", "xnat:mrSessionData/age", "old", "42.5", "42.5"),
        ("scan", "xnat:mrScanData/frames", "many", "176", "176"),
    ],
)
def test_values_that_do_not_parse_as_their_type_are_a_400_and_change_nothing(
    xnat_server: LocalXNAT,
    xnat_project: str,
    admin: requests.Session,
    target: str,
    key: str,
    bad: str,
    good: str,
    stored: str | None,
) -> None:
    eid = _session(xnat_server, xnat_project)
    xnat_server.seed_scan(eid, "1", type="T1")
    url = {
        "subject": f"{xnat_server.url}/data/projects/{xnat_project}/subjects/S1",
        "experiment": f"{xnat_server.url}/data/experiments/{eid}",
        "scan": f"{xnat_server.url}/data/experiments/{eid}/scans/1",
    }[target]
    before = admin.get(url, params={"format": "json"}).json()
    r = admin.put(
        url,
        params={key: bad, "xnat:subjectData/group" if target == "subject" else "note": "changed"},
    )
    assert r.status_code == 400, (r.status_code, r.text[:200])
    # XNAT's XFTValidator wording, naming the element and the field
    assert "is not complete" in r.text and "Must Be A Valid" in r.text
    assert admin.get(url, params={"format": "json"}).json() == before
    r = admin.put(url, params={key: good})
    assert r.status_code == 200, (r.status_code, r.text[:200])
    if stored is not None:
        assert stored in admin.get(url, params={"format": "json"}).text


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (
            {"gender": "zzz"},
            "'zzz' Must Match Pre-Defined Values...(male,female,other,unknown,M,F)",
        ),
        ({"xnat:subjectData/demographics/handedness": "both hands"}, "Must Match Pre-Defined"),
        ({"xnat:subjectData/group": "g" * 256}, None),  # no maxLength facet on group
    ],
)
def test_subject_values_outside_the_schema_facets_are_a_400(
    xnat_server: LocalXNAT,
    xnat_project: str,
    admin: requests.Session,
    params: dict[str, str],
    words: str | None,
) -> None:
    url = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/FACETS"
    assert admin.put(url).status_code in (200, 201)
    before = admin.get(url, params={"format": "json"}).json()
    r = admin.put(url, params=params)
    if words is None:
        assert r.status_code == 200, (r.status_code, r.text[:300])
        return
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert words in r.text
    assert admin.get(url, params={"format": "json"}).json() == before
    # the same values in another case are accepted (XNAT compares ignoring case)
    assert admin.put(url, params={"gender": "FEMALE"}).status_code == 200


def test_experiment_value_longer_than_max_length_is_a_400(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    eid = _session(xnat_server, xnat_project)
    url = f"{xnat_server.url}/data/experiments/{eid}"
    r = admin.put(url, params={"xnat:mrSessionData/coil": "c" * 256, "note": "n" * 2500})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert "Must Be Less Than 255 Characters : Current Length (256)" in r.text
    assert "'{\"http://nrg.wustl.edu/xnat\":coil}'" in r.text
    assert r.text.count("is not complete") == 1  # 2,500 characters fit the note's limit
    r = admin.put(url, params={"xnat:mrSessionData/coil": "c" * 255})
    assert r.status_code == 200, (r.status_code, r.text[:300])

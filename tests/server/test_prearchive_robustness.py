"""Prearchive under concurrency, across restarts, and with odd labels."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xnat_sdk.testing.dicomgen import make_dicom_zip, make_study, zip_study
from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    with LocalXNAT() as xnat:
        xnat.seed_project("RB")
        yield xnat


def test_concurrent_uploads_of_one_study_get_their_own_sessions(server: LocalXNAT) -> None:
    data = make_dicom_zip(patient="CON", study_label="CON_1", instances_per_series=2)

    def upload(_: int) -> str:
        resp = requests.post(
            server.url + "/data/services/import",
            params={"project": "RB"},
            data=data,
            auth=("admin", "admin"),
        )
        assert resp.status_code == 200, resp.text
        return resp.text.strip()

    with ThreadPoolExecutor(max_workers=4) as pool:
        uris = list(pool.map(upload, range(6)))
    assert len(set(uris)) == 6
    rows = requests.get(
        server.url + "/data/prearchive/projects/RB", auth=("admin", "admin")
    ).json()["ResultSet"]["Result"]
    assert {"/data" + r["url"] for r in rows if r["name"] == "CON_1"} == set(uris)


def test_prearchive_survives_a_restart(tmp_path: Path) -> None:
    study = make_study(patient="RS", study_label="RS_1", series=[(1, "T1")], instances_per_series=2)
    with LocalXNAT(data_dir=tmp_path / "data") as first:
        first.seed_project("RP")
        resp = requests.post(
            first.url + "/data/services/import",
            params={"project": "RP"},
            data=zip_study(study),
            auth=("admin", "admin"),
        )
        uri = resp.text.strip()
    with LocalXNAT(data_dir=tmp_path / "data") as second:
        files = requests.get(
            second.url + uri + "/scans/1/resources/DICOM/files", auth=("admin", "admin")
        ).json()["ResultSet"]["Result"]
        got = {requests.get(second.url + f["URI"], auth=("admin", "admin")).content for f in files}
        assert got == {i.data for i in study.instances}
        resp = requests.post(
            second.url + "/data/services/archive", params={"src": uri}, auth=("admin", "admin")
        )
        assert resp.text == "/data/archive/projects/RP/subjects/RS/experiments/RS_1\r\n"


_PROJECTS = itertools.count(1)

labels = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N", "P", "Zs")),
    min_size=1,
    max_size=16,
).filter(lambda s: s.strip() and not any(c in s for c in "\\/"))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(subject=labels, session=labels)
def test_archive_cleans_labels(server: LocalXNAT, subject: str, session: str) -> None:
    project = f"LB{next(_PROJECTS)}"  # a fresh project per example: labels never clash
    server.seed_project(project)
    data = make_dicom_zip(patient="LBL", study_label="LBL_1", instances_per_series=1)
    resp = requests.post(
        server.url + "/data/services/import",
        params={"project": project, "subject": subject, "session": session},
        data=data,
        auth=("admin", "admin"),
    )
    assert resp.status_code == 200, resp.text
    uri = resp.text.strip()
    # invalid label characters are replaced by "_"
    clean_subject = re.sub(r"[^A-Za-z0-9_-]", "_", subject.strip())
    clean_session = re.sub(r"[^A-Za-z0-9_-]", "_", session.strip())
    prefix = f"/data/prearchive/projects/{project}/"
    assert uri.startswith(prefix) and uri.endswith("/" + clean_session)
    resp = requests.post(
        server.url + "/data/services/archive",
        params={"src": uri},
        auth=("admin", "admin"),
    )
    assert resp.status_code == 200, resp.text
    archived = resp.text.strip()
    assert archived.endswith(f"/experiments/{clean_session}")
    subject_part = archived.split("/subjects/")[1].split("/")[0]
    assert subject_part == clean_subject
    doc = requests.get(server.url + archived, params={"format": "json"}, auth=("admin", "admin"))
    assert doc.status_code == 200
    assert doc.json()["items"][0]["data_fields"]["label"] == clean_session


def test_site_rebuild_and_tag_filter(server: LocalXNAT) -> None:
    study = make_study(
        patient="TAG", study_label="TAG_1", series=[(1, "T1")], instances_per_series=1
    )
    resp = requests.post(
        server.url + "/data/services/import",
        params={"project": "RB"},
        data=zip_study(study),
        auth=("admin", "admin"),
    )
    uri = resp.text.strip()
    assert requests.put(server.url + "/data/prearchive", auth=("user", "user")).status_code == 403
    assert requests.put(server.url + "/data/prearchive", auth=("admin", "admin")).status_code == 200
    rows = requests.get(
        server.url + "/data/prearchive/projects",
        params={"tag": study.study_instance_uid},
        auth=("admin", "admin"),
    ).json()["ResultSet"]["Result"]
    assert ["/data" + r["url"] for r in rows] == [uri]
    assert rows[0]["status"] == "READY"
    resp = requests.get(
        server.url + "/data/prearchive/projects",
        params={"tag": study.study_instance_uid},
        auth=("user", "user"),
    )
    assert resp.status_code == 403

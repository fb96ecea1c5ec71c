"""xnatpy and pyxnat, unchanged, against the prearchive, import, dicomdump and search."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    with LocalXNAT() as xnat:
        xnat.seed_project("XP")
        xnat.seed_project("XQ")
        yield xnat


def test_xnatpy_prearchive_workflow(server: LocalXNAT, tmp_path: Path) -> None:
    xnat = pytest.importorskip("xnat")
    logging.getLogger("xnat").setLevel(logging.WARNING)
    archive = make_dicom_zip(
        tmp_path / "study.zip", patient="SUBJ", study_label="SESS", series=[(1, "T1"), (2, "T2")]
    )
    with xnat.connect(server.url, user="admin", password="admin", loglevel="WARNING") as session:
        prearc = session.services.import_(archive, project="XP")
        assert prearc.status == "READY" and prearc.label == "SESS" and prearc.subject == "SUBJ"
        assert [s.label for s in session.prearchive.find(project="XP", subject="SUBJ")] == ["SESS"]
        scans = prearc.scans
        assert sorted(s.series_description for s in scans.values()) == ["T1", "T2"]
        scan = scans["2"]
        assert len(scan.files) == 3
        assert scan.read_dicom().SeriesDescription == "T2"
        assert scan.dicom_dump(fields=["SeriesDescription"])[0]["value"] == "T2"
        prearc.download(tmp_path / "session.zip")
        assert len(zipfile.ZipFile(tmp_path / "session.zip").namelist()) == 6

        assert prearc.move("XQ").status_code == 200
        moved = session.prearchive.sessions(project="XQ")
        assert len(moved) == 1
        experiment = moved[0].archive(subject="SX", experiment="EX")
        assert experiment.label == "EX" and experiment.subject.label == "SX"
        assert sorted(experiment.scans.keys()) == ["1", "2"]
        assert experiment.scans["1"].type == "T1"
        assert experiment.scans["1"].dicom_dump(fields=["SeriesDescription"])[0]["value"] == "T1"
        assert session.prearchive.sessions(project="XQ") == []

        direct = session.services.import_(
            archive, project="XP", subject="S2", experiment="E2", destination="/archive"
        )
        assert direct.label == "E2"
        mr = session.classes.MrSessionData
        found = mr.query().filter(mr.project == "XP").all()
        assert [e.label for e in found] == ["E2"]
        assert "xnat:mrSessionData" in session.inspect.datatypes()
        assert "xnat:mrSessionData/LABEL" in session.inspect.datafields("xnat:mrSessionData")

        doomed = session.services.import_(archive, project="XP")
        doomed.delete()
        assert session.prearchive.sessions(project="XP") == []


def test_pyxnat_prearchive_and_search(server: LocalXNAT) -> None:
    pyxnat = pytest.importorskip("pyxnat")
    data = make_dicom_zip(
        None, patient="PYX", study_label="PYX_1", series=[(4, "FLAIR"), (6, "SWI")]
    )
    resp = requests.post(
        server.url + "/data/services/import",
        params={"project": "XP"},
        data=data,
        auth=("admin", "admin"),
    )
    assert resp.status_code == 200, resp.text
    interface = pyxnat.Interface(server=server.url, user="admin", password="admin")
    prearchive = interface.manage.prearchive
    triple = next(t for t in prearchive.get() if t[2] == "PYX_1")
    assert prearchive.status(triple) == "READY"
    assert prearchive.get_scans(triple) == ["4", "6"]
    assert prearchive.get_resources(triple, "4") == "DICOM"
    assert len(prearchive.get_files(triple, "4", "DICOM")) == 3
    prearchive.delete(prearchive.get_uri(triple))
    assert triple not in prearchive.get()

    interface.select.project("XP").subject("PS").insert()
    table = interface.select(
        "xnat:subjectData", ["xnat:subjectData/SUBJECT_LABEL", "xnat:subjectData/PROJECT"]
    ).where([("xnat:subjectData/PROJECT", "=", "XP"), "AND"])
    assert "PS" in {row["subject_label"] for row in table}


def test_prearchive_code_switches_auto_archive(server: LocalXNAT) -> None:
    admin = requests.Session()
    admin.auth = ("admin", "admin")
    url = server.url + "/data/projects/XQ/prearchive_code"
    assert admin.get(url).text == "0"
    assert admin.put(url + "/7").status_code == 400
    assert admin.put(url + "/4").status_code == 200
    assert admin.get(url).text == "4"
    data = make_dicom_zip(None, patient="AUTO", study_label="AUTO_1", instances_per_series=1)
    resp = admin.post(server.url + "/data/services/import", params={"project": "XQ"}, data=data)
    assert resp.text == "/data/archive/projects/XQ/subjects/AUTO/experiments/AUTO_1\r\n"
    assert admin.put(url + "/0").status_code == 200
    user = requests.Session()
    user.auth = ("user", "user")
    assert user.put(url + "/4").status_code == 403

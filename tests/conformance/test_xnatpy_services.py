"""xnatpy against the services: DICOM import, prearchive, archive, tokens, inspect, search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import Rest, sha256
from xnat_sdk.testing.dicomgen import make_study, zip_study
from xnat_sdk.testing.local import LocalXNAT

NewProject = Callable[..., str]


def _study_zip(tmp_path: Path, patient: str, label: str, **kw: Any) -> tuple[Any, Path]:
    study = make_study(patient=patient, study_label=label, **kw)
    path = tmp_path / f"{label}.zip"
    path.write_bytes(zip_study(study))
    return study, path


def _prearchive_rows(rest: Rest, project: str) -> list[dict[str, str]]:
    return rest.rows(f"/data/prearchive/projects/{project}")


def test_import_to_prearchive_then_archive(
    xnatpy: Any, rest: Rest, server: LocalXNAT, new_project: NewProject, tmp_path: Path
) -> None:
    XP = new_project("XSA")
    study, path = _study_zip(
        tmp_path, "PRE01", "PRE01_MR1", series=[(1, "T1w"), (4, "FLAIR")], instances_per_series=2
    )
    prearc = xnatpy.services.import_(path, project=XP, destination="/prearchive")
    assert type(prearc).__name__ == "PrearchiveSession"
    assert (prearc.project, prearc.subject, prearc.label) == (XP, "PRE01", "PRE01_MR1")
    assert prearc.status == "READY"
    rows = _prearchive_rows(rest, XP)
    assert [(r["subject"], r["name"], r["status"]) for r in rows] == [
        ("PRE01", "PRE01_MR1", "READY")
    ]
    assert "/data" + rows[0]["url"] == prearc.uri

    # the client's view of the prearchive: listing, scans, files, bytes
    assert [s.label for s in xnatpy.prearchive.sessions(XP)] == ["PRE01_MR1"]
    scans = prearc.scans
    assert sorted(scans.keys()) == ["1", "4"]
    assert scans["4"].series_description == "FLAIR"
    files = scans["4"].resources["DICOM"].files
    assert len(files) == 2
    got = files[0].download(str(tmp_path / "one.dcm"))
    assert sha256(Path(got)) in {sha256(i.data) for i in study.instances_of(4)}
    dump = scans["1"].dicom_dump(fields=["SeriesDescription"])
    assert dump[0]["value"] == "T1w"

    # archive it under new names: the experiment appears with its scans and files
    experiment = prearc.archive(subject="ARCH01", experiment="ARCH01_MR1")
    assert type(experiment).__name__ == "MrSessionData"
    assert experiment.label == "ARCH01_MR1"
    assert _prearchive_rows(rest, XP) == []
    eid = experiment.id
    data = rest.fields(f"/data/projects/{XP}/subjects/ARCH01/experiments/ARCH01_MR1")
    assert data["ID"] == eid
    scan_rows = {r["ID"]: r for r in rest.rows(f"/data/experiments/{eid}/scans")}
    assert set(scan_rows) == {"1", "4"}
    assert scan_rows["4"]["series_description"] == "FLAIR"
    assert scan_rows["4"]["xsiType"] == "xnat:mrScanData"
    experiment.clearcache()
    assert sorted(experiment.scans.keys()) == ["1", "4"]
    assert experiment.scans["4"].series_description == "FLAIR"


def test_import_directly_into_the_archive(
    xnatpy: Any, rest: Rest, new_project: NewProject, tmp_path: Path
) -> None:
    XP = new_project("XSA")
    study, path = _study_zip(
        tmp_path, "DIR01", "DIR01_CT1", modality="CT", series=[(2, "HEAD")], instances_per_series=3
    )
    experiment = xnatpy.services.import_(
        path, project=XP, subject="DIR01", experiment="DIR01_CT1", destination="/archive"
    )
    assert type(experiment).__name__ == "CtSessionData"
    uri = f"/data/projects/{XP}/subjects/DIR01/experiments/DIR01_CT1"
    assert rest.item(uri)["meta"]["xsi:type"] == "xnat:ctSessionData"
    rows = rest.rows(f"/data/experiments/{experiment.id}/scans")
    assert [(r["ID"], r["xsiType"]) for r in rows] == [("2", "xnat:ctScanData")]
    assert _prearchive_rows(rest, XP) == []
    assert len(study.instances) == 3


def test_import_data_without_destination_lands_in_prearchive(
    xnatpy: Any, rest: Rest, new_project: NewProject, tmp_path: Path
) -> None:
    XP = new_project("XSA")
    XQ = new_project("XSB")
    study = make_study(patient="MOVE01", study_label="MOVE01_MR1", instances_per_series=1)
    prearc = xnatpy.services.import_(
        data=zip_study(study), project=XP, content_type="application/zip"
    )
    assert type(prearc).__name__ == "PrearchiveSession"
    assert prearc.label == "MOVE01_MR1"

    prearc.move(XQ)
    assert [r["name"] for r in _prearchive_rows(rest, XQ)] == ["MOVE01_MR1"]
    assert all(r["name"] != "MOVE01_MR1" for r in _prearchive_rows(rest, XP))
    xnatpy.prearchive.clearcache()
    moved = xnatpy.prearchive.sessions(XQ)
    assert [s.label for s in moved] == ["MOVE01_MR1"]
    moved[0].delete()
    assert _prearchive_rows(rest, XQ) == []


def test_prearchive_download_zip_has_every_instance(
    xnatpy: Any, rest: Rest, new_project: NewProject, tmp_path: Path
) -> None:
    import zipfile

    XP = new_project("XSA")
    study = make_study(patient="ZIP01", study_label="ZIP01_MR1", instances_per_series=2)
    prearc = xnatpy.services.import_(data=zip_study(study), project=XP, destination="/prearchive")
    target = prearc.download(tmp_path / "prearc.zip")
    with zipfile.ZipFile(target) as zf:
        digests = {sha256(zf.read(n)) for n in zf.namelist() if not n.endswith("/")}
    assert {sha256(i.data) for i in study.instances} <= digests
    prearc.delete()
    assert _prearchive_rows(rest, XP) == []


def test_token_issue_and_login_with_it(
    xnatpy: Any, server: LocalXNAT, new_project: NewProject
) -> None:
    import xnat

    XP = new_project("XSA")
    token = xnatpy.services.issue_token()
    assert token.alias and token.secret and token.alias != token.secret
    with xnat.connect(
        server.url, user=token.alias, password=token.secret, loglevel="WARNING"
    ) as other:
        assert XP in other.projects
        assert other.get("/xapi/users/username").text == "admin"
    rest = Rest(server.url, auth=(token.alias, token.secret))
    assert rest.status("/data/projects", format="json") == 200
    bad = Rest(server.url, auth=(token.alias, "not-the-secret"))
    assert bad.status("/data/projects", format="json") == 401


def test_admin_issues_token_for_another_user(xnatpy: Any, server: LocalXNAT) -> None:
    token = xnatpy.services.issue_token(user="user")
    rest = Rest(server.url, auth=(token.alias, token.secret))
    resp = rest.get("/data/services/tokens/validate/" + token.alias + "/" + token.secret)
    assert resp.status_code == 200
    assert resp.json()["valid"] == "user"


def test_inspect_and_search(
    xnatpy: Any, rest: Rest, server: LocalXNAT, new_project: NewProject
) -> None:
    XP = new_project("XSA")
    other = new_project("XSB")  # its sessions must not be found
    for pid in (XP, other):
        server.seed_subject(pid, "S01")
        server.seed_session(pid, "S01", "S01_MR1")
        server.seed_session(pid, "S01", "S01_CT1", xsi_type="xnat:ctSessionData")
    server.seed_session(XP, "S01", "S01_MR2")
    datatypes = xnatpy.inspect.datatypes()
    assert {"xnat:mrSessionData", "xnat:ctSessionData", "xnat:subjectData"} <= set(datatypes)
    mr = xnatpy.classes.MrSessionData
    table = mr.query().filter(mr.project == XP).tabulate_dict()
    listed = {r["session_id"] for r in table}
    expected = {
        r["ID"]
        for r in rest.rows(f"/data/projects/{XP}/experiments")
        if r["xsiType"] == "xnat:mrSessionData"
    }
    assert expected and listed == expected


def test_import_dir_then_append_a_series(
    xnatpy: Any, rest: Rest, new_project: NewProject, tmp_path: Path
) -> None:
    import xnat.exceptions

    XP = new_project("XSA")
    from xnat_sdk.testing.dicomgen import write_dicom_folder

    write_dicom_folder(
        tmp_path / "dcm", patient="APP01", study_label="APP01_MR1", series=[(1, "A")]
    )
    experiment = xnatpy.services.import_dir(
        tmp_path / "dcm",
        project=XP,
        subject="APP01",
        experiment="APP01_MR1",
        destination="/archive",
    )
    assert [r["ID"] for r in rest.rows(f"/data/experiments/{experiment.id}/scans")] == ["1"]
    extra = make_study(patient="APP01", study_label="APP01_MR1", series=[(7, "B")])
    kwargs: dict[str, Any] = {
        "project": XP,
        "subject": "APP01",
        "experiment": "APP01_MR1",
        "destination": "/archive",
        "content_type": "application/zip",
    }
    again = xnatpy.services.import_(data=zip_study(extra), overwrite="append", **kwargs)
    assert again.id == experiment.id
    rows = rest.rows(f"/data/experiments/{experiment.id}/scans")
    assert sorted(r["ID"] for r in rows) == ["1", "7"]
    # without overwrite XNAT refuses to touch an archived session (409)
    with pytest.raises(xnat.exceptions.XNATUploadError, match="409"):
        xnatpy.services.import_(data=zip_study(extra), **kwargs)


def test_bad_credentials_are_refused(server: LocalXNAT) -> None:
    import pyxnat
    import xnat
    import xnat.exceptions

    with pytest.raises(xnat.exceptions.XNATLoginFailedError):
        xnat.connect(server.url, user="admin", password="wrong", loglevel="WARNING")
    assert Rest(server.url, auth=("admin", "wrong")).status("/data/projects") == 401
    intf = pyxnat.Interface(server=server.url, user="admin", password="wrong")
    assert intf.select.projects().get() == []  # pyxnat swallows the 401 of the listing


def test_jsession_login_and_logout(server: LocalXNAT, new_project: NewProject) -> None:
    import requests
    import xnat

    XP = new_project("XSA")
    resp = requests.post(server.url + "/data/JSESSION", auth=("admin", "admin"), timeout=30)
    assert resp.status_code == 200
    jsession = resp.text.strip()
    assert resp.cookies.get("JSESSIONID") == jsession
    with xnat.connect(server.url, jsession=jsession, loglevel="WARNING") as s:
        assert XP in s.projects
    other = xnat.connect(server.url, user="admin", password="admin", loglevel="WARNING")
    cookie = other.interface.cookies.get("JSESSIONID")
    assert cookie
    probe = server.url + "/data/projects?format=json"
    assert requests.get(probe, cookies={"JSESSIONID": cookie}, timeout=30).status_code == 200
    other.disconnect()  # DELETE /data/JSESSION ends the server-side session
    assert requests.get(probe, cookies={"JSESSIONID": cookie}, timeout=30).status_code == 401

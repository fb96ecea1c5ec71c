"""The full DICOM path over HTTP: import to the prearchive, inspect, move, archive, delete."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import pydicom
import pytest
import requests

from xnat_sdk.testing.dicomgen import make_study, zip_study
from xnat_sdk.testing.local import LocalXNAT

PREARC_URI = re.compile(r"^/data/prearchive/projects/(\w+)/(\d{8}_\d{9})/([\w-]+)$")
ROW_COLUMNS = {
    "project",
    "timestamp",
    "lastmod",
    "uploaded",
    "scan_date",
    "scan_time",
    "subject",
    "folderName",
    "name",
    "tag",
    "status",
    "url",
    "autoarchive",
    "prevent_anon",
    "prevent_auto_commit",
    "SOURCE",
    "VISIT",
    "PROTOCOL",
    "TIMEZONE",
}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    with LocalXNAT() as xnat:
        xnat.seed_project("PA")
        xnat.seed_project("PB")
        xnat.seed_project("PC", owner="admin")
        xnat.add_member("PA", "user", "member")
        yield xnat


@pytest.fixture()
def admin(server: LocalXNAT) -> requests.Session:
    s = requests.Session()
    s.auth = ("admin", "admin")
    return s


def _import(
    server: LocalXNAT, http: requests.Session, data: bytes, **params: str
) -> requests.Response:
    return http.post(
        server.url + "/data/services/import",
        params=params,
        data=data,
        headers={"Content-Type": "application/zip"},
    )


def _rows(resp: requests.Response) -> list[dict[str, str]]:
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, str]] = resp.json()["ResultSet"]["Result"]
    return rows


def test_full_dicom_path(server: LocalXNAT, admin: requests.Session) -> None:
    study = make_study(
        patient="SUBJ1",
        study_label="SESS1",
        series=[(1, "T1w"), (2, "T2w"), (5, "DWI")],
        instances_per_series=3,
    )
    url = server.url

    # import into project PA's prearchive
    resp = _import(server, admin, zip_study(study), project="PA")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/uri-list")
    assert resp.text.endswith("\r\n") and resp.text.count("\r\n") == 1
    uri = resp.text.strip()
    m = PREARC_URI.match(uri)
    assert m is not None, uri
    assert m.group(1) == "PA" and m.group(3) == "SESS1"

    # listings: all projects, the project, and the session itself
    for listing in ("/data/prearchive/projects", "/data/prearchive/projects/PA"):
        rows = [r for r in _rows(admin.get(url + listing)) if r["url"] == uri[5:]]
        assert len(rows) == 1
        row = rows[0]
        assert set(row) == ROW_COLUMNS
        assert all(isinstance(v, str) for v in row.values())
        assert row["status"] == "READY"
        assert row["subject"] == "SUBJ1" and row["name"] == "SESS1"
        assert row["tag"] == study.study_instance_uid
        assert row["scan_date"] == "2024-01-15"
        assert row["autoarchive"] == "Manual"
    resp = admin.get(url + "/data/prearchive/projects/PA")
    assert "totalRecords" not in resp.json()["ResultSet"]
    single = _rows(admin.get(url + uri, params={"format": "json"}))
    assert len(single) == 1 and single[0]["folderName"] == "SESS1"

    # the session document (XML by default)
    resp = admin.get(url + uri)
    assert resp.headers["Content-Type"].startswith("text/xml")
    assert "xnat:MRSession" in resp.text and 'ID="5"' in resp.text

    # scans, resources, files, bytes
    scans = _rows(admin.get(url + uri + "/scans"))
    assert [(s["ID"], s["xsiType"], s["series_description"]) for s in scans] == [
        ("1", "xnat:mrScanData", "T1w"),
        ("2", "xnat:mrScanData", "T2w"),
        ("5", "xnat:mrScanData", "DWI"),
    ]
    resources = _rows(admin.get(url + uri + "/scans/2/resources"))
    expected_size = sum(len(i.data) for i in study.instances_of(2))
    assert resources == [{"label": "DICOM", "file_count": "3", "file_size": str(expected_size)}]
    files = _rows(admin.get(url + uri + "/scans/2/resources/DICOM/files"))
    assert len(files) == 3
    assert all(f["URI"].startswith(uri + "/scans/2/resources/DICOM/files/") for f in files)
    got = {admin.get(url + f["URI"]).content for f in files}
    # dicomdump of one named file: its own InstanceNumber
    last = files[-1]
    dump = _rows(
        admin.get(
            url + "/data/services/dicomdump",
            params={"src": last["URI"][5:], "field": "InstanceNumber"},
        )
    )
    ds_last = pydicom.dcmread(io.BytesIO(admin.get(url + last["URI"]).content))
    assert [r["value"] for r in dump] == [str(ds_last.InstanceNumber)]
    assert got == {i.data for i in study.instances_of(2)}
    session_resources = _rows(admin.get(url + uri + "/resources"))
    assert {(r["category"], r["cat_id"], r["label"]) for r in session_resources} == {
        ("scans", "1", "DICOM"),
        ("scans", "2", "DICOM"),
        ("scans", "5", "DICOM"),
    }

    # zips of the session and of a scan
    resp = admin.get(url + uri, params={"format": "zip"})
    assert resp.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(resp.content)).namelist()
    assert len(names) == 9 and all(n.startswith("SESS1/SCANS/") for n in names)
    resp = admin.get(url + uri + "/scans/5", params={"format": "zip"})
    names = zipfile.ZipFile(io.BytesIO(resp.content)).namelist()
    assert len(names) == 3 and all(n.startswith("5/DICOM/") for n in names)
    assert admin.get(url + uri + "/scans/5").status_code == 400

    # dicomdump of the prearchive session and of one scan
    dump = _rows(
        admin.get(
            url + "/data/services/dicomdump",
            params={"src": uri[5:] + "/scans/2", "field": ["SeriesDescription", "00100010"]},
        )
    )
    assert {(r["tag1"], r["value"]) for r in dump} == {
        ("(0008,103E)", "T2w"),
        ("(0010,0010)", "SUBJ1"),
    }
    assert all(set(r) == {"tag1", "tag2", "vr", "value", "desc"} for r in dump)
    full = _rows(admin.get(url + "/data/services/dicomdump", params={"src": uri[5:]}))
    assert {
        "tag1": "(0020,0011)",
        "tag2": "",
        "vr": "IS",
        "value": "1",
        "desc": "Series Number",
    } in full

    # move to project PB (batch service)
    resp = admin.post(
        url + "/data/services/prearchive/move",
        params={"src": uri, "newProject": "PB", "format": "json"},
    )
    moved_rows = _rows(resp)
    assert moved_rows[0]["status"] == "QUEUED_MOVING"
    assert admin.get(url + uri, params={"format": "json"}).status_code == 404
    moved_uri = uri.replace("/projects/PA/", "/projects/PB/")
    moved = _rows(admin.get(url + moved_uri, params={"format": "json"}))[0]
    assert moved["project"] == "PB" and moved["status"] == "READY"
    assert len(_rows(admin.get(url + moved_uri + "/scans"))) == 3

    # archive into PB with subject/label overrides
    resp = admin.post(
        url + "/data/services/archive",
        params={"src": moved_uri, "subject": "S_ARCH", "session": "MR_ARCH"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.text == "/data/archive/projects/PB/subjects/S_ARCH/experiments/MR_ARCH\r\n"
    assert admin.get(url + moved_uri, params={"format": "json"}).status_code == 404

    # the archived session through the archive endpoints
    expt_url = url + "/data/archive/projects/PB/subjects/S_ARCH/experiments/MR_ARCH"
    doc = admin.get(expt_url, params={"format": "json"})
    assert doc.status_code == 200, doc.text
    item = doc.json()["items"][0]
    assert item["meta"]["xsi:type"] == "xnat:mrSessionData"
    assert item["data_fields"]["label"] == "MR_ARCH"
    arch_scans = _rows(admin.get(expt_url + "/scans", params={"format": "json"}))
    assert sorted((s["ID"], s["type"], s["series_description"]) for s in arch_scans) == [
        ("1", "T1w", "T1w"),
        ("2", "T2w", "T2w"),
        ("5", "DWI", "DWI"),
    ]
    arch_files = _rows(
        admin.get(expt_url + "/scans/5/resources/DICOM/files", params={"format": "json"})
    )
    assert len(arch_files) == 3
    contents = {admin.get(url + f["URI"]).content for f in arch_files}
    assert contents == {i.data for i in study.instances_of(5)}
    ds = pydicom.dcmread(io.BytesIO(next(iter(contents))))
    assert ds.SeriesDescription == "DWI"
    for f in arch_files:  # file-level dump, by the URI the listing gives
        dump = _rows(
            admin.get(
                url + "/data/services/dicomdump",
                params={"src": f["URI"], "field": "SOPInstanceUID"},
            )
        )
        sop = pydicom.dcmread(io.BytesIO(admin.get(url + f["URI"]).content)).SOPInstanceUID
        assert [r["value"] for r in dump] == [sop]

    # dicomdump of the archived scan, as xnatpy asks for it
    expt_id = item["data_fields"]["ID"]
    dump = _rows(
        admin.get(
            url + "/data/services/dicomdump",
            params={
                "src": f"/archive/projects/PB/experiments/{expt_id}/scans/1",
                "field": "0008103E",
            },
        )
    )
    assert [r["value"] for r in dump] == ["T1w"]

    # delete the archived session
    assert admin.delete(expt_url, params={"removeFiles": "true"}).status_code == 200
    assert admin.get(expt_url, params={"format": "json"}).status_code == 404


def test_archive_into_existing_label_needs_overwrite(
    server: LocalXNAT, admin: requests.Session
) -> None:
    url = server.url
    first = make_study(
        patient="DUP", study_label="DUPSESS", series=[(1, "A")], instances_per_series=2
    )
    resp = _import(server, admin, zip_study(first), project="PC", dest="/archive")
    assert resp.status_code == 200, resp.text
    archived = resp.text.strip()
    assert archived == "/data/archive/projects/PC/subjects/DUP/experiments/DUPSESS"
    scans_before = _rows(admin.get(url + archived + "/scans", params={"format": "json"}))
    assert [s["ID"] for s in scans_before] == ["1"]

    second = make_study(
        patient="DUP", study_label="DUPSESS", series=[(7, "B")], instances_per_series=2
    )
    uri = _import(server, admin, zip_study(second), project="PC").text.strip()
    resp = admin.post(url + "/data/services/archive", params={"src": uri})
    assert resp.status_code == 409
    assert "Session already exists, retry with overwrite enabled" in resp.text
    # nothing changed in the archive; the prearchive session is kept, marked CONFLICT
    scans_after = _rows(admin.get(url + archived + "/scans", params={"format": "json"}))
    assert [s["ID"] for s in scans_after] == ["1"]
    row = _rows(admin.get(url + uri, params={"format": "json"}))[0]
    assert row["status"] == "CONFLICT"

    # overwrite=append merges the new scan in
    resp = admin.post(url + "/data/services/archive", params={"src": uri, "overwrite": "append"})
    assert resp.status_code == 200, resp.text
    merged = _rows(admin.get(url + archived + "/scans", params={"format": "json"}))
    assert sorted(s["ID"] for s in merged) == ["1", "7"]


def test_prearchive_delete_rebuild_and_errors(server: LocalXNAT, admin: requests.Session) -> None:
    url = server.url
    study = make_study(patient="DEL", study_label="DELSESS", series=[(3, "X"), (4, "Y")])
    uri = _import(server, admin, zip_study(study), project="PA").text.strip()

    resp = admin.post(url + "/data/services/prearchive/rebuild", params={"src": uri})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/xml")
    assert "QUEUED_BUILDING" in resp.text
    assert _rows(admin.get(url + uri, params={"format": "json"}))[0]["status"] == "READY"

    assert admin.delete(url + uri + "/scans/4").status_code == 200
    assert [s["ID"] for s in _rows(admin.get(url + uri + "/scans"))] == ["3"]
    assert admin.delete(url + uri + "/scans/4").status_code == 404

    # unknown sources and archive URIs as src
    resp = admin.post(url + "/data/services/archive", params={"src": uri + "X"})
    assert resp.status_code == 404
    resp = admin.post(
        url + "/data/services/archive", params={"src": "/archive/projects/PA/experiments/E"}
    )
    assert resp.status_code == 400
    resp = admin.post(
        url + "/data/services/prearchive/move", params={"src": uri, "newProject": "NOPE"}
    )
    assert resp.status_code == 404

    # the non-admin member may list PA, not PB; guests/others get 403
    user = requests.Session()
    user.auth = ("user", "user")
    assert any(r["url"] == uri[5:] for r in _rows(user.get(url + "/data/prearchive/projects/PA")))
    assert user.get(url + "/data/prearchive/projects/PB").status_code == 403

    resp = admin.post(
        url + "/data/services/prearchive/delete", params={"src": uri, "format": "json"}
    )
    assert _rows(resp)[0]["status"] == "QUEUED_DELETING"
    assert admin.get(url + uri, params={"format": "json"}).status_code == 404
    assert not any(r["url"] == uri[5:] for r in _rows(admin.get(url + "/data/prearchive/projects")))

    # DELETE on the session URL
    uri2 = _import(server, admin, zip_study(study), project="PA").text.strip()
    assert admin.delete(url + uri2).status_code == 200
    assert admin.delete(url + uri2).status_code == 404


def test_unassigned_sessions_need_a_project(server: LocalXNAT, admin: requests.Session) -> None:
    url = server.url
    study = make_study(
        patient="UN", study_label="UNSESS", series=[(1, "T1")], instances_per_series=1
    )
    uri = _import(server, admin, zip_study(study)).text.strip()
    assert uri.startswith("/data/prearchive/projects/Unassigned/")
    resp = admin.post(url + "/data/services/archive", params={"src": uri})
    assert resp.status_code == 400
    assert "Unassigned" in resp.text
    resp = admin.post(url + "/data/services/archive", params={"src": uri, "project": "PB"})
    assert resp.status_code == 200, resp.text
    assert resp.text.strip() == "/data/archive/projects/PB/subjects/UN/experiments/UNSESS"


def test_session_actions_logs_and_batch_archive(server: LocalXNAT, admin: requests.Session) -> None:
    url = server.url
    a = make_study(patient="ACT", study_label="ACT_A", series=[(1, "T1")], instances_per_series=1)
    b = make_study(patient="ACT", study_label="ACT_B", series=[(1, "T1")], instances_per_series=1)
    uri_a = _import(server, admin, zip_study(a), project="PA").text.strip()
    uri_b = _import(server, admin, zip_study(b), project="PA").text.strip()

    assert admin.post(url + uri_a).status_code == 400  # no action
    resp = admin.post(url + uri_a, params={"action": "set-status", "status": "ERROR"})
    assert resp.status_code == 200 and resp.text == uri_a
    assert _rows(admin.get(url + uri_a, params={"format": "json"}))[0]["status"] == "ERROR"
    resp = admin.post(url + uri_a, data={"action": "build"})  # parameters in the form body
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/uri-list")
    assert _rows(admin.get(url + uri_a, params={"format": "json"}))[0]["status"] == "READY"
    resp = admin.post(url + uri_a, params={"action": "commit"})
    assert resp.status_code == 200 and resp.text == uri_a  # a Manual project keeps it
    log = _rows(admin.get(url + uri_a + "/logs"))
    assert [r["entry"] for r in log][-1] == "Session rebuilt."
    assert admin.get(url + uri_a + "/logs/last").text == "Session rebuilt."

    resp = admin.post(
        url + uri_b, params={"action": "move", "newProject": "PB"}, allow_redirects=False
    )
    assert resp.status_code == 301
    uri_b = uri_b.replace("/PA/", "/PB/")
    assert resp.text == uri_b

    # both sessions at once: the answer is the rows; with the project override they land in PC
    resp = admin.post(
        url + "/data/services/archive",
        params={"format": "json"},
        data={"src": [uri_a, uri_b], "project": "PC"},
    )
    assert resp.status_code == 200, resp.text
    assert {r["name"] for r in _rows(resp)} == {"ACT_A", "ACT_B"}
    for label in ("ACT_A", "ACT_B"):
        got = admin.get(
            url + f"/data/projects/PC/subjects/ACT/experiments/{label}", params={"format": "json"}
        )
        assert got.status_code == 200, got.text


def test_archive_redirect_quarantine_and_overwrite_delete(
    server: LocalXNAT, admin: requests.Session
) -> None:
    url = server.url
    first = make_study(
        patient="OVR", study_label="OVR_1", series=[(1, "T1")], instances_per_series=3
    )
    uri = _import(server, admin, zip_study(first), project="PC").text.strip()
    resp = admin.post(
        url + "/data/services/archive",
        params={"src": uri, "redirect": "true", "quarantine": "true"},
        allow_redirects=False,
    )
    assert resp.status_code == 303
    expt = "/data/archive/projects/PC/subjects/OVR/experiments/OVR_1"
    assert resp.headers["Location"] == url + expt
    assert admin.get(url + expt + "/status").text == "quarantine"

    # same scan ID, new content: overwrite=delete replaces the scan's files
    second = make_study(
        patient="OVR", study_label="OVR_1", series=[(1, "T1b")], instances_per_series=2
    )
    uri = _import(server, admin, zip_study(second), project="PC").text.strip()
    resp = admin.post(url + "/data/services/archive", params={"src": uri, "overwrite": "delete"})
    assert resp.status_code == 200, resp.text
    files = _rows(
        admin.get(url + expt + "/scans/1/resources/DICOM/files", params={"format": "json"})
    )
    assert {admin.get(url + f["URI"]).content for f in files} == {i.data for i in second.instances}

    # a member of PA may not archive into PC (403) and the session stays READY
    third = make_study(
        patient="OVR", study_label="OVR_2", series=[(1, "T1")], instances_per_series=1
    )
    uri = _import(server, admin, zip_study(third), project="PA").text.strip()
    user = requests.Session()
    user.auth = ("user", "user")
    resp = user.post(url + "/data/services/archive", params={"src": uri, "project": "PC"})
    assert resp.status_code == 403
    assert _rows(admin.get(url + uri, params={"format": "json"}))[0]["status"] == "READY"
    assert any(r["url"] == uri[5:] for r in _rows(admin.get(url + "/data/prearchive")))


def test_merging_into_another_subjects_session_is_refused(
    server: LocalXNAT, admin: requests.Session
) -> None:
    url = server.url
    study = make_study(
        patient="OWN", study_label="OWN_1", series=[(1, "T1")], instances_per_series=1
    )
    resp = _import(server, admin, zip_study(study), project="PC", dest="/archive")
    assert resp.status_code == 200, resp.text
    other = make_study(
        patient="OTHER", study_label="OWN_1", series=[(2, "T2")], instances_per_series=1
    )
    uri = _import(server, admin, zip_study(other), project="PC").text.strip()
    resp = admin.post(url + "/data/services/archive", params={"src": uri, "overwrite": "append"})
    assert resp.status_code == 409
    assert "Already Exists for another Subject" in resp.text
    scans_url = url + "/data/archive/projects/PC/subjects/OWN/experiments/OWN_1/scans"
    assert [s["ID"] for s in _rows(admin.get(scans_url, params={"format": "json"}))] == ["1"]

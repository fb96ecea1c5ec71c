"""``POST /data/services/import`` over HTTP: destinations, parameters, formats and errors."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

import pytest
import requests

from xnat_sdk.testing.dicomgen import make_dicom_zip, make_study, zip_study
from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    with LocalXNAT() as xnat:
        xnat.seed_project("IMP")
        xnat.seed_project("OTHER")
        xnat.seed_project("AUTO", fields={"prearchive_code": "4"})
        yield xnat


@pytest.fixture()
def admin() -> requests.Session:
    s = requests.Session()
    s.auth = ("admin", "admin")
    return s


def _counts(server: LocalXNAT) -> tuple[int, int, int]:
    store = server.store
    return (
        int(store.query("SELECT count(*) FROM prearchive_sessions")[0][0]),
        int(store.query("SELECT count(*) FROM experiments")[0][0]),
        int(store.query("SELECT count(*) FROM subjects")[0][0]),
    )


def _scans(admin: requests.Session, url: str) -> list[dict[str, str]]:
    resp = admin.get(url + "/scans", params={"format": "json"})
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, str]] = resp.json()["ResultSet"]["Result"]
    return sorted(rows, key=lambda r: int(r["ID"]))


def test_direct_archive_with_aliases(server: LocalXNAT, admin: requests.Session) -> None:
    data = make_dicom_zip(
        patient="HDR_SUBJ", study_label="HDR_SESS", series=[(2, "FLAIR"), (3, "SWI")]
    )
    before = _counts(server)
    resp = admin.post(
        server.url + "/data/services/import",
        params={
            "PROJECT_ID": "IMP",
            "SUBJECT_ID": "S01",
            "EXPT_LABEL": "S01_MR",
            "Direct-Archive": "true",
            "import-handler": "DICOM-zip",
        },
        data=data,
        headers={"Content-Type": "application/zip"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.text == "/data/archive/projects/IMP/subjects/S01/experiments/S01_MR\r\n"
    after = _counts(server)
    assert after == (before[0], before[1] + 1, before[2] + 1)  # nothing left in the prearchive
    scans = _scans(admin, server.url + resp.text.strip())
    assert [(s["ID"], s["type"], s["xsiType"]) for s in scans] == [
        ("2", "FLAIR", "xnat:mrScanData"),
        ("3", "SWI", "xnat:mrScanData"),
    ]


def test_archive_dest_and_tar_multipart(server: LocalXNAT, admin: requests.Session) -> None:
    study = make_study(patient="TAR", study_label="TAR_CT", modality="CT", series=[(1, "Head")])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for inst in study.instances:
            info = tarfile.TarInfo(inst.relpath)
            info.size = len(inst.data)
            tf.addfile(info, io.BytesIO(inst.data))
    resp = admin.post(
        server.url + "/data/services/import",
        params={"dest": "/archive/projects/IMP/subjects/TARSUBJ"},
        files={"file": ("upload.tar.gz", buf.getvalue(), "application/x-gzip")},
    )
    assert resp.status_code == 200, resp.text
    uri = resp.text.strip()
    assert uri == "/data/archive/projects/IMP/subjects/TARSUBJ/experiments/TAR_CT"
    doc = admin.get(server.url + uri, params={"format": "json"}).json()
    assert doc["items"][0]["meta"]["xsi:type"] == "xnat:ctSessionData"
    assert [s["xsiType"] for s in _scans(admin, server.url + uri)] == ["xnat:ctScanData"]


def test_project_from_dicom_headers_and_autoarchive(
    server: LocalXNAT, admin: requests.Session
) -> None:
    # the project named in the headers routes the session; unknown header projects do not
    data = make_dicom_zip(patient="HP", study_label="HP_1", project="OTHER")
    resp = admin.post(server.url + "/data/services/import", data=data)
    assert resp.status_code == 200, resp.text
    assert resp.text.startswith("/data/prearchive/projects/OTHER/")
    data = make_dicom_zip(patient="HP", study_label="HP_2", project="NOT_A_PROJECT")
    resp = admin.post(server.url + "/data/services/import", data=data)
    assert resp.text.startswith("/data/prearchive/projects/Unassigned/")
    # a project with prearchive code 4 archives on arrival
    data = make_dicom_zip(patient="AA", study_label="AA_1")
    resp = admin.post(server.url + "/data/services/import", params={"project": "AUTO"}, data=data)
    assert resp.status_code == 200, resp.text
    assert resp.text == "/data/archive/projects/AUTO/subjects/AA/experiments/AA_1\r\n"


def test_several_studies_give_several_uris(server: LocalXNAT, admin: requests.Session) -> None:
    a = make_study(patient="M1", study_label="MULTI_A", series=[(1, "T1")], instances_per_series=1)
    b = make_study(patient="M2", study_label="MULTI_B", series=[(1, "T1")], instances_per_series=1)
    combined = zip_study(
        type(a)(
            a.patient,
            a.study_label,
            a.study_instance_uid,
            a.modality,
            a.series,
            a.instances + b.instances,
        )
    )
    resp = admin.post(
        server.url + "/data/services/import", params={"project": "IMP"}, data=combined
    )
    assert resp.status_code == 200, resp.text
    lines = resp.text.split("\r\n")
    assert lines[-1] == "" and len(lines) == 3
    assert {line.rsplit("/", 1)[-1] for line in lines[:2]} == {"MULTI_A", "MULTI_B"}
    # the session importer cannot archive several sessions at once
    resp = admin.post(
        server.url + "/data/services/import",
        params={"project": "IMP", "dest": "/archive"},
        data=combined,
    )
    assert resp.status_code == 400
    assert "multiple imaging sessions" in resp.text


@pytest.mark.parametrize(
    ("params", "body", "status", "message"),
    [
        ({"project": "NOPE"}, "dicom", 404, "Unable to identify project NOPE"),
        ({"dest": "/archive/projects/NOPE"}, "dicom", 404, "Unable to identify project NOPE"),
        ({"project": "IMP"}, b"this is not DICOM at all", 400, "Upload did not include parsable"),
        (
            {"project": "IMP", "import-handler": "DICOM-zip"},
            "textzip",
            400,
            "Unable to parse notes.txt as DICOM",
        ),
        ({"project": "IMP", "import-handler": "nonsense"}, "dicom", 404, "Unknown importer"),
        ({"project": "IMP", "dest": "/elsewhere"}, "dicom", 400, "Parameter dest format error"),
        ({"project": "IMP"}, b"", 400, "Unable to identify upload format."),
    ],
)
def test_errors_create_nothing(
    server: LocalXNAT,
    admin: requests.Session,
    params: dict[str, str],
    body: str | bytes,
    status: int,
    message: str,
) -> None:
    if body == "dicom":
        data = make_dicom_zip(patient="ERR", study_label="ERR_1", instances_per_series=1)
    elif body == "textzip":
        buf = io.BytesIO()
        import zipfile

        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("notes.txt", "hello")
        data = buf.getvalue()
    else:
        assert isinstance(body, bytes)
        data = body
    before = _counts(server)
    resp = admin.post(server.url + "/data/services/import", params=params, data=data)
    assert resp.status_code == status, resp.text
    assert f"<h3>{message}" in resp.text
    assert _counts(server) == before


def test_multipart_with_two_files_is_refused(server: LocalXNAT, admin: requests.Session) -> None:
    data = make_dicom_zip(patient="TWO", study_label="TWO_1", instances_per_series=1)
    before = _counts(server)
    resp = admin.post(
        server.url + "/data/services/import",
        params={"project": "IMP"},
        files={"a": ("a.zip", data, "application/zip"), "b": ("b.zip", data, "application/zip")},
    )
    assert resp.status_code == 400
    assert "one uploaded resource at a time" in resp.text
    assert _counts(server) == before


def test_non_member_cannot_import(server: LocalXNAT) -> None:
    user = requests.Session()
    user.auth = ("user", "user")
    data = make_dicom_zip(patient="NM", study_label="NM_1", instances_per_series=1)
    before = _counts(server)
    resp = user.post(server.url + "/data/services/import", params={"project": "IMP"}, data=data)
    assert resp.status_code == 403
    assert _counts(server) == before
    assert requests.post(server.url + "/data/services/import", data=data).status_code == 401


def test_gradual_dicom_files_accumulate_in_one_session(
    server: LocalXNAT, admin: requests.Session
) -> None:
    study = make_study(patient="GR", study_label="GR_1", series=[(1, "T1"), (2, "T2")])
    uris = set()
    for inst in study.instances:
        resp = admin.post(
            server.url + "/data/services/import",
            params={"import-handler": "gradual-DICOM", "project": "IMP"},
            data=inst.data,
            headers={"Content-Type": "application/dicom"},
        )
        assert resp.status_code == 200, resp.text
        uris.add(resp.text.strip())
    assert len(uris) == 1
    uri = uris.pop()
    scans = admin.get(server.url + uri + "/scans").json()["ResultSet"]["Result"]
    assert sorted(s["ID"] for s in scans) == ["1", "2"]
    for scan in ("1", "2"):
        res = admin.get(server.url + uri + f"/scans/{scan}/resources").json()
        assert res["ResultSet"]["Result"][0]["file_count"] == "3"
    # the session importer opens a new session for every upload
    resp = admin.post(
        server.url + "/data/services/import",
        params={"project": "IMP"},
        data=study.instances[0].data,
    )
    assert resp.text.strip() != uri


def test_raw_body_declared_as_form_is_still_the_upload(
    server: LocalXNAT, admin: requests.Session
) -> None:
    data = make_dicom_zip(patient="CURL", study_label="CURL_1", instances_per_series=1)
    resp = admin.post(
        server.url + "/data/services/import",
        params={"project": "IMP", "format": "txt"},
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert resp.text.startswith("/data/prearchive/projects/IMP/") and not resp.text.endswith("\r\n")


def test_refresh_catalog(server: LocalXNAT, admin: requests.Session) -> None:
    from xnat_sdk.testing._areas.files.storage import resource_dir

    sid = server.seed_subject("IMP", "REF")
    eid = server.seed_session("IMP", "REF", "REF_MR")
    res = server.seed_resource("experiment", eid, "NOTES")
    server.seed_file(res, "a.txt", b"alpha")
    server.seed_file(res, "gone.txt", b"soon missing")
    folder = resource_dir(server.store, res)
    (folder / "sub").mkdir()
    (folder / "sub" / "new.txt").write_bytes(b"added by hand")
    (folder / "gone.txt").unlink()
    (folder / "a.txt").write_bytes(b"ALPHA!")
    files_url = f"{server.url}/data/experiments/{eid}/resources/NOTES/files"

    def listing() -> dict[str, str]:
        rows = admin.get(files_url, params={"format": "json"}).json()["ResultSet"]["Result"]
        return {r["URI"].split("/files/", 1)[1]: r["Size"] for r in rows}

    assert listing() == {"a.txt": "5", "gone.txt": "12"}
    refresh = server.url + "/data/services/refresh/catalog"
    uri = f"/archive/projects/IMP/subjects/{sid}/experiments/REF_MR/resources/NOTES"
    resp = admin.post(refresh, params={"resource": uri, "options": ["append", "delete"]})
    assert resp.status_code == 200, resp.text
    assert listing() == {"a.txt": "5", "sub/new.txt": "13"}
    resp = admin.post(
        refresh,
        params={"resource": f"/archive/experiments/{eid}/resources/NOTES", "options": "checksum"},
    )
    assert resp.status_code == 200, resp.text
    assert listing() == {"a.txt": "6", "sub/new.txt": "13"}
    assert admin.post(refresh, params={"resource": uri, "options": "bogus"}).status_code == 400
    assert admin.post(refresh, params={"resource": uri + "X"}).status_code == 404
    user = requests.Session()
    user.auth = ("user", "user")
    assert user.post(refresh, params={"resource": uri, "options": "append"}).status_code == 403

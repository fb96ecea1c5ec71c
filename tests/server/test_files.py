"""Resources and files: uploads, duplicates, downloads, Range, zips, digests, deletes."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import quote

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.conftest import rows
from xnat_sdk.testing.local import LocalXNAT


def _session(admin: requests.Session, url: str, project: str) -> str:
    p = f"{url}/data/projects/{project}/subjects/S1/experiments/MR1"
    assert admin.put(f"{p}?xsiType=xnat:mrSessionData").status_code == 201
    assert admin.put(f"{p}/scans/1?xsiType=xnat:mrScanData&type=T1w MPRAGE").status_code == 200
    assert admin.put(f"{p}/scans/2?xsiType=xnat:mrScanData&type=DWI").status_code == 200
    return p


def test_resource_create_and_listing(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    p = _session(admin, url, xnat_project)
    r = admin.put(f"{p}/scans/1/resources/DICOM?format=DICOM&content=RAW")
    assert (r.status_code, r.text) == (200, "")
    assert admin.put(f"{p}/scans/1/resources/DICOM").status_code == 409
    assert admin.put(f"{p}/scans/1/resources/DICOM/extra").status_code == 400
    admin.put(f"{p}/scans/1/resources/DICOM/files/a.dcm", data=b"x" * 10)
    body = admin.get(f"{p}/scans/1/resources").json()["ResultSet"]
    assert body["title"] == "Resources" and body["totalRecords"] == "1"
    (res,) = body["Result"]
    assert set(res) == {
        "xnat_abstractresource_id",
        "label",
        "element_name",
        "category",
        "cat_id",
        "cat_desc",
        "file_count",
        "file_size",
        "tags",
        "content",
        "format",
    }
    assert (res["label"], res["format"], res["content"]) == ("DICOM", "DICOM", "RAW")
    assert (res["category"], res["cat_id"], res["cat_desc"]) == ("scans", "1", "T1w MPRAGE")
    assert (res["file_count"], res["file_size"]) == ("1", "10")
    # project and subject level resources
    proj = f"{url}/data/projects/{xnat_project}"
    assert admin.put(f"{proj}/resources/DOCS").status_code == 200
    assert admin.put(f"{proj}/subjects/S1/resources/NOTES").status_code == 200
    assert [r["label"] for r in rows(admin.get(f"{proj}/resources"))] == ["DOCS"]
    assert rows(admin.get(f"{proj}/subjects/S1/resources"))[0]["cat_desc"] == " "
    # the object JSON carries resources as children
    scan = admin.get(f"{p}/scans/1?format=json").json()["items"][0]
    files = next(c for c in scan["children"] if c["field"] == "file")["items"]
    assert files[0]["data_fields"]["label"] == "DICOM"
    assert files[0]["data_fields"]["file_count"] == 1


def test_upload_raw_multipart_and_digest(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    p = _session(admin, url, xnat_project)
    data = bytes(range(256)) * 40
    r = admin.put(
        f"{p}/resources/RAW/files/sub/dir/data.bin?format=BIN&content=C&tags=t1",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert (r.status_code, r.text) == (200, "")
    r = admin.post(f"{p}/resources/MP/files", files={"upload": ("multi.txt", b"multipart!")})
    assert r.status_code == 200
    listing = admin.get(f"{p}/resources/RAW/files").json()["ResultSet"]
    assert "totalRecords" not in listing
    assert listing["title"] == "Files"
    assert listing["Columns"] == [{"key": "URI", "serverRoot": ""}]
    (f,) = listing["Result"]
    assert f["Name"] == "data.bin"
    assert f["Size"] == str(len(data))
    assert f["digest"] == hashlib.md5(data).hexdigest()
    assert (f["file_format"], f["file_content"], f["file_tags"], f["collection"]) == (
        "BIN",
        "C",
        "t1",
        "RAW",
    )
    assert f["URI"].endswith(f"/resources/{f['cat_ID']}/files/sub/dir/data.bin")
    assert admin.get(url + f["URI"]).content == data
    (located,) = rows(admin.get(f"{p}/resources/RAW/files?locator=absolutePath"))
    assert Path(located["URI"]).read_bytes() == data
    (m,) = rows(admin.get(f"{p}/resources/MP/files"))
    assert m["Name"] == "multi.txt"
    assert admin.get(url + m["URI"]).content == b"multipart!"
    empty = admin.put(f"{p}/resources/RAW/files/empty.bin", data=b"")
    assert empty.status_code == 400


def test_duplicate_upload_refused_without_overwrite(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    p = _session(admin, url, xnat_project)
    f = f"{p}/resources/R/files/one.txt"
    assert admin.put(f, data=b"first").status_code == 200
    r = admin.put(f, data=b"second")
    assert r.status_code == 200
    assert r.json() == {"duplicates": ["one.txt"]}
    assert r.headers["Content-Type"].startswith("text/html")
    assert admin.get(f).content == b"first"
    r = admin.put(f + "?overwrite=true", data=b"second")
    assert (r.status_code, r.text) == (200, "")
    assert admin.get(f).content == b"second"


def test_extract_zip_and_tgz(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    p = _session(admin, url, xnat_project)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("mr_1/1.dcm", b"one")
        z.writestr("mr_1/2.dcm", b"two")
    r = admin.put(f"{p}/resources/Z/files/mr_1.zip?extract=true", data=zbuf.getvalue())
    assert r.status_code == 200
    assert sorted(
        x["URI"].split("/files/")[1] for x in rows(admin.get(f"{p}/resources/Z/files"))
    ) == [
        "mr_1/1.dcm",
        "mr_1/2.dcm",
    ]
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz") as t:
        for name, payload in (("a/x.txt", b"xx"), ("y.txt", b"yyy")):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            t.addfile(info, io.BytesIO(payload))
    r = admin.put(f"{p}/resources/T/files/bundle.tar.gz?extract=true", data=tbuf.getvalue())
    assert r.status_code == 200
    got = {
        x["URI"].split("/files/")[1]: x["Size"] for x in rows(admin.get(f"{p}/resources/T/files"))
    }
    assert got == {"a/x.txt": "2", "y.txt": "3"}
    # extracting again without overwrite reports the duplicates
    r = admin.put(f"{p}/resources/T/files/bundle.tar.gz?extract=true", data=tbuf.getvalue())
    assert sorted(r.json()["duplicates"]) == ["a/x.txt", "y.txt"]
    # a zip-slip member is refused
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../escape.txt", b"bad")
    assert (
        admin.put(f"{p}/resources/E/files/e.zip?extract=true", data=evil.getvalue()).status_code
        == 400
    )


def test_download_range_head(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    p = _session(admin, url, xnat_project)
    data = b"0123456789" * 100
    admin.put(f"{p}/scans/1/resources/DICOM/files/f.dcm", data=data)
    f = f"{p}/scans/1/resources/DICOM/files/f.dcm"
    r = admin.get(f)
    assert r.content == data
    assert r.headers["Content-Length"] == "1000"
    assert r.headers["Content-Disposition"] == 'attachment; filename="f.dcm";'
    r = admin.get(f, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206
    assert r.content == data[100:200]
    assert r.headers["Content-Range"] == "bytes 100-199/1000"
    r = admin.get(f, headers={"Range": "bytes=990-"})
    assert r.content == data[990:]
    h = admin.head(f)
    assert (h.status_code, h.headers["Content-Length"], h.content) == (200, "1000", b"")
    assert admin.get(f"{p}/scans/1/resources/DICOM/files/missing.dcm").status_code == 404
    # by numeric resource id as well
    rid = rows(admin.get(f"{p}/scans/1/resources"))[0]["xnat_abstractresource_id"]
    assert admin.get(f"{p}/scans/1/resources/{rid}/files/f.dcm").content == data


def test_zip_layouts(xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session) -> None:
    url = xnat_server.url
    p = _session(admin, url, xnat_project)
    admin.put(f"{p}/scans/1/resources/DICOM/files/a/1.dcm", data=b"s1")
    admin.put(f"{p}/scans/2/resources/DICOM/files/2.dcm", data=b"s2")
    admin.put(f"{p}/resources/SNAP/files/s.png", data=b"png")

    def names(r: requests.Response) -> list[str]:
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
            return sorted(z.namelist())

    r = admin.get(f"{p}/scans/ALL/files?format=zip")
    assert r.headers["Content-Disposition"] == 'attachment; filename="MR1.zip";'
    assert names(r) == [
        "MR1/scans/1-T1w_MPRAGE/resources/DICOM/files/a/1.dcm",
        "MR1/scans/2-DWI/resources/DICOM/files/2.dcm",
    ]
    assert names(admin.get(f"{p}/scans/2/files?format=zip")) == [
        "MR1/scans/2-DWI/resources/DICOM/files/2.dcm"
    ]
    assert names(admin.get(f"{p}/scans/1,2/resources/DICOM/files?format=zip")) == [
        "MR1/scans/1-T1w_MPRAGE/resources/DICOM/files/a/1.dcm",
        "MR1/scans/2-DWI/resources/DICOM/files/2.dcm",
    ]
    assert names(admin.get(f"{p}/resources/SNAP/files?format=zip")) == [
        "MR1/resources/SNAP/files/s.png"
    ]
    assert names(admin.get(f"{p}/files?format=zip")) == ["MR1/resources/SNAP/files/s.png"]
    assert names(admin.get(f"{p}/scans/2/files?format=zip&structure=simplified")) == [
        "MR1/scans/2-DWI/DICOM/2.dcm"
    ]
    assert admin.put(f"{p}/assessors/QC?xsiType=xnat:qcManualAssessorData").status_code == 201
    admin.put(f"{p}/assessors/QC/out/resources/PDF/files/r.pdf", data=b"pdf")
    whole = names(admin.get(f"{p}/files?format=zip&all=true"))
    assert whole == sorted(
        [
            "MR1/resources/SNAP/files/s.png",
            "MR1/scans/1-T1w_MPRAGE/resources/DICOM/files/a/1.dcm",
            "MR1/scans/2-DWI/resources/DICOM/files/2.dcm",
            f"MR1/assessors/{rows(admin.get(f'{p}/assessors'))[0]['ID']}/out/resources/PDF/files/r.pdf",
        ]
    )
    assert admin.get(f"{p}/resources/NOPE/files?format=zip").status_code == 404
    for fmt, mode in (("tar.gz", "r:gz"), ("tar", "r:")):
        r = admin.get(f"{p}/scans/ALL/files?format={fmt}")
        assert r.status_code == 200
        with tarfile.open(fileobj=io.BytesIO(r.content), mode=mode) as t:  # type: ignore[call-overload]
            members = {m.name: t.extractfile(m).read() for m in t.getmembers()}  # type: ignore[union-attr]
        assert members == {
            "MR1/scans/1-T1w_MPRAGE/resources/DICOM/files/a/1.dcm": b"s1",
            "MR1/scans/2-DWI/resources/DICOM/files/2.dcm": b"s2",
        }


def test_delete_file_folder_resource(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    p = _session(admin, url, xnat_project)
    for name in ("sub/folder/1.txt", "sub/folder/2.txt", "sub/3.txt", "top.txt"):
        admin.put(f"{p}/resources/R/files/{name}", data=name.encode())
    assert len(rows(admin.get(f"{p}/resources/R/files/sub/"))) == 3
    assert len(rows(admin.get(f"{p}/resources/R/files/sub/?recursive=false"))) == 1
    assert admin.delete(f"{p}/resources/R/files/top.txt").status_code == 200
    assert admin.delete(f"{p}/resources/R/files/sub/folder").status_code == 200
    assert [r["Name"] for r in rows(admin.get(f"{p}/resources/R/files"))] == ["3.txt"]
    assert admin.delete(f"{p}/resources/R/files/nothing").status_code == 404
    assert admin.delete(f"{p}/resources/R").status_code == 200
    assert rows(admin.get(f"{p}/resources")) == []


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(
        alphabet=st.characters(
            categories=("L", "N", "P", "Zs"), exclude_characters="/\\", codec="utf-8"
        ),
        min_size=1,
        max_size=20,
    ).filter(lambda s: s.strip() not in ("", ".", "..") and s == s.strip())
)
def test_odd_file_names_round_trip(
    xnat_server: LocalXNAT, admin: requests.Session, name: str
) -> None:
    url = xnat_server.url
    if "ODDNAMES" not in [r["ID"] for r in rows(admin.get(f"{url}/data/projects"))]:
        xnat_server.seed_project("ODDNAMES")
    base = f"{url}/data/projects/ODDNAMES/resources/R/files/"
    payload = name.encode("utf-8") * 3
    r = admin.put(base + quote(name, safe="") + "?overwrite=true", data=payload)
    assert r.status_code == 200, (name, r.text)
    assert admin.get(base + quote(name, safe="")).content == payload
    listed = [x["Name"] for x in rows(admin.get(base))]
    assert name in listed

"""xnatpy against resources and files: create, upload (file, zip+extract, dir), download, delete."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conformance.conftest import Rest, sha256, unique
from xnat_sdk.testing.local import LocalXNAT

#: relative path -> content of the folder uploaded in several ways
TREE: dict[str, bytes] = {
    "readme.txt": b"hello xnat\n",
    "data/values.csv": b"a,b\n1,2\n" * 100,
    "data/deep/blob.bin": os.urandom(70_000),
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    for rel, data in TREE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


@pytest.fixture
def session(server: LocalXNAT, xnatpy: Any) -> Any:
    """A fresh project (its own per test) with subject F01, MR session F01_MR1, scans 1 and 2."""
    pid = unique("XFA")
    server.seed_project(pid)
    server.seed_subject(pid, "F01")
    eid = server.seed_session(pid, "F01", "F01_MR1")
    server.seed_scan(eid, "1", type="T1w")
    server.seed_scan(eid, "2", type="T2w")
    return xnatpy.create_object(f"/data/experiments/{eid}")


def _seed_resource(
    server: LocalXNAT, session: Any, label: str, files: dict[str, bytes], scan: str = ""
) -> None:
    """Put resource ``label`` with ``files`` on the session (or on one of its scans)."""
    if scan:
        row = server.store.one(
            "SELECT pk FROM scans WHERE experiment_id=? AND id=?",
            (session.id, scan),
        )
        assert row is not None
        rid = server.seed_resource("scan", row[0], label)
    else:
        rid = server.seed_resource("experiment", session.id, label)
    for rel, data in files.items():
        server.seed_file(rid, rel, data)


def _files(rest: Rest, res_uri: str) -> dict[str, dict[str, str]]:
    """File rows of a resource keyed by their path inside the resource."""
    out = {}
    for r in rest.rows(res_uri + "/files"):
        uri = r["URI"]
        out[uri.split("/files/", 1)[1]] = r
    return out


def test_create_resources_on_every_level(xnatpy: Any, rest: Rest, session: Any) -> None:
    scan = session.scans["1"]
    res = scan.create_resource("NIFTI", format="NIFTI")
    assert res.label == "NIFTI"
    rows = rest.rows(f"/data/experiments/{session.id}/scans/1/resources")
    assert [(r["label"], r["format"]) for r in rows] == [("NIFTI", "NIFTI")]
    assert rows[0]["xnat_abstractresource_id"] == str(res.id)
    session.create_resource("NOTES")
    session.subject.create_resource("SUBJ_DOCS")
    XP = session.project
    xnatpy.projects.clearcache()
    xnatpy.projects[XP].create_resource("PROTOCOL")
    assert [r["label"] for r in rest.rows(f"/data/experiments/{session.id}/resources")] == ["NOTES"]
    assert [r["label"] for r in rest.rows(f"/data/subjects/{session.subject.id}/resources")] == [
        "SUBJ_DOCS"
    ]
    assert [r["label"] for r in rest.rows(f"/data/projects/{XP}/resources")] == ["PROTOCOL"]
    scan.clearcache()
    assert list(scan.resources.keys()) == [str(res.id)]
    assert scan.resources["NIFTI"].format == "NIFTI"


def test_upload_single_file_and_download_it(
    rest: Rest, session: Any, tree: Path, tmp_path: Path
) -> None:
    res = session.scans["1"].create_resource("NIFTI", format="NIFTI")
    res.upload(tree / "data/deep/blob.bin", "image.nii")
    res.upload(tree / "readme.txt", "docs/readme.txt", file_content="doc", file_format="TXT")
    uri = f"/data/experiments/{session.id}/scans/1/resources/NIFTI"
    rows = _files(rest, uri)
    assert set(rows) == {"image.nii", "docs/readme.txt"}
    assert rows["image.nii"]["Size"] == str(len(TREE["data/deep/blob.bin"]))
    assert rows["docs/readme.txt"]["file_content"] == "doc"
    assert rows["docs/readme.txt"]["file_format"] == "TXT"
    assert sha256(rest.content(uri + "/files/image.nii")) == sha256(TREE["data/deep/blob.bin"])

    # xnatpy lists the files and downloads them (checking the digest the listing gives)
    assert sorted(res.files.keys()) == ["docs/readme.txt", "image.nii"]
    target = tmp_path / "image.nii"
    res.files["image.nii"].download(target, verbose=False)
    assert sha256(target) == sha256(TREE["data/deep/blob.bin"])
    with res.files["docs/readme.txt"].open() as fh:
        assert fh.read() == TREE["readme.txt"]
    assert res.file_count == 2
    assert res.file_size == len(TREE["data/deep/blob.bin"]) + len(TREE["readme.txt"])


def test_upload_data_and_overwrite(rest: Rest, session: Any) -> None:
    res = session.create_resource("NOTES")
    res.upload_data(b"version 1", "note.txt")
    uri = f"/data/experiments/{session.id}/resources/NOTES/files/note.txt"
    assert rest.content(uri) == b"version 1"
    res.upload_data(b"version 2, longer", "note.txt", overwrite=True)
    assert rest.content(uri) == b"version 2, longer"
    # without overwrite XNAT answers 200 (listing the duplicate) and keeps the file as it was
    res.upload_data(b"version 3", "note.txt")
    assert rest.content(uri) == b"version 2, longer"


def test_upload_zip_with_extract(rest: Rest, session: Any, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in TREE.items():
            zf.writestr(rel, data)
    zpath = tmp_path / "bundle.zip"
    zpath.write_bytes(buf.getvalue())
    res = session.scans["2"].create_resource("ZIPPED")
    res.upload(zpath, "bundle.zip", extract=True)
    uri = f"/data/experiments/{session.id}/scans/2/resources/ZIPPED"
    rows = _files(rest, uri)
    assert set(rows) == set(TREE)
    for rel, data in TREE.items():
        assert sha256(rest.content(f"{uri}/files/{rel}")) == sha256(data)


@pytest.mark.parametrize("method", ["tgz_file", "per_file", "tar_memory"])
def test_upload_dir(rest: Rest, session: Any, tree: Path, method: str) -> None:
    label = f"DIR_{method.upper()}"
    res = session.create_resource(label)
    res.upload_dir(tree, method=method)
    uri = f"/data/experiments/{session.id}/resources/{label}"
    rows = _files(rest, uri)
    assert set(rows) == set(TREE)
    for rel, data in TREE.items():
        assert sha256(rest.content(f"{uri}/files/{rel}")) == sha256(data)


def test_resource_download_zip_and_dir(server: LocalXNAT, session: Any, tmp_path: Path) -> None:
    _seed_resource(server, session, "DIR_TGZ_FILE", TREE)
    res = session.resources["DIR_TGZ_FILE"]
    zpath = tmp_path / "res.zip"
    res.download(zpath, verbose=False)
    with zipfile.ZipFile(zpath) as zf:
        by_rel = {
            n.split("/files/", 1)[1]: sha256(zf.read(n))
            for n in zf.namelist()
            if not n.endswith("/")
        }
    assert by_rel == {rel: sha256(data) for rel, data in TREE.items()}

    # (the path xnatpy returns is ambiguous for nested folders; XNAT's zip layout is not)
    res.download_dir(tmp_path / "dl", verbose=False)
    out = tmp_path / "dl" / "F01_MR1" / "resources" / "DIR_TGZ_FILE" / "files"
    for rel, data in TREE.items():
        assert sha256(out / rel) == sha256(data), rel


def test_experiment_download_dir(server: LocalXNAT, session: Any, tmp_path: Path) -> None:
    _seed_resource(server, session, "NIFTI", {"image.nii": TREE["data/deep/blob.bin"]}, scan="1")
    _seed_resource(server, session, "ZIPPED", TREE, scan="2")
    session.download_dir(tmp_path, verbose=False)
    scan_dir = tmp_path / "F01_MR1" / "scans" / "1-T1w" / "resources" / "NIFTI" / "files"
    assert sha256(scan_dir / "image.nii") == sha256(TREE["data/deep/blob.bin"])
    zipped = tmp_path / "F01_MR1" / "scans" / "2-T2w" / "resources" / "ZIPPED" / "files"
    for rel, data in TREE.items():
        assert sha256(zipped / rel) == sha256(data)
    zpath = tmp_path / "session.zip"
    session.download(zpath, verbose=False)
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
    assert "F01_MR1/scans/1-T1w/resources/NIFTI/files/image.nii" in names


def test_delete_file_and_resource(server: LocalXNAT, rest: Rest, session: Any) -> None:
    _seed_resource(server, session, "DIR_PER_FILE", TREE)
    _seed_resource(server, session, "KEEP", {"k.txt": b"k"})
    res = session.resources["DIR_PER_FILE"]
    res.files["readme.txt"].delete()
    uri = f"/data/experiments/{session.id}/resources/DIR_PER_FILE"
    assert set(_files(rest, uri)) == set(TREE) - {"readme.txt"}
    assert rest.status(uri + "/files/readme.txt") == 404
    res.delete()
    labels = [r["label"] for r in rest.rows(f"/data/experiments/{session.id}/resources")]
    assert labels == ["KEEP"]


def test_archived_dicom_bytes_match_the_import(
    xnatpy: Any, rest: Rest, server: LocalXNAT, tmp_path: Path
) -> None:
    from xnat_sdk.testing.dicomgen import make_study, zip_study

    XP = unique("XFA")
    server.seed_project(XP)
    study = make_study(patient="F02", study_label="F02_MR1", series=[(3, "DWI")])
    experiment = xnatpy.services.import_(
        data=zip_study(study),
        project=XP,
        subject="F02",
        experiment="F02_MR1",
        destination="/archive",
        content_type="application/zip",
    )
    dicom = experiment.scans["3"].resources["DICOM"]
    assert len(dicom.files) == len(study.instances_of(3))
    out = Path(dicom.download_dir(tmp_path, verbose=False))
    got = sorted(sha256(p) for p in out.rglob("*") if p.is_file())
    assert got == sorted(sha256(i.data) for i in study.instances_of(3))
    rows = rest.rows(f"/data/experiments/{experiment.id}/scans/3/resources")
    assert rows[0]["label"] == "DICOM" and rows[0]["file_count"] == str(len(got))


_NAME_CHARS = st.characters(
    whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" -_.+()~äöüéß"
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    folder=st.text(_NAME_CHARS, min_size=1, max_size=12).filter(lambda s: s.strip(" .") == s),
    name=st.text(_NAME_CHARS, min_size=1, max_size=16).filter(lambda s: s.strip(" .") == s),
    data=st.binary(min_size=1, max_size=2048),  # XNAT refuses empty bodies (400)
)
def test_file_names_round_trip_through_both_clients(
    session: Any, pyx: Any, rest: Rest, folder: str, name: str, data: bytes
) -> None:
    """What xnatpy uploads under an odd name, pyxnat and plain HTTP read back byte for byte."""
    remote = f"{folder}/{name}"
    # one session for every example: overwrite=True replaces what an earlier example left
    res = session.resources.get("NOTES") or session.create_resource("NOTES")
    res.upload_data(data, remote, overwrite=True)
    listed = {r["URI"].split("/files/", 1)[1]: r for r in rest.rows(res.uri + "/files")}
    assert listed[remote]["Name"] == name and listed[remote]["Size"] == str(len(data))
    pfile = pyx.select(
        f"/projects/{session.project}/subjects/F01/experiments/F01_MR1/resources/NOTES"
    )
    with tempfile.TemporaryDirectory() as tmp:
        got = pfile.file(remote).get(str(Path(tmp) / "copy"))
        assert Path(got).read_bytes() == data
    assert res.files[remote].open().read() == data

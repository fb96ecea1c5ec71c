"""pyxnat against resources and files: create, file put/get, put_dir/put_zip, resource get."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import Rest, sha256, unique
from xnat_sdk.testing.local import LocalXNAT

TREE: dict[str, bytes] = {
    "top.txt": b"top level\n",
    "sub/one.csv": b"x,y\n" * 500,
    "sub/deeper/two.bin": os.urandom(50_000),
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ptree") / "payload"
    for rel, data in TREE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


@pytest.fixture
def experiment(server: LocalXNAT, pyx: Any) -> Any:
    """A fresh project (its own per test) with PF01/PF01_MR1 and scans 1 (T1w) and 2 (T2w)."""
    pid = unique("PFA")
    server.seed_project(pid)
    server.seed_subject(pid, "PF01")
    eid = server.seed_session(pid, "PF01", "PF01_MR1")
    server.seed_scan(eid, "1", type="T1w")
    server.seed_scan(eid, "2", type="T2w")
    return pyx.select.project(pid).subject("PF01").experiment("PF01_MR1")


def _seed_resource(server: LocalXNAT, experiment: Any, label: str, files: dict[str, bytes]) -> None:
    """Put resource ``label`` holding ``files`` on the experiment."""
    rid = server.seed_resource("experiment", experiment.id(), label)
    for rel, data in files.items():
        server.seed_file(rid, rel, data)


def _files(rest: Rest, res_uri: str) -> dict[str, dict[str, str]]:
    return {r["URI"].split("/files/", 1)[1]: r for r in rest.rows(res_uri + "/files")}


def test_resource_create_and_list(pyx: Any, rest: Rest, experiment: Any) -> None:
    res = experiment.scan("1").resource("DICOM")
    assert not res.exists()
    res.create(format="DICOM")
    assert res.exists()
    rows = rest.rows(f"/data/experiments/{experiment.id()}/scans/1/resources")
    assert [r["label"] for r in rows] == ["DICOM"]
    assert res.id() == rows[0]["xnat_abstractresource_id"]
    # pyxnat lists resources by xnat_abstractresource_id
    assert experiment.scan("1").resources().get() == [res.id()]
    assert res.label() == "DICOM"


def test_file_put_get_and_attributes(
    rest: Rest, experiment: Any, tree: Path, tmp_path: Path
) -> None:
    res = experiment.scan("1").resource("DICOM")
    res.create(format="DICOM")
    f = res.file("image.bin")
    f.put(str(tree / "sub/deeper/two.bin"), format="BIN", content="RAW", tags="t1")
    assert f.exists()
    uri = f"/data/experiments/{experiment.id()}/scans/1/resources/DICOM"
    rows = _files(rest, uri)
    assert rows["image.bin"]["Size"] == str(len(TREE["sub/deeper/two.bin"]))
    assert rows["image.bin"]["file_format"] == "BIN"
    assert rows["image.bin"]["file_content"] == "RAW"
    assert sha256(rest.content(uri + "/files/image.bin")) == sha256(TREE["sub/deeper/two.bin"])
    # pyxnat reads the attributes from the listing and downloads the bytes
    assert f.size() == str(len(TREE["sub/deeper/two.bin"]))
    assert f.format() == "BIN" and f.content() == "RAW"
    dest = f.get(str(tmp_path / "copy.bin"))
    assert sha256(Path(dest)) == sha256(TREE["sub/deeper/two.bin"])
    # content given as a string, not a path
    res.file("notes/readme.txt").put("plain text body")
    assert rest.content(uri + "/files/notes/readme.txt") == b"plain text body"
    # pyxnat names files by the listing's Name column: the file name without folders
    assert sorted(res.files().get()) == ["image.bin", "readme.txt"]


def test_file_overwrite(rest: Rest, experiment: Any) -> None:
    res = experiment.resource("NOTES")
    res.file("n.txt").put("one")
    res.file("n.txt").put("two!", overwrite=True)
    uri = f"/data/experiments/{experiment.id()}/resources/NOTES/files/n.txt"
    assert rest.content(uri) == b"two!"


def test_put_dir_and_resource_get(rest: Rest, experiment: Any, tree: Path, tmp_path: Path) -> None:
    res = experiment.resource("TREE")
    res.put_dir(str(tree))
    uri = f"/data/experiments/{experiment.id()}/resources/TREE"
    rows = _files(rest, uri)
    # pyxnat zips the folder's content and asks the server to extract it
    assert set(rows) == set(TREE)
    for rel, data in TREE.items():
        assert sha256(rest.content(f"{uri}/files/{rel}")) == sha256(data)

    members = res.get(str(tmp_path), extract=True)
    got = {Path(m).relative_to(tmp_path / "TREE").as_posix(): sha256(Path(m)) for m in members}
    assert got == {rel: sha256(data) for rel, data in TREE.items()}


def test_put_zip_without_extract(rest: Rest, experiment: Any, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel, data in TREE.items():
            zf.writestr(rel, data)
    zpath = tmp_path / "bundle.zip"
    zpath.write_bytes(buf.getvalue())
    res = experiment.resource("ZIPKEPT")
    res.put_zip(str(zpath), extract=False)
    uri = f"/data/experiments/{experiment.id()}/resources/ZIPKEPT"
    assert set(_files(rest, uri)) == {"bundle.zip"}
    assert "1 files" in repr(res)  # pyxnat's repr reads file_count from the resource listing
    assert sha256(rest.content(uri + "/files/bundle.zip")) == sha256(buf.getvalue())
    res2 = experiment.resource("ZIPOPEN")
    res2.put_zip(str(zpath), extract=True)
    rows = _files(rest, f"/data/experiments/{experiment.id()}/resources/ZIPOPEN")
    assert set(rows) == set(TREE)


def test_scans_download_by_type(
    server: LocalXNAT, rest: Rest, experiment: Any, tmp_path: Path
) -> None:
    scan1 = server.store.one(
        "SELECT pk FROM scans WHERE experiment_id=? AND id='1'", (experiment.id(),)
    )
    assert scan1 is not None
    rid = server.seed_resource("scan", scan1[0], "DICOM")
    server.seed_file(rid, "image.bin", TREE["sub/deeper/two.bin"])
    server.seed_file(rid, "notes/readme.txt", b"plain text body")
    experiment.scan("2").resource("EXTRA").file("t2.txt").put("t2 only")
    zpath = experiment.scans().download(str(tmp_path), type="T1w")
    with zipfile.ZipFile(zpath) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        blobs = {n.rsplit("/", 1)[-1]: sha256(zf.read(n)) for n in names}
    assert all("/scans/1-T1w/resources/DICOM/files/" in n for n in names), names
    assert blobs["image.bin"] == sha256(TREE["sub/deeper/two.bin"])
    assert "t2.txt" not in blobs
    (tmp_path / "all").mkdir()
    files = experiment.scans().download(str(tmp_path / "all"), type="ALL", extract=True)
    assert {Path(f).name for f in files} >= {"image.bin", "readme.txt", "t2.txt"}


def test_delete_file_and_resource(server: LocalXNAT, rest: Rest, experiment: Any) -> None:
    _seed_resource(server, experiment, "ZIPOPEN", TREE)
    _seed_resource(server, experiment, "ZIPKEPT", {"bundle.zip": b"PK"})
    res = experiment.resource("ZIPOPEN")
    res.file("top.txt").delete()
    uri = f"/data/experiments/{experiment.id()}/resources/ZIPOPEN"
    assert set(_files(rest, uri)) == set(TREE) - {"top.txt"}
    res.delete()
    assert not res.exists()
    labels = [r["label"] for r in rest.rows(f"/data/experiments/{experiment.id()}/resources")]
    assert "ZIPOPEN" not in labels and "ZIPKEPT" in labels

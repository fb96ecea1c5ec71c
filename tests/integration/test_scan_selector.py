"""A scan's files whatever its ID (over HTTP against the local server). XNAT reads the scan
of every file and resource route (``{scan}/files``, ``{scan}/resources[/{R}/files...]``)
as a selector (``XNATTemplate``): the scans of that ID *and those of that type*, a
comma-separated list, ``ALL``. ``scan.files``, ``scan.resources``, ``download_dir``,
``download`` and ``download_files`` gave the files of other scans (scan ``1`` and a scan
whose type is ``1``; ``a,b``; ``ALL``), and an ID with ``%`` was sent unescaped."""

from __future__ import annotations

import itertools
import zipfile
from pathlib import Path

import pytest
import requests

from xnat_sdk.models import MrSessionData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

_counter = itertools.count(1)

# (scan ID, type): each scan's ID is another's ID or type, a list of others, a selector
_SCANS = [
    ("1", "T1"),
    ("3", "1"),
    ("a", "TA"),
    ("b", "TB"),
    ("a,b", "TAB"),
    ("%41", "TP"),
    ("A", "TC"),
    ("x+y", "TX"),
    ("A B", "TS"),
    ("ALL", "TALL"),
    ("NULL", ""),
]


def _payload(scan: str) -> bytes:
    return f"the file of scan {scan}".encode() * 3


def _seed(server: LocalXNAT) -> str:
    """A project with one session holding :data:`_SCANS`, each with ``DICOM/{n}.dcm``."""
    project = f"SEL{next(_counter)}"
    server.seed_project(project)
    server.seed_subject(project, "S")
    eid = server.seed_session(project, "S", "E")
    for n, (scan, kind) in enumerate(_SCANS):
        resource = server.seed_resource("scan", server.seed_scan(eid, scan, type=kind), "DICOM")
        server.seed_file(resource, f"{n}.dcm", _payload(scan))
    return project


@pytest.fixture
def project(server: LocalXNAT) -> str:
    return _seed(server)


def _files_below(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("n", range(len(_SCANS)), ids=[s for s, _ in _SCANS])
def test_a_scans_files_are_its_own_whatever_its_id(
    session: XNATSession, project: str, tmp_path: Path, n: int
) -> None:
    scan_id, kind = _SCANS[n]
    experiment = session.projects[project].subjects["S"].experiments["E", MrSessionData]
    scan = experiment.scans[scan_id]
    assert list(scan.files.keys()) == [f"DICOM/{n}.dcm"]
    assert scan.files[f"DICOM/{n}.dcm"].open().read() == _payload(scan_id)
    assert [r.label for r in scan.resources.values()] == ["DICOM"]
    assert list(scan.resources["DICOM"].files.keys()) == [f"{n}.dcm"]
    folder = f"E/scans/{scan_id}-{kind}" if kind else f"E/scans/{scan_id}"
    got = scan.download_dir(tmp_path / "d", verbose=False)
    assert got == tmp_path / "d" / folder
    assert _files_below(tmp_path / "d") == {
        f"{folder}/resources/DICOM/files/{n}.dcm": _payload(scan_id)
    }
    with zipfile.ZipFile(scan.download(tmp_path / "s.zip", verbose=False)) as archive:
        assert archive.namelist() == [f"{folder}/resources/DICOM/files/{n}.dcm"]


def test_download_files_gets_every_scan_of_odd_ids(
    session: XNATSession, project: str, tmp_path: Path
) -> None:
    """The file of scan ``a,b`` was asked for at ``scans/a,b/resources/{id}/files/...``,
    which names scans ``a`` and ``b``: it is asked for under ``scans/ALL``."""
    report = session.projects[project].download_files(tmp_path, verbose=False)
    assert not report.failed and len(report.downloaded) == len(_SCANS)
    for n, (scan, kind) in enumerate(_SCANS):
        folder = f"{scan}-{kind}" if kind else scan
        path = tmp_path / project / "S" / "E" / "scans" / folder / "resources" / "DICOM"
        assert (path / "files" / f"{n}.dcm").read_bytes() == _payload(scan)


def test_the_server_reads_the_scan_of_file_routes_as_xnat_does(
    xnat_server: LocalXNAT, project: str
) -> None:
    """``XNATTemplate``: ID or type, comma lists, ``ALL``; a file is found only among the
    resources of the scans selected (scan ``a,b`` cannot be named: 404, as in XNAT)."""
    base = f"{xnat_server.url}/data/projects/{project}/subjects/S/experiments/E/scans"
    with requests.Session() as http:
        http.auth = ("admin", "admin")

        def names(path: str) -> list[str]:
            answer = http.get(f"{base}/{path}", params={"format": "json"})
            assert answer.status_code == 200, answer.text[:200]
            found = answer.json()["ResultSet"]["Result"]
            return sorted(r.get("Name") or r["cat_id"] for r in found)

        assert names("1/files") == ["0.dcm", "1.dcm"]  # scan 1 and scan 3 of type "1"
        assert names("1/resources/DICOM/files") == ["0.dcm", "1.dcm"]
        assert names("1/resources") == ["1", "3"]  # their cat_id
        assert names("a,b/resources/DICOM/files") == ["2.dcm", "3.dcm"]
        assert names("NULL/files") == [f"{len(_SCANS) - 1}.dcm"]
        rows = http.get(f"{base}/a,b/files", params={"format": "json"}).json()
        uri = next(r["URI"] for r in rows["ResultSet"]["Result"] if r["Name"] == "2.dcm")
        assert http.get(f"{xnat_server.url}{uri}").content == _payload("a")
        own = next(
            r["URI"]
            for r in http.get(f"{base}/ALL/files", params={"format": "json"}).json()["ResultSet"][
                "Result"
            ]
            if r["Name"] == "4.dcm"
        )
        assert "/scans/a,b/" in own
        assert http.get(f"{xnat_server.url}{own}").status_code == 404
        assert http.get(f"{xnat_server.url}{own.replace('/a,b/', '/ALL/')}").content == (
            _payload("a,b")
        )

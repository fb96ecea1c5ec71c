"""The archive-scale features on data shared between projects, for a non-admin user."""

from __future__ import annotations

import itertools
from pathlib import Path

import requests

import xnat_sdk
from xnat_sdk.testing.local import LocalXNAT

_logins = itertools.count(1)


def _shared_from_a_closed_project(server: LocalXNAT, stem: str) -> tuple[str, str]:
    """A session of project ``{stem}_C`` shared (without its subject) into ``{stem}_O``
    under ``SESS_O``, for a new user who reads only ``{stem}_O``; (project, login)."""
    closed, open_ = f"{stem}_C", f"{stem}_O"
    server.seed_project(closed)
    server.seed_project(open_)
    login = f"sharing{next(_logins)}"
    server.add_user(login, "pw")
    server.add_member(open_, login, "collaborator")
    server.seed_subject(closed, "SUBJ")
    session = server.seed_session(closed, "SUBJ", "SESS")
    scan = server.seed_scan(session, "1", type="T1")
    server.seed_file(server.seed_resource("scan", scan, "DICOM"), "a.dcm", b"abc")
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        url = f"{server.url}/data/projects/{closed}/experiments/SESS/projects/{open_}"
        assert admin.put(url, params={"label": "SESS_O"}).status_code == 200
    return open_, login


def test_download_files_of_a_session_shared_from_a_closed_project(
    server: LocalXNAT, xnat_project: str, tmp_path: Path
) -> None:
    """Its files are read by the session's accession ID, which a reader of the sharing
    project may read (XNAT: read access through ``sharing/share/project``)."""
    project, login = _shared_from_a_closed_project(server, xnat_project)
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        sessions = list(session.projects[project].experiments.values())
        assert [s.label for s in sessions] == ["SESS_O"]
        report = session.download_files(sessions, tmp_path, verbose=False)
    assert not report.failed
    got = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    assert got == [f"{project}/SESS_O/scans/1-T1/resources/DICOM/files/a.dcm"]

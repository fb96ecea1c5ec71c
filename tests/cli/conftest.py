"""Fixtures of the command-line tests: ``xnat-sdk`` run as a subprocess against one local
XNAT server per module, with a seeded project and no user netrc."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cli_helpers import FILES, Cli, Seeded

from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalXNAT]:
    """One local XNAT server for the module."""
    with LocalXNAT(data_dir=tmp_path_factory.mktemp("xnat")) as local:
        yield local


@pytest.fixture(scope="module")
def seeded(server: LocalXNAT) -> Seeded:
    """Project CLIP: subjects S1 (session E1, scans 1 T1 and 2 T2) and S2 (E2, scan 1 T1);
    scan 1 of E1 and of E2 hold :data:`FILES` in resource DICOM."""
    server.seed_project("CLIP", name="CLI project")
    data = Seeded("CLIP", {})
    for subject, label, scans in (("S1", "E1", ("T1", "T2")), ("S2", "E2", ("T1",))):
        server.seed_subject("CLIP", subject)
        eid = server.seed_session("CLIP", subject, label, fields={"date": "2024-03-01"})
        data.sessions[label] = eid
        for number, kind in enumerate(scans, start=1):
            server.seed_scan(eid, str(number), type=kind)
        pk = server.store.one("SELECT pk FROM scans WHERE experiment_id=? AND id=?", (eid, "1"))
        assert pk is not None
        resource = server.seed_resource("scan", int(pk[0]), "DICOM", format="DICOM")
        for path, payload in FILES.items():
            server.seed_file(resource, path, payload)
    return data


@pytest.fixture
def cli(server: LocalXNAT, tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(server, home)


@pytest.fixture
def rest(server: LocalXNAT) -> Iterator[requests.Session]:
    """Plain REST calls as admin (to read the server's state back)."""
    with requests.Session() as session:
        session.auth = ("admin", "admin")
        yield session

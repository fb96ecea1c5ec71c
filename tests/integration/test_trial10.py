"""A new user's trial of the day's features (search of parts, shares, date/number filters,
downloads, uploads, the local server): the defects it found, each over HTTP."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import RequestLog
from xnat_sdk.errors import XNATFileExistsError, XNATValidationError
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

# -- date and number listing filters ----------------------------------------------------------


def test_date_and_number_filters_xnat_cannot_read_are_refused_before_sending(
    server: LocalXNAT, xnat_project: str, session: XNATSession, log: RequestLog
) -> None:
    """A date filter XNAT cannot parse ('2024', an open range, a wildcard) failed XNAT's
    query (an empty 200: 'the body is not JSON'; or a 500), as did a number filter with a
    wildcard or a word; a number on a subject's part (yob) was not known as a number."""
    p = xnat_project
    server.seed_subject(p, "S1", fields={"yob": "1970"})
    server.seed_subject(p, "S2", fields={"yob": "1990"})
    server.seed_session(p, "S1", "A", fields={"date": "2024-01-05"})
    experiments, subjects = session.projects[p].experiments, session.projects[p].subjects
    before = len(log)
    for bad in ("2024", "2024-01-05..", "2024-01-0*", "2024-13-01", "2024-01-05T10:00"):
        with pytest.raises(XNATValidationError, match="a filter on a date field takes") as info:
            experiments.filter(date=bad)
        assert info.value.field == "date" and repr(bad) in str(info.value)
    for bad in ("abc", "19*", "-5"):
        with pytest.raises(XNATValidationError, match="a filter on a number field takes"):
            subjects.filter(yob=bad)
    assert len(log) == before  # nothing was sent
    assert [s.label for s in subjects.filter(yob="1960..1980")] == ["S1"]  # as dates take ..
    assert [s.label for s in subjects.filter(yob="1980-1995")] == ["S2"]


def test_insert_date_filter_is_sent_as_a_date(
    server: LocalXNAT, xnat_project: str, session: XNATSession
) -> None:
    """The guide names ``insert_date`` a date field: it was sent as given (an ISO range), a
    query XNAT fails (500)."""
    p = xnat_project
    server.seed_subject(p, "S1")
    server.seed_session(p, "S1", "A")
    found = session.experiments.filter(project=p, insert_date="2000-01-01..2999-12-31")
    assert [e.label for e in found] == ["A"]
    assert [s.label for s in session.projects[p].subjects.filter(insert_date="2000-01-01")] == []
    # a project's (XNAT ignores these filters: matched here, as a date) and a scan's (read
    # from the session's document, which holds no insert_date: every scan was left out)
    projects = session.projects.filter(insert_date="2000-01-01..2999-12-31")
    assert p in list(projects.keys())
    experiment = session.projects[p].experiments["A"]
    server.seed_scan(experiment.id, "1", type="T1")
    assert experiment.data["label"] == "A"  # its document is loaded
    scans = experiment.scans.filter(insert_date="2000-01-01..2999-12-31", type="T1")
    assert [scan.id for scan in scans] == ["1"]


# -- download_dir of a project with a shared session -------------------------------------------


def _shared_beside_own(server: LocalXNAT, project: str, share_label: str | None) -> str:
    """Subject S1 of ``{project}_SRC`` shared into ``project``, with its session E1 shared
    in (``share_label``) beside a session E1 of ``project``'s own; returns the source."""
    source = f"{project}_SRC"
    server.seed_project(source)
    subject = server.seed_subject(source, "S1")
    query = f"?label={share_label}" if share_label else ""
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        base = f"{server.url}/data/projects/{source}"
        assert admin.put(f"{base}/subjects/S1/projects/{project}?label=S1").ok
        for owner in (source, project):
            eid = server.seed_session(owner, subject, "E1")
            scan = server.seed_scan(eid, "1", type="T1")
            resource = server.seed_resource("scan", scan, "DICOM")
            server.seed_file(resource, "a.dcm", f"E1 of {owner}".encode())
        assert admin.put(f"{base}/experiments/E1/projects/{project}{query}").ok
    return source


def _dcm(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.dcm")}


def test_download_dir_keeps_a_shared_session_beside_the_own_one_of_its_primary_label(
    server: LocalXNAT, xnat_project: str, session: XNATSession, tmp_path: Path
) -> None:
    """XNAT's zip names a session's folder by its primary label: a session shared in as
    E1_B went into the folder of the project's own E1, one over the other (a project's and
    a subject's download_dir, and download's zip, kept one of the two, silently). It goes
    under its label here, as download_files puts it."""
    p = xnat_project
    source = _shared_beside_own(server, p, "E1_B")
    files = "scans/1-T1/resources/DICOM/files/a.dcm"
    expected = {
        f"S1/E1/{files}": f"E1 of {p}".encode(),
        f"S1/E1_B/{files}": f"E1 of {source}".encode(),
    }
    project = session.projects[p]
    assert _dcm(project.download_dir(tmp_path / "dd", verbose=False, workers=1)) == expected
    subject = project.subjects["S1"].download_dir(tmp_path / "sd", verbose=False)
    assert _dcm(subject) == {k[3:]: v for k, v in expected.items()}
    with zipfile.ZipFile(project.download(tmp_path / "p.zip", verbose=False)) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".dcm"))
    assert names == [f"{p}/{k}" for k in sorted(expected)]
    shared = project.experiments["E1_B"].download_dir(tmp_path / "one", verbose=False)
    assert shared == tmp_path / "one/E1_B" and _dcm(shared) == {files: f"E1 of {source}".encode()}


def test_download_dir_refuses_two_sessions_of_one_label_before_writing(
    server: LocalXNAT, xnat_project: str, session: XNATSession, tmp_path: Path
) -> None:
    """A session shared without a label shows its primary one, which the project's own
    session has too: both would be unpacked into one folder; refused before any download."""
    _shared_beside_own(server, xnat_project, None)
    with pytest.raises(XNATFileExistsError, match="would both be unpacked into") as info:
        session.projects[xnat_project].download_dir(tmp_path, verbose=False)
    assert "label the share" in str(info.value)
    assert _dcm(tmp_path) == {}


# -- search in a project the user does not read -----------------------------------------------


def test_in_project_of_a_project_the_user_does_not_read_binds_where_they_read(
    server: LocalXNAT, xnat_project: str
) -> None:
    """A session of a closed project shared into P2 and P3, read by a member of P3 only:
    ``in_project("P2")`` finds it (XNAT searches what the user reads) and bound it under P2,
    where that user gets 404; it is bound under P3, as a search without ``in_project``."""
    import xnat_sdk
    from xnat_sdk.models import MrSessionData

    p = xnat_project
    server.add_user(f"{p}_r", "pw")
    server.seed_project(f"{p}_2")
    server.seed_project(f"{p}_3")
    server.add_member(f"{p}_3", f"{p}_r")
    server.seed_subject(p, "S")
    server.seed_scan(server.seed_session(p, "S", "E"), "1", type="T1")
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        for other in (f"{p}_2", f"{p}_3"):
            url = f"{server.url}/data/projects/{p}/experiments/E/projects/{other}?label=E_{other}"
            assert admin.put(url).ok
    with xnat_sdk.connect(server.url, user=f"{p}_r", password="pw") as reader:
        (found,) = reader.query(MrSessionData).in_project(f"{p}_2").objects()
        assert (found.uri.split("/")[3], found.label) == (f"{p}_3", f"E_{p}_3")
        assert [s.type for s in found.scans.values()] == ["T1"]  # readable there
        (found,) = reader.query(MrSessionData).in_project(f"{p}_3").objects()
        assert (found.uri.split("/")[3], found.label) == (f"{p}_3", f"E_{p}_3")

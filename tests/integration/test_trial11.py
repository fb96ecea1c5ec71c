"""A new user's trial, switching from xnatpy (scripts, typed chains, the command line, bad
input): the defects it found, each over HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import xnat_sdk
from xnat_sdk.bulk import sync_session
from xnat_sdk.errors import (
    XNATAuthError,
    XNATFileExistsError,
    XNATIncompleteDownloadError,
    XNATKeyError,
    XNATNotFoundError,
    XNATValueError,
)
from xnat_sdk.models import ImageSessionData, MrSessionData
from xnat_sdk.prearchive import PrearchiveSession
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT

# -- connecting --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/xnat", "/xnat/", "/nothing-here"])
def test_a_login_answered_404_says_the_server_url_is_wrong(server: LocalXNAT, path: str) -> None:
    """A server URL with a path XNAT does not live under (``https://host/xnat`` where XNAT
    is at the root, the most common first mistake) said only the servlet container's "The
    server has not found anything matching the request URI": nothing named the URL."""
    url = server.url + path
    with pytest.raises(XNATNotFoundError) as info:
        xnat_sdk.connect(url, user="admin", password="admin")
    base = url.rstrip("/")
    assert info.value.hint.startswith(f"no XNAT answers at {base}: check the server URL")
    assert info.value.status == 404 and info.value.url == f"{base}/data/JSESSION"
    assert "a path such as /xnat" in str(info.value)


# -- downloads into a folder that has the files already -----------------------------------------


def test_bulk_download_with_overwrite_false_keeps_a_local_file_that_differs(
    server: LocalXNAT, session: XNATSession, xnat_project: str, tmp_path: Path
) -> None:
    """``download_files``/``sync_session`` replaced a local file of another MD5 whatever the
    caller wanted (the command line's download had no way to keep an edited file):
    ``overwrite=False`` keeps it, reports it (``kept``, ``failed``) and fetches the rest."""
    server.seed_subject(xnat_project, "S")
    eid = server.seed_session(xnat_project, "S", "E")
    resource = server.seed_resource("scan", server.seed_scan(eid, "1", type="T1"), "DICOM")
    for name in ("1.dcm", "2.dcm"):
        server.seed_file(resource, name, name.encode() * 100)
    experiment = session.experiments[eid]
    assert isinstance(experiment, ImageSessionData)
    report = sync_session(experiment, tmp_path, overwrite=False)
    assert len(report.downloaded) == 2
    files = tmp_path / "E/scans/1-T1/resources/DICOM/files"
    (files / "1.dcm").write_bytes(b"edited here")
    (files / "2.dcm").unlink()
    with pytest.raises(XNATIncompleteDownloadError, match=r"1 local file\(s\) differ") as info:
        sync_session(experiment, tmp_path, overwrite=False)
    kept = info.value.report
    assert [uri.rsplit("/", 1)[-1] for uri in kept.kept] == ["1.dcm"]
    assert isinstance(kept.errors[kept.kept[0]], XNATFileExistsError)
    assert (files / "1.dcm").read_bytes() == b"edited here"  # kept
    assert (files / "2.dcm").read_bytes() == b"2.dcm" * 100  # the missing one came
    again = session.projects[xnat_project].download_files(tmp_path / "p", verbose=False)
    assert len(again.downloaded) == 2  # overwrite=True (the default) as before: a sync
    report = sync_session(experiment, tmp_path)
    assert [uri.rsplit("/", 1)[-1] for uri in report.replaced] == ["1.dcm"]
    assert (files / "1.dcm").read_bytes() == b"1.dcm" * 100


def test_a_401_without_a_login_says_how_to_give_one(server: LocalXNAT) -> None:
    """With no user given (none in the environment or netrc) the login goes on as guest,
    and the first call on a site that requires a login said only "401: Authentication
    required.": nothing said that no credentials were found, nor where to put them."""
    with xnat_sdk.connect(server.url) as session, pytest.raises(XNATAuthError) as info:
        session.projects.keys()
    assert info.value.status == 401
    assert info.value.hint.startswith("this session has no login: no user was given")
    with (
        xnat_sdk.connect(server.url, user="admin", password="admin") as session,
        pytest.raises(XNATAuthError) as info,  # a refused login of its own: no such hint
    ):
        session.get("/data/JSESSION", headers={"Authorization": "Basic eDp5"})
    assert "no login" not in str(info.value)


# -- the prearchive ----------------------------------------------------------------------------


def test_a_prearchive_file_downloads_into_a_folder_as_an_archive_file_does(
    session: XNATSession, xnat_project: str, tmp_path: Path
) -> None:
    """``archived_file.download(folder)`` puts the file in the folder under its name, but a
    prearchive file's said "is a folder; give a file name" (a script checking a session
    before archiving it met that first). Typed, the archived session is an image session."""
    study = make_dicom_zip(patient="PRE1", series=[(1, "T1")])
    waiting = session.services.import_(study, project=xnat_project, destination="/prearchive")
    assert isinstance(waiting, PrearchiveSession)
    first = waiting.scans["1"].files[0]
    got = first.download(tmp_path)
    assert got == tmp_path / first.name and got.stat().st_size == first.size
    archived = waiting.archive(subject="PRE1", experiment="PRE1_MR1")
    assert isinstance(archived, ImageSessionData) and archived.label == "PRE1_MR1"
    assert [scan.id for scan in archived.scans.values()] == ["1"]


def test_a_project_hidden_from_the_user_is_named_as_such(
    server: LocalXNAT, xnat_project: str
) -> None:
    """XNAT lists only the projects a user may read: ``projects["P"]`` of a private project
    said "no project ... (0 entries ...)" to a user who knows it exists."""
    with (
        xnat_sdk.connect(server.url, user="user", password="user") as session,
        pytest.raises(XNATKeyError) as info,
    ):
        session.projects[xnat_project]
    assert str(info.value).endswith("; XNAT lists only the projects this user may read")


@pytest.mark.parametrize("bad", [-1, 0, "30", (1,), (5, None), float("nan")])
def test_a_timeout_that_is_no_number_of_seconds_is_refused_before_sending(
    server: LocalXNAT, session: XNATSession, bad: object
) -> None:
    """``connect(default_timeout=-1)`` raised urllib3's bare ValueError ("the timeout cannot
    be set to a value less than or equal to 0"), ``"30"`` "could not convert string to
    float", ``(5, None)`` a TypeError: now an XNATValueError naming the timeout."""
    with pytest.raises(XNATValueError, match="a timeout is a number of seconds > 0"):
        xnat_sdk.connect(server.url, user="admin", password="admin", default_timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(XNATValueError, match=re.escape(f"got {bad!r}")):
        session.get("/data/projects", timeout=bad)  # type: ignore[arg-type]


# -- writes --------------------------------------------------------------------------------------


def test_del_of_a_field_clears_it_on_the_server(
    server: LocalXNAT, session: XNATSession, xnat_project: str
) -> None:
    """``del experiment.note`` dropped the value read, here only: the next read said None
    while the server kept the note. It clears the field there now, as ``= None`` does."""
    server.seed_subject(xnat_project, "S")
    server.seed_session(xnat_project, "S", "E", fields={"note": "kept?"})
    experiment = session.projects[xnat_project].subjects["S"].experiments["E", MrSessionData]
    assert experiment.note == "kept?"
    del experiment.note
    session.clearcache()
    assert experiment.note is None
    assert session.get_json(f"{experiment.uri}?format=json")["items"][0]["data_fields"].get(
        "note"
    ) in (None, "")
    with pytest.raises(AttributeError):
        del experiment.no_such_field

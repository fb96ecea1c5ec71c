"""Bad input to the public API: a typed exception naming the problem, no request, no data lost."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xnat_sdk
from xnat_sdk.errors import (
    XNATBadRequestError,
    XNATConflictError,
    XNATValidationError,
    XNATValueError,
)
from xnat_sdk.models import MrSessionData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded


_labels = itertools.count(1)


def _resources(server: LocalXNAT, experiment_id: str) -> list[str]:
    rows = server.store.query(
        "SELECT label FROM resources WHERE parent_kind='experiment' AND parent_id=?",
        (experiment_id,),
    )
    return sorted(r["label"] for r in rows)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    remote=st.one_of(
        st.sampled_from(["../../x", "../X", "./a.txt", "a/../../b", "dir/./f", "..", "a/.."]),
        st.lists(st.sampled_from(["..", ".", "ok", "d"]), min_size=1, max_size=4)
        .filter(lambda parts: ".." in parts or "." in parts)
        .map("/".join),
    )
)
def test_dot_segments_in_a_remote_path_are_refused_before_any_request(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog, remote: str
) -> None:
    """HTTP libraries fold ``..`` away: ``files/../../x`` would PUT a new *resource* ``x``."""
    eid = seeded.sessions["E1"]
    label = f"UP{next(_labels)}"
    resource = session.experiments[eid].resources.create(label)
    log.clear()
    with pytest.raises(XNATValueError, match=r"'\.' or '\.\.' segments"):
        resource.upload(b"payload", remote)
    assert len(log) == 0
    labels = _resources(server, eid)
    assert label in labels and all(r.startswith("UP") for r in labels), labels
    stored = server.store.one(
        "SELECT 1 FROM files f JOIN resources r ON r.id = f.resource_id"
        " WHERE r.parent_id=? AND r.label=?",
        (eid, label),
    )
    assert stored is None


def test_nul_in_a_remote_path_is_refused(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog
) -> None:
    resource = session.experiments[seeded.sessions["E1"]].resources.create("NUL")
    log.clear()
    with pytest.raises(XNATValueError, match="NUL"):
        resource.upload(b"payload", "a\x00b.txt")
    assert len(log) == 0
    # names that only look odd still work, stored as given
    resource.upload(b"dots", "..hidden/a..b.txt")
    assert sorted(resource.files.keys()) == ["..hidden/a..b.txt"]


@pytest.mark.parametrize(
    "path", ["/data/projects/../projects", "/data/./projects", "/data/projects/%00"]
)
def test_raw_paths_with_dot_segments_or_nul_are_refused(
    session: XNATSession, log: RequestLog, path: str
) -> None:
    log.clear()
    with pytest.raises(XNATValueError, match="REST path cannot contain"):
        session.get_json(path)
    assert len(log) == 0


@pytest.mark.parametrize("url", ["ftp://example.org", "file:///etc", "ws://127.0.0.1:1"])
def test_connect_refuses_a_non_http_url(url: str) -> None:
    with pytest.raises(XNATValueError, match="http:// or https://"):
        xnat_sdk.connect(url, user="admin", password="admin")


def test_setting_the_project_field_is_a_conflict_not_a_silent_no_op(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    other = f"{seeded.project}_B"
    server.seed_project(other)
    subject = session.projects[seeded.project].subjects["S1"]
    with pytest.raises(XNATConflictError, match="Project must be modified through separate URI"):
        subject.set("project", other)
    experiment = session.experiments[seeded.sessions["E1"]]
    with pytest.raises(XNATConflictError, match="Project must be modified through separate URI"):
        experiment.set("project", other)
    owners = server.store.query(
        "SELECT project FROM subjects WHERE id=? UNION ALL SELECT project FROM experiments"
        " WHERE id=?",
        (seeded.subjects["S1"], seeded.sessions["E1"]),
    )
    assert [r["project"] for r in owners] == [seeded.project, seeded.project]


@pytest.mark.parametrize(
    "content_type", [5, "zip", "application/zip\r\nX-Injected: 1", "", "application/"]
)
def test_import_refuses_a_malformed_content_type_before_sending(
    session: XNATSession, xnat_project: str, log: RequestLog, content_type: object
) -> None:
    data = make_dicom_zip(None, patient="P_CT", study_label="CT_MR", project=xnat_project)
    log.clear()
    with pytest.raises(XNATValidationError, match="content_type"):
        session.services.import_(data, project=xnat_project, content_type=content_type)  # type: ignore[arg-type]
    assert len(log) == 0
    made = session.services.import_(
        data, project=xnat_project, content_type="application/zip", destination="/archive"
    )
    assert isinstance(made, MrSessionData) and made.label == "CT_MR"


def test_missing_password_without_a_terminal_is_a_value_error(
    server: LocalXNAT, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("XNAT_PASS", "XNATPY_PASS", "XNAT_USER", "XNATPY_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-such-netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))

    def no_terminal(prompt: str = "") -> str:
        raise EOFError  # what getpass raises when stdin is closed and there is no tty

    monkeypatch.setattr("getpass.getpass", no_terminal)
    with pytest.raises(XNATValueError, match="no password for user 'admin'"):
        xnat_sdk.connect(server.url, user="admin")


def test_a_password_is_never_read_from_standard_input(server: LocalXNAT, tmp_path: Path) -> None:
    """Without a terminal, getpass would read the password from standard input (the data
    of a pipe, here the right password): the SDK refuses and leaves the data unread."""
    script = (
        "import sys, xnat_sdk\n"
        "try:\n"
        "    xnat_sdk.connect(sys.argv[1], user='admin').disconnect()\n"
        "    print('logged in')\n"
        "except xnat_sdk.XNATNoPasswordError as exc:\n"
        "    print(type(exc).__name__, exc.user, repr(sys.stdin.read()))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XNAT", "NETRC"))}
    env.update(HOME=str(tmp_path), NETRC=str(tmp_path / "none"))
    done = subprocess.run(
        [sys.executable, "-c", script, server.url],
        input="admin\ndata of the pipe\n",
        capture_output=True,
        text=True,
        env=env,
        start_new_session=True,  # no controlling terminal
        timeout=60,
    )
    assert done.stdout.strip() == "XNATNoPasswordError admin 'admin\\ndata of the pipe\\n'"
    assert "Password" not in done.stderr


def test_filter_on_a_column_the_listing_lacks_is_refused_not_ignored(
    session: XNATSession, seeded: Seeded
) -> None:
    subjects = session.projects[seeded.project].subjects
    with pytest.raises(XNATValidationError, match="no column 'lable'") as info:
        list(subjects.filter(lable="S1"))  # a typo used to return every subject
    assert info.value.field == "lable" and "label" in str(info.value)
    with pytest.raises(XNATValidationError, match="no column 'lable'"):
        list(session.subjects.filter(lable="S*"))
    assert [s.label for s in subjects.filter(label="S1")] == ["S1"]
    assert {s.label for s in session.subjects.filter(label="S*")} >= {"S1", "S2"}


@pytest.mark.parametrize(
    "destination",
    [
        "/archive/projects/{p}/../OTHER",
        "/archive/projects/{p}/subjects/a b",
        "/archive/projects/{p}/subjects/S/experiments/ü",
        "/prearchive/projects/{p}/..",
        "/archive/projects/{p}//subjects/S",
    ],
)
def test_import_destination_parts_are_checked_before_sending(
    session: XNATSession, xnat_project: str, log: RequestLog, destination: str
) -> None:
    data = make_dicom_zip(None, patient="P_DEST", study_label="DEST_MR", project=xnat_project)
    log.clear()
    with pytest.raises(XNATValidationError, match="destination"):
        session.services.import_(data, destination=destination.format(p=xnat_project))
    assert len(log) == 0
    made = session.services.import_(
        data, destination=f"/archive/projects/{xnat_project}/subjects/S_OK/experiments/E_OK"
    )
    assert isinstance(made, MrSessionData) and made.label == "E_OK"


def test_text_longer_than_the_schema_allows_is_refused_before_any_request(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    experiment = session.experiments[seeded.sessions["E1"]]
    assert isinstance(experiment, MrSessionData)
    assert experiment.coil is None
    log.clear()
    with pytest.raises(XNATValidationError, match=r"coil.*256 characters long.*at most 255"):
        experiment.coil = "c" * 256
    assert len(log) == 0
    experiment.coil = "c" * 255  # the limit itself is fine, and lands on the server
    experiment.clearcache()
    assert experiment.coil == "c" * 255


def test_server_refusal_in_xnat_words_reaches_the_caller(
    session: XNATSession, seeded: Seeded
) -> None:
    """A raw write the client does not check: the server's 400 text names the field."""
    experiment = session.experiments[seeded.sessions["E1"]]
    with pytest.raises(XNATBadRequestError, match="Must Be Less Than 255 Characters"):
        session.put(experiment.uri, query={"xnat:mrSessionData/coil": "c" * 300})

"""``session.services``: alias tokens and DICOM dumps of archive data; ``session.users``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import xnat_sdk
from xnat_sdk.errors import (
    XNATAuthError,
    XNATForbiddenError,
    XNATKeyError,
    XNATNotFoundError,
    XNATValidationError,
)
from xnat_sdk.models import MrSessionData
from xnat_sdk.services import DicomDumpRow, TokenResult
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT
from xnat_sdk.users import User, Users


@pytest.fixture
def user_session(server: LocalXNAT) -> Iterator[XNATSession]:
    with xnat_sdk.connect(server.url, user="user", password="user") as connection:
        yield connection


@pytest.fixture
def archived(session: XNATSession, xnat_project: str) -> MrSessionData:
    data = make_dicom_zip(
        None,
        patient="DUMP_SUBJ",
        study_label="DUMP_MR",
        project=xnat_project,
        series=[(1, "SURVEY"), (6, "T2W_TSE")],
        instances_per_series=1,
    )
    made = session.services.import_(data, destination="/archive", project=xnat_project)
    assert isinstance(made, MrSessionData)
    return made


# -- tokens ------------------------------------------------------------------------------------


def test_issued_token_logs_in(server: LocalXNAT, session: XNATSession) -> None:
    token = session.services.issue_token()
    assert isinstance(token, TokenResult)
    assert re.fullmatch(r"[0-9a-f-]{36}", token.alias)
    assert len(token.secret) >= 32 and token.secret != "admin"
    with pytest.raises(AttributeError):
        token.alias = "other"  # type: ignore[misc]
    with xnat_sdk.connect(server.url, user=token.alias, password=token.secret) as by_token:
        assert by_token.logged_in_user == "admin"
        assert by_token.services.issue_token().alias != token.alias
    with pytest.raises(XNATAuthError):
        xnat_sdk.connect(server.url, user=token.alias, password=token.secret[::-1])


def test_admin_issues_a_token_for_another_user(server: LocalXNAT, session: XNATSession) -> None:
    token = session.services.issue_token(user="user")
    with xnat_sdk.connect(server.url, user=token.alias, password=token.secret) as by_token:
        assert by_token.logged_in_user == "user"


def test_invalidated_token_no_longer_logs_in(server: LocalXNAT, session: XNATSession) -> None:
    token = session.services.issue_token()
    kept = session.services.issue_token()
    session.services.invalidate_token(token)
    with pytest.raises(XNATAuthError):
        xnat_sdk.connect(server.url, user=token.alias, password=token.secret)
    with xnat_sdk.connect(server.url, user=kept.alias, password=kept.secret) as by_token:
        assert by_token.logged_in_user == "admin"
    with pytest.raises(XNATNotFoundError):
        session.services.invalidate_token(TokenResult(str(uuid.uuid4()), "x" * 32))
    with pytest.raises(XNATValidationError):
        session.services.invalidate_token(TokenResult("../x", "y"))


def test_token_refusals(session: XNATSession, user_session: XNATSession) -> None:
    with pytest.raises(XNATForbiddenError):
        user_session.services.issue_token(user="admin")
    with pytest.raises(XNATNotFoundError, match="nobody"):
        session.services.issue_token(user="nobody")
    with pytest.raises(XNATValidationError):
        session.services.issue_token(user="../admin")


# -- dicom dump of archive data -----------------------------------------------------------------


def test_scan_dicom_dump(session: XNATSession, xnat_project: str, archived: MrSessionData) -> None:
    scans = session.projects[xnat_project].experiments[archived.label or ""].scans
    rows = scans["6"].dicom_dump(fields=["SeriesDescription", "00200011"])
    assert all(isinstance(row, DicomDumpRow) for row in rows)
    assert {row.tag: row.value for row in rows} == {
        (0x0008, 0x103E): "T2W_TSE",
        (0x0020, 0x0011): "6",
    }
    everything = scans["1"].dicom_dump()
    assert {r.tag1 for r in everything} >= {"(0008,0060)", "(0010,0010)", "(0020,000D)"}
    assert next(r.value for r in everything if r.tag1 == "(0010,0010)") == "DUMP_SUBJ"


def test_dicom_dump_sources(
    session: XNATSession, xnat_project: str, archived: MrSessionData
) -> None:
    by_object = session.services.dicom_dump(archived, fields=["PatientName"])
    by_uri = session.services.dicom_dump(
        f"/archive/projects/{xnat_project}/experiments/{archived.id}", fields=["PatientName"]
    )
    by_data_uri = session.services.dicom_dump(
        f"{session.server}/data/archive/projects/{xnat_project}/experiments/{archived.id}/scans/6",
        fields=["PatientName"],
    )
    assert by_object == by_uri == by_data_uri
    assert [r.value for r in by_object] == ["DUMP_SUBJ"]
    # a scan reached through the site-wide experiment path still finds its project
    top = session.create_object(f"/data/experiments/{archived.id}")
    assert isinstance(top, MrSessionData)
    assert [r.value for r in top.scans["1"].dicom_dump(fields=["SeriesDescription"])] == ["SURVEY"]


def test_dicom_dump_refusals(session: XNATSession, xnat_project: str) -> None:
    with pytest.raises(XNATNotFoundError, match="NOPE"):
        session.services.dicom_dump(f"/archive/projects/{xnat_project}/experiments/NOPE")
    with pytest.raises(XNATValidationError, match="src"):
        session.services.dicom_dump("")
    with pytest.raises(XNATValidationError, match="fields"):
        session.services.dicom_dump("/archive/experiments/X", fields="PatientName")  # type: ignore[arg-type]
    project = session.projects[xnat_project]
    with pytest.raises(XNATValidationError, match="not an experiment"):
        session.services.dicom_dump(project)


# -- users --------------------------------------------------------------------------------------


def test_users_mapping(session: XNATSession, server: LocalXNAT) -> None:
    server.add_user("svc_alice", "pw", admin=False)
    users = session.users
    assert isinstance(users, Users)
    assert users is session.users
    session.clearcache()
    assert {"admin", "user", "svc_alice"} <= set(users)
    admin = users["admin"]
    assert isinstance(admin, User)
    assert (admin.login, admin.email, admin.first_name, admin.last_name) == (
        "admin", "admin@example.com", "Admin", "Admin"
    )  # fmt: skip
    assert admin.id == 1 and admin.enabled is True
    assert admin.full_name == "Admin Admin"
    assert len({u.id for u in users.values()}) == len(users)
    with pytest.raises(XNATKeyError, match="svc_bob"):
        users["svc_bob"]
    with pytest.raises(KeyError):
        users["svc_bob"]
    server.add_user("svc_bob", "pw")
    session.clearcache()
    assert users["svc_bob"].login == "svc_bob"


def test_users_as_a_regular_user(user_session: XNATSession) -> None:
    # restrictUserListAccessToAdmins is off by default (as in XNAT): a non-admin lists users
    users = user_session.users
    assert users["user"].email == "user@example.com"
    assert users["admin"].login == "admin"


def test_users_as_a_regular_user_on_a_restricted_site(tmp_path: Path) -> None:
    # restrictUserListAccessToAdmins on: a non-admin gets 403, read as no users (as xnatpy
    # does), and a lookup names the login it could not find and the refusal
    with (
        LocalXNAT(data_dir=tmp_path, restrict_user_list=True) as server,
        xnat_sdk.connect(server.url, user="user", password="user") as session,
    ):
        users = session.users
        assert len(users) == 0
        with pytest.raises(XNATKeyError, match="refuses /data/users to this user"):
            users["admin"]

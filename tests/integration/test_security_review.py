"""Where credentials could escape, and where data could land outside the target: the
findings of a security review, each over HTTP against the local server."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING

import pytest

import xnat_sdk
from xnat_sdk.errors import XNATValueError
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import Seeded

LOGIN, PASSWORD = "sec_review", "pw:S3cr#t/x"


@pytest.fixture(scope="module")
def reviewer(server: LocalXNAT) -> str:
    server.add_user(LOGIN, PASSWORD, admin=True)
    return LOGIN


def test_user_info_in_the_server_url_logs_in_and_leaves_the_url(
    server: LocalXNAT, reviewer: str, seeded: Seeded
) -> None:
    quoted = "pw%3AS3cr%23t%2Fx"
    url = server.url.replace("http://", f"http://{reviewer}:{quoted}@") + "/"
    with xnat_sdk.connect(url) as session:
        assert session.logged_in_user == reviewer
        assert session.server == server.url
        project = session.projects[seeded.project]
        for shown in (repr(session), str(session.server), repr(project)):
            assert quoted not in shown and "pw:" not in shown
        blob = pickle.dumps(project)
        assert quoted.encode() not in blob and PASSWORD.encode() not in blob


def test_a_bad_scheme_with_user_info_is_refused_without_the_password() -> None:
    with pytest.raises(XNATValueError) as caught:
        xnat_sdk.connect("ftp://someone:hunter2@example.org")
    assert "hunter2" not in str(caught.value)

"""Where credentials could escape, and where data could land outside the target: the
findings of a security review, each over HTTP against the local server."""

from __future__ import annotations

import json
import logging
import pickle
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import xnat_sdk
from xnat_sdk.errors import (
    XNATAuthError,
    XNATConnectionError,
    XNATNotFoundError,
    XNATUnsafeArchiveError,
    XNATValueError,
)
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded

    from xnat_sdk.session import XNATSession

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


def test_the_map_log_is_not_written_through_a_link_planted_beside_it(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"  # a folder others can write to, as /tmp is
    shared.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    logfile = shared / "run.json"
    (shared / ".run.json.part").symlink_to(victim)
    result = session.projects[seeded.project].map(lambda s: s.label, "subject", logfile=logfile)
    assert sorted(result.values()) == ["S1", "S2"]
    assert victim.read_text() == "keep me"
    assert len(json.loads(logfile.read_text())) == 2
    assert sorted(p.name for p in shared.iterdir()) == [".run.json.part", "run.json"]


def _linked_out(target: Path, name: str, tmp_path: Path) -> Path:
    outside = tmp_path / f"outside-{name}"
    outside.mkdir()
    target.mkdir(exist_ok=True)
    (target / name).symlink_to(outside, target_is_directory=True)
    return outside


def test_download_files_refuses_a_linked_folder_leading_outside_the_target(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    server.seed_file(server.seed_resource("scan", _scan_id(server, seeded), "DICOM"), "a.dcm", b"x")
    project = session.projects[seeded.project]
    target = tmp_path / "target"
    outside = _linked_out(target, f"Project {seeded.project}", tmp_path)  # its folder: name
    with pytest.raises(XNATUnsafeArchiveError, match="outside the target folder"):
        project.download_files(target, verbose=False)
    other = tmp_path / "other"
    elsewhere = _linked_out(other, seeded.project, tmp_path)  # by project ID, then label
    with pytest.raises(XNATUnsafeArchiveError):
        session.download_files([project.experiments["E1"]], other, verbose=False)
    assert list(outside.rglob("*")) == list(elsewhere.rglob("*")) == []


def test_sync_session_refuses_a_linked_session_folder(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    from xnat_sdk.bulk import sync_session

    server.seed_file(server.seed_resource("scan", _scan_id(server, seeded), "DICOM"), "a.dcm", b"x")
    target = tmp_path / "target"
    outside = _linked_out(target, "E1", tmp_path)
    with pytest.raises(XNATUnsafeArchiveError):
        sync_session(session.projects[seeded.project].experiments["E1"], target)
    assert list(outside.rglob("*")) == []


def _scan_id(server: LocalXNAT, seeded: Seeded) -> int:
    """A new scan 9 of E1 (its database ID, for a resource of it)."""
    return server.seed_scan(seeded.sessions["E1"], "9", type="T9")


def _enabled_tokens(server: LocalXNAT, login: str) -> int:
    rows = server.store.query(
        "SELECT COUNT(*) AS n FROM alias_tokens WHERE login = ? AND enabled", (login,)
    )
    return int(rows[0]["n"])


def test_a_token_issue_whose_answer_was_lost_is_not_sent_again(
    server: LocalXNAT, reviewer: str
) -> None:
    with xnat_sdk.connect(server.url, user=reviewer, password=PASSWORD) as session:
        before = _enabled_tokens(server, reviewer)
        server.faults.drop_answer_next(prefix="/data/services/tokens/issue", method="GET")
        with pytest.raises(XNATConnectionError):
            session.services.issue_token()
        # one token made, and no second one whose secret the caller would hold while the
        # first stayed valid for days, known to no one who could invalidate it
        assert _enabled_tokens(server, reviewer) == before + 1
        token = session.services.issue_token()  # the next call works
        session.services.invalidate_token(token)


def test_a_session_id_in_a_redirect_is_never_sent_back_in_a_url(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    # Tomcat's URL rewriting puts the session in the path of a redirect's Location: the SDK
    # follows it without the session id (the cookie carries the session), so no request
    # line (access logs, proxies, urllib3's DEBUG lines) holds it
    cookie = session.interface.cookies.get("JSESSIONID")
    assert cookie
    caplog.set_level(logging.DEBUG)
    path = f"/data/projects/{seeded.project}"
    server.faults.redirect_next(f"{path};jsessionid={cookie}?format=json", prefix=path)
    assert session.get(path, format="json").ok
    assert "jsessionid" not in caplog.text.lower() and cookie not in caplog.text
    assert "302" in caplog.text  # the redirect was met


def test_invalidating_a_token_sends_no_secret_in_a_url(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    # XNAT's AliasTokenRestlet invalidates by the alias alone: the secret would only reach
    # access logs and proxies, where a token whose invalidation failed could be taken
    token = session.services.issue_token()
    session.services.invalidate_token(token)
    assert log.requests and all(token.secret not in url for _, url, _ in log.requests)
    assert log.paths()[-1] == f"GET /data/services/tokens/invalidate/{token.alias}"
    with pytest.raises(XNATAuthError):
        xnat_sdk.connect(server.url, user=token.alias, password=token.secret)


def test_an_error_keeps_its_response_without_the_session_cookie(session: XNATSession) -> None:
    cookie = session.interface.cookies.get("JSESSIONID")
    assert cookie
    with pytest.raises(XNATNotFoundError) as caught:
        session.get("/data/projects/NO_SUCH_PROJECT_SEC")
    response = caught.value.response
    assert response is not None and response.request is not None
    assert response.request.headers["Cookie"].startswith("JSESSIONID=***")
    assert cookie.encode() not in pickle.dumps(response)
    assert session.get("/data/projects", format="json").ok  # the session itself goes on


PLANTED = "JSESSIONID=Pl4nted0S3ss10n; Path=/; HttpOnly"


def _leaks(error: BaseException, secret: str) -> list[str]:
    """Where ``error`` still shows ``secret``: its text, its traceback, its response's
    headers (each copy: requests', urllib3's, http.client's), cookie jar, pickle."""
    response = getattr(error, "response", None)
    assert response is not None
    original = response.raw._original_response
    copies = {
        "str": str(error),
        "repr": repr(error),
        "traceback": "".join(traceback.format_exception(error)),
        "headers": repr(dict(response.headers)),
        "raw": repr(response.raw.headers),
        "http.client": repr(original.msg.items()) if original is not None else "",
        "cookies": repr(response.cookies),
        "request": repr(dict(response.request.headers)),
        "pickle": repr(pickle.dumps(response)),
    }
    return [where for where, text in copies.items() if secret in text]


def test_an_error_hides_the_session_cookie_its_answer_set(server: LocalXNAT) -> None:
    with xnat_sdk.connect(server.url, user="admin", password="admin") as own:
        server.faults.answer_next("<h3>gone</h3>", status=404, headers={"Set-Cookie": PLANTED})
        with pytest.raises(XNATNotFoundError) as caught:
            own.get("/data/projects/NO_SUCH_PROJECT_SEC")
        assert _leaks(caught.value, "Pl4nted0S3ss10n") == []
        shown = caught.value.response
        assert shown is not None and shown.headers["Set-Cookie"].startswith("JSESSIONID=***;")
        assert "Path=/" in shown.headers["Set-Cookie"]
        assert own.get("/data/projects", format="json").ok  # logs in again


def test_an_unusable_answer_hides_the_cookies_of_the_request_and_of_the_answer(
    server: LocalXNAT,
) -> None:
    with xnat_sdk.connect(server.url, user="admin", password="admin") as own:
        sent = own.interface.cookies.get("JSESSIONID")
        assert sent
        server.faults.answer_next(b"{not json", headers={"Set-Cookie": PLANTED})
        with pytest.raises(XNATValueError) as caught:
            own.get_json("/data/projects")
        assert _leaks(caught.value, "Pl4nted0S3ss10n") == []
        assert _leaks(caught.value, sent) == []
        response = caught.value.response  # type: ignore[attr-defined]
        cookies = response.request.headers["Cookie"]
        assert cookies.startswith("JSESSIONID=***") and "=***" in cookies.partition(";")[2]


def test_a_broken_off_request_keeps_no_session_cookie_in_its_chain(server: LocalXNAT) -> None:
    """requests' ConnectionError carries the prepared request (its ``Cookie`` header: the
    session id) as the cause of the SDK's XNATConnectionError: hidden there too."""
    with xnat_sdk.connect(server.url, user="admin", password="admin", retries=0) as own:
        sent = own.interface.cookies.get("JSESSIONID")
        assert sent
        server.faults.drop_answer_next(prefix="/data/projects")
        with pytest.raises(XNATConnectionError) as caught:
            own.get("/data/projects", format="json")
        cause = caught.value.__cause__
        assert cause is not None and getattr(cause, "request", None) is not None
        assert cause.request.headers["Cookie"].startswith("JSESSIONID=***")  # type: ignore[attr-defined]
        assert sent not in repr(cause.request.headers)  # type: ignore[attr-defined]
        assert own.get("/data/projects", format="json").ok  # the session goes on


def test_a_failed_relogin_hides_its_answer_not_the_session(server: LocalXNAT) -> None:
    """The error of a re-login that failed keeps its answer with the cookies hidden (the
    answer's own cookie jar emptied): the session's jar is another, which keeps its cookie,
    and the session logs in again at its next call."""
    with xnat_sdk.connect(server.url, user="admin", password="admin") as own:
        server.faults.expire_sessions()
        server.faults.answer_next(
            "<h3>no</h3>", status=401, prefix="/data/JSESSION", headers={"Set-Cookie": PLANTED}
        )
        with pytest.raises(XNATAuthError) as caught:
            own.get_json("/data/projects")
        assert _leaks(caught.value, "Pl4nted0S3ss10n") == []
        assert own.interface.cookies.get("JSESSIONID") == "Pl4nted0S3ss10n"  # the jar's own
        assert own.get("/data/projects", format="json").ok
        assert own.interface.cookies.get("JSESSIONID") != "Pl4nted0S3ss10n"  # a new login

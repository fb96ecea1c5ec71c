"""connect(): credentials (arguments, environment, netrc, prompt, anonymous), the one login
request, redirects, verify=False, logging with redaction, keep-alive thread, disconnect."""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
import requests

import xnat_sdk
from xnat_sdk import connection
from xnat_sdk.errors import (
    XNATAuthError,
    XNATConnectionError,
    XNATInsecureWarning,
    XNATNotConnectedError,
    XNATValueError,
)
from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every request any requests.Session sends during the test (real HTTP, recorded)."""
    seen: list[tuple[str, str]] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> Any:
        seen.append((str(request.method), str(request.url)))
        return original(self, request, **kw)

    monkeypatch.setattr(requests.Session, "send", send)
    return seen


@pytest.fixture
def sent_headers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """The headers of every request any requests.Session sends during the test."""
    seen: list[dict[str, str]] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> Any:
        seen.append(dict(request.headers))
        return original(self, request, **kw)

    monkeypatch.setattr(requests.Session, "send", send)
    return seen


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("XNATPY_HOST", "XNAT_HOST", "XNATPY_USER", "XNAT_USER", "XNATPY_PASS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("XNAT_PASS", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-such-netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))


def _netrc(path: Path, host: str, login: str, password: str) -> Path:
    path.write_text(f"machine {host}\n  login {login}\n  password {password}\n")
    path.chmod(0o600)
    return path


def test_login_is_one_request_and_context_manager_logs_out(
    server: LocalXNAT, sent: list[tuple[str, str]]
) -> None:
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        assert [m for m, _ in sent] == ["GET"]
        assert sent[0][1].endswith("/data/JSESSION")
        assert session.logged_in_user == "admin"
        assert session.credentials_source == "argument"
    assert sent[-1][0] == "DELETE" and sent[-1][1].endswith("/data/JSESSION")
    assert not session.connected
    with pytest.raises(XNATNotConnectedError):
        session.get("/data/projects")


def test_plain_use_with_disconnect(server: LocalXNAT) -> None:
    session = xnat_sdk.connect(server.url, user="admin", password="admin")
    assert session.get("/data/JSESSION").status_code == 200
    session.disconnect()
    session.disconnect()  # idempotent
    with pytest.raises(XNATNotConnectedError):
        session.get_json("/data/projects")


def test_wrong_password_is_a_typed_auth_error(server: LocalXNAT) -> None:
    with pytest.raises(XNATAuthError) as info:
        xnat_sdk.connect(server.url, user="admin", password="wrong")
    assert info.value.status == 401
    assert "admin" in str(info.value)
    assert "wrong" not in str(info.value)


def test_environment_variables(server: LocalXNAT, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_HOST", server.url)
    monkeypatch.setenv("XNAT_USER", "user")
    monkeypatch.setenv("XNAT_PASS", "user")
    with xnat_sdk.connect() as session:
        assert session.server == server.url
        assert session.logged_in_user == "user"
        assert session.credentials_source == "environment"


def test_netrc_file_argument(server: LocalXNAT, tmp_path: Path) -> None:
    host = server.url.split("//", 1)[1]
    path = _netrc(tmp_path / "my-netrc", host, "user", "user")
    with xnat_sdk.connect(server.url, netrc_file=str(path)) as session:
        assert session.credentials_source == "netrc"
        assert session.logged_in_user == "user"


def test_netrc_from_env_and_home(
    server: LocalXNAT, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostname = server.url.split("//", 1)[1].split(":")[0]
    env_file = _netrc(tmp_path / "env-netrc", hostname, "admin", "admin")
    monkeypatch.setenv("NETRC", str(env_file))
    with xnat_sdk.connect(server.url) as session:
        assert (session.credentials_source, session.logged_in_user) == ("netrc", "admin")
    monkeypatch.delenv("NETRC")
    _netrc(tmp_path / ".netrc", hostname, "user", "user")
    with xnat_sdk.connect(server.url) as session:
        assert (session.credentials_source, session.logged_in_user) == ("netrc", "user")


def test_wrong_netrc_password_fails_login(server: LocalXNAT, tmp_path: Path) -> None:
    host = server.url.split("//", 1)[1]
    path = _netrc(tmp_path / "bad", host, "admin", "nope")
    with pytest.raises(XNATAuthError, match="netrc"):
        xnat_sdk.connect(server.url, netrc_file=path)


def test_user_without_password_prompts(server: LocalXNAT, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return "user"

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    with xnat_sdk.connect(server.url, user="user") as session:
        assert session.logged_in_user == "user"
        assert session.credentials_source == "argument+prompt"
    assert len(prompts) == 1 and "'user'" in prompts[0]


def test_anonymous_access(sent_headers: list[dict[str, str]]) -> None:
    """Anonymous access needs a site with XNAT's ``requireLogin`` off (a fresh XNAT has it
    on and answers anonymous requests 401)."""
    with LocalXNAT(require_login=False) as server:
        server.seed_project("RT_PUBLICP", name="Public", accessibility="public")
        server.seed_project("RT_HIDDENP", name="Hidden", accessibility="private")
        _anonymous_session(server, sent_headers)


def _anonymous_session(server: LocalXNAT, sent_headers: list[dict[str, str]]) -> None:
    with xnat_sdk.connect(server.url) as session:
        assert session.credentials_source == "anonymous"
        assert session.logged_in_user == "guest"
        assert sent_headers and all("Authorization" not in h for h in sent_headers)
        ids = session.projects.keys()
        assert "RT_PUBLICP" in ids
        assert "RT_HIDDENP" not in ids


def test_alias_token_as_credentials(server: LocalXNAT) -> None:
    with xnat_sdk.connect(server.url, user="user", password="user") as session:
        token = session.get_json("/data/services/tokens/issue")
    with xnat_sdk.connect(server.url, user=token["alias"], password=token["secret"]) as session:
        assert session.logged_in_user == "user"


def test_no_server_anywhere_is_a_value_error() -> None:
    with pytest.raises(XNATValueError, match="XNAT_HOST"):
        xnat_sdk.connect()


def test_unreachable_server_is_a_connection_error() -> None:
    with pytest.raises(XNATConnectionError):
        xnat_sdk.connect("http://127.0.0.1:9", user="a", password="b", retries=0, timeout=2)


# -- redirects -----------------------------------------------------------------------------------


def test_same_origin_redirect_is_followed_once_and_the_final_base_used(
    server: LocalXNAT,
) -> None:
    server.faults.start_recording()
    server.faults.redirect_next(f"{server.url}/data/JSESSION", prefix="/xnat/data/JSESSION")
    with xnat_sdk.connect(server.url + "/xnat", user="admin", password="admin") as session:
        assert session.server == server.url
        assert session.original_uri == server.url + "/xnat"
        session.get_json("/data/projects")
        assert session.url_for("/data/projects").startswith(server.url + "/data/")
    paths = [r.path for r in server.faults.recorded()]
    assert paths[:3] == ["/xnat/data/JSESSION", "/data/JSESSION", "/data/projects"]


def test_redirect_detection_can_be_switched_off(server: LocalXNAT) -> None:
    server.faults.redirect_next(f"{server.url}/data/JSESSION", prefix="/xnat/data/JSESSION")
    with xnat_sdk.connect(
        server.url + "/xnat", user="admin", password="admin", detect_redirect=False
    ) as session:
        assert session.server == server.url + "/xnat"
        server.faults.start_recording()
        server.faults.redirect_next(f"{server.url}/data/projects", prefix="/xnat/data/projects")
        session.get_json("/data/projects")
    assert [r.path for r in server.faults.recorded()][:2] == [
        "/xnat/data/projects",
        "/data/projects",
    ]


# -- verify, logging -----------------------------------------------------------------------------


def test_verify_false_warns_once(server: LocalXNAT, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "_insecure_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            with xnat_sdk.connect(
                server.url, user="admin", password="admin", verify=False
            ) as session:
                session.get_json("/data/projects")
                assert session.interface.verify is False
    insecure = [w for w in caught if issubclass(w.category, XNATInsecureWarning)]
    assert len(insecure) == 1


def test_debug_log_has_every_request_without_secrets(
    server: LocalXNAT, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="xnat_sdk")
    with xnat_sdk.connect(server.url, user="admin", password="admin", loglevel="DEBUG") as s:
        s.get("/data/JSESSION", query={"password": "hunter2", "alias": "tok"})
        s.get_json("/data/projects")
        jsession = s.jsession
    messages = [r.getMessage() for r in caplog.records if r.name == "xnat_sdk"]
    text = "\n".join(messages)
    assert any(m.startswith("GET ") and "/data/projects" in m and "-> 200" in m for m in messages)
    assert any("ms)" in m for m in messages)
    assert any(m.startswith("DELETE ") for m in messages)
    assert "hunter2" not in text and "tok" not in text
    assert jsession is not None and jsession not in text
    assert "admin:admin" not in text


# -- keep-alive ------------------------------------------------------------------------------------


def _keepalive_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "xnat-sdk-keepalive" and t.is_alive()]


def test_keepalive_thread_runs_heartbeats_and_stops_on_disconnect(
    server: LocalXNAT, request_log: Any
) -> None:
    before = len(_keepalive_threads())
    session = xnat_sdk.connect(server.url, user="admin", password="admin")
    assert len(_keepalive_threads()) == before + 1
    beat = threading.Event()
    recorder = request_log()

    def hook(response: requests.Response, *args: object, **kwargs: object) -> None:
        recorder(response)
        if response.request.method == "GET" and response.url.endswith("/data/JSESSION"):
            beat.set()

    session.interface.hooks["response"].append(hook)
    session.keepalive = 0.05
    assert beat.wait(10.0), "no heartbeat was sent"
    session.disconnect()
    assert len(_keepalive_threads()) == before


def test_keepalive_interval_comes_from_the_expiration_cookie(server: LocalXNAT) -> None:
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        expiration = session.session_expiration_time
        assert expiration is not None
        assert expiration[1] == 900.0
        assert session.keepalive_interval == 900.0 / 2 - 20
    # a short timeout (a site's, or a test server's): a third of it
    with (
        LocalXNAT(session_timeout=3.0) as short,
        xnat_sdk.connect(short.url, user="admin", password="admin") as session,
    ):
        assert session.session_expiration_time is not None
        assert session.session_expiration_time[1] == 3.0
        assert session.keepalive_interval == 1.0


def test_keepalive_off(server: LocalXNAT) -> None:
    before = len(_keepalive_threads())
    with xnat_sdk.connect(server.url, user="admin", password="admin", keepalive=False) as s:
        assert not s.keepalive
        assert len(_keepalive_threads()) == before


def test_keepalive_switched_on_and_off_many_times(server: LocalXNAT) -> None:
    """A map worker's session switches its heartbeat on for every call: each switch must
    leave one thread at most and no new finalizer behind (they piled up, one per call)."""
    import gc
    import weakref

    def finalizers() -> int:
        return sum(1 for o in gc.get_objects() if isinstance(o, weakref.finalize) and o.alive)

    before = len(_keepalive_threads())
    with xnat_sdk.connect(server.url, user="admin", password="admin", keepalive=False) as s:
        s.keepalive = True
        first = finalizers()
        for _ in range(50):
            s.keepalive = False
            s.keepalive = True
        assert len(_keepalive_threads()) == before + 1
        assert finalizers() == first
    assert len(_keepalive_threads()) == before


def test_jsession_reuse_and_cli_keeps_the_server_session(
    server: LocalXNAT, sent: list[tuple[str, str]]
) -> None:
    first = xnat_sdk.connect(server.url, user="admin", password="admin", cli=True)
    token = first.jsession
    assert token
    first.disconnect()
    assert not any(method == "DELETE" for method, _ in sent)
    sent.clear()
    with xnat_sdk.connect(server.url, jsession=token) as again:
        assert len(sent) == 1
        assert again.jsession == token
        assert again.credentials_source == "jsession"
        assert again.logged_in_user == "admin"
    with pytest.raises(XNATAuthError):
        xnat_sdk.connect(server.url, jsession="0" * 32)

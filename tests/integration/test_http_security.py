"""The HTTP core against a hostile or unreliable server: credentials and cookies stay on the
origin the user named, a second JSESSIONID, re-login with rewound bodies (once per expiry
across threads), secrets out of reprs and tracebacks, retried uploads that met their own
file, and one deadline per call.

Each test names the issue item (security issue, items 1-6, 8, 9) it proves.
"""

from __future__ import annotations

import base64
import io
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import xnat_sdk
from xnat_sdk.errors import (
    XNATAuthError,
    XNATConnectionError,
    XNATFileExistsError,
    XNATServerError,
    XNATTimeoutError,
)
from xnat_sdk.services import TokenResult
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import Seeded

    from xnat_sdk.models import AbstractResource


@pytest.fixture
def elsewhere() -> Iterator[LocalXNAT]:
    """A second server on another port, recording everything it is sent."""
    with LocalXNAT() as other:
        other.faults.start_recording()
        yield other


@pytest.fixture
def resource(session: XNATSession, seeded: Seeded) -> AbstractResource:
    return session.experiments[seeded.sessions["E1"]].create_resource("SEC", format="MISC")


def _stored(session: XNATSession, resource: AbstractResource, path: str) -> bytes:
    return session.get(f"{resource.uri}/files/{path}").content


# -- 1, 2: credentials and cookies go only to the origin named ---------------------------------


def test_login_redirect_to_another_port_is_refused_before_anything_is_sent_there(
    server: LocalXNAT, elsewhere: LocalXNAT
) -> None:
    server.faults.redirect_next(elsewhere.url + "{path}", prefix="/data/JSESSION")
    with pytest.raises(XNATConnectionError, match="redirects to another server") as info:
        xnat_sdk.connect(server.url, user="admin", password="admin", retries=0)
    assert elsewhere.url.split("//")[1] in str(info.value)
    assert elsewhere.faults.recorded() == []


def test_a_later_redirect_elsewhere_carries_no_session_cookie(
    server: LocalXNAT, elsewhere: LocalXNAT, session: XNATSession
) -> None:
    assert session.jsession is not None
    with xnat_sdk.connect(server.url, jsession=session.jsession) as reused:
        domains = {c.domain for c in reused.interface.cookies if c.name == "JSESSIONID"}
        assert domains == {"127.0.0.1"}, "the reused cookie is bound to the server's host"
        server.faults.redirect_next(elsewhere.url + "{path}", prefix="/data/projects")
        with pytest.raises(XNATConnectionError, match="another server"):
            reused.get("/data/projects")
        assert "ResultSet" in reused.get_json("/data/projects")  # the session stays
    assert elsewhere.faults.recorded() == []


def test_same_origin_redirects_keep_working_after_login(
    server: LocalXNAT, session: XNATSession
) -> None:
    server.faults.redirect_next(f"{server.url}/data/projects?format=json", prefix="/data/prj")
    response = session.get("/data/prj")
    assert response.history and response.history[0].status_code == 302
    assert "ResultSet" in response.json()


# -- 3: a second JSESSIONID -----------------------------------------------------------------


def test_a_second_session_cookie_replaces_the_first(
    server: LocalXNAT, session: XNATSession
) -> None:
    server.faults.rotate_session_next(cookie_path="/data", prefix="/data/projects")
    session.get_json("/data/projects")
    jar = session.interface.cookies
    cookies = [c for c in jar if c.name == "JSESSIONID"]
    assert len(cookies) == 1 and cookies[0].path == "/data"  # the newest won
    assert jar.get("JSESSIONID") == cookies[0].value  # no CookieConflictError
    server.faults.start_recording()
    session.get_json("/data/projects")
    assert server.faults.recorded()[0].cookies["JSESSIONID"] == cookies[0].value
    server.faults.expire_sessions()  # the re-login reads the cookie it gets
    assert "ResultSet" in session.get_json("/data/projects")
    assert session.jsession == jar.get("JSESSIONID")


# -- 4, 5: re-login after an expired session --------------------------------------------------


def test_uploads_after_an_expired_session_send_their_whole_body(
    server: LocalXNAT, session: XNATSession, resource: AbstractResource, tmp_path: Path
) -> None:
    on_disk = tmp_path / "disk.bin"
    on_disk.write_bytes(b"from a path" * 100)
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "d.txt").write_bytes(b"from a folder")

    def expired() -> None:
        server.faults.expire_sessions()

    expired()
    resource.upload(b"bytes body", "bytes.bin")
    expired()
    resource.upload(on_disk)
    expired()
    with open(on_disk, "rb") as handle:
        handle.read(5)  # a file object is sent from where it stands, both times
        resource.upload(handle, "handle.bin")
    expired()
    session.put(f"{resource.uri}/files/raw.bin", data=io.BytesIO(b"raw body"), query={})
    expired()
    resource.upload_dir(folder)
    assert _stored(session, resource, "bytes.bin") == b"bytes body"
    assert _stored(session, resource, "disk.bin") == on_disk.read_bytes()
    assert _stored(session, resource, "handle.bin") == on_disk.read_bytes()[5:]
    assert _stored(session, resource, "raw.bin") == b"raw body"
    assert _stored(session, resource, "sub/d.txt") == b"from a folder"


def test_a_streamed_body_is_not_resent_empty_after_an_expiry(
    server: LocalXNAT, session: XNATSession, resource: AbstractResource
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"part one, "
        yield b"part two"

    server.faults.expire_sessions()
    with pytest.raises(XNATAuthError, match="cannot be sent again"):
        session.put(f"{resource.uri}/files/gen.bin", data=chunks())
    files = session.get_json(f"{resource.uri}/files")["ResultSet"]["Result"]
    assert [f["Name"] for f in files] == []
    session.put(f"{resource.uri}/files/gen.bin", data=chunks())  # logged in again
    assert _stored(session, resource, "gen.bin") == b"part one, part two"


def test_threads_sharing_a_session_log_in_once_per_expiry(
    server: LocalXNAT, session: XNATSession
) -> None:
    threads, expiries = 8, 5
    errors: list[BaseException] = []
    server.faults.start_recording()
    for _ in range(expiries):
        server.faults.expire_sessions()
        gate = threading.Barrier(threads)

        def work(gate: threading.Barrier) -> None:
            try:
                gate.wait(10)
                session.get_json("/data/projects")
            except BaseException as exc:
                errors.append(exc)

        running = [threading.Thread(target=work, args=(gate,)) for _ in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join(30)
    assert errors == []
    logins = [r for r in server.faults.recorded() if r.path == "/data/JSESSION" and r.authorization]
    assert len(logins) == expiries


# -- 6: secrets ------------------------------------------------------------------------------


def test_token_result_is_a_named_tuple_with_a_redacted_repr(session: XNATSession) -> None:
    token = session.services.issue_token()
    alias, secret = token
    assert isinstance(token, tuple) and isinstance(token, TokenResult)
    assert (token.alias, token.secret) == (alias, secret) and secret
    assert secret not in repr(token) and secret not in str(token)
    assert alias in repr(token)


def _values(value: Any, depth: int = 0) -> Iterator[Any]:
    """``value`` and what it holds: containers, and objects' attributes (a few levels)."""
    yield value
    if depth >= 4 or isinstance(value, (str, bytes, int, float, bool, type(None))):
        return
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    elif isinstance(value, (types.ModuleType, types.FunctionType, type)):
        return
    else:
        items = list(getattr(value, "__dict__", {}).values())
        for slot in getattr(type(value), "__slots__", ()):
            items.append(getattr(value, slot, None))
    for item in items:
        yield from _values(item, depth + 1)


def _leaks(exc: BaseException, secrets: list[str]) -> list[str]:
    """Where the exception chain's traceback frames of the SDK (and of requests/urllib3)
    hold one of ``secrets`` (or its basic-auth form) in a local variable."""
    found = []
    chain: BaseException | None = exc
    while chain is not None:
        tb = chain.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if "tests" not in frame.f_code.co_filename:
                for name, value in frame.f_locals.items():
                    for item in _values(value):
                        text = item.decode("latin-1") if isinstance(item, bytes) else item
                        if isinstance(text, str) and any(s in text for s in secrets):
                            found.append(f"{frame.f_code.co_name}: {name}")
            tb = tb.tb_next
        chain = chain.__cause__ or chain.__context__
    return found


def test_a_failed_login_keeps_the_password_out_of_every_frame(server: LocalXNAT) -> None:
    password = "wrong-" + "pa55word-xyz"
    basic = base64.b64encode(f"admin:{password}".encode()).decode()
    with pytest.raises(XNATAuthError) as info:
        xnat_sdk.connect(server.url, user="admin", password=password)
    assert _leaks(info.value, [password, basic]) == []
    assert password not in str(info.value)
    with pytest.raises(XNATConnectionError) as unreachable:
        xnat_sdk.connect("http://127.0.0.1:9", user="admin", password=password, retries=0)
    assert _leaks(unreachable.value, [password, basic]) == []


def test_a_failed_relogin_keeps_the_password_out_of_every_frame(server: LocalXNAT) -> None:
    password = "relogin-" + "secret-123"
    basic = base64.b64encode(f"relog:{password}".encode()).decode()
    server.add_user("relog", password)
    session = xnat_sdk.connect(server.url, user="relog", password=password)
    try:
        server.add_user("relog", "changed-meanwhile")
        server.faults.expire_sessions()
        with pytest.raises(XNATAuthError) as info:
            session.get_json("/data/projects")
        assert _leaks(info.value, [password, basic]) == []
        assert password not in repr(session.__dict__)
    finally:
        session.disconnect()


# -- 8: a retried upload that meets its own file ----------------------------------------------


def test_an_upload_whose_answer_was_lost_is_not_reported_as_existing(
    server: LocalXNAT, session: XNATSession, resource: AbstractResource
) -> None:
    server.faults.start_recording()
    server.faults.drop_answer_next(prefix=f"{resource.uri}/files/once.txt", method="PUT")
    resource.upload(b"stored by the first try", "once.txt")
    puts = [r for r in server.faults.recorded() if r.method == "PUT"]
    assert len(puts) == 2, "the first answer was lost, so the upload was sent again"
    assert _stored(session, resource, "once.txt") == b"stored by the first try"


def test_a_retried_upload_meeting_another_file_still_refuses(
    server: LocalXNAT, session: XNATSession, resource: AbstractResource
) -> None:
    resource.upload(b"somebody else's", "taken.txt")
    server.faults.drop_answer_next(prefix=f"{resource.uri}/files/taken.txt", method="PUT")
    with pytest.raises(XNATFileExistsError, match=r"taken\.txt"):
        resource.upload(b"mine", "taken.txt")
    assert _stored(session, resource, "taken.txt") == b"somebody else's"


# -- 9: one deadline per call --------------------------------------------------------------------


@pytest.mark.parametrize(("timeout", "read"), [(1.0, "1"), ((1.0, 1.5), "1.5")])
def test_a_server_that_never_answers_costs_one_read_timeout(
    server: LocalXNAT, timeout: float | tuple[float, float], read: str
) -> None:
    server.faults.start_recording()
    server.faults.hang_next(prefix="/data/JSESSION", count=10, seconds=30)
    with pytest.raises(XNATTimeoutError, match=f"no answer within {read} s") as info:
        xnat_sdk.connect(server.url, user="admin", password="admin", timeout=timeout)
    assert "cannot reach" not in str(info.value)
    server.faults.clear()
    assert len([r for r in server.faults.recorded() if r.path == "/data/JSESSION"]) <= 1


def test_retries_never_wait_past_the_deadline(server: LocalXNAT, session: XNATSession) -> None:
    server.faults.start_recording()
    server.faults.answer_next(
        "busy", status=503, headers={"Retry-After": "30"}, prefix="/data/projects", count=5
    )
    with pytest.raises(XNATServerError):
        session.get("/data/projects", timeout=2.0)
    assert len(server.faults.recorded()) == 1  # a 30 s wait does not fit in 2 s
    server.faults.answer_next("busy", status=503, prefix="/data/projects", count=2)
    assert session.get_json("/data/projects")  # Retry-After absent: backoff, within the budget
    assert len(server.faults.recorded()) == 4


def test_an_unreachable_server_says_cannot_reach() -> None:
    with pytest.raises(XNATConnectionError, match="cannot reach") as info:
        xnat_sdk.connect("http://127.0.0.1:9", user="a", password="b", retries=1, timeout=2)
    assert "no answer" not in str(info.value)
    assert not isinstance(info.value, XNATTimeoutError)


def test_a_streamed_error_answer_is_read_only_up_to_a_limit(
    server: LocalXNAT, session: XNATSession
) -> None:
    page = b"<h3>gone</h3>" + b"x" * (3 << 20)
    server.faults.answer_next(page, status=500, content_type="text/html", prefix="/data/projects")
    with pytest.raises(XNATServerError, match="gone") as info:
        session.get("/data/projects", stream=True)
    assert info.value.response is not None
    assert info.value.response.content == page[: 1 << 20]  # still readable, capped

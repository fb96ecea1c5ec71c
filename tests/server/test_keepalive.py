"""Connections stay open between requests, as on XNAT's Tomcat (HTTP/1.1 keep-alive).

XNAT's connector keeps a connection for 100 answers (``maxKeepAliveRequests``) and closes it
after 20 s idle (``keepAliveTimeout``); the local server does the same, so clients meet
reused and idle-closed connections here as they do against XNAT.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time

import pytest
import requests

import xnat_sdk
from tests.server.conftest import raw_exchange
from xnat_sdk.testing._server.server import KEEPALIVE_REQUESTS
from xnat_sdk.testing.local import LocalXNAT

AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}


def _connection(server: LocalXNAT) -> http.client.HTTPConnection:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.connect()
    return connection


def _ask(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, http.client.HTTPResponse]:
    connection.request(method, path, body=body, headers={**AUTH, **(headers or {})})
    response = connection.getresponse()
    return response.status, response.read(), response


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes ``sock`` within ``within`` seconds (reads give EOF)."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_one_connection_carries_many_requests(xnat_server: LocalXNAT) -> None:
    connection = _connection(xnat_server)
    sock = connection.sock
    try:
        for path in ("/data/projects?format=json", "/xapi/siteConfig/buildInfo", "/data/users"):
            status, body, response = _ask(connection, "GET", path)
            assert status == 200, (path, body[:200])
            assert response.getheader("Connection") is None
            assert connection.sock is sock  # the same socket answered every request
    finally:
        connection.close()


def test_the_sdk_reuses_its_connection() -> None:
    with LocalXNAT() as server:
        with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
            for _ in range(5):
                session.get("/data/projects", format="json")
            # the login and five listings: one connection, held open for the session
            assert server.open_connections == 1
        deadline = time.monotonic() + 5
        while server.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)  # the logout said Connection: close; the server lets go
        assert server.open_connections == 0


def test_the_hundredth_answer_closes_the_connection(xnat_server: LocalXNAT) -> None:
    connection = _connection(xnat_server)
    try:
        for number in range(1, KEEPALIVE_REQUESTS + 1):
            status, _, response = _ask(connection, "GET", "/xapi/siteConfig/buildInfo")
            assert status == 200
            said = response.getheader("Connection")
            assert said == ("close" if number == KEEPALIVE_REQUESTS else None), number
    finally:
        connection.close()


def test_an_idle_connection_is_closed_after_the_keepalive_timeout() -> None:
    with LocalXNAT(keepalive_timeout=1.0) as server:
        connection = _connection(server)
        try:
            assert _ask(connection, "GET", "/xapi/siteConfig/buildInfo")[0] == 200
            assert connection.sock is not None
            assert not _closed_by_server(connection.sock, within=0.3)  # open while fresh
            assert _closed_by_server(connection.sock, within=3.0)
            assert server.open_connections == 0
        finally:
            connection.close()


def test_a_write_after_the_server_closed_an_idle_connection_is_sent_once() -> None:
    """XNAT closes a pooled connection after 20 s idle; the next write (not retried by
    the SDK: a PUT of a new subject is not idempotent) must still reach the server once."""
    with LocalXNAT(keepalive_timeout=0.3) as server:
        server.seed_project("IDLE")
        with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
            project = session.projects["IDLE"]
            deadline = time.monotonic() + 10
            while server.open_connections and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.open_connections == 0  # the session's pooled connection is closed
            server.faults.start_recording()
            session.put("/data/projects/IDLE/subjects/S1")
            puts = [r for r in server.faults.recorded() if r.method == "PUT"]
            assert [r.path for r in puts] == ["/data/projects/IDLE/subjects/S1"]
            assert "S1" in project.subjects


def test_a_body_the_app_did_not_read_is_skipped_before_the_next_request(
    xnat_server: LocalXNAT,
) -> None:
    connection = _connection(xnat_server)
    try:
        # anonymous: refused before the body is read
        connection.request("PUT", "/data/projects/NOPE/resources/R/files/f.bin", body=b"x" * 5000)
        refused = connection.getresponse()
        refused.read()
        assert refused.status == 401
        assert refused.getheader("Connection") is None
        status, body, _ = _ask(connection, "GET", "/xapi/siteConfig/buildInfo")
        assert status == 200 and body  # the 5000 bytes were not taken for a request
    finally:
        connection.close()


def test_an_unread_body_past_the_swallow_limit_closes_the_connection(
    xnat_server: LocalXNAT,
) -> None:
    """Past 2 MiB (Tomcat's ``maxSwallowSize``) a body the app ignored is not read: the
    answer goes out, then the connection closes."""
    answer = raw_exchange(  # ends when the server closes the connection
        xnat_server,
        b"PUT /data/projects/NOPE/resources/R/files/f.bin HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: %d\r\n\r\n" % (3 << 20),
    )
    assert answer.startswith(b"HTTP/1.1 401")


def test_a_chunked_body_is_read_to_its_end(xnat_server: LocalXNAT) -> None:
    connection = _connection(xnat_server)
    try:
        chunks = iter([b'{"ignored": ', b"true}"])
        connection.request(
            "PUT",
            "/data/projects/NOPE/resources/R/files/f.json",
            body=chunks,
            encode_chunked=True,
        )
        refused = connection.getresponse()
        refused.read()
        assert refused.status == 401
        assert _ask(connection, "GET", "/xapi/siteConfig/buildInfo")[0] == 200
    finally:
        connection.close()


def test_a_client_that_says_close_gets_close(xnat_server: LocalXNAT) -> None:
    answer = requests.get(
        f"{xnat_server.url}/xapi/siteConfig/buildInfo", headers={"Connection": "close"}
    )
    assert answer.status_code == 200
    assert answer.headers["Connection"] == "close"


def test_an_http10_client_is_answered_and_closed(xnat_server: LocalXNAT) -> None:
    # ends when the server closes the connection
    answer = raw_exchange(
        xnat_server, b"GET /xapi/siteConfig/buildInfo HTTP/1.0\r\nHost: x\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Connection: close" in head
    assert json.loads(body)


def test_stop_closes_the_open_connections() -> None:
    server = LocalXNAT()
    server.start()
    connection = _connection(server)
    try:
        assert _ask(connection, "GET", "/xapi/siteConfig/buildInfo")[0] == 200
        assert connection.sock is not None
        sock = connection.sock
        server.stop()
        assert _closed_by_server(sock, within=3.0)
    finally:
        connection.close()
        server.stop()


def test_serve_takes_a_keepalive_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    from xnat_sdk.cli._tools import serve_parser
    from xnat_sdk.testing._server.cli import _server

    args = serve_parser().parse_args(["--keepalive-timeout", "0.4", "--port", "0"])
    with _server(args, [("admin", "admin", True)]) as server:
        assert server.keepalive_timeout == 0.4
        connection = _connection(server)
        try:
            assert _ask(connection, "GET", "/xapi/siteConfig/buildInfo")[0] == 200
            assert connection.sock is not None
            assert _closed_by_server(connection.sock, within=3.0)
        finally:
            connection.close()
    for bad in ("0", "soon"):
        with pytest.raises(SystemExit):
            serve_parser().parse_args(["--keepalive-timeout", bad])
        assert "expected a number of seconds" in capsys.readouterr().err
    with pytest.raises(ValueError, match="keepalive_timeout"):
        LocalXNAT(keepalive_timeout=0)

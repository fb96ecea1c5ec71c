"""TLS: verify=False against a self-signed front, certificate errors, CA bundles, and the
http -> https redirect detection (a tiny HTTPS proxy in front of the local server)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from werkzeug.wrappers import Request, Response

import xnat_sdk
from xnat_sdk import connection
from xnat_sdk.errors import (
    XNATConnectionError,
    XNATFileNotFoundError,
    XNATInsecureWarning,
    XNATRedirectError,
    XNATSSLError,
)
from xnat_sdk.testing._server.server import _Server
from xnat_sdk.testing.local import LocalXNAT

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

_HOP = {"transfer-encoding", "content-encoding", "connection", "content-length", "keep-alive"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = (
        f"openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout {key} -out {cert} "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    )
    subprocess.run(command.split(), check=True, capture_output=True)
    return cert, key


def _serve(app: object, **kwargs: object) -> tuple[object, threading.Thread]:
    # the local server's HTTP/1.1 server: connections stay open, as behind XNAT's Tomcat
    server = _Server("127.0.0.1", 0, app, **kwargs)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


_FRONTS: dict[str, _Server] = {}


@pytest.fixture(scope="module")
def https_front(server: LocalXNAT, certificate: tuple[Path, Path]) -> Iterator[str]:
    """An HTTPS proxy (self-signed certificate) forwarding everything to the local server."""
    upstream = requests.Session()
    upstream.trust_env = False
    upstream.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))  # many threads

    @Request.application  # type: ignore[arg-type]
    def proxy(request: Request) -> Response:
        answer = upstream.request(
            request.method,
            server.url + request.full_path.rstrip("?"),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            data=request.get_data(),
            allow_redirects=False,
            timeout=30,
        )
        headers = [(k, v) for k, v in answer.raw.headers.iteritems() if k.lower() not in _HOP]
        return Response(answer.content, status=answer.status_code, headers=headers)

    front, thread = _serve(proxy, ssl_context=(str(certificate[0]), str(certificate[1])))
    url = f"https://127.0.0.1:{front.server_port}"  # type: ignore[attr-defined]
    _FRONTS[url] = front  # type: ignore[assignment]
    try:
        yield url
    finally:
        front.shutdown()  # type: ignore[attr-defined]
        thread.join()
        upstream.close()


def test_self_signed_certificate_is_refused_by_default(https_front: str) -> None:
    with pytest.raises(XNATSSLError):
        xnat_sdk.connect(https_front, user="admin", password="admin", retries=0)


def test_verify_false_works_and_warns_once(
    https_front: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "_insecure_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with xnat_sdk.connect(https_front, user="admin", password="admin", verify=False) as s:
            for _ in range(3):
                s.get_json("/data/projects")
            assert s.logged_in_user == "admin"
    messages = [w for w in caught if w.category is not DeprecationWarning]
    assert [w.category for w in messages] == [XNATInsecureWarning]


def test_threads_reuse_their_tls_connections(server: LocalXNAT, https_front: str) -> None:
    """Past urllib3's 10 pooled connections each thread keeps its own: no new TLS
    handshake per request (the HTTPS pool grows like the HTTP one)."""
    server.faults.set_delay(0.02)  # every thread has a request under way at once
    with contextlib.ExitStack() as stack:
        stack.callback(server.faults.clear)
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore", XNATInsecureWarning)  # verify=False, asked for
        _read_in_threads(https_front)


def _read_in_threads(https_front: str) -> None:
    with xnat_sdk.connect(https_front, user="admin", password="admin", verify=False) as s:

        def read(_: int) -> int:
            return s.get("/data/projects", format="json").status_code

        with ThreadPoolExecutor(16) as pool:
            assert set(pool.map(read, range(64))) == {200}
            front = _FRONTS[https_front]
            assert 10 < front.accepted <= 17  # past urllib3's 10: the login's, one per thread
            assert set(pool.map(read, range(64))) == {200}
            assert front.accepted <= 17  # all kept: none discarded, none opened again


def test_ca_bundle_path_as_verify(https_front: str, certificate: tuple[Path, Path]) -> None:
    with xnat_sdk.connect(
        https_front, user="admin", password="admin", verify=str(certificate[0])
    ) as session:
        assert session.server == https_front
        assert "ResultSet" in session.get_json("/data/projects")


def test_a_ca_bundle_path_that_does_not_exist_is_refused_before_any_request(
    server: LocalXNAT, tmp_path: Path
) -> None:
    """requests reads a CA bundle only for https, so over http a mistyped ``verify`` path
    went unseen until the site moved to https; it is refused before anything is sent."""
    missing = tmp_path / "ca-bundle.pme"
    server.faults.start_recording()
    try:
        with pytest.raises(XNATFileNotFoundError, match=r"ca-bundle\.pme") as caught:
            xnat_sdk.connect(server.url, user="admin", password="admin", verify=str(missing))
        assert server.faults.recorded() == []
    finally:
        server.faults.clear()
    assert isinstance(caught.value, FileNotFoundError) and caught.value.field == "verify"
    missing.write_text("not read over http")
    with xnat_sdk.connect(server.url, user="admin", password="admin", verify=str(missing)) as s:
        assert "ResultSet" in s.get_json("/data/projects")


def test_an_upgrade_to_https_on_another_port_is_refused_naming_it(
    https_front: str, certificate: tuple[Path, Path], server: LocalXNAT
) -> None:
    """Tomcat's 8080 -> 8443: another port is another server for credentials (only http on
    port 80 to https on 443 is followed); the error names where to connect instead."""

    @Request.application  # type: ignore[arg-type]
    def upgrade(request: Request) -> Response:
        target = https_front + request.full_path.rstrip("?")
        return Response("", status=301, headers={"Location": target})

    front, thread = _serve(upgrade)
    plain = f"http://127.0.0.1:{front.server_port}"  # type: ignore[attr-defined]
    server.faults.start_recording()
    try:
        with pytest.raises(XNATRedirectError, match="https on another port") as caught:
            xnat_sdk.connect(plain, user="admin", password="admin", verify=str(certificate[0]))
    finally:
        front.shutdown()  # type: ignore[attr-defined]
        thread.join()
    assert caught.value.target == https_front + "/data/JSESSION"
    assert "connect to it directly" in str(caught.value) and https_front in str(caught.value)
    assert server.faults.recorded() == []  # nothing went through the https front
    with xnat_sdk.connect(
        https_front, user="admin", password="admin", verify=str(certificate[0])
    ) as session:  # named directly, it works
        assert session.server == https_front


def test_https_login_redirected_to_plain_http_is_refused(
    https_front: str, certificate: tuple[Path, Path], server: LocalXNAT
) -> None:
    """Security issue item 1: a downgrade would send the credentials in clear text."""
    server.faults.start_recording()
    server.faults.redirect_next(server.url + "{path}", prefix="/data/JSESSION")
    with pytest.raises(XNATConnectionError, match="from https to plain http"):
        xnat_sdk.connect(https_front, user="admin", password="admin", verify=str(certificate[0]))
    assert [r.path for r in server.faults.recorded()] == ["/data/JSESSION"]  # via the front only

"""Helpers for the local-server tests (the server itself comes from the pytest plugin)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture
def admin(xnat_server: LocalXNAT) -> Iterator[requests.Session]:
    """A requests session authenticated as the site admin (basic auth)."""
    with requests.Session() as s:
        s.auth = ("admin", "admin")
        yield s


@pytest.fixture
def user(xnat_server: LocalXNAT) -> Iterator[requests.Session]:
    """A requests session authenticated as the non-admin ``user``."""
    with requests.Session() as s:
        s.auth = ("user", "user")
        yield s


@pytest.fixture
def own_server(tmp_path: object) -> Iterator[LocalXNAT]:
    """A private server for tests that change server-wide state (faults, restarts)."""
    with LocalXNAT() as server:
        yield server


def rows(resp: requests.Response) -> list[dict[str, str]]:
    """The ``Result`` rows of a JSON listing (asserting a 200)."""
    assert resp.status_code == 200, (resp.status_code, resp.text[:300])
    result: list[dict[str, str]] = resp.json()["ResultSet"]["Result"]
    return result


def raw_exchange(server: LocalXNAT, request: bytes) -> bytes:
    """Send ``request`` as raw bytes on a new connection and return everything the server
    answers until it closes the connection."""
    host, port = server.url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        while data := sock.recv(65536):
            answer += data
    return answer

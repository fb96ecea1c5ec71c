"""Fixtures of the runtime integration tests: one local XNAT server, seeded per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

import xnat_sdk
from xnat_sdk.errors import XNATError
from xnat_sdk.services import TokenResult
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def server(xnat_server: LocalXNAT) -> LocalXNAT:
    """The suite's local XNAT server (the plugin's ``xnat_server``; admin/admin, user/user)."""
    return xnat_server


@pytest.fixture(autouse=True)
def _no_faults(server: LocalXNAT) -> Iterator[None]:
    server.faults.clear()
    yield
    server.faults.clear()


@dataclass
class Seeded:
    """IDs of the data seeded for one test."""

    project: str
    subjects: dict[str, str] = field(default_factory=dict)
    """label -> accession ID"""
    sessions: dict[str, str] = field(default_factory=dict)
    """label -> accession ID"""


@pytest.fixture
def seeded(server: LocalXNAT) -> Seeded:
    """A fresh private project PRJ<n> with subjects S1, S2; S1 has MR session E1 (scans 1-3)
    and S2 has MR session E2 (scan 1); custom variable ``visit=baseline`` on S1."""
    project = f"RT_PRJ{next(_counter)}"
    server.seed_project(project, name=f"Project {project}")
    data = Seeded(project)
    data.subjects["S1"] = server.seed_subject(project, "S1", fields={"fields/visit": "baseline"})
    data.subjects["S2"] = server.seed_subject(project, "S2")
    e1 = server.seed_session(project, "S1", "E1", fields={"fieldStrength": "3.0"})
    data.sessions["E1"] = e1
    for number, kind in ((1, "T1"), (2, "T2"), (3, "FLAIR")):
        server.seed_scan(e1, str(number), type=kind, fields={"series_description": f"{kind} s"})
    e2 = server.seed_session(project, "S2", "E2")
    data.sessions["E2"] = e2
    server.seed_scan(e2, "1", type="T1")
    return data


@pytest.fixture
def session(server: LocalXNAT) -> Iterator[XNATSession]:
    """An admin session (disconnected after the test)."""
    with xnat_sdk.connect(server.url, user="admin", password="admin") as connection:
        yield connection


class RequestLog:
    """Records every HTTP request a session sends (a requests response hook)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int]] = []

    def __call__(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        request = response.request
        self.requests.append((str(request.method), str(request.url), response.status_code))

    def __len__(self) -> int:
        return len(self.requests)

    def clear(self) -> None:
        """Forget what was recorded."""
        self.requests.clear()

    def paths(self) -> list[str]:
        """``METHOD path?query`` of each request (server part removed)."""
        out = []
        for method, url, _ in self.requests:
            tail = url.split("//", 1)[-1]
            out.append(f"{method} /{tail.split('/', 1)[-1]}")
        return out


@pytest.fixture
def log(session: XNATSession) -> RequestLog:
    """Counts the requests of ``session`` from now on."""
    recorder = RequestLog()
    session.interface.hooks["response"].append(recorder)
    return recorder


@pytest.fixture
def request_log() -> type[RequestLog]:
    """The :class:`RequestLog` class (to attach to sessions a test makes itself)."""
    return RequestLog


class IssuedTokens:
    """Records the alias tokens a session issues (to check they are dead after a map run)."""

    def __init__(self, session: XNATSession) -> None:
        self.issued: list[TokenResult] = []
        services = session.services
        original = services._issue

        def issue(user: str | None = None) -> tuple[TokenResult, float | None]:
            found = original(user)
            self.issued.append(found[0])
            return found

        services._issue = issue  # type: ignore[method-assign]


def assert_dead(server: LocalXNAT, token: TokenResult) -> None:
    """The alias token no longer logs anyone in (invalidated after its map run)."""
    with pytest.raises(XNATError):
        xnat_sdk.connect(server.url, user=token.alias, password=token.secret).disconnect()

"""A session reuses its connections, however many threads share it.

XNAT's Tomcat (and the local server) keep connections open between requests. urllib3 keeps
10 idle connections per server: past 10 threads it closed each extra connection on its
return ("Connection pool is full, discarding connection") and opened a new one (a TLS
handshake on a real server) for the next request. The session's pool now grows to the
most requests under way at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import xnat_sdk
from xnat_sdk.testing.local import LocalXNAT

THREADS = 16


@pytest.fixture
def busy_server() -> Iterator[LocalXNAT]:
    with LocalXNAT() as server:
        server.seed_project("REUSE")
        for number in range(3 * THREADS):
            server.seed_subject("REUSE", f"S{number:02d}")
        yield server


def test_one_thread_uses_one_connection(busy_server: LocalXNAT) -> None:
    with xnat_sdk.connect(busy_server.url, user="admin", password="admin") as session:
        project = session.projects["REUSE"]
        for subject in list(project.subjects.values())[:20]:
            session.get(subject.uri, format="json")
        assert busy_server.connections_accepted == 1


def test_more_threads_than_urllib3_keeps_reuse_their_connections(
    busy_server: LocalXNAT, caplog: pytest.LogCaptureFixture
) -> None:
    busy_server.faults.set_delay(0.02)  # every thread has a request under way at once
    caplog.set_level(logging.WARNING, logger="urllib3")
    with xnat_sdk.connect(busy_server.url, user="admin", password="admin") as session:

        def read(subject: Any) -> int:
            return session.get(subject.uri, format="json").status_code

        def run() -> list[int]:
            subjects = list(session.projects["REUSE"].subjects.values())
            with ThreadPoolExecutor(THREADS) as pool:
                return list(pool.map(read, subjects))

        # the login's connection, and at most one per thread for every run: none discarded
        assert set(run()) == {200}
        assert busy_server.connections_accepted <= THREADS + 1
        assert set(run()) == {200}
        assert busy_server.connections_accepted <= THREADS + 1
        mapped = session.projects["REUSE"].map(read, level="subject", max_workers=THREADS)
        assert set(mapped.values()) == {200}
        assert busy_server.connections_accepted <= THREADS + 1
    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []

"""A session reuses its connections, however many threads share it.

XNAT's Tomcat (and the local server) keep connections open between requests. urllib3 keeps
10 idle connections per server: past 10 threads it closed each extra connection on its
return ("Connection pool is full, discarding connection") and opened a new one (a TLS
handshake on a real server) for the next request. The session's pool now grows to the
most requests under way at once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
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


def test_a_large_upload_refused_before_its_body_is_read_logs_in_again(
    busy_server: LocalXNAT, tmp_path: Path
) -> None:
    """With the session expired, the server answers 401 without reading the body and, past
    2 MiB left unread (Tomcat's maxSwallowSize), closes the connection while the client
    is still sending. The client must still see the 401, log in again and send once more."""
    experiment = busy_server.seed_session("REUSE", "S00", "REUSE_E1")
    busy_server.seed_resource("experiment", experiment, "BIG")
    data = os.urandom(12 << 20)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    with xnat_sdk.connect(busy_server.url, user="admin", password="admin") as session:
        resource = session.experiments[experiment].resources["BIG"]
        busy_server.faults.expire_sessions()
        busy_server.faults.start_recording()
        resource.upload(source, "big.bin")
        sent = [(r.method, r.path.rsplit("/", 1)[-1]) for r in busy_server.faults.recorded()]
        assert sent == [("PUT", "big.bin"), ("GET", "JSESSION"), ("PUT", "big.bin")]
        answer = session.get(f"/data/experiments/{experiment}/resources/BIG/files/big.bin")
        assert answer.content == data

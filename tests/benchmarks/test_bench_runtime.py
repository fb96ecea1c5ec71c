"""Runtime benchmark, side by side with xnatpy 0.8.1 against the same local server and data.

(a) connect + first project listing; (b) walk a project of 2,000 subjects x 1 session x 3 scans
reading one field of every scan. Prints times, ratios and HTTP request counts (``make bench``).
Set ``XNAT_SDK_BENCH_SUBJECTS`` for another project size and ``XNAT_SDK_BENCH_STRICT=1`` to
fail when a target (>= 20x for (a), >= 3x for (b)) is missed.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

import xnat_sdk
from xnat_sdk.testing.local import LocalXNAT

xnat = pytest.importorskip("xnat")

SUBJECTS = int(os.environ.get("XNAT_SDK_BENCH_SUBJECTS", "2000"))
STRICT = os.environ.get("XNAT_SDK_BENCH_STRICT") == "1"
ROUNDS = 7
USER = {"user": "admin", "password": "admin"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    with LocalXNAT() as srv:
        srv.seed_project("BENCH", name="Benchmark")
        srv.seed_bulk("BENCH", SUBJECTS, sessions_per_subject=1, scans_per_session=3)
        requests.get(srv.url + "/data/JSESSION", auth=("admin", "admin"), timeout=30)  # warm up
        yield srv


class Counter:
    """Counts every request any requests.Session sends (both clients use requests)."""

    def __init__(self) -> None:
        self.count = 0
        self._original = requests.Session.send

    def __enter__(self) -> Counter:
        original = self._original

        def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(session, request, **kwargs)

        requests.Session.send = send  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        requests.Session.send = self._original  # type: ignore[method-assign]


def _ours(url: str) -> Any:
    return xnat_sdk.connect(url, **USER)


def _xnatpy(url: str) -> Any:
    quiet = logging.getLogger("xnatpy-bench")
    quiet.setLevel(logging.ERROR)
    return xnat.connect(url, logger=quiet, **USER)


def _connect_and_list(connect: Callable[[str], Any], url: str) -> tuple[float, int]:
    with Counter() as counter:
        started = time.perf_counter()
        session = connect(url)
        project = session.projects["BENCH"]
        elapsed = time.perf_counter() - started
        assert project.name == "Benchmark"
        requests_sent = counter.count
    session.disconnect()
    return elapsed, requests_sent


def _walk(session: Any) -> tuple[float, int, int]:
    with Counter() as counter:
        started = time.perf_counter()
        values = []
        for subject in session.projects["BENCH"].subjects.values():
            for experiment in subject.experiments.values():
                for scan in experiment.scans.values():
                    values.append(scan.series_description)
        elapsed = time.perf_counter() - started
    return elapsed, counter.count, len(values)


def _report(
    title: str, ours: float, theirs: float, ours_n: int, theirs_n: int, target: float
) -> None:
    ratio = theirs / ours
    verdict = "met" if ratio >= target else "MISSED"
    print(
        f"\n{title}\n"
        f"  xnat-sdk : {ours * 1000:9.1f} ms  {ours_n:6d} requests\n"
        f"  xnatpy   : {theirs * 1000:9.1f} ms  {theirs_n:6d} requests\n"
        f"  speed-up : {ratio:6.1f}x (target >= {target:g}x: {verdict})"
    )
    if STRICT:
        assert ratio >= target


def test_connect_and_first_listing(server: LocalXNAT) -> None:
    first_ours = _connect_and_list(_ours, server.url)
    first_theirs = _connect_and_list(_xnatpy, server.url)
    ours: list[tuple[float, int]] = []
    theirs: list[tuple[float, int]] = []
    for _ in range(ROUNDS):
        ours.append(_connect_and_list(_ours, server.url))
        theirs.append(_connect_and_list(_xnatpy, server.url))
    print(
        f"\n(a) first call in this process: xnat-sdk {first_ours[0] * 1000:.1f} ms "
        f"({first_ours[1]} requests), xnatpy {first_theirs[0] * 1000:.1f} ms "
        f"({first_theirs[1]} requests)"
    )
    _report(
        f"(a) connect + first project listing (median of {ROUNDS})",
        statistics.median(t for t, _ in ours),
        statistics.median(t for t, _ in theirs),
        ours[0][1],
        theirs[0][1],
        20.0,
    )
    assert ours[0][1] < theirs[0][1]


def test_walk_project(server: LocalXNAT) -> None:
    ours_session = _ours(server.url)
    theirs_session = _xnatpy(server.url)
    try:
        ours_time, ours_n, ours_values = _walk(ours_session)
        theirs_time, theirs_n, theirs_values = _walk(theirs_session)
    finally:
        ours_session.disconnect()
        theirs_session.disconnect()
    assert ours_values == theirs_values == SUBJECTS * 3
    _report(
        f"(b) walk {SUBJECTS} subjects x 1 session x 3 scans, one field per scan",
        ours_time,
        theirs_time,
        ours_n,
        theirs_n,
        3.0,
    )
    assert ours_n < theirs_n


_COLD = """
import json, logging, sys, time
started = time.perf_counter()
if sys.argv[1] == "ours":
    import xnat_sdk
    session = xnat_sdk.connect(sys.argv[2], user="admin", password="admin")
else:
    import xnat
    quiet = logging.getLogger("cold"); quiet.setLevel(logging.ERROR)
    session = xnat.connect(sys.argv[2], user="admin", password="admin", logger=quiet)
name = session.projects["BENCH"].name
elapsed = time.perf_counter() - started
session.disconnect()
print(json.dumps(elapsed))
"""


def test_cold_process_connect_and_listing(server: LocalXNAT) -> None:
    """Imports included: a fresh interpreter per run (informational, no target)."""
    times: dict[str, list[float]] = {"ours": [], "xnatpy": []}
    for _ in range(3):
        for which in times:
            out = subprocess.run(
                [sys.executable, "-c", _COLD, which, server.url],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            times[which].append(json.loads(out.strip().splitlines()[-1]))
    ours = statistics.median(times["ours"])
    theirs = statistics.median(times["xnatpy"])
    print(
        f"\n(a') fresh process, imports included (median of 3): xnat-sdk {ours * 1000:.0f} ms, "
        f"xnatpy {theirs * 1000:.0f} ms, speed-up {theirs / ours:.1f}x"
    )

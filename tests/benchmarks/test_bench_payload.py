"""What a map run's large ``args`` cost (``make bench``; not part of ``make test``).

500 calls of a function that only reads its arguments, over 500 scans chosen beforehand
(``map_over``: no walk in the time), with ``args`` of 5 MB, on a 2-process pool and a
2-worker Dask LocalCluster (2 threads each), against the same run without ``args``. Two
kinds of 5 MB: one ``bytes`` value (cheap to pickle, only copied) and a list of 100,000
short tuples (costly to pickle and unpickle). Before the run's payload went once per run
(``_maprun``), every call carried the function and its arguments.

Run as a script too: ``python tests/benchmarks/test_bench_payload.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

import xnat_sdk
from xnat_sdk.testing.local import LocalXNAT

CALLS = 500
SIZE = 5_000_000


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    with LocalXNAT() as srv:
        srv.seed_project("PAY", name="Payload")
        srv.seed_bulk("PAY", CALLS // 2, sessions_per_subject=1, scans_per_session=2)
        yield srv


def read_args(scan: Any, *args: Any) -> int:
    """Touches the arguments (their length), nothing on the server."""
    return sum(len(a) for a in args)


def _kinds() -> dict[str, tuple[Any, ...]]:
    rows = [(f"row{n:06d}", n * 1.5, n) for n in range(100_000)]  # ~5 MB pickled
    return {"no args": (), "5 MB bytes": (os.urandom(SIZE),), "5 MB of tuples": (rows,)}


def _time(session: Any, scans: list[Any], args: tuple[Any, ...], executor: Any) -> float:
    session.map_over(read_args, scans[:8], args, executor=executor)  # workers warm
    started = time.perf_counter()
    results = session.map_over(read_args, scans, args, executor=executor)
    elapsed = time.perf_counter() - started
    assert len(results) == len(scans) and len(set(results.values())) == 1, results
    return elapsed


def measure(server: LocalXNAT) -> list[tuple[str, str, float]]:
    import distributed

    rows: list[tuple[str, str, float]] = []
    kinds = _kinds()
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        scans = [s for e in session.projects["PAY"].experiments.values() for s in e.scans]
        scans = scans[:CALLS]
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(2, mp_context=spawn) as pool:
            for name, args in kinds.items():
                rows.append(("process pool (2)", name, _time(session, scans, args, pool)))
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=2, processes=True, dashboard_address="127.0.0.1:0"
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            for name, args in kinds.items():
                rows.append(("dask (2 x 2 threads)", name, _time(session, scans, args, client)))
    return rows


def _report(rows: list[tuple[str, str, float]]) -> None:
    print(f"\nmap_over of {CALLS} calls, args of 5 MB")
    for executor, kind, seconds in rows:
        print(f"  {executor:22s} {kind:16s}: {seconds:6.2f} s")


def test_large_args(server: LocalXNAT) -> None:
    pytest.importorskip("distributed")
    _report(measure(server))


if __name__ == "__main__":
    with LocalXNAT() as srv:
        srv.seed_project("PAY", name="Payload")
        srv.seed_bulk("PAY", CALLS // 2, sessions_per_subject=1, scans_per_session=2)
        _report(measure(srv))

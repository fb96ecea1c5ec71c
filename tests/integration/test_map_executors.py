"""``session.map`` on threads, a process pool and a Dask LocalCluster; objects that travel
without credentials; the run's alias token (issue 16, items 2 and 3).

One Dask cluster (2 worker processes) and one process pool serve the whole module.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

import xnat_sdk
from tests.integration.conftest import IssuedTokens, assert_dead
from xnat_sdk._objects.travel import (
    RUNS_KEPT,
    RunTask,
    close_sessions,
    kept_calls,
    open_sessions,
    worker_session,
)
from xnat_sdk.errors import (
    XNATAuthError,
    XNATError,
    XNATMapError,
    XNATNotPicklableError,
    XNATTokenWarning,
    XNATValidationError,
)
from xnat_sdk.mapping import MappedFunctionFailed
from xnat_sdk.services import TokenResult
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

PROJECT = "MAPX"
LOGIN = "mapper"
PASSWORD = "Pw-q7Zr-unique-4481"  # appears nowhere else: the pickle checks look for it


@pytest.fixture(scope="module")
def mapped(server: LocalXNAT) -> str:
    server.seed_project(PROJECT, name="map executors")
    server.seed_bulk(PROJECT, 3, sessions_per_subject=2, scans_per_session=2)
    server.add_user(LOGIN, PASSWORD)
    server.add_member(PROJECT, LOGIN, "member")
    return PROJECT


@pytest.fixture
def mapper(server: LocalXNAT, mapped: str) -> Iterator[XNATSession]:
    with xnat_sdk.connect(server.url, user=LOGIN, password=PASSWORD) as session:
        yield session


@pytest.fixture(scope="module")
def processes() -> Iterator[ProcessPoolExecutor]:
    # spawn: the test process runs server threads, which a fork would copy mid-flight
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def scan_summary(scan: Any) -> tuple[str, str, str]:
    """Reads one field the walk loaded and one it did not (the scan's own document)."""
    return (scan.type, scan.series_description, str(scan.quality))


def fail_on_t2(scan: Any) -> str:
    if scan.type == "T2":
        raise ValueError(f"no T2 wanted ({scan.id})")
    return str(scan.type)


def where_run(experiment: Any) -> tuple[int, int, str]:
    """The worker's process, its session's identity, and the experiment's label."""
    return os.getpid(), id(experiment.xnat_session), str(experiment.label)


def _levels(mapper: XNATSession) -> list[str]:
    return [scan.uri for scan in mapper.projects[PROJECT].mapping_iter("scan")]


def test_map_on_threads_keeps_order_and_reports_each_failure(mapper: XNATSession) -> None:
    expected = _levels(mapper)
    project = mapper.projects[PROJECT]
    with ThreadPoolExecutor(3) as pool:
        results = project.map(fail_on_t2, "scan", executor=pool)
    assert list(results) == expected
    failed = {u: r for u, r in results.items() if isinstance(r, MappedFunctionFailed)}
    assert len(failed) == len(expected) // 2
    for uri, failure in failed.items():
        assert failure.uri == uri
        assert failure.exception_type == "ValueError"
        assert failure.message.startswith("no T2 wanted")
        assert "fail_on_t2" in failure.details
    assert {r for r in results.values() if isinstance(r, str)} == {"T1"}
    default = project.map(scan_summary, "scan")  # the default: threads
    assert list(default) == expected
    assert all(v[0] in ("T1", "T2") for v in default.values())


def test_max_workers_is_checked_the_same_everywhere(mapper: XNATSession) -> None:
    """0, a negative number and a bool are refused before anything runs, by map, map_over,
    mapping_iter and download_files alike (0 ran on 8 threads, map_over raised a bare
    ValueError)."""
    project = mapper.projects[PROJECT]
    scans = list(project.subjects[0].experiments[0].scans.values())
    for wrong in (0, -1, True, 2.5):
        with pytest.raises(XNATValidationError, match="max_workers"):
            project.map(scan_summary, "scan", max_workers=wrong)  # type: ignore[arg-type]
        with pytest.raises(XNATValidationError, match="max_workers"):
            mapper.map_over(scan_summary, scans, max_workers=wrong)  # type: ignore[arg-type]
        with pytest.raises(XNATValidationError, match="max_workers"):
            list(mapper.mapping_iter("scan", max_workers=wrong))  # type: ignore[arg-type]
        with pytest.raises(XNATValidationError, match="workers"):
            project.download_files("unused", workers=wrong)  # type: ignore[arg-type]


def test_stop_on_error_names_the_object(mapper: XNATSession) -> None:
    project = mapper.projects[PROJECT]
    with pytest.raises(XNATMapError, match="no T2 wanted") as caught:
        project.map(fail_on_t2, "scan", stop_on_error=True, max_workers=1)
    assert caught.value.uri in _levels(mapper)
    assert caught.value.exception_type == "ValueError"


def test_map_on_a_process_pool(
    server: LocalXNAT, mapper: XNATSession, processes: ProcessPoolExecutor
) -> None:
    tokens = IssuedTokens(mapper)
    threads = mapper.projects[PROJECT].map(scan_summary, "scan")
    results = mapper.projects[PROJECT].map(scan_summary, "scan", executor=processes)
    assert results == threads
    assert list(results) == _levels(mapper)
    where = mapper.projects[PROJECT].map(where_run, "experiment", executor=processes)
    pids = {pid for pid, _, _ in where.values()}
    assert os.getpid() not in pids
    for pid in pids:  # one session per worker process, reused for all its objects
        assert len({sid for p, sid, _ in where.values() if p == pid}) == 1
    assert len(tokens.issued) == 2
    for token in tokens.issued:
        assert_dead(server, token)


def test_a_failing_object_on_a_process_pool_leaves_the_rest(
    mapper: XNATSession, processes: ProcessPoolExecutor
) -> None:
    results = mapper.projects[PROJECT].map(fail_on_t2, "scan", executor=processes)
    failed = [r for r in results.values() if isinstance(r, MappedFunctionFailed)]
    done = [r for r in results.values() if r == "T1"]
    assert len(failed) == len(done) == len(results) // 2
    assert all(f.exception_type == "ValueError" and f.uri for f in failed)
    with pytest.raises(XNATNotPicklableError, match="cannot be sent"):
        mapper.projects[PROJECT].map(lambda scan: scan.type, "scan", executor=processes)


def _server_sessions(server: LocalXNAT) -> set[str]:
    rows = server.store.query("SELECT id FROM http_sessions WHERE login=?", (LOGIN,))
    return {str(row["id"]) for row in rows}


def scans_seen(experiment: Any) -> list[tuple[str, str, str]]:
    """Every scan of the experiment with two fields the tree loaded and its quality."""
    return [(s.id, s.type, str(s.quality)) for s in experiment.scans.values()]


def scans_of_subject(subject: Any) -> int:
    return sum(len(e.scans) for e in subject.experiments.values())


def _archive_reads(server: LocalXNAT) -> list[str]:
    """What the recorded requests read of the archive (logins and tokens left out)."""
    return [
        f"{r.method} {r.path}"
        for r in server.faults.recorded()
        if "/data/JSESSION" not in r.path and "/services/tokens/" not in r.path
    ]


def test_a_loaded_tree_travels_with_its_objects(
    server: LocalXNAT, mapper: XNATSession, processes: ProcessPoolExecutor, dask_client: Any
) -> None:
    project = mapper.projects[PROJECT]
    expected = project.map(scans_seen, "experiment")  # threads: the objects at hand
    tree = project.load_tree(["type", "quality"])
    server.faults.start_recording()
    for executor in (processes, dask_client):
        # the walk takes the tree the user loaded (with quality), and each experiment
        # brings its scans: no listing, no document read, in this process or a worker
        assert project.map(scans_seen, "experiment", executor=executor) == expected
        subjects = list(tree.values())
        counted = mapper.map_over(scans_of_subject, subjects, executor=executor)
        assert list(counted.values()) == [4, 4, 4]  # 2 sessions x 2 scans each
    assert _archive_reads(server) == []
    # a field the tree did not load is still read where the call runs (one request)
    mapper.map_over(scan_summary, [tree[0].experiments[0].scans[0]], executor=processes)
    assert len(_archive_reads(server)) == 1


def label_or_fail(experiment: Any) -> str:
    if str(experiment.label).endswith("2_MR1"):
        raise ValueError("not this one")
    return str(experiment.label)


def test_a_failed_token_invalidation_keeps_the_results_and_is_tried_again(
    server: LocalXNAT,
    mapper: XNATSession,
    processes: ProcessPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A run whose token the server fails to invalidate returned no results (the error
    replaced them, and stop_on_error's XNATMapError) and left the token alive: the
    invalidation is tried again, then at disconnect, with a warning; no message or log line
    holds the token's secret."""
    from xnat_sdk import _maprun

    monkeypatch.setattr(_maprun, "_INVALIDATE_WAITS", (0.01, 0.01))
    invalidate = "/data/services/tokens/invalidate"
    project = mapper.projects[PROJECT]
    tokens = IssuedTokens(mapper)
    caplog.set_level("DEBUG", logger="xnat_sdk")
    caplog.set_level("DEBUG", logger="urllib3")  # its lines quote the path too
    server.faults.fail_next(2, prefix=invalidate)  # the first try and one more fail
    results = project.map(label_or_fail, "experiment", executor=processes)
    failed = [r for r in results.values() if isinstance(r, MappedFunctionFailed)]
    assert len(results) == 6 and len(failed) == 1
    assert_dead(server, tokens.issued[-1])
    server.faults.fail_next(3, prefix=invalidate)  # every try fails
    with (
        pytest.warns(XNATTokenWarning, match="could not be invalidated") as warned,
        pytest.raises(XNATMapError, match="not this one"),
    ):
        project.map(label_or_fail, "experiment", executor=processes, stop_on_error=True)
    assert [w.filename for w in warned] == [__file__]  # the user's line, told once
    alive = tokens.issued[-1]
    assert alias_logs_in(server, alive)  # until the session's disconnect tries again
    with xnat_sdk.connect(server.url, user=LOGIN, password=PASSWORD) as other:
        other._tokens_left.append(alive)
    assert not alias_logs_in(server, alive)
    assert any(
        "tokens/invalidate" in r.getMessage()
        for r in caplog.records
        if r.name.startswith("urllib3")
    )
    for token in tokens.issued:
        assert all(token.secret not in record.getMessage() for record in caplog.records)
    with pytest.raises(XNATError) as raised:
        mapper.services.invalidate_token(TokenResult("0" * 36, alive.secret))
    assert alive.secret not in str(raised.value)


def alias_logs_in(server: LocalXNAT, token: Any) -> bool:
    try:
        xnat_sdk.connect(server.url, user=token.alias, password=token.secret).disconnect()
    except XNATError:
        return False
    return True


def read_document(experiment: Any) -> str:
    return str(experiment.xnat_session.get_json(experiment.uri))[:20]


def test_workers_take_the_caller_s_timeout(
    server: LocalXNAT, processes: ProcessPoolExecutor, mapped: str
) -> None:
    """A worker's session had the SDK's default timeouts (300 s), whatever the caller's."""
    with xnat_sdk.connect(server.url, user=LOGIN, password=PASSWORD, timeout=1.0) as quick:
        (first, *_) = quick.projects[PROJECT].experiments.values()
        server.faults.hang_next(prefix=first.uri, seconds=8)
        started = time.monotonic()
        results = quick.map_over(read_document, [first], executor=processes)
        took = time.monotonic() - started
        server.faults.clear()
    (failed,) = results.values()
    assert isinstance(failed, MappedFunctionFailed)
    assert failed.exception_type == "XNATTimeoutError"
    assert took < 6


def look_up_a_missing_subject(url: str) -> None:
    with xnat_sdk.connect(url, user=LOGIN, password=PASSWORD) as session:
        session.projects[PROJECT].subjects["NO_SUCH_SUBJECT"]


def test_an_sdk_error_raised_in_a_worker_process_comes_back_as_it_was(
    server: LocalXNAT, processes: ProcessPoolExecutor, mapped: str
) -> None:
    """An XNATKeyError raised in a user's own process-pool call broke the pool's result
    (BrokenProcessPool: its __init__ takes other arguments than its args)."""
    future = processes.submit(look_up_a_missing_subject, server.url)
    with pytest.raises(XNATError, match="NO_SUCH_SUBJECT") as raised:
        future.result(timeout=60)
    assert isinstance(raised.value, KeyError)


def test_process_pool_workers_log_out_when_the_pool_ends(
    server: LocalXNAT, mapper: XNATSession
) -> None:
    before = _server_sessions(server)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = mapper.projects[PROJECT].map(where_run, "experiment", executor=pool)
        assert len(results) == 6
        during = _server_sessions(server) - before
        # the worker keeps its one session between runs (its token is dead already) ...
        assert len(during) == 1
    # ... and logs it out when its process ends with the pool
    assert _server_sessions(server) - before == set()


def test_map_on_a_dask_cluster(server: LocalXNAT, mapper: XNATSession, dask_client: Any) -> None:
    tokens = IssuedTokens(mapper)
    threads = mapper.projects[PROJECT].map(scan_summary, "scan")
    results = mapper.projects[PROJECT].map(scan_summary, "scan", executor=dask_client)
    assert results == threads
    assert list(results) == _levels(mapper)
    failing = mapper.projects[PROJECT].map(fail_on_t2, "scan", executor=dask_client)
    failed = [r for r in failing.values() if isinstance(r, MappedFunctionFailed)]
    assert len(failed) == len(failing) // 2
    assert all(f.exception_type == "ValueError" for f in failed)
    assert len(tokens.issued) == 2
    for token in tokens.issued:
        assert_dead(server, token)
    still_open = dask_client.run(open_sessions)  # the workers logged their sessions out
    assert len(still_open) == 2 and not any(still_open.values())


def pause_then_read(experiment: Any, pause: float) -> tuple[str, int]:
    """Reads, waits, then sends one more request (which may need a new login)."""
    label = str(experiment.label)
    time.sleep(pause)
    return label, experiment.xnat_session.get("/data/projects", format="json").status_code


def test_a_dask_run_hands_a_renewed_token_to_calls_already_running(
    server: LocalXNAT, mapper: XNATSession, dask_client: Any
) -> None:
    admin = ("admin", "admin")
    pref = f"{server.url}/xapi/siteConfig/aliasTokenTimeout"
    assert requests.post(pref, data="3 seconds", auth=admin).status_code == 200
    tokens = IssuedTokens(mapper)
    subject = mapper.projects[PROJECT].subjects[0]
    # every server session dies 4 s in, after the first token did (3 s): the calls, still
    # pausing, must log in again with a token they did not start with
    expiry = threading.Timer(4.0, server.faults.expire_sessions)
    expiry.start()
    try:
        results = subject.map(pause_then_read, "experiment", args=(5.5,), executor=dask_client)
    finally:
        expiry.cancel()
        requests.post(pref, data="2 days", auth=admin)
    failed = [r for r in results.values() if isinstance(r, MappedFunctionFailed)]
    assert not failed, failed
    assert sorted(results.values()) == sorted((e.label, 200) for e in subject.experiments)
    assert len(tokens.issued) >= 3
    for token in tokens.issued:
        assert_dead(server, token)


def die_on_the_fourth(scan: Any, fourth: str) -> str:
    """Ends its worker process (as a crash or an out-of-memory kill would) on one object."""
    if scan.uri == fourth:
        os._exit(1)
    return str(scan.type)


@pytest.mark.parametrize("stop_on_error", [False, True])
def test_a_worker_that_dies_fails_the_calls_left_one_by_one(
    mapper: XNATSession, stop_on_error: bool
) -> None:
    chosen = _chosen_scans(mapper)[:-1]
    fourth = chosen[3].uri
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        if stop_on_error:
            with pytest.raises(XNATMapError) as caught:
                mapper.map_over(
                    die_on_the_fourth, chosen, (fourth,), executor=pool, stop_on_error=True
                )
            assert caught.value.exception_type == "BrokenProcessPool"
            return
        results = mapper.map_over(die_on_the_fourth, chosen, (fourth,), executor=pool)
    assert list(results) == [scan.uri for scan in chosen]  # every object has its answer
    assert [r for r in results.values() if isinstance(r, str)] == [scan.type for scan in chosen[:3]]
    failed = [r for r in results.values() if isinstance(r, MappedFunctionFailed)]
    assert len(failed) == len(chosen) - 3
    assert {f.exception_type for f in failed} == {"BrokenProcessPool"}


def test_pickled_objects_carry_no_credentials(mapper: XNATSession) -> None:
    project = mapper.projects[PROJECT]
    subjects = project.load_tree()
    experiment = subjects[0].experiments[0]
    experiment._xnat_document()  # the whole document loaded too
    scan = experiment.scans[0]
    token = mapper.services.issue_token()
    try:
        cookie = mapper.interface.cookies.get("JSESSIONID") or ""
        assert cookie
        for thing in (project, subjects, experiment, scan, experiment.scans, scan.resources):
            data = pickle.dumps(thing)
            assert PASSWORD.encode() not in data
            assert token.secret.encode() not in data
            assert cookie.encode() not in data
            back = mapper.unpickle(data)
            assert type(back) is type(thing)
        back_scan = mapper.unpickle(pickle.dumps(scan))
        assert (back_scan.uri, back_scan.type, back_scan.xsi_type) == (
            scan.uri,
            scan.type,
            scan.xsi_type,
        )
        assert back_scan.xnat_session is mapper
        envelope = pickle.dumps(RunTask(mapper.server, "run", token.alias, token.secret, True, len))
        assert PASSWORD.encode() not in envelope
        assert cookie.encode() not in envelope
        assert "secret" not in repr(RunTask(mapper.server, "run", "a", "s3cr3t", True, len))
        with pytest.raises(XNATNotPicklableError):
            pickle.dumps(mapper)
    finally:
        mapper.services.invalidate_token(token)


def test_an_object_unpickled_without_a_session_reads_what_it_carries(
    mapper: XNATSession,
) -> None:
    scan = mapper.projects[PROJECT].load_tree()[0].experiments[0].scans[0]
    data, kind = pickle.dumps(scan), scan.type
    mapper.disconnect()
    back = pickle.loads(data)
    assert back.type == kind
    with pytest.raises(XNATError, match=r"not bound to a session.*session\.map_over"):
        back.quality  # noqa: B018 (not loaded: needs a session)
    with pytest.raises(XNATError, match=r"session\.unpickle.*session\.map_over"):
        back.xnat_session  # noqa: B018


def repetition_time(scan: Any) -> tuple[float | None, Any]:
    """A field of a part the scan carries (``parameters/tr``), and the scan itself back."""
    return scan.parameters.tr, scan


def test_objects_with_parts_travel_and_come_back(
    server: LocalXNAT, mapper: XNATSession, processes: ProcessPoolExecutor
) -> None:
    """A part (an MR scan's ``parameters``, a subject's ``demographics``) has its owner as
    parent and is among the owner's fields: the two pickle as one cycle (they recursed
    without end), whichever is pickled, and map on processes sends and returns them."""
    server.seed_project("MAPPARTS")
    server.add_member("MAPPARTS", LOGIN, "member")
    subject_id = server.seed_subject("MAPPARTS", "S", fields={"demographics/gender": "female"})
    session_id = server.seed_session("MAPPARTS", subject_id, "MR")
    for scan_id, tr in (("1", "2.3"), ("2", "0.8")):
        server.seed_scan(session_id, scan_id, type="T1", fields={"parameters/tr": tr})
    subject = mapper.projects["MAPPARTS"].subjects["S"]
    assert subject.demographics.gender == "female"  # the document read: the part is whole
    scans = list(subject.experiments["MR"].scans.values())
    assert [scan.parameters.tr for scan in scans] == [2.3, 0.8]
    back = mapper.unpickle(pickle.dumps(subject))
    assert back.demographics.gender == "female" and back.demographics.parent is back
    part = pickle.loads(pickle.dumps(scans[0].parameters))
    parent = part.parent
    assert part.tr == 2.3 and parent is not None and parent.uri == scans[0].uri
    results = mapper.map_over(repetition_time, scans, executor=processes)
    assert [value for value, _ in results.values()] == [2.3, 0.8]
    returned = [scan for _, scan in results.values()]
    assert [scan.uri for scan in returned] == [scan.uri for scan in scans]
    assert [scan.parameters.tr for scan in returned] == [2.3, 0.8]


def listed_gender(subject: Any) -> tuple[Any, Any]:
    """A field the subject's listing columns gave, and the subject itself back."""
    return subject.demographics.gender, subject


def scans_of(experiment: Any) -> Any:
    return experiment.scans


def scan_table(experiment: Any) -> Any:
    return experiment.scans.tabulate(["ID", "type"])


def test_results_come_back_to_the_session_and_listed_columns_travel(
    server: LocalXNAT, mapper: XNATSession, processes: ProcessPoolExecutor
) -> None:
    """Objects and listings a mapped function returns from another process are the
    caller's, bound to its session (they failed to unpickle: a listing broke the pool);
    what ``load_tree``'s columns gave an object travels with it, so a worker reads no
    document for it."""
    server.seed_project("MAPBACK")
    server.add_member("MAPBACK", LOGIN, "member")
    genders = {"S1": "female", "S2": "", "S3": "male"}
    for label, gender in genders.items():
        fields = {"demographics/gender": gender} if gender else {}
        server.seed_subject("MAPBACK", label, fields=fields)
        session_id = server.seed_session("MAPBACK", label, f"{label}_MR")
        server.seed_scan(session_id, "1", type=f"T1 of {label}")
    subjects = mapper.projects["MAPBACK"].load_tree(["type"], subject_columns=["gender"])
    server.faults.start_recording()
    results = mapper.map_over(listed_gender, list(subjects.values()), executor=processes)
    documents = [r for r in server.faults.recorded() if "/subjects/" in r.path]
    assert documents == []  # the workers read no subject's document
    assert [value for value, _ in results.values()] == ["female", None, "male"]
    back = [subject for _, subject in results.values()]
    assert all(subject.xnat_session is mapper for subject in back)
    assert back[0].demographics.gender == "female" and back[0].label == "S1"
    experiments = [e for s in subjects.values() for e in s.experiments.values()]
    listings = mapper.map_over(scans_of, experiments, executor=processes)
    assert all(not isinstance(v, MappedFunctionFailed) for v in listings.values())
    assert [listing.xnat_session is mapper for listing in listings.values()] == [True] * 3
    tables = mapper.map_over(scan_table, experiments, executor=processes)
    here = [e.scans.tabulate(["ID", "type"]) for e in experiments]
    assert list(tables.values()) == here  # a table pickles as its columns and values
    assert [t.columns for t in tables.values()] == [("ID", "type")] * 3
    assert [t[0].type for t in tables.values()] == ["T1 of S1", "T1 of S2", "T1 of S3"]
    assert copy.deepcopy(here[0]) == here[0] and copy.deepcopy(here[0]).columns == ("ID", "type")


# -- session.map_over: the objects the caller chose -------------------------------------------


@pytest.fixture(scope="module")
def documents(server: LocalXNAT, mapped: str) -> dict[str, bytes]:
    """Three files of a project resource, by path."""
    files = {f"notes/{n}.txt": f"note {n}\n".encode() * (n + 1) for n in range(3)}
    resource = server.seed_resource("project", PROJECT, "DOCS")
    for path, data in files.items():
        server.seed_file(resource, path, data)
    return files


def file_digest(remote: Any) -> tuple[str, str, int]:
    """A file's path, the MD5 of its bytes as read in the worker, the worker's process."""
    with remote.open() as stream:
        return remote.path, hashlib.md5(stream.read()).hexdigest(), os.getpid()


def _chosen_scans(mapper: XNATSession) -> list[Any]:
    """A search result, reversed and with one object twice: an order no walk gives."""
    scans = mapper.search(project="map executors")  # xnatpy matches the project name
    assert len(scans) == 12
    return [*reversed(scans), scans[-1]]


def test_map_over_chosen_objects_on_threads(mapper: XNATSession) -> None:
    chosen = _chosen_scans(mapper)
    order = [scan.uri for scan in chosen[:-1]]
    calls: list[str] = []

    def kind(scan: Any) -> str:
        calls.append(scan.uri)
        return fail_on_t2(scan)

    results = mapper.map_over(kind, chosen, max_workers=3)
    assert list(results) == order  # the objects' order, each URI once
    assert sorted(calls) == sorted(order)
    failed = {u: r for u, r in results.items() if isinstance(r, MappedFunctionFailed)}
    assert len(failed) == 6 and all(r.uri == u for u, r in failed.items())
    assert {r for r in results.values() if isinstance(r, str)} == {"T1"}
    with pytest.raises(XNATMapError, match="no T2 wanted"):
        mapper.map_over(fail_on_t2, chosen, stop_on_error=True, max_workers=1)
    # a listing works as well as a list: the experiments of one subject
    subject = mapper.projects[PROJECT].subjects[0]
    labels = mapper.map_over(where_run, subject.experiments)
    assert [label for _, _, label in labels.values()] == [e.label for e in subject.experiments]


def test_map_over_on_a_process_pool_and_a_dask_cluster(
    server: LocalXNAT,
    mapper: XNATSession,
    documents: dict[str, bytes],
    processes: ProcessPoolExecutor,
    dask_client: Any,
) -> None:
    tokens = IssuedTokens(mapper)
    chosen = _chosen_scans(mapper)
    here = mapper.map_over(scan_summary, chosen)
    assert mapper.map_over(scan_summary, chosen, executor=processes) == here
    assert mapper.map_over(scan_summary, chosen, executor=dask_client) == here
    assert list(here) == [scan.uri for scan in chosen[:-1]]
    # files travel too: each worker reads the bytes with its own session
    files = list(mapper.projects[PROJECT].resources["DOCS"].files.values())
    digests = mapper.map_over(file_digest, files, executor=processes)
    assert list(digests) == [f.uri for f in files]
    assert {path: md5 for path, md5, _ in digests.values()} == {
        path: hashlib.md5(data).hexdigest() for path, data in documents.items()
    }
    assert os.getpid() not in {pid for _, _, pid in digests.values()}
    assert len(tokens.issued) == 3
    for token in tokens.issued:
        assert_dead(server, token)


def test_map_over_with_a_logfile_calls_only_what_failed(
    mapper: XNATSession, tmp_path: Path
) -> None:
    chosen = _chosen_scans(mapper)
    log = tmp_path / "over.json"
    first = mapper.map_over(fail_on_t2, chosen, logfile=log)
    assert json.loads(log.read_text()).keys() == first.keys()
    calls: list[str] = []

    def again(scan: Any) -> str:
        calls.append(scan.uri)
        return f"retried {scan.type}"

    second = mapper.map_over(again, chosen, logfile=log)
    failed = [u for u, r in first.items() if isinstance(r, MappedFunctionFailed)]
    assert sorted(calls) == sorted(failed)  # the six that succeeded are not called again
    assert list(second) == list(first)  # still the objects' order
    for uri, result in second.items():
        assert result == ("retried T2" if uri in failed else "T1")


def test_map_over_refuses_what_is_not_this_sessions_before_sending(
    server: LocalXNAT, mapper: XNATSession, processes: ProcessPoolExecutor
) -> None:
    from xnat_sdk.models import ProjectData

    mine = _chosen_scans(mapper)
    tokens = IssuedTokens(mapper)
    with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
        theirs = other.projects[PROJECT].subjects[0]
        server.faults.start_recording()
        cases: list[tuple[Any, str]] = [
            ([*mine, theirs], r"item 13 \(SubjectData .*\) is of another session"),
            ([ProjectData(id="NEW")], "item 0 .* is not on the server"),
            ([mine[0], "scan"], "item 1 is a str, not an XNAT object"),
            ("scan", "got str"),
            ({scan.uri: scan for scan in mine}, r"got dict \(its \.values\(\)\)"),
        ]
        for objects, message in cases:
            with pytest.raises(XNATValidationError, match=message):
                mapper.map_over(scan_summary, objects, executor=processes)
        assert mapper.map_over(scan_summary, [], executor=processes) == {}
        assert server.faults.recorded() == []  # nothing sent, no token issued
        assert tokens.issued == []


# -- faults: a demanding user's runs ------------------------------------------------------------


class CountingPool(ThreadPoolExecutor):
    """A thread pool that counts the calls submitted and not finished yet."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self._count_lock = threading.Lock()
        self.queued = 0
        self.most_queued = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        with self._count_lock:
            self.queued += 1
            self.most_queued = max(self.most_queued, self.queued)
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Any) -> None:
        with self._count_lock:
            self.queued -= 1


def slow_type(scan: Any) -> str:
    time.sleep(0.02)
    return str(scan.type)


def test_a_thread_run_queues_a_few_calls_per_thread_not_the_whole_run(
    mapper: XNATSession,
) -> None:
    """Every call of a thread run was submitted at once, and each wait for the next result
    waited on all of them: the run's cost grew with the square of its objects (20,000
    objects on 8 threads: 21 s of CPU for 5 s of calls)."""
    chosen = _chosen_scans(mapper)
    with CountingPool(2) as pool:
        results = mapper.map_over(slow_type, chosen, executor=pool)
    assert list(results) == [scan.uri for scan in chosen[:-1]]
    assert set(results.values()) == {"T1", "T2"}
    assert 2 <= pool.most_queued <= 8  # four per thread, at least eight


def interrupt_once_all_run(scan: Any, first: str, running: threading.Barrier) -> str:
    """Ctrl-C (the signal reaches the main thread) once every thread of the run is busy;
    the calls on the other objects take long (until the barrier is aborted)."""
    import signal

    if scan.uri == first:
        running.wait(10)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        return "interrupted"
    with contextlib.suppress(threading.BrokenBarrierError):
        running.wait(10)  # the first two others meet the first here
        running.wait(10)  # and wait until the test aborts the barrier
    return str(scan.type)


def test_ctrl_c_stops_a_thread_run_at_once(mapper: XNATSession) -> None:
    """Ctrl-C waited for every running call of a thread run to end (a call of an hour
    kept the user waiting an hour); now the KeyboardInterrupt comes at once, the calls not
    started never start and the running ones end on their own."""
    chosen = _chosen_scans(mapper)[:-1]
    running = threading.Barrier(3)
    calls_before = threading.active_count()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            mapper.map_over(interrupt_once_all_run, chosen, (chosen[0].uri, running), max_workers=3)
        took = time.monotonic() - started
    finally:
        running.abort()
    assert took < 5, took
    deadline = time.monotonic() + 10
    while threading.active_count() > calls_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= calls_before  # the run's threads ended with their calls


def exit_on_the_first(scan: Any, first: str) -> str:
    """A tool's main() called per object: sys.exit() on one of them."""
    if scan.uri == first:
        raise SystemExit(3)
    return str(scan.type)


def test_a_call_that_exits_fails_alone(
    server: LocalXNAT, mapper: XNATSession, dask_client: Any
) -> None:
    """``sys.exit()`` in a mapped function ended its Dask worker: Dask ran the call on three
    more workers (killing each) and gave a KilledWorker 10 s later; on threads the failure
    had no traceback. Now it fails its own call, with its traceback, wherever it runs."""
    chosen = _chosen_scans(mapper)[:4]
    first = chosen[0].uri
    for executor in (dask_client, None):
        started = time.monotonic()
        results = mapper.map_over(exit_on_the_first, chosen, (first,), executor=executor)
        assert time.monotonic() - started < 5
        failed = results[first]
        assert isinstance(failed, MappedFunctionFailed), failed
        assert failed.exception_type == "SystemExit" and failed.message == "3"
        assert "exit_on_the_first" in failed.details
        assert [results[scan.uri] for scan in chosen[1:]] == [scan.type for scan in chosen[1:]]


def fail_with_a_document(scan: Any) -> str:
    raise ValueError(f"{scan.id}: " + "x" * 3_000_000 + " END")


def test_a_huge_exception_message_is_clipped(
    mapper: XNATSession, processes: ProcessPoolExecutor
) -> None:
    """An exception carrying megabytes in its message was kept whole, twice (message and
    traceback), for every object: 5,000 such failures would hold gigabytes."""
    chosen = _chosen_scans(mapper)[:2]
    for executor in (None, processes):
        results = mapper.map_over(fail_with_a_document, chosen, executor=executor)
        for scan in chosen:
            failed = results[scan.uri]
            assert isinstance(failed, MappedFunctionFailed)
            assert failed.message.startswith(f"{scan.id}: xxx") and failed.message.endswith("END")
            assert "characters left out" in failed.message
            assert len(failed.message) < 10_100 and len(failed.details) < 100_100
            assert "fail_with_a_document" in failed.details


def test_stop_on_error_tells_what_was_done(mapper: XNATSession) -> None:
    """A run stopped by stop_on_error lost every result it had (without a logfile the user
    could not tell what was done); XNATMapError.results holds them, in walk order."""
    walked = _levels(mapper)
    with pytest.raises(XNATMapError) as caught:
        mapper.projects[PROJECT].map(fail_on_t2, "scan", stop_on_error=True, max_workers=1)
    results = caught.value.results
    assert list(results) == [uri for uri in walked if uri in results]  # the walk's order
    failed = results[caught.value.uri]
    assert isinstance(failed, MappedFunctionFailed) and failed.exception_type == "ValueError"
    before = walked[: walked.index(caught.value.uri)]
    assert before and all(results[uri] == "T1" for uri in before)  # done before the failure
    assert len(results) < len(walked)  # the stop left some out: run them again by URI
    left = [mapper.create_object(uri) for uri in walked if uri not in results]
    assert set(mapper.map_over(fail_on_t2, left, max_workers=2)) == {o.uri for o in left}


def read_pause_read(obj: Any, pause: float) -> int:
    """Two requests on the worker's session with a pause between them."""
    session = obj.xnat_session
    session.get(obj.uri, format="json")
    time.sleep(pause)
    return session.get(obj.uri, format="json").status_code


def test_two_runs_at_once_on_one_dask_cluster(mapper: XNATSession, dask_client: Any) -> None:
    """A run's first call on a Dask worker logged out the session of any other run on that
    worker, while that run's calls were using it: two maps at once (two projects side by
    side, from two threads) failed calls with XNATNotConnectedError."""
    chosen = _chosen_scans(mapper)[:-1]
    halves = {"A": chosen[:6], "B": chosen[6:]}
    found: dict[str, dict[str, Any]] = {}

    def run(name: str) -> None:
        found[name] = mapper.map_over(read_pause_read, halves[name], (0.4,), executor=dask_client)

    runs = [threading.Thread(target=run, args=(name,)) for name in halves]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(60)
    for name, objects in halves.items():
        assert list(found[name].values()) == [200] * len(objects), found[name]


def test_a_nested_map_on_its_caller_s_pool_is_refused_not_hung(mapper: XNATSession) -> None:
    """A mapped function running a map (or a walk) on the pool it runs on waited for calls
    queued behind its own: the run hung forever. Now that inner map fails its call."""
    project = mapper.projects[PROJECT]
    pool = ThreadPoolExecutor(2)

    def nested(experiment: Any) -> int:
        scans = list(experiment.scans.values())
        return len(mapper.map_over(scan_summary, scans, executor=pool))

    def walks(subject: Any) -> int:
        return len(subject.map(scan_summary, "scan", executor=pool))

    found: list[dict[str, Any]] = []
    run = threading.Thread(
        target=lambda: found.extend(
            [
                project.map(nested, "experiment", executor=pool),
                project.map(walks, "subject", executor=pool),
            ]
        ),
        daemon=True,
    )
    try:
        run.start()
        run.join(30)
        assert not run.is_alive(), "the nested map hung"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for results in found:
        failed = list(results.values())
        assert failed and all(isinstance(f, MappedFunctionFailed) for f in failed)
        assert {f.exception_type for f in failed} == {"XNATValidationError"}
        assert all("wait for itself" in f.message for f in failed)
    # on another pool, or none, a nested map runs
    assert set(project.map(nested_on_own_threads, "experiment").values()) == {2}


def nested_on_own_threads(experiment: Any) -> int:
    return len(experiment.xnat_session.map_over(scan_summary, list(experiment.scans.values())))


def test_call_arguments_are_checked_before_anything_runs(mapper: XNATSession) -> None:
    """args="T1" called f(obj, "T", "1") on every object (a string is a sequence); kwargs
    that are not a mapping gave a bare ValueError or TypeError."""
    project = mapper.projects[PROJECT]
    scans = list(project.subjects[0].experiments[0].scans.values())
    calls: list[str] = []

    def seen(scan: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(scan.uri)

    for wrong in ({"args": "T1"}, {"args": 5}, {"args": {"a": 1}}):
        with pytest.raises(XNATValidationError, match="args: the extra positional"):
            project.map(seen, "scan", **wrong)
        with pytest.raises(XNATValidationError, match="args: the extra positional"):
            mapper.map_over(seen, scans, **wrong)
    for bad in (["a"], [("a", 1)], {1: "x"}):
        with pytest.raises(XNATValidationError, match="kwargs: the keyword arguments"):
            project.map(seen, "scan", kwargs=bad)  # type: ignore[arg-type]
    assert calls == []
    assert len(mapper.map_over(seen, scans, args=["T1"], kwargs={"k": 1})) == len(scans)


def test_ctrl_c_while_the_run_s_token_is_invalidated_leaves_it_to_the_disconnect(
    server: LocalXNAT,
    processes: ProcessPoolExecutor,
    mapped: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Ctrl-C while the server was slow to invalidate the run's token (the user waiting
    at the end of a run) left the token alive for days, known to nobody; the session now
    holds it until it is dead, and its disconnect invalidates it."""
    with xnat_sdk.connect(server.url, user=LOGIN, password=PASSWORD) as session:
        tokens = IssuedTokens(session)
        experiments = list(session.projects[PROJECT].experiments.values())[:2]
        services = session.services
        real = services.invalidate_token

        def interrupted(token: TokenResult) -> None:
            monkeypatch.setattr(services, "invalidate_token", real)
            raise KeyboardInterrupt  # as the signal does, in the waiting request

        monkeypatch.setattr(services, "invalidate_token", interrupted)
        with (
            pytest.warns(XNATTokenWarning, match="interrupted") as warned,  # named, not lost
            pytest.raises(KeyboardInterrupt),
        ):
            session.map_over(where_run, experiments, executor=processes)
        (token,) = tokens.issued
        assert token.alias in str(warned[0].message)
        assert session._tokens_left == [token]
        assert alias_logs_in(server, token)
    assert_dead(server, token)


def test_two_runs_at_once_on_one_process_pool_keep_their_sessions(
    server: LocalXNAT, mapper: XNATSession, processes: ProcessPoolExecutor
) -> None:
    """Two runs sharing a process pool logged each other's worker sessions out at every
    turn: a login (and a logout) for every other call. Each worker now keeps a session per
    run: a login per run and worker."""
    chosen = _chosen_scans(mapper)[:-1]
    found: dict[int, dict[str, Any]] = {}

    def run(number: int) -> None:
        found[number] = mapper.map_over(read_pause_read, chosen, (0.01,), executor=processes)

    server.faults.start_recording()
    runs = [threading.Thread(target=run, args=(number,)) for number in (1, 2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(60)
    logins = [r for r in server.faults.recorded() if r.path.startswith("/data/JSESSION")]
    for number in (1, 2):
        assert list(found[number].values()) == [200] * len(chosen), found[number]
    assert len([r for r in logins if r.method != "DELETE"]) <= 4  # 2 runs x 2 workers


def test_a_refused_worker_login_replaces_no_session(server: LocalXNAT, mapper: XNATSession) -> None:
    """A worker holding the sessions of RUNS_KEPT runs whose login for one more is refused
    (its token died in a queue) dropped the least recently used one unclosed: no later
    logout reached it, it stayed logged in on the server (made with a token invalid by
    then)."""
    before = _server_sessions(server)
    tokens = [mapper.services._issue()[0] for _ in range(RUNS_KEPT)]
    try:
        for number, token in enumerate(tokens):
            worker_session(server.url, f"kept-{number}", token.alias, token.secret, True)
        with pytest.raises(XNATAuthError):
            worker_session(server.url, "refused", tokens[0].alias, "not-its-secret", True)
        assert sorted(run for url, run in open_sessions() if url == server.url) == [
            f"kept-{number}" for number in range(RUNS_KEPT)
        ]
    finally:
        for number in range(RUNS_KEPT):
            close_sessions(server.url, f"kept-{number}")
        for token in tokens:
            mapper.services.invalidate_token(token)
    assert _server_sessions(server) == before  # every one logged out


def test_a_filter_that_raises_names_its_object(mapper: XNATSession) -> None:
    """A filter raising on one object of thousands ended the walk with the bare exception:
    nothing said it was the filter, nor which object."""
    from xnat_sdk.mapping import create_filter_funcs

    project = mapper.projects[PROJECT]
    last = list(project.experiments.values())[-1]

    def picky(experiment: Any) -> bool:
        if experiment.id == last.id:
            return bool(experiment.no_such_field)
        return True

    only = create_filter_funcs(experiment=picky)
    for walk in (
        lambda: project.map(scan_summary, "scan", filter_function=only),
        lambda: list(project.mapping_iter("scan", filter_function=only, max_workers=2)),
    ):
        with pytest.raises(XNATValidationError, match="the experiment filter raised") as caught:
            walk()
        assert f"/experiments/{last.id}: " in str(caught.value)
        assert isinstance(caught.value.__cause__, AttributeError)


def test_an_executor_that_takes_no_calls_is_one_clear_error(
    server: LocalXNAT, mapper: XNATSession, dask_client: Any
) -> None:
    """A pool shut down before the run failed every object with the same RuntimeError (one
    per object of thousands, a token issued for nothing); a closed Dask client gave a bare
    AttributeError from distributed."""
    import distributed

    tokens = IssuedTokens(mapper)
    chosen = _chosen_scans(mapper)[:3]
    closed_threads = ThreadPoolExecutor(1)
    closed_threads.shutdown()
    closed_processes = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    closed_processes.shutdown()  # no process was ever started
    closed_client = distributed.Client(dask_client.scheduler.address)
    closed_client.close()
    for executor in (closed_threads, closed_processes):
        with pytest.raises(XNATValidationError, match="executor: it takes no calls"):
            mapper.map_over(scan_summary, chosen, executor=executor)
    with pytest.raises(XNATValidationError, match="the Dask client is closed"):
        mapper.map_over(scan_summary, chosen, executor=closed_client)
    with pytest.raises(XNATValidationError, match=r"the class ThreadPoolExecutor \(an instance"):
        mapper.map_over(scan_summary, chosen, executor=ThreadPoolExecutor)
    for token in tokens.issued:
        assert_dead(server, token)


def test_a_log_file_that_cannot_be_written_is_refused_before_any_call(
    mapper: XNATSession, tmp_path: Path
) -> None:
    """A logfile in a folder that does not exist failed at its first write (a second into
    the run, or at its end): the calls had run, and their results were lost."""
    from xnat_sdk.errors import XNATLocalFileError

    missing = tmp_path / "no-such-folder" / "map.json"
    chosen = _chosen_scans(mapper)[:3]
    calls: list[str] = []

    def seen(scan: Any) -> str:
        calls.append(scan.uri)
        return str(scan.type)

    with pytest.raises(XNATLocalFileError, match="no folder"):
        mapper.map_over(seen, chosen, logfile=missing)
    with pytest.raises(XNATLocalFileError, match="no folder"):
        mapper.projects[PROJECT].map(seen, "scan", logfile=missing)
    assert calls == []
    assert not missing.parent.exists()


def worker_cookie(obj: Any) -> str:
    """The server session of the worker that runs the call (a test's probe only)."""
    return str(obj.xnat_session.interface.cookies.get("JSESSIONID"))


def test_process_workers_log_their_run_sessions_out_soon_after_the_run(
    server: LocalXNAT,
    mapper: XNATSession,
    processes: ProcessPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from xnat_sdk import _maprun

    # the run's tokens are invalid at its end; the server sessions made with them are not,
    # and a pool's workers cannot be reached then: each logs its own out when left idle
    monkeypatch.setattr(_maprun, "WORKER_IDLE_CLOSE", 0.3)
    cookies = set(
        mapper.projects[PROJECT].map(worker_cookie, "subject", executor=processes).values()
    )

    def alive() -> list[str]:
        url = f"{server.url}/data/projects?format=json"
        return [c for c in cookies if requests.get(url, cookies={"JSESSIONID": c}).ok]

    deadline = time.monotonic() + 10
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cookies and alive() == []


def _failing_renewals(on: bool) -> None:
    """(run on the Dask workers) Make a renewal fail there, or undo it."""
    from xnat_sdk._objects import travel

    if on:
        travel._kept_take_newer = travel._take_newer  # type: ignore[attr-defined]

        def broken(*args: Any) -> bool:
            raise RuntimeError("renewal broken for the test")

        travel._take_newer = broken
    elif hasattr(travel, "_kept_take_newer"):
        travel._take_newer = travel._kept_take_newer


def test_a_renewal_failing_on_a_dask_worker_logs_no_secret(
    mapper: XNATSession, dask_client: Any
) -> None:
    from xnat_sdk._maprun import hand_out_token

    token = mapper.services.issue_token()
    dask_client.run(_failing_renewals, True)
    try:
        hand_out_token(dask_client, mapper.server, "run-renewal", token, 1)
    finally:
        dask_client.run(_failing_renewals, False)
        mapper.services.invalidate_token(token)
    logs = json.dumps(dask_client.get_worker_logs())
    assert "renewal broken for the test" in logs  # the failure was logged, with its arguments
    assert token.alias in logs and token.secret not in logs


class Counted:
    """A large argument that records, in ``path``, the process of every unpickling of it."""

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.data = b"x" * size

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "data": self.data}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        with open(self.path, "a") as log:
            log.write(f"{os.getpid()}\n")


def counted_size(scan: Any, counted: Counted, *, extra: int = 0) -> tuple[str, int, int]:
    return str(scan.type), len(counted.data) + extra, os.getpid()


def _unpickled(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_process_pool_unpickles_a_run_s_large_arguments_once_per_worker(
    mapper: XNATSession, processes: ProcessPoolExecutor, tmp_path: Path
) -> None:
    """The function, args and kwargs went pickled with every call and were unpickled for
    every call (5 MB of args: 4 s instead of 0.2 s for 500 calls); now each worker process
    unpickles them once per run."""
    log = tmp_path / "unpickled"
    chosen = _chosen_scans(mapper)[:-1]
    counted = Counted(str(log), 200_000)  # large (> INLINE_CALL): sent by digest mostly
    results = mapper.map_over(counted_size, chosen, (counted,), {"extra": 1}, executor=processes)
    assert [r[:2] for r in results.values()] == [(s.type, len(counted.data) + 1) for s in chosen]
    workers = {pid for _, _, pid in results.values()}
    assert sorted(_unpickled(log)) == sorted(workers)  # once per worker process that ran
    small = Counted(str(log), 10)  # small: every call carries it, unpickled once all the same
    log.unlink()
    results = mapper.map_over(counted_size, chosen, (small,), executor=processes)
    assert {r[1] for r in results.values()} == {10}
    assert sorted(_unpickled(log)) == sorted({pid for _, _, pid in results.values()})


def test_a_worker_without_the_run_s_call_asks_for_it_and_drops_it_with_the_run(
    server: LocalXNAT, mapper: XNATSession, tmp_path: Path
) -> None:
    """A call sent with the call's digest only, to a process that has not kept it, is sent
    again with it (no login, nothing called); the process keeps it until the run's
    session there is logged out. (The worker machinery, run in this process.)"""
    from xnat_sdk._objects.travel import SentCall, close_sessions, pack

    scan = _chosen_scans(mapper)[0]
    token = mapper.services.issue_token()
    log = tmp_path / "unpickled"
    try:
        sent = SentCall.of("run-kept", (counted_size, (Counted(str(log), 100),), {}))
        assert sent.data is not None and token.secret.encode() not in sent.data
        assert PASSWORD.encode() not in sent.data
        task = RunTask(mapper.server, "run-kept", token.alias, token.secret, True, sent=sent)
        bare = dataclasses.replace(task, sent=sent.bare())
        asked = bare(pack(scan))
        assert asked.missing and not asked.ok and (mapper.server, "run-kept") not in open_sessions()
        assert task(pack(scan)).value is not None  # with the call: kept, unpickled once
        for _ in range(2):
            found = bare(pack(scan))
            assert found.ok and pickle.loads(found.value)[:2] == (scan.type, 100)
        assert _unpickled(log) == [os.getpid()]
        assert ("run-kept", sent.digest) in kept_calls()
        assert close_sessions(mapper.server, "run-kept") == 1
        assert kept_calls() == []
        assert bare(pack(scan)).missing
    finally:
        mapper.services.invalidate_token(token)


def _runs_calls(keys: Any) -> list[str]:
    return [str(key) for key in keys if str(key).startswith("xnat-sdk-map-call-")]


def worker_keys_of_runs(dask_worker: Any) -> list[str]:
    """The keys of map runs' calls a Dask worker's memory holds."""
    return _runs_calls(dask_worker.data)


def scheduler_keys_of_runs(dask_scheduler: Any) -> list[str]:
    """The keys of map runs' calls the Dask scheduler knows."""
    return _runs_calls(dask_scheduler.tasks)


def keys_held_here(scan: Any) -> list[str]:
    """(mapped on Dask) The map runs' calls the worker running the call holds."""
    from distributed import get_worker

    return _runs_calls(get_worker().data)


def _cluster_holds(client: Any) -> list[str]:
    deadline = time.monotonic() + 5
    while True:
        held = client.run_on_scheduler(scheduler_keys_of_runs)
        held += [k for keys in client.run(worker_keys_of_runs).values() for k in keys]
        held += [str(k) for keys in client.run(kept_calls).values() for k in keys]
        if not held or time.monotonic() > deadline:
            return held
        time.sleep(0.05)


def test_a_dask_run_sends_its_call_once_and_leaves_nothing_on_the_cluster(
    mapper: XNATSession,
    dask_client: Any,
    processes: ProcessPoolExecutor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The function, args and kwargs went with every call (5 MB of args: 30 s instead of
    2 s for 500 calls); now they are data of the run on the cluster, deserialized once per
    worker and released at the run's end, whatever ends it."""
    from xnat_sdk import _maprun

    log = tmp_path / "unpickled"
    chosen = _chosen_scans(mapper)[:-1]
    counted = Counted(str(log), 200_000)
    results = mapper.map_over(counted_size, chosen, (counted,), executor=dask_client)
    assert [r[:2] for r in results.values()] == [(s.type, 200_000) for s in chosen]
    workers = {pid for _, _, pid in results.values()}
    assert sorted(_unpickled(log)) == sorted(workers)  # once on each worker that ran calls
    assert _cluster_holds(dask_client) == []
    during = mapper.map_over(keys_held_here, chosen[:2], executor=dask_client)
    assert all(len(keys) == 1 for keys in during.values()), during  # the run's, while it runs
    assert _cluster_holds(dask_client) == []
    with pytest.raises(XNATMapError, match="no T2 wanted"):
        mapper.map_over(fail_on_t2, chosen, (), executor=dask_client, stop_on_error=True)
    assert _cluster_holds(dask_client) == []
    real = _maprun._first_done

    def interrupted(*args: Any) -> Any:
        monkeypatch.setattr(_maprun, "_first_done", real)
        raise KeyboardInterrupt  # Ctrl-C while the run waits for its calls

    monkeypatch.setattr(_maprun, "_first_done", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mapper.map_over(counted_size, chosen, (counted,), executor=dask_client)
    assert _cluster_holds(dask_client) == []
    tokens = IssuedTokens(mapper)  # arguments that cannot travel: refused before any token
    for executor in (dask_client, processes):
        with pytest.raises(XNATNotPicklableError, match="cannot be sent"):
            mapper.map_over(counted_size, chosen, (threading.Lock(),), executor=executor)
    assert tokens.issued == []
    assert _cluster_holds(dask_client) == []


def same_session(scan: Any, experiment: Any) -> tuple[bool, str]:
    """An archive object among the arguments: bound to the call's session, and readable."""
    return experiment.xnat_session is scan.xnat_session, str(experiment.subject_id)


def test_objects_among_the_arguments_bind_to_the_run_s_session(
    mapper: XNATSession, processes: ProcessPoolExecutor, dask_client: Any
) -> None:
    """The arguments are unpickled once per worker, inside the run's session: an object
    among them reads from the server (unpickled before the worker had a session, it came
    back detached and failed the calls)."""
    experiment = mapper.projects[PROJECT].experiments[0]
    chosen = _chosen_scans(mapper)[:4]
    for executor in (processes, dask_client):
        results = mapper.map_over(same_session, chosen, (experiment,), executor=executor)
        assert list(results.values()) == [(True, experiment.subject_id)] * 4, results


def label_or_hang(experiment: Any, hung: str, pause: float) -> str:
    if experiment.uri == hung:
        time.sleep(pause)
    return str(experiment.label)


@pytest.mark.parametrize("where", ["threads", "processes", "dask"])
def test_a_call_past_its_timeout_fails_alone_and_is_not_waited_for(
    mapper: XNATSession, where: str, request: pytest.FixtureRequest
) -> None:
    """The run returns about ``timeout`` seconds after the hung call started, which fails
    with XNATMapTimeoutError naming the object and the seconds; the other objects' calls
    complete (it waited for the hung call: a call that hangs held the run forever)."""
    executor: Any = None
    if where != "threads":
        executor = request.getfixturevalue("processes" if where == "processes" else "dask_client")
    experiments = list(mapper.projects[PROJECT].experiments.values())
    hung = experiments[1].uri
    # every worker up, the SDK imported there: a cold worker's start counts in its call
    mapper.map_over(label_or_hang, experiments, args=("", 0), executor=executor)
    started = time.monotonic()
    results = mapper.map_over(
        label_or_hang, experiments, args=(hung, 4.0), executor=executor, timeout=1.0
    )
    took = time.monotonic() - started
    assert took < 3.0, took
    late = results[hung]
    assert isinstance(late, MappedFunctionFailed) and late.uri == hung
    assert late.exception_type == "XNATMapTimeoutError"
    assert f"the call on {hung} ran longer than its timeout of 1 s" in late.message
    others = {u: r for u, r in results.items() if u != hung}
    assert not [r for r in others.values() if isinstance(r, MappedFunctionFailed)], others
    assert sorted(others.values()) == sorted(str(e.label) for e in experiments if e.uri != hung)
    if where == "threads":  # it counts for stop_on_error; a bad timeout is refused
        with pytest.raises(XNATMapError, match="XNATMapTimeoutError") as caught:
            mapper.map_over(
                label_or_hang, experiments, args=(hung, 4.0), stop_on_error=True, timeout=0.3
            )
        assert caught.value.uri == hung
        for wrong in (0, -1.0, True, "5", float("inf")):
            with pytest.raises(XNATValidationError, match="timeout"):
                mapper.map_over(label_or_hang, experiments, timeout=wrong)  # type: ignore[arg-type]


def nap_then_type(scan: Any, pause: float) -> str:
    time.sleep(pause)
    return str(scan.type)


@pytest.mark.parametrize("where", ["processes", "dask"])
def test_a_call_waiting_in_a_worker_s_queue_is_not_timed_out(
    mapper: XNATSession, where: str, request: pytest.FixtureRequest
) -> None:
    """A process pool marks running more calls than it has workers (those in its queue), a
    Dask worker processes more than it has threads: the calls waiting there had their clock
    started, and calls well within their timeout failed with XNATMapTimeoutError."""
    executor = request.getfixturevalue("processes" if where == "processes" else "dask_client")
    project = mapper.projects[PROJECT]
    project.map(nap_then_type, "scan", args=(0,), executor=executor)  # every worker warm
    # 0.5 s calls, 1.1 s timeout: a call three waves back in a queue would pass it, while a
    # call's own login and document read on a busy machine have 0.6 s
    results = project.map(nap_then_type, "scan", args=(0.5,), executor=executor, timeout=1.1)
    assert len(results) == 12
    failed = [r for r in results.values() if isinstance(r, MappedFunctionFailed)]
    assert not failed, failed


_HUNG_AT_EXIT = """
import sys, time
import xnat_sdk

def hang(experiment):
    time.sleep(600)

with xnat_sdk.connect(sys.argv[1], user=sys.argv[2], password=sys.argv[3]) as session:
    found = session.map_over(hang, session.projects[sys.argv[4]].experiments.values(), timeout=0.3)
    print(sorted({failure.exception_type for failure in found.values()}))
"""


def test_a_thread_past_its_timeout_does_not_keep_the_interpreter_from_exiting(
    server: LocalXNAT, mapped: str
) -> None:
    """The run's own threads are daemon threads when its calls have a timeout: the script
    ends although its calls still sleep (a ThreadPoolExecutor's threads are joined at exit:
    it waited ten minutes)."""
    import subprocess
    import sys

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _HUNG_AT_EXIT, server.url, LOGIN, PASSWORD, PROJECT],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.strip() == "['XNATMapTimeoutError']"
    assert time.monotonic() - started < 10


def test_calls_that_cannot_start_behind_hung_ones_fail_too(mapper: XNATSession) -> None:
    """A pool of the caller's whose every thread is held by a call past its timeout cannot
    start the other calls: they fail after the timeout too, instead of waiting forever."""
    experiments = list(mapper.projects[PROJECT].experiments.values())
    hung = experiments[0].uri
    pool = ThreadPoolExecutor(1)
    try:
        started = time.monotonic()
        results = mapper.map_over(
            label_or_hang, experiments, args=(hung, 3.0), executor=pool, timeout=0.4
        )
        assert time.monotonic() - started < 1.5
    finally:
        pool.shutdown(wait=False)
    assert "ran longer than its timeout of 0.4 s" in results[hung].message
    for uri in [e.uri for e in experiments[1:]]:
        assert results[uri].exception_type == "XNATMapTimeoutError"
        assert "did not start within its timeout of 0.4 s: all 1 workers" in results[uri].message


def test_a_dask_call_whose_token_died_waiting_goes_again(
    server: LocalXNAT, mapper: XNATSession, dask_client: Any, tmp_path: Path
) -> None:
    """Every worker thread of the cluster busy longer than the run's token lives: the calls
    wait in the scheduler's queue, their workers' logins with it are refused, and they go
    again with the run's current token (each function once)."""
    from tests.integration.test_map_long_runs import count_call

    experiments = list(mapper.projects[PROJECT].experiments.values())[:2]
    with xnat_sdk.connect(server.url, user="admin", password="admin") as admin:
        admin.post("/xapi/siteConfig/aliasTokenTimeout", data="2 seconds")
        try:
            threads = sum(dask_client.nthreads().values())
            busy = [dask_client.submit(time.sleep, 2.6, pure=False) for _ in range(threads)]
            started = time.monotonic()
            results = mapper.map_over(
                count_call, experiments, args=(str(tmp_path),), executor=dask_client
            )
            took = time.monotonic() - started
        finally:
            admin.post("/xapi/siteConfig/aliasTokenTimeout", data="2 days")
    assert took > 2.0  # the calls waited past the first token's life
    del busy
    labels = sorted(str(e.label) for e in experiments)
    assert sorted(str(r) for r in results.values()) == labels
    assert sorted(p.name.partition(".")[0] for p in tmp_path.iterdir()) == labels

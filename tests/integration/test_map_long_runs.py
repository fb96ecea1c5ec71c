"""``session.map`` runs longer than the run's alias token lives and calls longer than the
server's session timeout (issue 16: dataset builds take days; XNAT's ``aliasTokenTimeout``
is 2 days and its ``sessionTimeout`` 15 minutes by default).

Both limits are shortened on a server of each test's own: tokens that live 4 seconds, or
server sessions that expire after 3 seconds without a request.
"""

from __future__ import annotations

import base64
import multiprocessing
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import xnat_sdk
from tests.integration.conftest import IssuedTokens, assert_dead
from xnat_sdk.errors import XNATError
from xnat_sdk.mapping import MappedFunctionFailed
from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture
def pool() -> Iterator[ProcessPoolExecutor]:
    # spawn: the test process runs server threads, which a fork would copy mid-flight
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as found:
        # both workers started and the SDK imported before a test's run: on a loaded
        # machine their start took seconds of a 4-second token's life, so that a call sent
        # with the first token started when it had almost none left and a re-login inside
        # it was refused (a real token lives 2 days; see the README's scale section)
        list(found.map(_warm, [0.3, 0.3]))
        yield found


def _warm(pause: float) -> None:
    import xnat_sdk._objects.travel  # noqa: F401  (what a call's unpickling imports)

    time.sleep(pause)


def slow_quality(scan: Any, pause: float) -> str:
    """Waits, then reads a field the walk did not load (the scan's own document)."""
    time.sleep(pause)
    return str(scan.quality)


def read_pause_read(experiment: Any, pause: float) -> tuple[str, int]:
    """A request, a pause longer than the server's session timeout, another request."""
    label = str(experiment.label)
    time.sleep(pause)
    return label, experiment.xnat_session.get("/data/projects", format="json").status_code


def test_a_run_outlives_its_first_token(pool: ProcessPoolExecutor) -> None:
    with LocalXNAT() as server, xnat_sdk.connect(server.url, user="admin", password="admin") as s:
        server.seed_bulk("LONG", 15, sessions_per_subject=2, scans_per_session=2)  # 60 scans
        s.post("/xapi/siteConfig/aliasTokenTimeout", data="4 seconds")
        tokens = IssuedTokens(s)
        stop = threading.Event()

        def expire() -> None:  # every worker session dies again and again: re-logins
            while not stop.wait(0.4):
                server.faults.expire_sessions()

        killer = threading.Thread(target=expire, daemon=True)
        killer.start()
        started = time.monotonic()
        try:
            results = s.projects["LONG"].map(slow_quality, "scan", args=(0.15,), executor=pool)
        finally:
            stop.set()
            killer.join()
        took = time.monotonic() - started
        failed = [r for r in results.values() if isinstance(r, MappedFunctionFailed)]
        assert len(results) == 60 and not failed, failed[:3]
        assert took > 4.0  # the first token died during the run ...
        assert len(tokens.issued) >= 2  # ... and newer ones carried it on
        for token in tokens.issued:
            assert_dead(server, token)


def _logins(server: LocalXNAT, aliases: set[str]) -> int:
    """Requests that logged in with one of the run's tokens (basic auth)."""
    count = 0
    for request in server.faults.recorded():
        header = request.authorization or ""
        if header.startswith("Basic "):
            user = base64.b64decode(header[6:]).decode().partition(":")[0]
            count += user in aliases
    return count


def test_a_call_longer_than_the_session_timeout_keeps_its_session(
    pool: ProcessPoolExecutor,
) -> None:
    with (
        # 3 s: heartbeats every second; a worker stalled 1.5 s on a busy machine (the
        # timeout was 1.5 s) logged in again, one run in five; the 3.5 s pause still outlives it
        LocalXNAT(session_timeout=3.0) as server,
        xnat_sdk.connect(server.url, user="admin", password="admin") as s,
    ):
        server.seed_bulk("IDLE", 2, scans_per_session=2)
        tokens = IssuedTokens(s)
        mine = s.interface.cookies.get("JSESSIONID")
        server.faults.start_recording()
        results = s.projects["IDLE"].map(read_pause_read, "experiment", args=(3.5,), executor=pool)
        assert sorted(results.values()) == [("SUBJ_00001_MR1", 200), ("SUBJ_00002_MR1", 200)]
        aliases = {token.alias for token in tokens.issued}
        # each worker logged in once (one or two workers ran the two calls): without
        # heartbeats every call would have logged in again after its pause
        assert 1 <= _logins(server, aliases) <= 2
        beats = [
            r
            for r in server.faults.recorded()
            if r.path == "/data/JSESSION"
            and r.authorization is None
            and r.cookies.get("JSESSIONID") not in (None, mine)
        ]
        assert len(beats) >= 4  # the workers' heartbeats (every 1 s during the pauses)


def test_a_worker_session_keeps_the_newest_token_of_its_run(server: LocalXNAT) -> None:
    """Calls may start out of the order they were sent in: a call carrying an older token
    of the run must not take the newer one away from the worker's session."""
    from xnat_sdk._objects.travel import close_sessions, renew_sessions, worker_session

    with xnat_sdk.connect(server.url, user="admin", password="admin") as s:
        tokens = [s.services.issue_token() for _ in range(3)]
        try:
            first = worker_session(s.server, "run-x", *tokens[0], True, 0)
            assert first._credentials.user == tokens[0].alias
            assert worker_session(s.server, "run-x", *tokens[1], True, 1) is first
            assert first._credentials.user == tokens[1].alias
            worker_session(s.server, "run-x", *tokens[0], True, 0)  # a late call, older token
            assert first._credentials.user == tokens[1].alias
            assert renew_sessions(s.server, "run-x", tokens[0], 0) == 0
            assert renew_sessions(s.server, "run-x", tokens[2], 2) == 1
            assert first._credentials.user == tokens[2].alias
            assert renew_sessions(s.server, "other-run", tokens[2], 3) == 0
        finally:
            assert close_sessions(s.server, "run-x") == 1
            for token in tokens:
                s.services.invalidate_token(token)
        assert not first.connected


def test_a_failed_renewal_keeps_the_current_token_and_tries_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server's bad minute when the run's token is due for renewal must not end a run of
    days: the current token (renewed at a quarter of its life) goes on, and a new one comes
    later."""
    from xnat_sdk._maprun import _Grant

    with LocalXNAT() as server, xnat_sdk.connect(server.url, user="admin", password="admin") as s:
        s.post("/xapi/siteConfig/aliasTokenTimeout", data="2 seconds")
        grant = _Grant(s)
        first = grant.task()
        try:
            time.sleep(grant.tick())  # renewal is due now
            server.faults.fail_next(1, status=500, prefix="/data/services/tokens/issue")
            with caplog.at_level("WARNING"):
                wait = grant.tick()
            assert 0.4 < wait <= 0.6  # a quarter of the remaining life, at least 0.5 s
            assert "could not renew" in caplog.text
            assert grant.task() is first and len(grant.issued) == 1
            time.sleep(wait)
            renewed = grant.task()
            assert renewed.generation == 1 and renewed.alias != first.alias
        finally:
            grant.close()
        for token in grant.issued:
            assert_dead(server, token)
        with pytest.raises(XNATError):  # without any token a run cannot start
            server.faults.fail_next(1, status=500, prefix="/data/services/tokens/issue")
            _Grant(s).task()


@pytest.mark.parametrize(
    ("created", "expires", "lifetime"),
    [
        (1_000, 5_000, 4.0),  # the server's clock in 1970: 4 s on its own clock
        (4_102_444_800_000, 4_102_444_804_000, 4.0),  # ... or in 2100
        (5_000, 1_000, None),  # expiring before it was made: not believed
        (True, 5_000, None),  # not a time
    ],
)
def test_a_token_lives_as_long_as_the_server_clock_says(
    server: LocalXNAT, created: object, expires: object, lifetime: float | None
) -> None:
    """The run renews by the token's life on the server's clock (expiry less creation), so
    a client and server whose clocks differ neither renew at every call nor never."""
    from xnat_sdk._maprun import _Grant

    with xnat_sdk.connect(server.url, user="admin", password="admin") as s:
        answer = {"alias": "a1", "secret": "s1", "created": created}
        server.faults.answer_next(
            {**answer, "estimatedExpirationTime": expires},
            prefix="/data/services/tokens/issue",
            count=2,
        )
        token, found = s.services._issue()
        assert token.alias == "a1"
        assert found == lifetime
        # the run's next renewal: at a quarter of the token's life, else of 2 days
        wait = _Grant(s).tick()
        assert 0.5 < wait <= 1.0 if lifetime else 43_000 < wait <= 43_200


def count_call(experiment: Any, folder: str) -> str:
    """Leaves a file per call in ``folder`` (the calls that ran, counted in the test)."""
    label = str(experiment.label)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=f"{label}.", delete=False):
        pass
    return label


def test_a_call_whose_token_died_in_the_queue_goes_again_with_a_newer_one(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    """A backlog holds the run's calls in the pool's queue longer than their token lives:
    each worker's login with it is refused before the function runs, so the call goes
    again with the run's current token, and every function runs once (it failed with a 401
    for an object whose function never ran)."""
    with LocalXNAT() as server, xnat_sdk.connect(server.url, user="admin", password="admin") as s:
        server.seed_bulk("LATE", 3)
        s.post("/xapi/siteConfig/aliasTokenTimeout", data="2 seconds")
        experiments = list(s.projects["LATE"].experiments.values())
        tokens = IssuedTokens(s)
        backlog = [pool.submit(time.sleep, 2.6) for _ in range(2)]  # both workers busy
        results = s.map_over(count_call, experiments, args=(str(tmp_path),), executor=pool)
        before = len(tokens.issued)
        assert all(b.done() for b in backlog)
        failed = [r for r in results.values() if isinstance(r, MappedFunctionFailed)]
        assert not failed, failed
        labels = sorted(str(e.label) for e in experiments)
        assert sorted(results.values()) == labels
        ran = sorted(p.name.partition(".")[0] for p in tmp_path.iterdir())
        assert ran == labels  # each function once
        assert len(tokens.issued) >= 3  # the first died in the queue; newer ones logged in
        for token in tokens.issued:
            assert_dead(server, token)

        # a server refusing every token: each call goes again a few times, then fails with
        # a typed error naming the token, its function never run
        issue = s.services._issue

        def dead_on_arrival(user: str | None = None) -> Any:
            found = issue(user)
            s.services.invalidate_token(found[0])
            return found

        s.services._issue = dead_on_arrival  # type: ignore[method-assign]
        again = s.map_over(count_call, experiments[:1], args=(str(tmp_path),), executor=pool)
        (refused,) = again.values()
        assert isinstance(refused, MappedFunctionFailed)
        assert refused.exception_type == "XNATMapTokenError"
        assert "alias token was refused 4 time(s)" in refused.message
        assert len(list(tmp_path.iterdir())) == len(labels)  # not run
        assert len(tokens.issued) - before <= 5  # the first and at most 3 replacements

"""Running ``session.map``'s calls on an executor: threads (default), any
``concurrent.futures.Executor`` or a Dask ``distributed.Client``.

A run's options (:class:`RunOptions`: the function, its arguments, the executor ...) go as
one record from ``mapping``, which checks them, down to the calls.

Threads share the calling session. Anything else runs the calls elsewhere: each object goes
pickled (no credentials, :mod:`xnat_sdk._objects.travel`) with a :class:`RunTask` carrying
the run's current alias token. Calls are sent a few at a time (:func:`_window`), so that
each takes the newest token: one is issued at the start and another each time the current
one has lived a quarter of its life (a run may last longer than XNAT's ``aliasTokenTimeout``;
a call, or a worker's later re-login, may use its token for three quarters of its life), and
all are invalidated when the run ends, whatever happens. Results come back in walk order; a
failed call is a :class:`~xnat_sdk.mapping.MappedFunctionFailed` naming the object and the
exception, and the others go on unless ``stop_on_error``.

The function and its arguments go once per run, not with every call: to a Dask cluster as
one piece of data of the run (``client.scatter(..., broadcast=True)``: each worker holds one
copy, deserialized once, handed by Dask to every call, and released when the run ends,
whatever ends it); to a process pool pickled once (``travel.SentCall``): a large one goes
with a worker's first call of the run and every worker process unpickles it once and keeps
it for the run's later calls, which carry only its digest.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import functools
import os
import pickle
import queue
import secrets
import sys
import threading
import time
import types
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from xnat_sdk._objects.travel import (
    CallSpec,
    Outcome,
    RunTask,
    SentCall,
    attaching,
    call_one,
    close_sessions,
    failure,
    pack,
    renew_sessions,
)
from xnat_sdk.errors import (
    XNATError,
    XNATMapError,
    XNATNotFoundError,
    XNATNotPicklableError,
    XNATTokenWarning,
    XNATValidationError,
)
from xnat_sdk.progress import CountProgress

if TYPE_CHECKING:
    from xnat_sdk.services import TokenResult
    from xnat_sdk.session import XNATSession

__all__ = ["RunOptions", "check_executor", "run_calls"]

Record = Callable[[str, Outcome], None]

DEFAULT_THREADS = 8
"""The run's own threads when ``max_workers`` is not given (the walk's too)."""


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """A map run's options as ``map``/``map_over`` were given them, checked and made once
    (``mapping._run_options``) and handed down whole to the calls: the function and its
    extra arguments (``args`` a tuple, ``kwargs`` a dict of their own), where the calls run
    (``executor``: None for threads of the run's own, ``max_workers`` of them), whether a
    failure stops the run, the progress bar, and each call's ``timeout`` in seconds."""

    function: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    executor: Any
    max_workers: int | None
    stop_on_error: bool
    verbose: bool
    timeout: float | None

    @property
    def threads(self) -> int:
        """The width of the run's own thread pool: ``max_workers``, else 8."""
        return self.max_workers or DEFAULT_THREADS

    @property
    def call(self) -> CallSpec:
        """The function and its arguments, as they travel to other processes."""
        return (self.function, self.args, self.kwargs)


def _is_dask(executor: object) -> bool:
    module = type(executor).__module__ or ""
    return module.split(".", 1)[0] == "distributed" and hasattr(executor, "submit")


def check_executor(executor: object) -> None:
    """Refuse an ``executor`` that is neither a ``concurrent.futures.Executor`` nor a running
    Dask client (``None``: the default threads)."""
    if _is_dask(executor):
        # a closed client failed with a bare AttributeError from distributed
        status = str(getattr(executor, "status", "running"))
        if status != "running":
            raise XNATValidationError("executor", f"the Dask client is {status}, not running")
        return
    if executor is None or isinstance(executor, cf.Executor):
        return
    if isinstance(executor, type):  # executor=ProcessPoolExecutor said "got type"
        given = f"the class {executor.__name__} (an instance runs calls: {executor.__name__}())"
    else:
        given = type(executor).__name__
    raise XNATValidationError(
        "executor",
        f"expected a concurrent.futures.Executor or a dask distributed.Client, got {given}",
    )


def _first_done(pending: Collection[Any], dask: bool, timeout: float | None) -> Iterable[Any]:
    """The futures of ``pending`` that are done, waiting for at least one (or ``timeout``
    seconds: then maybe none)."""
    if dask:
        from distributed import wait

        try:
            done: Iterable[Any] = wait(  # type: ignore[no-untyped-call]
                list(pending), timeout=timeout, return_when="FIRST_COMPLETED"
            ).done
        except TimeoutError:
            return ()
        return done
    return cf.wait(pending, timeout=timeout, return_when=cf.FIRST_COMPLETED).done


def _outcome(future: Any, unwrap: Callable[[Outcome], Outcome] | None = None) -> Outcome:
    try:
        found = future.result()
    except BaseException as exc:  # the worker itself failed (died, was cancelled)
        return failure(exc, str(exc) or repr(exc))
    if not isinstance(found, Outcome):
        found = Outcome(*found)  # a Dask worker may hand the named tuple back as a tuple
    return unwrap(found) if found.pickled and unwrap is not None else found


def _reader(session: XNATSession) -> Callable[[Outcome], Outcome]:
    """Read a pickled result back attached to ``session`` (a failure to is the call's)."""

    def unwrap(found: Outcome) -> Outcome:
        try:
            with attaching(session):
                return found._replace(value=pickle.loads(found.value), pickled=False)
        except Exception as exc:
            return failure(exc, f"the result could not be read back: {exc}")

    return unwrap


RESENDS = 3
"""Times a call is sent again, with the run's current token, when its worker's login with
the token it carried was refused before the function ran (then: XNATMapTokenError)."""


class _Resend:
    """Sends again the calls whose worker's login with their token was refused before the
    function ran (:attr:`Outcome.refused`: the token died while the call waited in an
    executor's queue), each at most :data:`RESENDS` times; ``refused(number)`` tells the
    run's grant which token was refused (the current one is replaced at once)."""

    def __init__(
        self,
        submit: Callable[[int], Any],
        pending: dict[Any, int],
        refused: Callable[[int], None] | None,
    ) -> None:
        self._submit = submit
        self._pending = pending
        self._refused = refused
        self._times: dict[int, int] = {}

    def settled(self, n: int, found: Outcome) -> Outcome | None:
        """``found``, the item's outcome; None when its call went again."""
        if found.refused is None:
            return found
        times = self._times.get(n, 0) + 1
        if times > RESENDS or self._refused is None:
            return found._replace(
                exception_type="XNATMapTokenError",
                message=f"the worker's login with the run's alias token was refused {times} "
                f"time(s), the function did not run: {found.message}",
                refused=None,
            )
        self._times[n] = times
        self._refused(found.refused)
        try:
            self._pending[self._submit(n)] = n
        except RuntimeError as exc:  # the pool broke meanwhile: the call's failure
            return Outcome(False, None, type(exc).__name__, str(exc) or repr(exc))
        return None


class _Deadlines:
    """The calls' ``timeout``: each sent call's start (when ``started`` first finds it
    among those running) and the calls running longer, which :meth:`late` fails and
    abandons (cancelled when the executor can: a Dask call not yet running, a queued one;
    ``abandon()`` hears of each, the run's own threads start one more). With ``workers``
    (the width of a ``concurrent.futures`` executor that cannot grow), once every worker is
    held by an abandoned call still running, a call waiting ``timeout`` seconds to start
    fails too: it would wait for them forever."""

    def __init__(
        self,
        timeout: float,
        started: Callable[[list[Any]], Iterable[Any]],
        abandon: Callable[[], None] | None = None,
        workers: int | None = None,
        where: str = "threads",
    ) -> None:
        self.timeout = timeout
        self._where = where
        self.poll = min(0.25, timeout / 4)
        """Seconds between two looks at the running calls."""
        self._started = started
        self._abandon = abandon
        self._workers = workers
        self._began: dict[Any, float] = {}
        self._sent: dict[Any, float] = {}
        self._held: list[Any] = []
        self._looked = 0.0

    def late(self, pending: dict[Any, int], keys: Sequence[str]) -> list[tuple[int, Outcome]]:
        """The calls of ``pending`` past the timeout, taken out of it, as failures."""
        now = time.monotonic()
        for mark in (self._began, self._sent):
            for gone in [f for f in mark if f not in pending]:
                del mark[gone]
        waiting = [f for f in pending if f not in self._began]
        for future in waiting:
            self._sent.setdefault(future, now)
        if waiting and now - self._looked >= self.poll:  # (Dask: a scheduler round trip)
            self._looked = now
            for future in self._starting(pending):
                self._began[future] = now
        over = [f for f, began in self._began.items() if now - began >= self.timeout]
        failed = [(pending[f], self._failure(keys[pending[f]], True)) for f in over]
        self._held = [f for f in self._held if not f.done()] + over
        if self._workers is not None and len(self._held) >= self._workers:
            stuck = [f for f, sent in self._sent.items() if f not in self._began]
            stuck = [f for f in stuck if now - self._sent[f] >= self.timeout]
            failed += [(pending[f], self._failure(keys[pending[f]], False)) for f in stuck]
            over += stuck
        for future in over:
            self._began.pop(future, None)
            del pending[future]
            with contextlib.suppress(Exception):
                future.cancel()
            if self._abandon is not None:
                self._abandon()
        return failed

    def _starting(self, pending: dict[Any, int]) -> list[Any]:
        """The calls of ``pending`` that have just started. A process pool marks more calls
        running than it has workers (those handed to its queue): only as many as it has
        workers free are taken to run, the ones sent first (its queue is first in, first
        out); the others' clock started while they waited, and calls running well within
        their timeout failed with it. (Work of others on the same executor, another run's
        calls, is not seen: a call waiting behind it may still be counted as running.)"""
        found = [f for f in self._started(list(pending)) if f not in self._began]
        if self._workers is None:
            return found
        busy = sum(not f.done() for f in self._began) + sum(not f.done() for f in self._held)
        return found[: max(self._workers - busy, 0)]

    def _failure(self, key: str, ran: bool) -> Outcome:
        if ran:
            message = (
                f"the call on {key} ran longer than its timeout of {self.timeout:g} s: its "
                f"result is discarded ({_ABANDONED[self._where]})"
            )
        else:
            message = (
                f"the call on {key} did not start within its timeout of {self.timeout:g} s: "
                f"all {self._workers} workers of the executor are held by calls past their "
                "timeout"
            )
        return Outcome(False, None, "XNATMapTimeoutError", message)


_ABANDONED = {
    "threads": "a thread cannot be stopped: it goes on, with this session, until the "
    "function returns",
    "processes": "a process-pool call cannot be stopped: it goes on, with its worker's "
    "session, until the function returns",
    "dask": "Dask cancels it, but a running call goes on in its worker thread until the "
    "function returns; its worker's session is logged out when the run ends",
}
"""What becomes of a call past its timeout, by where it runs."""


def _running(futures: list[Any]) -> list[Any]:
    """The ``concurrent.futures`` futures that are running (a process pool's: handed to its
    workers' queue, which holds several calls more than it has workers)."""
    return [f for f in futures if f.running()]


def _dask_running(client: Any) -> Callable[[list[Any]], list[Any]]:
    """The Dask futures (in the order sent) a worker is running: of those it is processing
    (the scheduler's view: a worker holds more calls than it has threads, and runs those
    sent first first), as many as it has threads."""
    threads: dict[str, int] = {}

    def running(futures: list[Any]) -> list[Any]:
        processing = client.processing()
        if any(worker not in threads for worker in processing):  # (a new or restarted one)
            threads.update(client.nthreads())
        where = {key: worker for worker, keys in processing.items() for key in keys}
        taken = dict.fromkeys(processing, 0)
        found = []
        for future in futures:
            worker = where.get(future.key)
            if worker is not None and taken[worker] < threads.get(worker, 1):
                taken[worker] += 1
                found.append(future)
        return found

    return running


class _DaemonThreads(cf.Executor):
    """The run's own threads when its calls have a timeout: daemon threads (a call past its
    timeout, which no thread can stop, must not keep the interpreter from exiting), and one
    more for each call abandoned (the run goes on as wide as it started)."""

    def __init__(self, workers: int) -> None:
        self._max_workers = workers
        self._queue: queue.SimpleQueue[
            tuple[cf.Future[Any], Callable[..., Any], tuple[Any, ...]] | None
        ] = queue.SimpleQueue()
        self._threads = 0
        for _ in range(workers):
            self._start()

    def _start(self) -> None:
        self._threads += 1
        threading.Thread(target=self._work, name="xnat-sdk-map", daemon=True).start()

    def abandon(self) -> None:
        """A call was abandoned (past its timeout), holding its thread: one thread more."""
        self._start()

    def _work(self) -> None:
        while (task := self._queue.get()) is not None:
            future, function, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as exc:  # call_one returns failures: a bug's, or a Ctrl-C
                future.set_exception(exc)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        future: cf.Future[Any] = cf.Future()
        self._queue.put((future, functools.partial(fn, **kwargs) if kwargs else fn, args))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """The threads end once idle, never waited for (whatever ``wait`` says: one may be
        held by an abandoned call); with ``cancel_futures`` the calls not started never
        start."""
        while cancel_futures:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task[0].cancel()
        for _ in range(self._threads):
            self._queue.put(None)


def _collect(
    keys: Sequence[str],
    submit: Callable[[int], Any],
    options: RunOptions,
    record: Record,
    *,
    window: int,
    dask: bool = False,
    tick: Callable[[], float] | None = None,
    unwrap: Callable[[Outcome], Outcome] | None = None,
    again: Callable[[int], Any] | None = None,
    refused: Callable[[int], None] | None = None,
    clock: _Deadlines | None = None,
) -> list[Outcome]:
    """Run every item's call (the items by their ``keys``, in order), at most ``window`` sent
    and not finished at a time (each sent
    as late as that allows: a remote call takes the run's token current when it is sent);
    ``tick()`` runs at least as often as the seconds it returns say. A call answering
    ``Outcome.missing`` is sent again with ``again(n)`` (with the run's function and
    arguments: see ``travel.SentCall``); one whose token was refused before the function
    ran goes again (:class:`_Resend`); one running past its timeout is the object's
    failure, not waited for (:class:`_Deadlines`)."""
    outcomes: list[Outcome | None] = [None] * len(keys)
    pending: dict[Any, int] = {}
    resend = _Resend(submit, pending, refused)
    sent = 0
    try:
        with CountProgress(options.verbose, "map", len(keys)) as bar:

            def finish(batch: list[tuple[int, Outcome]]) -> None:
                # every call of the batch is recorded (in the items' order) before a failure
                # stops the run: nothing done is lost from the log
                for n, found in batch:
                    outcomes[n] = found
                    record(keys[n], found)
                    bar.advance(failed=int(not found.ok))
                failed = [(n, found) for n, found in batch if not found.ok]
                if failed and options.stop_on_error:
                    n, found = failed[0]
                    raise XNATMapError(keys[n], found.exception_type, found.message, found.details)

            while sent < len(keys) or pending:
                left: list[tuple[int, Outcome]] = []
                while sent < len(keys) and len(pending) < window:
                    try:
                        pending[submit(sent)] = sent
                    except RuntimeError as exc:  # a broken or shut-down pool takes no calls
                        if not sent:  # so before the run: one error, not one per object
                            raise XNATValidationError(
                                "executor", f"it takes no calls ({type(exc).__name__}: {exc})"
                            ) from exc
                        # broken during the run: each call left fails on its own, as if run
                        why = Outcome(False, None, type(exc).__name__, str(exc) or repr(exc))
                        left = [(n, why) for n in range(sent, len(keys))]
                        sent = len(keys)
                        break
                    sent += 1
                wait = tick() if tick is not None else None
                if clock is not None:
                    wait = clock.poll if wait is None else min(wait, clock.poll)
                done = [(pending.pop(f), f) for f in _first_done(pending, dask, wait)]
                settled = [(n, resend.settled(n, _outcome(f, unwrap))) for n, f in done]
                ended = [
                    (n, found)
                    for n, o in settled
                    if o is not None and (found := _sent_again(n, o, pending, again)) is not None
                ]
                if clock is not None:
                    ended += clock.late(pending, keys)
                # those left come after every call sent: the batch stays in the items' order
                finish(sorted(ended, key=lambda d: d[0]) + left)
    except BaseException:
        # whatever stops the run (a failure with stop_on_error, a result the log cannot
        # keep, Ctrl-C) stops it now: the calls not started yet never start
        for other in pending:
            other.cancel()
        raise
    return [o if o is not None else Outcome(False, None, "CancelledError", "") for o in outcomes]


def _sent_again(
    n: int, found: Outcome, pending: dict[Any, int], again: Callable[[int], Any] | None
) -> Outcome | None:
    """Call ``n``'s outcome, or None when it answered ``missing`` and is sent again (into
    ``pending``) with the run's function and arguments."""
    if not found.missing or again is None:
        return found
    try:
        pending[again(n)] = n
    except RuntimeError as exc:  # a broken pool: the call fails, as if it had run
        return Outcome(False, None, type(exc).__name__, str(exc) or repr(exc))
    return None


class _Grant:
    """The run's alias tokens: one issued at the start, a new one once the current one has
    lived a quarter of its life (XNAT's ``aliasTokenTimeout``: 2 days unless the site changed
    it; a call waiting in a queue, or a worker's re-login, has three quarters of it left),
    every one invalidated at the end. A call takes the token current when it is sent;
    ``renewed(run, token, number)`` hears of each newer one (a Dask run hands it to its
    workers at once, for calls already running)."""

    def __init__(
        self,
        session: XNATSession,
        renewed: Callable[[str, TokenResult, int], None] | None = None,
    ) -> None:
        self._session = session
        self.run = secrets.token_hex(8)
        self._verify = True if session.interface.verify is None else session.interface.verify
        self._renewed = renewed
        self.issued: list[TokenResult] = []
        self._task: RunTask | None = None
        self._renew_at = 0.0
        self._expires = 0.0
        self._forced = 0

    def task(self) -> RunTask:
        """The envelope for the next call (a new token first, when it is time), without the
        function and its arguments (they go once per run: see ``run_calls``)."""
        self.tick()
        assert self._task is not None
        return self._task

    def tick(self) -> float:
        """Renew the token when it is time; the seconds until the next renewal."""
        now = time.time()
        if self._task is None or now >= self._renew_at:
            self._renew(now)
        return max(self._renew_at - now, 0.5)

    def refused(self, number: int) -> None:
        """A worker's login with the run's token ``number`` was refused: when it is the
        current one (invalidated, or the server's clock ran ahead), a new one now (at most
        :data:`RESENDS` times a run: a server refusing every token fails the calls)."""
        if number == len(self.issued) - 1 and self._forced < RESENDS:
            self._forced += 1
            self._renew(time.time())

    def _renew(self, now: float) -> None:
        try:
            token, lifetime = self._session.services._issue()
        except XNATError as exc:
            if self._task is None:
                raise  # no token at all: the run cannot start
            # the current token lives on (renewed at a quarter of its life): try again soon, a
            # server's bad minute must not end a run of days
            self._renew_at = now + min(60.0, max((self._expires - now) / 4, 0.5))
            self._session.logger.warning(
                "map: could not renew the run's alias token (%s); the current one lives "
                "until %s; trying again in %.0f s",
                exc,
                time.strftime("%H:%M:%S", time.localtime(self._expires)),
                self._renew_at - now,
            )
            return
        self.issued.append(token)
        number = len(self.issued) - 1
        if lifetime is None:
            lifetime = _ASSUMED_TOKEN_LIFETIME
        self._expires = now + lifetime
        self._renew_at = now + lifetime / 4
        self._task = RunTask(
            self._session.server,
            self.run,
            token.alias,
            token.secret,
            self._verify,
            generation=number,
            timeout=self._session._rest.timeout,
            retries=self._session._rest.transport.retries,
            idle_close=WORKER_IDLE_CLOSE,
        )
        if number > 0 and self._renewed is not None:
            self._renewed(self.run, token, number)

    def close(self) -> None:
        """Invalidate every token of the run, each tried again after a failure; one the
        server still refuses is left to the session, whose disconnect tries it once more,
        with a warning naming its alias. Never raises but for an interrupt: the run's results
        (or its ``XNATMapError``) stand. The tokens are the session's to invalidate until each
        is dead: a Ctrl-C while the server is slow to answer leaves them to its disconnect (it
        left them alive, known to nobody, until they expired), and a second Ctrl-C during
        this invalidation is recorded (see :func:`invalidate_each`) before it goes on."""
        waiting = self._session._tokens_left
        waiting.extend(self.issued)

        def dead(token: TokenResult) -> None:
            with contextlib.suppress(ValueError):  # a disconnect may have taken it
                waiting.remove(token)

        left = invalidate_each(self._session, self.issued, dead, "the session's disconnect")
        if left:
            warn_tokens_left(self._session, left, "the session's disconnect tries again")


def invalidate_each(
    session: XNATSession,
    tokens: Sequence[TokenResult],
    dead: Callable[[TokenResult], None],
    then: str,
    waits: Sequence[float] | None = None,
) -> list[TokenResult]:
    """Invalidate each of ``tokens`` (:func:`invalidate`; ``dead`` hears of each one that
    is); returns those the server still refused. An interrupt part way (a second Ctrl-C
    while the server is slow) is not allowed to lose the record of the tokens still alive:
    their aliases (never their secrets) go to the session's log, an
    :class:`~xnat_sdk.errors.XNATTokenWarning` and a note on the interrupt itself, and
    ``then`` (who tries them again) is named, before it goes on."""
    left: list[TokenResult] = []
    done = 0
    try:
        for token in tokens:
            if invalidate(session, token, waits):
                dead(token)
            else:
                left.append(token)
            done += 1
    except BaseException as exc:
        alive = [*left, *tokens[done:]]
        if alive:
            _record_interrupted(session, alive, exc, then)
        raise
    return left


def _record_interrupted(
    session: XNATSession, alive: Sequence[TokenResult], exc: BaseException, then: str
) -> None:
    aliases = ", ".join(token.alias for token in alive)
    message = (
        f"interrupted ({type(exc).__name__}) while invalidating the alias tokens of a map "
        f"run on {session.server}: {len(alive)} not invalidated ({aliases}); they log in "
        f"until they expire unless {then} or session.services.invalidate_token does it"
    )
    with contextlib.suppress(Exception):
        session.logger.warning("%s", message)
    with contextlib.suppress(Exception):
        warnings.warn(message, XNATTokenWarning, stacklevel=_caller_level())
    if hasattr(exc, "add_note"):  # Python 3.11+: shown with the interrupt's traceback
        exc.add_note(message)


_INVALIDATE_WAITS = (0.5, 1.0, 2.0)
"""Seconds before each new try of a token invalidation the server failed."""


def invalidate(
    session: XNATSession, token: TokenResult, waits: Sequence[float] | None = None
) -> bool:
    """Invalidate ``token``, tried again after each of ``waits`` (None: those of
    :data:`_INVALIDATE_WAITS`) when it fails; True once it is invalid (an unknown token
    is)."""
    for wait in (0.0, *(_INVALIDATE_WAITS if waits is None else waits)):
        time.sleep(wait)
        try:
            session.services.invalidate_token(token)
            return True
        except XNATNotFoundError:
            return True
        except XNATError as exc:
            session.logger.debug("invalidating token %s failed: %s", token.alias, exc)
    return False


def warn_tokens_left(session: XNATSession, left: Sequence[TokenResult], then: str) -> None:
    aliases = ", ".join(token.alias for token in left)
    message = (
        f"{len(left)} alias token(s) of a map run could not be invalidated on "
        f"{session.server} ({aliases}): they log in until they expire; {then}"
    )
    warnings.warn(message, XNATTokenWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside xnat_sdk (a warning points at the
    user's line, whichever way the SDK got there)."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame: types.FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


WORKER_IDLE_CLOSE = 5.0
"""Seconds a worker's run session stays logged in without a call: after a run, a process
pool's workers (which the run's end cannot reach) log theirs out within this (the
server session made with a run's token outlives the token's invalidation otherwise)."""

_ASSUMED_TOKEN_LIFETIME = 2 * 24 * 3600.0
"""XNAT's default ``aliasTokenTimeout``, for a server whose token answer gives no expiry."""


def _width(executor: Any) -> int:
    """The calls a ``concurrent.futures`` executor runs at once."""
    return int(getattr(executor, "_max_workers", None) or os.cpu_count() or 1)


def _window(executor: Any, dask: bool) -> int:
    """How many calls may be sent and not finished: four per worker thread or process, so
    that no worker waits for work while later calls still take the newest token."""
    capacity = sum(executor.nthreads().values()) if dask else _width(executor)
    return max(4 * int(capacity), 8)


def _on_threads(
    items: list[Any], keys: Sequence[str], options: RunOptions, record: Record
) -> list[Outcome]:
    """The calls on threads sharing the session: the caller's pool, else one of
    ``max_workers`` (8) threads of the run's own (daemon threads with a ``timeout``:
    :class:`_DaemonThreads`). At most :func:`_window` calls are queued
    at a time (waiting on every call of a run at once made each wait cost the whole run:
    quadratic in the number of objects). A run stopped by Ctrl-C (anything not an
    ``Exception``) returns at once: its own pool is not waited for, the calls not started
    never start and the running ones end on their own."""
    pool: cf.Executor
    if options.executor is not None:
        pool = options.executor
    elif options.timeout is not None:
        pool = _DaemonThreads(min(options.threads, len(items)))
    else:
        pool = cf.ThreadPoolExecutor(options.threads, thread_name_prefix="xnat-sdk-map")
    finished = False
    try:

        def local(n: int) -> Any:
            return pool.submit(call_one, options.function, items[n], options.args, options.kwargs)

        clock = None
        if options.timeout is not None:
            abandon = pool.abandon if isinstance(pool, _DaemonThreads) else None
            workers = None if abandon is not None else _width(pool)
            clock = _Deadlines(options.timeout, _running, abandon, workers)
        window = _window(pool, False)
        outcomes = _collect(keys, local, options, record, window=window, clock=clock)
        finished = True
        return outcomes
    except Exception:
        finished = True
        raise
    finally:
        if options.executor is None:
            pool.shutdown(wait=finished, cancel_futures=True)


def hand_out_token(client: Any, server: str, run: str, token: TokenResult, generation: int) -> None:
    """Give the calls already running on a Dask ``client``'s workers the run's newer token
    for any re-login (a process pool's workers cannot be reached: they take it with their
    next call). The token goes whole: a worker's log of a failed ``run`` quotes its
    arguments, and a token's ``repr`` hides its secret."""
    with contextlib.suppress(Exception):
        client.run(renew_sessions, server, run, token, generation)


def run_calls(
    session: XNATSession,
    items: list[Any],
    keys: Sequence[str],
    options: RunOptions,
    record: Record,
) -> list[Outcome]:
    """The outcome of ``function(item, *args, **kwargs)`` for every item, in order (the
    run's ``options``, checked before the walk: ``mapping._run_options``); ``record(key,
    outcome)`` hears each, by the item's key in ``keys``; a call running longer than
    ``timeout`` seconds fails with ``XNATMapTimeoutError`` (:class:`_Deadlines`)."""
    executor = options.executor
    if executor is None or isinstance(executor, cf.ThreadPoolExecutor):
        return _on_threads(items, keys, options, record)
    dask = _is_dask(executor)
    payloads = [pack(item) for item in items]

    def hand_out(run: str, token: TokenResult, generation: int) -> None:
        hand_out_token(executor, session.server, run, token, generation)

    grant = _Grant(session, hand_out if dask else None)
    shipped: list[Any] = []  # the run's call on the Dask cluster (released at the end)
    try:
        if dask:
            remote: Callable[[int], Any] = _dask_calls(grant, payloads, options, shipped)
            again = None
        else:
            remote, again = _process_calls(grant, payloads, options)
        return _collect(
            keys,
            remote,
            options,
            record,
            window=_window(executor, dask),
            dask=dask,
            tick=grant.tick,
            unwrap=_reader(session),
            again=again,
            refused=grant.refused,
            clock=_remote_deadlines(executor, dask, options.timeout),
        )
    finally:
        try:
            if dask:  # the run's call leaves the cluster; the workers log their run sessions
                # out (a process pool cannot be reached worker by worker: its workers log
                # theirs out, and drop the run's call, once idle for WORKER_IDLE_CLOSE
                # seconds, or when the next runs or the process starts/ends)
                with contextlib.suppress(Exception):
                    executor.cancel(shipped)
                with contextlib.suppress(Exception):
                    executor.run(close_sessions, session.server, grant.run)
        finally:
            grant.close()


def _remote_deadlines(executor: Any, dask: bool, timeout: float | None) -> _Deadlines | None:
    """The clock of a run's calls on a process pool or a Dask cluster (None: no timeout).
    (Dask tells no end of a cancelled call: its width is not counted.)"""
    if timeout is None:
        return None
    if dask:
        return _Deadlines(timeout, _dask_running(executor), None, None, "dask")
    return _Deadlines(timeout, _running, None, _width(executor), "processes")


INLINE_CALL = 64 * 1024
"""Bytes of a pickled call (function, args, kwargs) up to which a process pool's every call
carries it; a larger one goes with the run's first call per worker process (and with any
call a worker answers without it: see ``travel.SentCall``)."""


def _process_calls(
    grant: _Grant, payloads: list[bytes], options: RunOptions
) -> tuple[Callable[[int], Any], Callable[[int], Any]]:
    """The submissions of a process pool's calls: the first ones, and those answering
    ``missing``, with the run's call pickled once (a worker process keeps it unpickled);
    the others, when it is large, with its digest only."""
    executor: cf.Executor = options.executor
    try:
        sent = SentCall.of(grant.run, options.call)
    except Exception as exc:  # say so now, not once per object
        raise XNATNotPicklableError(
            f"the function or its arguments cannot be sent to {type(executor).__name__}: "
            f"{exc} (use a module-level function, or a dask Client, which pickles more)"
        ) from exc
    assert sent.data is not None
    bare = sent.bare() if len(sent.data) > INLINE_CALL else sent
    carried = _width(executor)
    grant.task()  # the run's first token (none: the run cannot start)

    def remote(n: int) -> Any:
        task = dataclasses.replace(grant.task(), sent=sent if n < carried else bare)
        return executor.submit(task, payloads[n])

    def again(n: int) -> Any:
        return executor.submit(dataclasses.replace(grant.task(), sent=sent), payloads[n])

    return remote, again


def _dask_calls(
    grant: _Grant, payloads: list[bytes], options: RunOptions, shipped: list[Any]
) -> Callable[[int], Any]:
    """The submission of a Dask run's calls (``options.executor``, a Dask client): the
    run's call scattered once (into ``shipped``, which the run releases at its end), each
    call taking its future."""
    client = options.executor
    shipped.append(_scatter(client, grant.run, options.call))
    grant.task()  # the run's first token (none: the run cannot start)

    def on_dask(n: int) -> Any:
        return client.submit(grant.task(), payloads[n], shipped[0], pure=False)

    return on_dask


def _scatter(client: Any, run: str, call: CallSpec) -> Any:
    """The run's call, pickled once (as Dask pickles: cloudpickle when pickle cannot), on
    every worker of a Dask ``client``'s cluster (a future each call takes as an argument:
    Dask hands the worker's copy to the call, which unpickles it once per worker process)."""
    from distributed.protocol.pickle import dumps

    try:
        sent = SentCall.of(run, call, dumps)
    except Exception as exc:  # say so now, not once per object
        raise XNATNotPicklableError(
            f"the function or its arguments cannot be sent to the Dask cluster: {exc}"
        ) from exc
    scattered = client.scatter({f"xnat-sdk-map-call-{run}": sent}, broadcast=True, hash=False)
    return next(iter(scattered.values()))

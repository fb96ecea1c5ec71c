"""Objects that travel: archive objects and listings pickle without credentials and re-attach
to a session on the other side.

A pickled object holds its server URL, REST path, xsi type, class, the fields and document
it had loaded and its parent (pickled the same way); never a session, a cookie, a password
or a token. Unpickling inside :func:`attaching` (or :meth:`XNATSession.unpickle`) binds it
to that session; elsewhere it binds to the session this process opened for its server
(:func:`worker_session`), else it comes back detached (its loaded fields readable, anything
else raising :class:`~xnat_sdk.errors.XNATNotConnectedError`). ``session.map`` sends each
object with the listings loaded below it (:func:`pack`): a loaded tree's experiment reaches
its worker with its scans.

:class:`RunTask` is what ``session.map`` sends to a process or Dask worker with each object:
the run's identity and its current alias token (issued for the run, renewed before it
expires, all invalidated when the run ends; the password never leaves the calling process).
The function and its arguments go once per run, not with each call: to a Dask cluster as
data of its own (``_maprun``), to a process pool pickled once (:class:`SentCall`), each
worker process unpickling them once and keeping them while it keeps the run's session.

A worker opens one session per (server, run) and reuses it for every object it receives; a
task carrying a newer token of the run gives that session its credentials for any later
re-login (a run may outlive a token: XNAT's ``aliasTokenTimeout`` is 2 days by default).
While a call runs, its session is kept alive with heartbeats, so a call longer than the
server's session timeout does not need a re-login at all. A session no call has used for
``idle_close`` seconds (the run has ended, or its calls went elsewhere) is logged out: a
process pool's workers cannot be reached when a run ends, and their server sessions must not
outlive it long (their tokens are invalid by then, the sessions made with them are not); a
later call of the run logs in again.
"""

from __future__ import annotations

import contextlib
import pickle
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from xnat_sdk.errors import XNATAuthError, XNATNotConnectedError

if TYPE_CHECKING:
    from xnat_sdk._objects.core import XNATObject
    from xnat_sdk.listings import Listing, ListingSpec, RemoteFile
    from xnat_sdk.services import TokenResult
    from xnat_sdk.session import XNATSession

__all__ = [
    "CallSpec",
    "Outcome",
    "RunTask",
    "SentCall",
    "attaching",
    "clipped",
    "close_all_sessions",
    "close_sessions",
    "failure",
    "has_call",
    "kept_alive",
    "kept_calls",
    "listing_state",
    "loaded_call",
    "object_state",
    "open_sessions",
    "pack",
    "renew_sessions",
    "restore_file",
    "restore_listing",
    "restore_object",
    "unpack",
    "worker_session",
]


@dataclass
class _Held:
    """A map run's session in this process and the number (in the run) of the newest token
    it logs in with."""

    session: XNATSession
    generation: int
    calls: int = 0
    """The calls running on it (:meth:`RunTask.__call__`): another run never logs it out
    while one does."""
    used: float = field(default_factory=time.monotonic)
    """When a call last took it (``time.monotonic()``)."""
    idle_close: float | None = None
    """Seconds without a call after which the session is logged out (None: never)."""


RUNS_KEPT = 3
"""The sessions a worker process keeps per server, one per run (the runs that took theirs
last): runs sharing a pool at once keep theirs, each earlier one is logged out."""


_local = threading.local()
_sessions: dict[tuple[str, str], _Held] = {}
"""This process's session for each (server, run)."""
_sessions_lock = threading.Lock()
_ended: dict[str, None] = {}
"""The runs :func:`close_sessions` ended in this process (the last :data:`ENDED_KEPT`): a
call of theirs that starts later (it was running or queued when the run ended) logs in
with nothing and keeps nothing here."""
ENDED_KEPT = 64


@contextlib.contextmanager
def attaching(session: XNATSession) -> Iterator[None]:
    """Objects unpickled in this block (this thread) bind to ``session``."""
    previous = getattr(_local, "session", None)
    _local.session = session
    try:
        yield
    finally:
        _local.session = previous


def _target(server: str | None) -> XNATSession | None:
    if server is None:
        return None
    session: XNATSession | None = getattr(_local, "session", None)
    if session is not None and session.server == server and session.connected:
        return session
    with _sessions_lock:
        for (url, _), held in _sessions.items():
            if url == server and held.session.connected:
                return held.session
    return None


def object_state(obj: XNATObject) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    """The arguments of :func:`restore_object` for ``obj`` (no session, no credentials), and
    its loaded fields: the state pickle sets once the object exists, so that a part (its
    owner as parent) and its owner (the part among its fields) pickle as one cycle."""
    from xnat_sdk._objects.core import XNATObject, runtime_owned
    from xnat_sdk.fields import class_fields

    fields: dict[str, Any] = {}
    for name in class_fields(type(obj)).by_name:
        if runtime_owned(type(obj), name):  # navigation, not data (an assessor's scans are)
            continue
        try:
            value = object.__getattribute__(obj, name)
        except AttributeError:
            continue
        if isinstance(value, XNATObject) and (value._xnat_cache or {}).get("partial_of"):
            continue  # a part only listing columns filled: read whole where it lands
        fields[name] = value
    session = obj._xnat_session
    server = session.server if session is not None else None
    cache = obj._xnat_cache or {}
    row = cache.get("row")
    parts = cache.get("parts")
    arguments = (
        type(obj),
        server,
        obj._xnat_uri,
        obj._xnat_xsi,
        obj._xnat_item,
        dict(row) if isinstance(row, Mapping) else None,
        obj._xnat_parent,
        dict(parts) if isinstance(parts, Mapping) else None,
    )
    return arguments, fields or None


def restore_object(
    cls: type[XNATObject],
    server: str | None,
    uri: str | None,
    xsi: str | None,
    item: Mapping[str, Any] | None,
    row: Mapping[str, Any] | None,
    parent: XNATObject | None,
    parts: Mapping[str, Any] | None = None,
) -> XNATObject:
    """Rebuild a pickled object, bound to the session for ``server`` when there is one (its
    fields follow as the pickle's state). Without its document, the listing row it came
    from fills it again: the parts its columns filled, the fields they showed empty."""
    session = _target(server)
    if session is not None:
        obj = cls._xnat_bind(session, uri, xsi=xsi, parent=parent, item=item)
    else:
        obj = cls.__new__(cls)
        item = dict(item) if item is not None else None
        obj._xnat_set_binding(None, uri, parent, xsi or cls.__xsi_type__, item)
    if row is not None:
        obj._xnat_cache["row"] = dict(row)
        if parts:
            obj._xnat_cache["parts"] = dict(parts)
        if item is None:
            obj._xnat_prefill({**row, **(parts or {})})
    return obj


def listing_state(listing: Listing[Any]) -> tuple[Any, ...]:
    """The arguments of :func:`restore_listing` (rows and objects when read)."""
    loaded = listing._generation >= 0
    return (
        listing._session.server,
        listing._spec,
        listing._uri,
        listing._parent,
        dict(listing._filters),
        listing._doc_field,
        listing._prefer_doc,
        listing._source,
        listing._type_filter,
        list(zip(listing._rows, listing._entries, strict=True)) if loaded else None,
        listing._from_doc,
    )


def restore_listing(
    server: str,
    spec: ListingSpec,
    uri: str,
    parent: XNATObject | None,
    filters: dict[str, str],
    doc_field: str | None,
    prefer_doc: bool,
    source: Listing[Any] | None,
    type_filter: type[XNATObject] | None,
    pairs: list[tuple[dict[str, Any], Any]] | None,
    from_doc: bool,
) -> Listing[Any]:
    """Rebuild a pickled listing on the session for ``server``."""
    from xnat_sdk.listings import Listing

    session = _target(server)
    if session is None:
        raise XNATNotConnectedError(
            f"the listing {uri} of {server} needs a session to come back to: unpickle it "
            "with session.unpickle(data) (or inside session.map's workers)"
        )
    listing: Listing[Any] = Listing(
        session,
        spec,
        uri,
        parent=parent,
        filters=filters,
        doc_field=doc_field,
        prefer_doc=prefer_doc,
        source=source,
        type_filter=type_filter,
    )
    if pairs is not None:
        listing._from_doc = from_doc
        listing._index(pairs)
    return listing


def _loaded_below(item: Any) -> list[tuple[XNATObject, dict[str, Any]]]:
    """The listings loaded below ``item`` (an object's subjects, experiments, scans ... as a
    walk or ``load_tree`` read them, while the session's cache holds them), by owner, and
    the mark of scans a joined listing filled: what :func:`pack` sends along."""
    from xnat_sdk._objects.core import XNATObject
    from xnat_sdk.listings import Listing

    found: list[tuple[XNATObject, dict[str, Any]]] = []
    todo = [item] if isinstance(item, XNATObject) else []
    seen: set[int] = set()
    while todo:
        owner = todo.pop()
        if id(owner) in seen:
            continue
        seen.add(id(owner))
        kept: dict[str, Any] = {}
        for key, value in (owner._xnat_cache or {}).items():
            if key == "batched":
                kept[key] = value
            elif isinstance(value, Listing) and value._parent is owner and not value._stale():
                kept[key] = value
                todo += (e for e in value._entries if isinstance(e, XNATObject))
        if kept:
            found.append((owner, kept))
    return found


def pack(item: Any) -> bytes:
    """``item`` pickled for a map worker together with the listings loaded below it: a
    subject of a loaded tree brings its experiments and their scans, so a call reads them
    there without a request (the object's own pickle carries no listing: its parent's
    would bring the whole tree)."""
    return pickle.dumps((item, _loaded_below(item)))


def unpack(data: bytes) -> Any:
    """The item of :func:`pack`'s bytes, its listings back in place (call inside
    :func:`attaching`)."""
    item, below = pickle.loads(data)
    for owner, kept in below:
        owner._xnat_cache.update(kept)
    return item


def restore_file(server: str, row: Mapping[str, Any]) -> RemoteFile:
    """Rebuild a pickled :class:`~xnat_sdk.listings.RemoteFile` on the session for ``server``."""
    from xnat_sdk.listings import RemoteFile

    session = _target(server)
    if session is None:
        raise XNATNotConnectedError(
            f"the file {row.get('URI', '')} of {server} needs a session to come back to: "
            "unpickle it with session.unpickle(data) (or send it with session.map_over)"
        )
    return RemoteFile(session, row)


def _take_newer(key: tuple[str, str], generation: int, alias: str, secret: str) -> bool:
    """Give the session for ``key`` the run's token number ``generation`` unless it has a
    newer one (calls may start out of the order they were sent in). Hold the lock."""
    from xnat_sdk.auth import Credentials

    held = _sessions.get(key)
    if held is None or not held.session.connected or generation <= held.generation:
        return False
    held.session._use_credentials(Credentials(alias, secret, "argument"))
    held.generation = generation
    return True


def worker_session(
    server: str,
    run: str,
    alias: str,
    secret: str,
    verify: bool | str,
    generation: int = 0,
    *,
    timeout: Any = None,
    retries: int = 3,
    idle_close: float | None = None,
) -> XNATSession:
    """This process's session for (server, run): opened once (with the caller's ``timeout``
    and ``retries``), reused for every object; a newer token of the run (``generation``: its
    number in the run) becomes its login for any later re-login. The sessions of the
    :data:`RUNS_KEPT` runs that took theirs last stay (runs sharing a pool at once), any
    earlier one no call is using is logged out; one left without a call for
    ``idle_close`` seconds is logged out too (see :func:`kept_alive`)."""
    return _hold(
        server, run, alias, secret, verify, generation, timeout, retries, 0, idle_close
    ).session


def _hold(
    server: str,
    run: str,
    alias: str,
    secret: str,
    verify: bool | str,
    generation: int,
    timeout: Any,
    retries: int,
    calls: int,
    idle_close: float | None = None,
) -> _Held:
    """:func:`worker_session`'s entry, ``calls`` more calls counted on it (in the same
    step: no other run's call can log it out in between)."""
    from xnat_sdk.connection import connect

    key = (server, run)
    with _sessions_lock:
        if run in _ended:
            raise XNATNotConnectedError(f"map run {run} has ended; its calls are not run")
        held = _sessions.get(key)
        if held is not None and held.session.connected:
            _take_newer(key, generation, alias, secret)
            held.calls += calls
            held.used = time.monotonic()
            return held
        settings: dict[str, Any] = {"retries": retries}
        if timeout is not None:  # the caller's timeouts, not the SDK's defaults
            settings["default_timeout"] = timeout
        session = connect(
            server, user=alias, password=secret, verify=verify, keepalive=False, **settings
        )
        # replaced only once logged in: a refused login (a token dead in a queue) dropped
        # the sessions it would replace unclosed, logged in on the server until it timed out
        gone = _replaced(key)
        old = [_sessions.pop(k).session for k in gone]
        held = _sessions[key] = _Held(session, generation, calls, idle_close=idle_close)
        _close_at_exit()
    for previous, (_, ended) in zip(old, gone, strict=True):
        if ended != run:  # (this run's own ended session: its call is still this run's)
            _forget_call(ended)
        with contextlib.suppress(Exception):
            previous.disconnect()
    return held


def _replaced(key: tuple[str, str]) -> list[tuple[str, str]]:
    """The sessions a new session for ``key`` replaces (hold the lock): its own that
    ended, and the earlier runs' no call is using, least recently used first, until the
    server has fewer than :data:`RUNS_KEPT` (two runs sharing a process pool at once
    logged each other's sessions out at every turn: a login per two calls)."""
    mine = [k for k in _sessions if k[0] == key[0]]
    gone = [k for k in mine if k == key]
    idle = sorted((k for k in mine if k != key and not _sessions[k].calls), key=_last_used)
    extra = len(mine) - len(gone) - (RUNS_KEPT - 1)
    return gone + idle[: max(extra, 0)]


def _last_used(key: tuple[str, str]) -> float:
    return _sessions[key].used


_busy: dict[int, int] = {}
"""Calls running on each worker session (by ``id``): heartbeats run while there is one."""
_busy_lock = threading.Lock()


@contextlib.contextmanager
def kept_alive(session: XNATSession) -> Iterator[None]:
    """Heartbeats on ``session`` while a call runs on it (several calls of a multi-threaded
    worker share them): a call longer than the server's session timeout keeps its session."""
    key = id(session)
    with _busy_lock:
        _busy[key] = _busy.get(key, 0) + 1
        if _busy[key] == 1:
            session.keepalive = True
    try:
        yield
    finally:
        idle = False
        with _busy_lock:
            _busy[key] -= 1
            if _busy[key] == 0:
                del _busy[key]
                if session.connected:
                    session.keepalive = False
                    idle = True
        if idle:  # (outside the lock: the timer takes the sessions' lock, then this one)
            _close_when_idle(session)


_timers: dict[int, threading.Timer] = {}
"""The pending idle check of each worker session (by ``id``; under ``_sessions_lock``)."""


def _close_when_idle(session: XNATSession) -> None:
    """Log ``session`` out once no call has taken it for its run's ``idle_close`` seconds
    (one timer per session at a time, started when its last running call ends)."""
    with _sessions_lock:
        held = next((h for h in _sessions.values() if h.session is session), None)
        if held is None or held.idle_close is None:
            return
        held.used = time.monotonic()
        if id(session) not in _timers:  # else the pending one looks again when it fires
            _start_timer(session, held.idle_close)


def _start_timer(session: XNATSession, seconds: float) -> None:
    """(hold ``_sessions_lock``)"""
    timer = threading.Timer(seconds, _close_if_idle, (session,))
    timer.daemon = True
    _timers[id(session)] = timer
    timer.start()


def _close_if_idle(session: XNATSession) -> None:
    with _sessions_lock:
        _timers.pop(id(session), None)
        key = next((k for k, h in _sessions.items() if h.session is session), None)
        if key is None:
            return
        held = _sessions[key]
        # (a call in kept_alive is counted in held.calls too: RunTask counts it around it)
        if held.calls > 0 or held.idle_close is None:
            return  # the end of the running call starts the next check
        left = held.used + held.idle_close - time.monotonic()
        if left > 0:  # taken since this timer started
            _start_timer(session, left)
            return
        del _sessions[key]
    _forget_call(key[1])
    with contextlib.suppress(Exception):
        session.disconnect()


_exit_hook: list[object] = []


def _close_at_exit() -> None:
    """Log this process's run sessions out when it ends: a process-pool worker cannot be
    reached when a run ends, but it ends with its pool (``multiprocessing`` runs these
    finalizers in its children, which skip ``atexit``, and at the exit of a main process)."""
    if _exit_hook:
        return
    from multiprocessing.util import Finalize

    _exit_hook.append(Finalize(None, close_all_sessions, exitpriority=10))


def close_all_sessions() -> int:
    """Log out and forget every session this process holds for map runs; how many."""
    with _sessions_lock:
        found = [held.session for held in _sessions.values()]
        _sessions.clear()
    with _calls_lock:
        _calls.clear()
    for session in found:
        with contextlib.suppress(Exception):
            session.disconnect()
    return len(found)


def close_sessions(server: str, run: str) -> int:
    """Log out and forget this process's session for (server, run); how many there were
    (run on every Dask worker when a map run ends)."""
    with _sessions_lock:
        _ended[run] = None  # before its call is dropped: see loaded_call
        while len(_ended) > ENDED_KEPT:
            del _ended[next(iter(_ended))]
        held = _sessions.pop((server, run), None)
    _forget_call(run)
    if held is None:
        return 0
    with contextlib.suppress(Exception):
        held.session.disconnect()
    return 1


def renew_sessions(server: str, run: str, token: TokenResult, generation: int) -> int:
    """Give this process's session for (server, run) the run's token number ``generation``
    for any later re-login, unless it has a newer one; how many sessions took it (run on
    every Dask worker when the run's token is renewed). The token comes whole, its secret
    hidden in its ``repr``: a Dask worker's log of a failed ``run`` quotes the arguments."""
    with _sessions_lock:
        return int(_take_newer((server, run), generation, token.alias, token.secret))


def open_sessions() -> list[tuple[str, str]]:
    """(server, run) of the sessions this process holds for map runs."""
    with _sessions_lock:
        return [key for key, held in _sessions.items() if held.session.connected]


class Outcome(NamedTuple):
    """What one mapped call gave: its value, or the exception's type, message, traceback."""

    ok: bool
    value: Any
    exception_type: str = ""
    message: str = ""
    details: str = ""
    pickled: bool = False
    """``value`` is the pickled value (from another process): read it back attached to the
    run's session (:func:`attaching`)."""
    missing: bool = False
    """Not called: the call came without the run's function and arguments (a
    :class:`SentCall` without its data) and this worker process had none kept: the caller
    sends it again with them."""
    refused: int | None = None
    """The number (in the run) of the alias token the worker's login was refused with,
    before the function ran (None: it logged in, or reused its session): the call is not
    the object's failure, the run sends it again with its current token."""


MESSAGE_LIMIT = 10_000
"""The characters of a failed call's message a run keeps (its start and its end)."""
DETAILS_LIMIT = 100_000
"""The characters of a failed call's traceback a run keeps (its start and its end)."""


def clipped(text: str, limit: int) -> str:
    """``text``, its middle left out when it is longer than ``limit`` characters: a run of
    thousands of objects keeps every failure, so a failure may not hold megabytes (an
    exception carrying a whole document in its message) twice (message and traceback)."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]}\n... [{len(text) - 2 * keep} characters left out] ...\n{text[-keep:]}"


def failure(exc: BaseException, message: str | None = None) -> Outcome:
    """The outcome of a call that raised ``exc`` (handled now): its type, message
    (``message`` instead when given) and traceback, clipped (:func:`clipped`)."""
    if message is None:
        try:
            message = str(exc)
        except Exception:  # an exception whose str() fails is still the call's failure
            message = f"<{type(exc).__name__} whose message cannot be shown>"
    return Outcome(
        False,
        None,
        type(exc).__name__,
        clipped(message, MESSAGE_LIMIT),
        clipped(traceback.format_exc(), DETAILS_LIMIT),
    )


def call_one(
    function: Callable[..., Any], obj: Any, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> Outcome:
    """``function(obj, *args, **kwargs)`` as an :class:`Outcome` (never raises, but for a
    ``SystemExit`` or ``KeyboardInterrupt`` in the main thread: a Ctrl-C of a serial run).
    Off the main thread (a run's threads, a Dask worker's) a function calling
    ``sys.exit()`` or raising ``KeyboardInterrupt`` fails its own call: it ended a Dask
    worker, whose call Dask then ran on three more workers before giving up."""
    try:
        return Outcome(True, function(obj, *args, **kwargs))
    except BaseException as exc:  # a failure is a result: the other objects go on
        if not isinstance(exc, Exception) and (
            isinstance(exc, GeneratorExit) or threading.current_thread() is threading.main_thread()
        ):
            raise
        return failure(exc)


CallSpec = tuple[Callable[..., Any], tuple[Any, ...], Mapping[str, Any]]
"""A run's function, its extra positional arguments and its keyword arguments."""


@dataclass(frozen=True)
class SentCall:
    """A run's :data:`CallSpec` as its calls carry it: pickled once per run (``data``),
    known by ``digest`` (of those bytes) in its ``run``. A worker process unpickles it once
    (:func:`loaded_call`, inside :func:`attaching`: archive objects among the arguments bind
    to the run's session) and keeps it while it keeps the run's session (at most
    :data:`CALLS_KEPT` runs' at a time). A process pool's call may come without ``data``
    (the worker has it, most likely): a worker that has not answers ``Outcome.missing``. A
    Dask run's calls take it from the cluster (one copy per worker, see ``_maprun``)."""

    run: str
    digest: str
    data: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, run: str, call: CallSpec, dumps: Callable[[Any], bytes] | None = None) -> SentCall:
        """``call`` pickled by ``dumps`` (None: ``pickle.dumps``; its errors raise)."""
        import hashlib

        data = (dumps or _dumps)(call)
        return cls(run, hashlib.sha256(data).hexdigest(), data)

    def bare(self) -> SentCall:
        """The same call without its data."""
        return SentCall(self.run, self.digest)


def _dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


CALLS_KEPT = RUNS_KEPT
"""The runs' calls a worker process keeps unpickled (the runs that used theirs last)."""

_calls: dict[tuple[str, str], CallSpec] = {}
"""This process's unpickled calls by (run, digest), least recently used first."""
_calls_lock = threading.Lock()


def has_call(sent: SentCall) -> bool:
    """Whether this process holds ``sent``'s call, or ``sent`` carries it."""
    with _calls_lock:
        return sent.data is not None or (sent.run, sent.digest) in _calls


def loaded_call(sent: SentCall) -> CallSpec | None:
    """``sent``'s call, unpickled once per process (None: not kept here and not carried).
    Unpickled under the lock: two threads of a worker taking the run's first calls at once
    unpickle it once."""
    key = (sent.run, sent.digest)
    with _calls_lock:
        found = _calls.pop(key, None)
        if sent.run in _ended:
            return None  # the run has ended here (a late call): nothing is kept for it
        if found is None:
            if sent.data is None:
                return None
            found = pickle.loads(sent.data)
        _calls[key] = found  # the most recently used last
        while len(_calls) > CALLS_KEPT:
            del _calls[next(iter(_calls))]
        return found


def _forget_call(run: str) -> None:
    """Drop ``run``'s call (its session is logged out here: the run has ended)."""
    with _calls_lock:
        for key in [k for k in _calls if k[0] == run]:
            del _calls[key]


def kept_calls() -> list[tuple[str, str]]:
    """(run, digest) of the calls this process keeps."""
    with _calls_lock:
        return list(_calls)


@dataclass(frozen=True)
class RunTask:
    """One map run's call, as sent to a process or Dask worker (see the module's docstring):
    the run's identity and its token at the time the call was sent. The function and its
    arguments are the :class:`SentCall` the task is called with (a Dask run's: its data on
    the cluster), else ``sent`` (a process pool's), else ``function``, ``args``,
    ``kwargs``."""

    server: str
    run: str
    alias: str
    secret: str = field(repr=False)
    verify: bool | str
    function: Callable[..., Any] | None = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    generation: int = 0
    """The token's number in the run (0: the first issued)."""
    timeout: Any = None
    """The caller's session's default timeout (seconds, or (connect, read)); None: the
    SDK's default."""
    retries: int = 3
    """The caller's session's retries of idempotent requests."""
    idle_close: float | None = None
    """Seconds a worker's session may stay without a call before it is logged out."""
    sent: SentCall | None = None
    """The run's function and arguments, pickled once per run (see :class:`SentCall`)."""

    def __call__(self, payload: bytes, sent: SentCall | None = None) -> Outcome:
        """Attach the pickled object to this worker's session and call the function, the
        session kept alive meanwhile (``Outcome.missing``: the call came without its data
        and this process has none: nothing was done)."""
        sent = sent if sent is not None else self.sent
        if sent is not None and not has_call(sent):
            return Outcome(False, None, missing=True)  # (no login for it)
        try:
            held = _hold(
                self.server,
                self.run,
                self.alias,
                self.secret,
                self.verify,
                self.generation,
                self.timeout,
                self.retries,
                1,
                self.idle_close,
            )
        except XNATAuthError as exc:
            # the token died while the call waited in a queue (a busy cluster, a long
            # backlog): the function has not run, the run sends it again with a newer one
            return failure(exc)._replace(refused=self.generation)
        except Exception as exc:
            return failure(exc)
        try:
            return self._call(held.session, payload, sent)
        finally:
            with _sessions_lock:
                held.calls -= 1

    def _spec(self, sent: SentCall | None) -> CallSpec | None:
        """The function and its arguments (see the class's docstring; None: ``sent`` came
        without its data, and was dropped here since :func:`has_call`)."""
        if sent is not None:
            return loaded_call(sent)
        if self.function is None:
            raise TypeError("a RunTask without a function is called with its SentCall")
        return self.function, self.args, self.kwargs

    def _call(self, session: XNATSession, payload: bytes, sent: SentCall | None) -> Outcome:
        try:
            with attaching(session):  # (objects among the arguments too)
                call = self._spec(sent)
                if call is None:
                    return Outcome(False, None, missing=True)
                obj = unpack(payload)
        except Exception as exc:
            return failure(exc)
        function, args, kwargs = call
        with kept_alive(session):
            found = call_one(function, obj, args, kwargs)
        if not found.ok:
            return found
        # pickled here, read back attached to the caller's session (objects and listings the
        # function returns are the caller's to use)
        try:
            return Outcome(True, pickle.dumps(found.value), pickled=True)
        except Exception as exc:
            return failure(exc, f"the result cannot be sent back: {exc}")

"""Fault injection for reliability tests of clients (per server, thread-safe).

Python API (``server.faults`` on :class:`xnat_sdk.testing.LocalXNAT`)::

    faults.set_delay(0.2)                        # every request sleeps 0.2 s first
    faults.fail_next(3, status=503, prefix="/data/projects")  # next 3 matching -> 503
    faults.drop_after(1024, count=1, prefix="/data/experiments")  # cut next download
    faults.expire_sessions()                     # every JSESSIONID stops working -> 401
    faults.corrupt_digests(count=1)              # next file listing lies about digests
    faults.redirect_next("http://127.0.0.1:9/{path}", prefix="/data/JSESSION")  # 302 there
    faults.answer_next({"ResultSet": {"Result": {}}}, prefix="/data/projects")  # canned body
    faults.drop_answer_next(prefix="/data/projects/P/resources", method="PUT")  # no answer
    faults.hang_next(prefix="/data/JSESSION")    # accept, then never answer (until clear())
    faults.rotate_session_next(cookie_path="/data")  # a second JSESSIONID cookie
    faults.start_recording(); faults.recorded()  # what clients sent (method, path, auth)
    faults.clear()                               # back to normal

Every ``*_next`` switch applies to the next ``count`` requests whose path starts with
``prefix`` (and, where it takes one, whose method is ``method``).

HTTP API (admin only): ``GET /xapi/testing/faults`` -> the current state as JSON;
``PUT|POST /xapi/testing/faults`` with a JSON body such as
``{"delay": 0.1, "fail_next": {"count": 2, "status": 500, "prefix": "/data"},
"drop_after": {"bytes": 100, "count": 1}, "expire_sessions": true,
"corrupt_digests": {"count": 1}, "redirect_next": {"location": "https://x/{path}"},
"answer_next": {"body": "...", "status": 200, "content_type": "application/json"},
"drop_answer_next": {"method": "PUT"}, "hang_next": {"seconds": 30},
"rotate_session_next": {"cookie_path": "/data"}, "recording": true}``;
``DELETE /xapi/testing/faults`` clears everything. Requests to ``/xapi/testing/faults``
itself are never delayed, failed or recorded.

A forced 5xx answers with ``Retry-After: 0`` for 503. A dropped download sends the headers
(with the full ``Content-Length``), the first ``bytes`` bytes, then shuts the socket. A
dropped answer lets the server do the request's work (an upload is stored), then closes the
connection before any byte of the answer, as a proxy or a network cut would. ``{path}`` in a
redirect's location is replaced by the request's path and query.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from xnat_sdk.errors import XNATValidationError
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError, Router

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from xnat_sdk.testing._server.store import Store

__all__ = ["FAULTS_PATH", "Faults", "RecordedRequest", "register"]

FAULTS_PATH = "/xapi/testing/faults"


@dataclass
class _Budget:
    count: int
    prefix: str = ""
    status: int = 500
    nbytes: int = 0
    method: str | None = None
    location: str = ""
    body: bytes = b""
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    cookie_path: str = "/"

    def applies(self, path: str, method: str | None = None) -> bool:
        if self.count <= 0 or not path.startswith(self.prefix):
            return False
        return self.method is None or method is None or self.method == method

    def public(self) -> dict[str, Any]:
        """The budget as JSON-able data (the body as text)."""
        out = asdict(self)
        out["body"] = self.body.decode("utf-8", "replace")
        return out


def _checked(count: object, prefix: object) -> tuple[int, str]:
    """``count`` (a whole number >= 1) and ``prefix`` (a path: ``""`` or starting with
    ``/``) checked: a fault that can never apply would let a test pass testing nothing."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise XNATValidationError("count", f"must be a whole number >= 1, got {count!r}")
    if not isinstance(prefix, str) or (prefix and not prefix.startswith("/")):
        raise XNATValidationError(
            "prefix", f"must be a path starting with / (such as /data/projects), got {prefix!r}"
        )
    return count, prefix


def _status(status: object, low: int) -> int:
    if isinstance(status, bool) or not isinstance(status, int) or not low <= status < low + 100:
        raise XNATValidationError("status", f"must be a {low // 100}xx code, got {status!r}")
    return status


@dataclass(frozen=True)
class RecordedRequest:
    """What a client sent (see :meth:`Faults.start_recording`)."""

    method: str
    path: str
    query: str
    authorization: str | None
    cookies: dict[str, str]


class Faults:
    """The fault switches of one server."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self.delay = 0.0
        self._fail: _Budget | None = None
        self._drop: _Budget | None = None
        self._corrupt: _Budget | None = None
        self._redirect: _Budget | None = None
        self._answer: _Budget | None = None
        self._drop_answer: _Budget | None = None
        self._hang: _Budget | None = None
        self._rotate: _Budget | None = None
        self._released = threading.Event()
        self._recorded: list[RecordedRequest] | None = None

    # -- Python API -----------------------------------------------------------------------
    def set_delay(self, seconds: float) -> None:
        """Delay every request by ``seconds`` (0 turns it off)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise XNATValidationError("seconds", f"must be a number >= 0, got {seconds!r}")
        self.delay = float(seconds)

    def fail_next(self, count: int = 1, *, status: int = 500, prefix: str = "") -> None:
        """Answer the next ``count`` requests under ``prefix`` with ``status`` (5xx)."""
        count, prefix = _checked(count, prefix)
        status = _status(status, 500)
        with self._lock:
            self._fail = _Budget(count=count, prefix=prefix, status=status)

    def drop_after(self, nbytes: int, *, count: int = 1, prefix: str = "") -> None:
        """Cut the connection after ``nbytes`` body bytes of the next ``count`` answers."""
        if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
            raise XNATValidationError("nbytes", f"must be a whole number >= 0, got {nbytes!r}")
        count, prefix = _checked(count, prefix)
        with self._lock:
            self._drop = _Budget(count=count, prefix=prefix, nbytes=nbytes)

    def expire_sessions(self) -> None:
        """Invalidate every JSESSIONID (later cookie-only requests get 401)."""
        with self._store.tx() as db:
            db.execute("DELETE FROM http_sessions")

    def corrupt_digests(self, count: int = 1, *, prefix: str = "") -> None:
        """Make the next ``count`` file listings report wrong MD5 digests."""
        count, prefix = _checked(count, prefix)
        with self._lock:
            self._corrupt = _Budget(count=count, prefix=prefix)

    def redirect_next(
        self, location: str, *, status: int = 302, count: int = 1, prefix: str = ""
    ) -> None:
        """Answer the next ``count`` requests under ``prefix`` with a redirect (``status``
        3xx) to ``location``, in which ``{path}`` stands for the request's path and query
        (``"https://elsewhere:8443{path}"``)."""
        status = _status(status, 300)
        count, prefix = _checked(count, prefix)
        with self._lock:
            self._redirect = _Budget(count=count, prefix=prefix, status=status, location=location)

    def answer_next(
        self,
        body: bytes | str | Mapping[str, Any] | list[Any],
        *,
        status: int = 200,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        count: int = 1,
        prefix: str = "",
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests under ``prefix`` with this canned answer,
        whatever they asked (a JSON value is serialised; the default content type is JSON
        for those, else ``application/octet-stream``): a hostile or broken server."""
        if isinstance(body, (list, Mapping)):
            data = json.dumps(body).encode("utf-8")
            kind = content_type or "application/json"
        else:
            data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            kind = content_type or "application/octet-stream"
        count, prefix = _checked(count, prefix)
        with self._lock:
            self._answer = _Budget(
                count=count,
                prefix=prefix,
                status=status,
                body=data,
                content_type=kind,
                headers=dict(headers or {}),
                method=method.upper() if method else None,
            )

    def drop_answer_next(
        self, *, count: int = 1, prefix: str = "", method: str | None = None
    ) -> None:
        """Do the work of the next ``count`` requests under ``prefix`` (an upload is
        stored), then close the connection before sending any byte of the answer."""
        count, prefix = _checked(count, prefix)
        with self._lock:
            self._drop_answer = _Budget(
                count=count, prefix=prefix, method=method.upper() if method else None
            )

    def hang_next(self, *, count: int = 1, prefix: str = "", seconds: float = 60.0) -> None:
        """Accept the next ``count`` requests under ``prefix`` and answer nothing for
        ``seconds`` (or until :meth:`clear`), then a 503: a server that never answers."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise XNATValidationError("seconds", f"must be a number >= 0, got {seconds!r}")
        count, prefix = _checked(count, prefix)
        with self._lock:
            self._released.clear()
            self._hang = _Budget(count=count, prefix=prefix, seconds=float(seconds))

    def rotate_session_next(
        self, *, cookie_path: str = "/data", count: int = 1, prefix: str = ""
    ) -> None:
        """Give the next ``count`` authenticated answers under ``prefix`` a new session in
        an extra ``JSESSIONID`` cookie with ``Path=cookie_path`` (beside the one the client
        holds, as a server behind a proxy with another context path does)."""
        count, prefix = _checked(count, prefix)
        with self._lock:
            self._rotate = _Budget(count=count, prefix=prefix, cookie_path=cookie_path)

    def start_recording(self) -> None:
        """Record every request from now on (see :meth:`recorded`), forgetting earlier ones."""
        with self._lock:
            self._recorded = []

    def recorded(self) -> list[RecordedRequest]:
        """The requests recorded since :meth:`start_recording` (empty when not recording)."""
        with self._lock:
            return list(self._recorded or ())

    def clear(self) -> None:
        """Turn every fault off (a hanging request is released) and stop recording."""
        with self._lock:
            self.delay = 0.0
            self._fail = self._drop = self._corrupt = None
            self._redirect = self._answer = self._drop_answer = None
            self._hang = self._rotate = None
            self._recorded = None
            self._released.set()

    def state(self) -> dict[str, Any]:
        """The current switches as a JSON-able dict."""
        with self._lock:
            switches = {
                "fail_next": self._fail,
                "drop_after": self._drop,
                "corrupt_digests": self._corrupt,
                "redirect_next": self._redirect,
                "answer_next": self._answer,
                "drop_answer_next": self._drop_answer,
                "hang_next": self._hang,
                "rotate_session_next": self._rotate,
            }
            out: dict[str, Any] = {"delay": self.delay}
            out.update({k: v.public() if v else None for k, v in switches.items()})
            out["recording"] = self._recorded is not None
            return out

    # -- hooks used by the app and the file listings --------------------------------------
    def _take(self, name: str, path: str, method: str | None = None) -> _Budget | None:
        """The budget ``name`` when it applies to this request (one unit used), else None."""
        with self._lock:
            budget: _Budget | None = getattr(self, name)
            if budget is None or not budget.applies(path, method):
                return None
            budget.count -= 1
            return budget

    def before_request(self, path: str, request: Request | None = None) -> Response | None:
        """Record the request and apply delay, hangs, forced failures, redirects and canned
        answers: raises :class:`HttpError` or returns the answer to send instead."""
        if path.startswith(FAULTS_PATH):
            return None
        method = request.method if request is not None else None
        if request is not None:
            self._record(request, path)
        if self.delay:
            time.sleep(self.delay)
        hang = self._take("_hang", path)
        if hang is not None and not self._released.wait(hang.seconds):
            raise HttpError(503, "Injected fault: no answer in time.")
        fail = self._take("_fail", path)
        if fail is not None:
            headers = {"Retry-After": "0"} if fail.status == 503 else {}
            raise HttpError(fail.status, "Injected fault.", headers=headers)
        redirect = self._take("_redirect", path)
        if redirect is not None:
            target = path
            if request is not None and request.query_string:
                target += "?" + request.query_string.decode("latin-1")
            location = redirect.location.replace("{path}", target)
            return Response(
                f"Redirecting to {location}",
                status=redirect.status,
                headers={"Location": location},
                mimetype="text/plain",
            )
        answer = self._take("_answer", path, method)
        if answer is not None:
            response = Response(answer.body, status=answer.status, content_type=answer.content_type)
            for key, value in answer.headers.items():
                response.headers[key] = value
            return response
        return None

    def _record(self, request: Request, path: str) -> None:
        with self._lock:
            if self._recorded is None:
                return
            self._recorded.append(
                RecordedRequest(
                    method=request.method,
                    path=path,
                    query=request.query_string.decode("latin-1"),
                    authorization=request.headers.get("Authorization"),
                    cookies=dict(request.cookies),
                )
            )

    def take_corrupt_digest(self, path: str) -> bool:
        """True (once per budget unit) when this file listing must lie about digests."""
        return self._take("_corrupt", path) is not None

    def take_rotation(self, path: str) -> str | None:
        """The cookie path of a session rotation due on this answer (one unit used)."""
        rotate = self._take("_rotate", path)
        return rotate.cookie_path if rotate is not None else None

    def wrap_response(
        self, path: str, response: Response, environ: WSGIEnvironment
    ) -> WSGIApplication:
        """The response, possibly wrapped to drop the connection before or mid-body."""
        if path.startswith(FAULTS_PATH):
            return response
        method = environ["REQUEST_METHOD"]
        if self._take("_drop_answer", path, method) is not None:
            return _NoAnswer()
        if response.status_code >= 300 or method == "HEAD":
            return response
        drop = self._take("_drop", path)
        if drop is None:
            return response
        return _Dropping(response, drop.nbytes)


def _shut(environ: WSGIEnvironment) -> None:
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _NoAnswer:
    """Closes the connection without a status line (the work was already done)."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        _shut(environ)
        raise ConnectionAbortedError("injected: no answer")


class _Dropping:
    def __init__(self, response: Response, limit: int) -> None:
        self.response = response
        self.limit = limit

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        inner = self.response(environ, start_response)
        return self._cut(inner, environ)

    def _cut(self, inner: Iterable[bytes], environ: WSGIEnvironment) -> Iterator[bytes]:
        sent = 0
        try:
            for chunk in inner:
                room = self.limit - sent
                if len(chunk) >= room:
                    if room > 0:
                        yield chunk[:room]
                    break
                sent += len(chunk)
                yield chunk
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()
        _shut(environ)
        raise ConnectionAbortedError("injected connection drop")


def _faults_get(ctx: RequestContext) -> Response:
    ctx.require_admin()
    return ctx.json(ctx.state.faults.state())


def _options(spec: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = spec.get(key)
    if not value:
        return None
    return value if isinstance(value, dict) else {}


#: The faults ``PUT /xapi/testing/faults`` takes, and the options of each (None: a value).
_SPEC_KEYS: dict[str, frozenset[str] | None] = {
    "delay": None,
    "fail_next": frozenset({"count", "status", "prefix"}),
    "drop_after": frozenset({"bytes", "count", "prefix"}),
    "corrupt_digests": frozenset({"count", "prefix"}),
    "redirect_next": frozenset({"location", "status", "count", "prefix"}),
    "answer_next": frozenset(
        {"body", "status", "content_type", "headers", "count", "prefix", "method"}
    ),
    "drop_answer_next": frozenset({"count", "prefix", "method"}),
    "hang_next": frozenset({"count", "prefix", "seconds"}),
    "rotate_session_next": frozenset({"cookie_path", "count", "prefix"}),
    "expire_sessions": None,
    "recording": None,
}


def _check_spec(spec: dict[str, Any]) -> None:
    """Refuse a fault or option the server does not know (a misspelt one would be ignored,
    and a test relying on it would pass testing nothing)."""
    for name, value in spec.items():
        if name not in _SPEC_KEYS:
            known = ", ".join(_SPEC_KEYS)
            raise HttpError(400, f"Unknown fault {name!r}; the faults are: {known}.")
        options = _SPEC_KEYS[name]
        if options is not None and isinstance(value, dict):
            unknown = sorted(set(value) - options)
            if unknown:
                raise HttpError(
                    400,
                    f"Unknown option {unknown[0]!r} of {name}; its options are: "
                    f"{', '.join(sorted(options))}.",
                )


def _apply(faults: Faults, spec: dict[str, Any]) -> None:
    if "delay" in spec:
        faults.set_delay(float(spec["delay"]))
    if (f := _options(spec, "fail_next")) is not None:
        faults.fail_next(
            int(f.get("count", 1)), status=int(f.get("status", 500)), prefix=f.get("prefix", "")
        )
    if (d := _options(spec, "drop_after")) is not None:
        faults.drop_after(
            int(d.get("bytes", 0)), count=int(d.get("count", 1)), prefix=d.get("prefix", "")
        )
    if (c := _options(spec, "corrupt_digests")) is not None:
        faults.corrupt_digests(int(c.get("count", 1)), prefix=c.get("prefix", ""))
    if (r := _options(spec, "redirect_next")) is not None:
        faults.redirect_next(
            str(r["location"]),
            status=int(r.get("status", 302)),
            count=int(r.get("count", 1)),
            prefix=r.get("prefix", ""),
        )
    if (a := _options(spec, "answer_next")) is not None:
        faults.answer_next(
            a.get("body", ""),
            status=int(a.get("status", 200)),
            content_type=a.get("content_type"),
            headers=a.get("headers"),
            count=int(a.get("count", 1)),
            prefix=a.get("prefix", ""),
            method=a.get("method"),
        )
    if (n := _options(spec, "drop_answer_next")) is not None:
        faults.drop_answer_next(
            count=int(n.get("count", 1)), prefix=n.get("prefix", ""), method=n.get("method")
        )
    if (h := _options(spec, "hang_next")) is not None:
        faults.hang_next(
            count=int(h.get("count", 1)),
            prefix=h.get("prefix", ""),
            seconds=float(h.get("seconds", 60.0)),
        )
    if (s := _options(spec, "rotate_session_next")) is not None:
        faults.rotate_session_next(
            cookie_path=s.get("cookie_path", "/data"),
            count=int(s.get("count", 1)),
            prefix=s.get("prefix", ""),
        )
    if spec.get("expire_sessions"):
        faults.expire_sessions()
    if spec.get("recording"):
        faults.start_recording()


def _faults_set(ctx: RequestContext) -> Response:
    ctx.require_admin()
    faults = ctx.state.faults
    try:
        spec = json.loads(ctx.request.get_data(as_text=True) or "{}")
    except ValueError as exc:
        raise HttpError(400, f"Invalid JSON body: {exc}") from exc
    if not isinstance(spec, dict):
        raise HttpError(400, "The body must be a JSON object.")
    _check_spec(spec)
    try:
        _apply(faults, spec)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        why = str(exc) if isinstance(exc, XNATValidationError) else repr(exc)
        raise HttpError(400, f"Invalid fault specification: {why}") from exc
    return ctx.json(faults.state())


def _faults_clear(ctx: RequestContext) -> Response:
    ctx.require_admin()
    ctx.state.faults.clear()
    return ctx.json(ctx.state.faults.state())


def register(router: Router) -> None:
    """Register the admin fault-injection endpoint."""
    router.add("GET", FAULTS_PATH, _faults_get)
    router.add(["PUT", "POST"], FAULTS_PATH, _faults_set)
    router.add("DELETE", FAULTS_PATH, _faults_clear)

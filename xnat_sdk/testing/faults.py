"""Fault injection for reliability tests of clients (per server, thread-safe).

Python API (``server.faults`` on :class:`xnat_sdk.testing.LocalXNAT`)::

    faults.set_delay(0.2)                        # every request sleeps 0.2 s first
    faults.fail_next(3, status=503, prefix="/data/projects")  # next 3 matching -> 503
    faults.drop_after(1024, count=1, prefix="/data/experiments")  # cut next download
    faults.expire_sessions()                     # every JSESSIONID stops working -> 401
    faults.corrupt_digests(count=1)              # next file listing lies about digests
    faults.clear()                               # back to normal

HTTP API (admin only): ``GET /xapi/testing/faults`` -> the current state as JSON;
``PUT|POST /xapi/testing/faults`` with a JSON body such as
``{"delay": 0.1, "fail_next": {"count": 2, "status": 500, "prefix": "/data"},
"drop_after": {"bytes": 100, "count": 1}, "expire_sessions": true,
"corrupt_digests": {"count": 1}}``; ``DELETE /xapi/testing/faults`` clears everything.
Requests to ``/xapi/testing/faults`` itself are never delayed or failed.

A forced 5xx answers with ``Retry-After: 0`` for 503. A dropped download sends the headers
(with the full ``Content-Length``), the first ``bytes`` bytes, then shuts the socket.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from xnat_sdk.testing.routing import HttpError, RequestContext, Router

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from xnat_sdk.testing.store import Store

__all__ = ["FAULTS_PATH", "Faults", "register"]

FAULTS_PATH = "/xapi/testing/faults"


@dataclass
class _Budget:
    count: int
    prefix: str = ""
    status: int = 500
    nbytes: int = 0

    def applies(self, path: str) -> bool:
        return self.count > 0 and path.startswith(self.prefix)


class Faults:
    """The fault switches of one server."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self.delay = 0.0
        self._fail: _Budget | None = None
        self._drop: _Budget | None = None
        self._corrupt: _Budget | None = None

    # -- Python API -----------------------------------------------------------------------
    def set_delay(self, seconds: float) -> None:
        """Delay every request by ``seconds`` (0 turns it off)."""
        if seconds < 0:
            raise ValueError(f"delay must be >= 0, got {seconds}")
        self.delay = float(seconds)

    def fail_next(self, count: int = 1, *, status: int = 500, prefix: str = "") -> None:
        """Answer the next ``count`` requests under ``prefix`` with ``status`` (5xx)."""
        if not 500 <= status <= 599:
            raise ValueError(f"status must be a 5xx code, got {status}")
        with self._lock:
            self._fail = _Budget(count=count, prefix=prefix, status=status)

    def drop_after(self, nbytes: int, *, count: int = 1, prefix: str = "") -> None:
        """Cut the connection after ``nbytes`` body bytes of the next ``count`` answers."""
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")
        with self._lock:
            self._drop = _Budget(count=count, prefix=prefix, nbytes=nbytes)

    def expire_sessions(self) -> None:
        """Invalidate every JSESSIONID (later cookie-only requests get 401)."""
        with self._store.tx() as db:
            db.execute("DELETE FROM http_sessions")

    def corrupt_digests(self, count: int = 1, *, prefix: str = "") -> None:
        """Make the next ``count`` file listings report wrong MD5 digests."""
        with self._lock:
            self._corrupt = _Budget(count=count, prefix=prefix)

    def clear(self) -> None:
        """Turn every fault off."""
        with self._lock:
            self.delay = 0.0
            self._fail = self._drop = self._corrupt = None

    def state(self) -> dict[str, Any]:
        """The current switches as a JSON-able dict."""
        with self._lock:
            return {
                "delay": self.delay,
                "fail_next": asdict(self._fail) if self._fail else None,
                "drop_after": asdict(self._drop) if self._drop else None,
                "corrupt_digests": asdict(self._corrupt) if self._corrupt else None,
            }

    # -- hooks used by the app and the file listings --------------------------------------
    def before_request(self, path: str) -> None:
        """Apply delay and forced failures (raises :class:`HttpError`)."""
        if path.startswith(FAULTS_PATH):
            return
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            fail = self._fail
            if fail is None or not fail.applies(path):
                return
            fail.count -= 1
            status = fail.status
        headers = {"Retry-After": "0"} if status == 503 else {}
        raise HttpError(status, "Injected fault.", headers=headers)

    def take_corrupt_digest(self, path: str) -> bool:
        """True (once per budget unit) when this file listing must lie about digests."""
        with self._lock:
            c = self._corrupt
            if c is None or not c.applies(path):
                return False
            c.count -= 1
            return True

    def wrap_response(
        self, path: str, response: Response, environ: WSGIEnvironment
    ) -> WSGIApplication:
        """The response, possibly wrapped to drop the connection mid-body."""
        if path.startswith(FAULTS_PATH) or response.status_code >= 300:
            return response
        with self._lock:
            drop = self._drop
            if drop is None or not drop.applies(path) or environ["REQUEST_METHOD"] == "HEAD":
                return response
            drop.count -= 1
            limit = drop.nbytes
        return _Dropping(response, limit)


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
        sock = environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("injected connection drop")


def _faults_get(ctx: RequestContext) -> Response:
    ctx.require_admin()
    return ctx.json(ctx.state.faults.state())


def _faults_set(ctx: RequestContext) -> Response:
    ctx.require_admin()
    faults = ctx.state.faults
    try:
        spec = json.loads(ctx.request.get_data(as_text=True) or "{}")
    except ValueError as exc:
        raise HttpError(400, f"Invalid JSON body: {exc}") from exc
    if not isinstance(spec, dict):
        raise HttpError(400, "The body must be a JSON object.")
    try:
        if "delay" in spec:
            faults.set_delay(float(spec["delay"]))
        if spec.get("fail_next"):
            f = spec["fail_next"]
            faults.fail_next(
                int(f.get("count", 1)), status=int(f.get("status", 500)), prefix=f.get("prefix", "")
            )
        if spec.get("drop_after"):
            d = spec["drop_after"]
            faults.drop_after(
                int(d.get("bytes", 0)), count=int(d.get("count", 1)), prefix=d.get("prefix", "")
            )
        if spec.get("corrupt_digests"):
            c = spec["corrupt_digests"]
            c = c if isinstance(c, dict) else {}
            faults.corrupt_digests(int(c.get("count", 1)), prefix=c.get("prefix", ""))
        if spec.get("expire_sessions"):
            faults.expire_sessions()
    except (TypeError, ValueError, AttributeError) as exc:
        raise HttpError(400, f"Invalid fault specification: {exc}") from exc
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

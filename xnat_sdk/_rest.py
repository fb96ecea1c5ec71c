"""The REST core of a session: one server, its URLs, requests with re-login, keep-alive.

:class:`RestCore` sits between the :class:`~xnat_sdk._http.Transport` (origin, retries,
deadline, redirects) and the :class:`~xnat_sdk.session.XNATSession` facade (verbs, cache,
listings): it builds request URLs (refusing ``.``/``..`` segments and NUL), sends each call,
logs in again once per expired session (threads that met the same expiry wait for that one
login) with the body rewound, checks the status against what the caller accepts, and runs the
keep-alive heartbeat thread.
"""

from __future__ import annotations

import datetime
import logging
import re
import threading
import weakref
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from xnat_sdk._http import Body, Timeout, Transport, error_text, redact_url
from xnat_sdk._urls import encode_query
from xnat_sdk.errors import (
    XNATAuthError,
    XNATConnectionError,
    XNATNotConnectedError,
    XNATResponseError,
    XNATValueError,
    error_for_response,
)

if TYPE_CHECKING:
    import requests

__all__ = ["RestCore"]

QueryParams = Mapping[str, Any]

_EXPIRATION = r'^"?(?P<stamp>\d+),(?P<interval>\d+)"?$'
_HTML_START = ("<!DOCTYPE", "<!doctype", "<html", "<HTML")


_ANONYMOUS_HINT = (
    "this session has no login: no user was given, nor found in the environment or netrc; "
    "pass user= and password= to connect(), or on the command line --user, "
    "$XNAT_USER and $XNAT_PASS, or `xnat-sdk login`"
)


class RestCore:
    """Requests to one XNAT server (see the module docstring)."""

    def __init__(
        self,
        server: str,
        transport: Transport,
        *,
        logger: logging.Logger,
        timeout: Timeout,
        original_uri: str | None = None,
        jsession: str | None = None,
        relogin: Callable[[], str | None] | None = None,
        keepalive: bool | float | None = None,
        anonymous: bool = False,
    ) -> None:
        self.server = server.rstrip("/")
        self.original_uri = (original_uri or server).rstrip("/")
        self.transport = transport
        self.interface: requests.Session | None = transport.session
        """The requests session; None once closed."""
        self.logger = logger
        self.timeout: Timeout = timeout
        self.jsession = jsession
        self._relogin = relogin
        self.anonymous = anonymous
        """Whether the session has no login (a 401 then says how to give one)."""
        self._login_lock = threading.Lock()
        self._logins = 0  # re-logins so far: a request that met a 401 compares it
        self._keepalive_event = threading.Event()
        self._keepalive_thread: threading.Thread | None = None
        self._keepalive_finalizer: weakref.finalize[Any, Any] | None = None
        self.keepalive_interval = self._default_keepalive_interval()
        self.keepalive = True
        if keepalive is False:
            self.keepalive = False
        elif isinstance(keepalive, (int, float)) and not isinstance(keepalive, bool):
            if keepalive <= 0:
                self.keepalive = False
            else:
                self.keepalive_interval = float(keepalive)
        if self.keepalive:
            self._start_keepalive()

    # -- lifetime ----------------------------------------------------------------------------

    def close(self, *, logout: bool) -> None:
        """Stop the keep-alive thread, log out (``DELETE /data/JSESSION``, when ``logout``)
        and close the connection pool."""
        self._stop_keepalive()
        if self.interface is None:
            return
        try:
            if logout:
                self.request(
                    "DELETE",
                    "/data/JSESSION",
                    accepted=(200, 204, 401, 403, 404),
                    timeout=10.0,
                    headers={"Connection": "close"},
                )
        except (XNATConnectionError, XNATResponseError) as exc:
            self.logger.debug("logout failed (ignored): %s", exc)
        finally:
            self.interface = None
            self.transport.close()

    def check_connection(self) -> requests.Session:
        """The requests session, or :class:`XNATNotConnectedError` once closed."""
        if self.interface is None:
            raise XNATNotConnectedError(
                f"the session to {self.server} was disconnected; connect() again"
            )
        return self.interface

    @property
    def session_expiration_time(self) -> tuple[datetime.datetime, float] | None:
        """(last refresh, timeout in seconds) from the ``SESSION_EXPIRATION_TIME`` cookie."""
        if self.interface is None:
            return None
        raw = self.transport.cookie("SESSION_EXPIRATION_TIME")
        if raw is None:
            return None
        match = re.match(_EXPIRATION, raw)
        if match is None:
            self.logger.warning("cannot parse SESSION_EXPIRATION_TIME cookie %r", raw)
            return None
        stamp = datetime.datetime.fromtimestamp(int(match.group("stamp")) / 1000)
        return stamp, int(match.group("interval")) / 1000

    # -- keep-alive ----------------------------------------------------------------------------

    def set_keepalive(self, value: bool | float) -> None:
        """Switch the heartbeat on or off (a number: on, with that interval in seconds)."""
        if isinstance(value, bool):
            enable = value
        else:
            enable = value > 0
            if enable:
                self.keepalive_interval = float(value)
        self.keepalive = enable
        self._stop_keepalive()
        if enable and self.interface is not None:
            self._start_keepalive()

    def heartbeat(self) -> None:
        """Refresh the server session (``GET /data/JSESSION``)."""
        self.request("GET", "/data/JSESSION", accepted=(200,), timeout=10.0)

    def _default_keepalive_interval(self) -> float:
        """Half the server's session timeout less 20 s (430 s for XNAT's 15 minutes); a third
        of a timeout under two minutes (a site, or a test server, with a short one)."""
        expiration = self.session_expiration_time
        if expiration is None:
            return 7 * 60.0
        timeout = expiration[1]
        if timeout >= 120:
            return timeout / 2 - 20
        return max(timeout / 3, 0.5)

    def _start_keepalive(self) -> None:
        event = self._keepalive_event
        event.clear()
        ref = weakref.ref(self)

        def run() -> None:
            while True:
                core = ref()
                if core is None or core.interface is None:
                    return
                interval = core.keepalive_interval
                del core
                if event.wait(interval):
                    return
                core = ref()
                if core is None:
                    return
                if core.keepalive and core.interface is not None:
                    try:
                        core.heartbeat()
                    except Exception as exc:  # the thread must survive
                        core.logger.warning("keep-alive heartbeat failed: %s", exc)
                del core

        thread = threading.Thread(target=run, name="xnat-sdk-keepalive", daemon=True)
        self._keepalive_thread = thread
        if self._keepalive_finalizer is None:  # one for the core's life, however often the
            # heartbeat is switched on (a map worker's session: once per call)
            self._keepalive_finalizer = weakref.finalize(self, event.set)
        thread.start()

    def _stop_keepalive(self) -> None:
        self._keepalive_event.set()
        thread = self._keepalive_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        self._keepalive_thread = None

    # -- URLs ----------------------------------------------------------------------------------

    def strip_uri(self, path: str) -> str:
        for prefix in (self.server, self.original_uri):
            if path.startswith(prefix + "/"):
                return path[len(prefix) :]
        return path

    def format_uri(
        self,
        path: str,
        format: str | None = None,
        query: QueryParams | None = None,
        scheme: str | None = None,
    ) -> str:
        path = self.strip_uri(path)
        if not path.startswith("/"):
            raise XNATValueError(f"a path must start with '/' (e.g. /data/projects), got {path!r}")
        segments = path.split("?", 1)[0].split("/")
        if any(seg in (".", "..") for seg in segments):
            # HTTP libraries fold dot segments away: the request would address another object
            raise XNATValueError(f"a REST path cannot contain '.' or '..' segments, got {path!r}")
        if "\x00" in path or "%00" in path:
            raise XNATValueError(f"a REST path cannot contain a NUL character, got {path!r}")
        params: dict[str, Any] = dict(query or {})
        if format is not None:
            params["format"] = format
        base = urlsplit(self.server)
        query_string = encode_query(params) if params else ""
        if "?" in path:
            path, existing = path.split("?", 1)
            query_string = "&".join(q for q in (existing, query_string) if q)
        return urlunsplit(
            (scheme or base.scheme, base.netloc, base.path.rstrip("/") + path, query_string, "")
        )

    # -- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        accepted: Collection[int],
        format: str | None = None,
        query: QueryParams | None = None,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        json: Any = None,
        files: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one call (``path`` relative to the server); raises the SDK's typed error
        unless the answer's status is in ``accepted``."""
        self.check_connection()
        url = self.format_uri(path, format, query)
        body = Body(data, json, files)
        chosen = timeout if timeout is not None else self.timeout
        logins = self._logins
        response = self.transport.send(
            method, url, body=body, headers=headers, timeout=chosen, stream=stream
        )
        if response.status_code == 401 and self._relogin is not None:
            response.close()
            self._login_again(logins, method, url)
            if not body.rewind():
                raise XNATAuthError(
                    method,
                    redact_url(url),
                    401,
                    "the server session had expired; logged in again, but the body (a stream "
                    "that cannot be rewound, such as a generator) was already read and cannot "
                    "be sent again: repeat the call",
                    response,
                )
            response = self.transport.send(
                method, url, body=body, headers=headers, timeout=chosen, stream=stream
            )
        if response.status_code not in accepted:
            text = error_text(response)
            error = error_for_response(
                method, redact_url(url), response.status_code, text, response
            )
            if response.status_code == 401 and self.anonymous:
                raise type(error)(method, error.url, 401, error.message, response, _ANONYMOUS_HINT)
            raise error
        if (
            format in ("json", "xml")
            and 200 <= response.status_code < 300
            and not stream
            and method != "HEAD"
            and response.text.lstrip()[:9].startswith(_HTML_START)
        ):
            raise XNATResponseError(
                method,
                redact_url(url),
                response.status_code,
                f"expected {format} but the server sent an HTML page",
                response,
            )
        return response

    def _login_again(self, seen: int, method: str, url: str) -> None:
        """Log in again after a 401, once per expiry: threads that met the same expiry
        (``seen`` re-logins had happened when they sent) wait for the first one's login."""
        assert self._relogin is not None
        with self._login_lock:
            if self._logins != seen:
                return  # another thread logged in meanwhile
            self.logger.debug("401 on %s %s: logging in again", method, redact_url(url))
            token = self._relogin()
            if token:
                self.jsession = token
            self._logins += 1

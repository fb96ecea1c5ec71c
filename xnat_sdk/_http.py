"""The HTTP core: the one place that sends requests to the server a session is bound to.

- **Origin.** Credentials, cookies and tokens go only to the origin (scheme, host, port) the
  user named. Redirects are followed within it, and from ``http://host`` (port 80) to
  ``https://host`` (port 443); any other redirect (another host or port, ``https`` on
  another port of the same host as Tomcat's 8080 to 8443, ``https`` to ``http``) raises
  :class:`~xnat_sdk.errors.XNATRedirectError` (a
  :class:`~xnat_sdk.errors.XNATConnectionError`) naming the target before a byte is sent
  there.
- **Cookies.** One jar, bound to the server's host: a cookie the server sets replaces every
  other of its name, so a second ``JSESSIONID`` (another path) never makes two.
- **Retries within one deadline.** Every call has one deadline: its timeout (seconds, or
  connect + read of a ``(connect, read)`` pair), which each attempt's timeouts and every
  wait before a retry respect. A connection that could not be made is tried again (any
  method, when the body can be sent again); a connection lost after the request went out,
  and 429/502/503/504 answers (waiting ``Retry-After``), only for idempotent methods and
  a POST that only reads (XNAT's ``/data/search``); a read timeout never (its wait used
  the budget). Bodies are rewound to where they started before they are sent again; one
  that cannot be rewound is sent once.
- **Errors.** requests' exceptions never escape: :class:`~xnat_sdk.errors.XNATSSLError`,
  :class:`~xnat_sdk.errors.XNATTimeoutError` ("no answer within N s") or
  :class:`~xnat_sdk.errors.XNATConnectionError` ("cannot reach").
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import logging
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, SupportsIndex
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters
import requests.auth
import requests.cookies
import urllib3
import urllib3.exceptions

from xnat_sdk import __version__
from xnat_sdk._record import FrozenRecord
from xnat_sdk._urls import (
    redact_exchange,
    redact_header,
    redact_headers_in_place,
    redact_text,
    redact_url,
    without_session_id,
)
from xnat_sdk.errors import (
    XNATConnectionError,
    XNATNotPicklableError,
    XNATRedirectError,
    XNATSSLError,
    XNATTimeoutError,
    XNATValueError,
)

if TYPE_CHECKING:
    from http.cookiejar import Cookie

    from xnat_sdk.auth import Credentials

__all__ = [
    "IDEMPOTENT",
    "Body",
    "Origin",
    "Timeout",
    "Transport",
    "error_text",
    "redact_url",
    "was_resent",
]

Timeout = float | tuple[float, float] | None
"""A requests timeout: seconds, or (connect, read) seconds, or None for the session default."""

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF = 0.2
"""Seconds before the first retry; each further one waits twice as long."""
MAX_REDIRECTS = 5

_RESENT = "_xnat_resent"


class Origin(FrozenRecord):
    """Scheme, host and port of a URL (the default port filled in)."""

    __slots__ = ("host", "port", "scheme")
    _compared = ("scheme", "host", "port")

    scheme: str
    host: str
    port: int

    def __init__(self, scheme: str, host: str, port: int) -> None:
        object.__setattr__(self, "scheme", scheme)
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "port", port)

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of ``url``."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        default = 443 if scheme == "https" else 80
        return cls(scheme, (parts.hostname or "").lower(), port or default)

    def may_go_to(self, target: Origin) -> bool:
        """True for the same origin, or the standard upgrade of ``http://host`` (port 80) to
        ``https://host`` (port 443). An upgrade to another port (Tomcat's 8080 to 8443) is
        another server as far as credentials go: it may be anything on that host."""
        if target == self:
            return True
        return (self.scheme, self.port, target.scheme, target.port) == (
            "http",
            80,
            "https",
            443,
        ) and target.host == self.host

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


class OriginCookieJar(requests.cookies.RequestsCookieJar):
    """A cookie jar in which a cookie replaces every other of its name: the newest wins
    (two ``JSESSIONID`` cookies for two paths would make ``jar.get`` raise)."""

    def set_cookie(self, cookie: Cookie, *args: Any, **kwargs: Any) -> None:
        same = [c for c in self if c.name == cookie.name]
        for old in same:
            if (old.domain, old.path) != (cookie.domain, cookie.path):
                self.clear(old.domain, old.path, old.name)
        super().set_cookie(cookie, *args, **kwargs)


def cookie_domain(url: str) -> str:
    """The domain the standard library's cookie rules give cookies of ``url``'s host
    (``localhost`` becomes ``localhost.local``)."""
    import http.cookiejar

    mock = requests.cookies.MockRequest(requests.Request("GET", url))
    _, domain = http.cookiejar.eff_request_host(mock)  # type: ignore[attr-defined]
    return str(domain)


class _BasicAuth(requests.auth.AuthBase):
    """Basic credentials, attached only to requests for the trusted origin (the password is
    read from the credentials at the moment the header is made, never kept in a local)."""

    def __init__(self, credentials: Credentials, trusted: Callable[[Origin], bool]) -> None:
        self._credentials = credentials
        self._trusted = trusted

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url and self._trusted(Origin.of(request.url)):
            pair = f"{self._credentials.user or ''}:{self._credentials.reveal_password() or ''}"
            request.headers["Authorization"] = "Basic " + base64.b64encode(
                pair.encode("utf-8")
            ).decode("ascii")
        return request


class Body:
    """A request body (``data``/``json``/``files``) and where each of its streams started,
    so that it can be sent again exactly (:meth:`rewind`)."""

    def __init__(self, data: Any = None, json: Any = None, files: Any = None) -> None:
        self.data = data
        self.json = json
        self.files = files
        self._marks: list[tuple[IO[Any], int]] = []
        self.rewindable = True
        for part in self._parts():
            if isinstance(part, (bytes, bytearray, memoryview, str, dict, list, tuple)):
                continue
            if hasattr(part, "read"):
                try:
                    if part.seekable():
                        self._marks.append((part, part.tell()))
                        continue
                except (AttributeError, OSError, ValueError):
                    pass
            self.rewindable = False  # a generator, an iterator, a pipe

    def _parts(self) -> Iterable[Any]:
        if self.data is not None:
            yield self.data
        files = self.files
        if files is None:
            return
        values = files.values() if isinstance(files, Mapping) else (v for _, v in files)
        for value in values:
            yield value[1] if isinstance(value, tuple) and len(value) > 1 else value

    @property
    def empty(self) -> bool:
        """True when there is no body at all."""
        return self.data is None and self.json is None and self.files is None

    def rewind(self) -> bool:
        """Seek every stream back to where it started; False when the body cannot be sent
        again."""
        if not self.rewindable:
            return False
        try:
            for stream, position in self._marks:
                stream.seek(position)
        except (OSError, ValueError):
            return False
        return True

    def read_all(self) -> tuple[int, str] | None:
        """(size, MD5) of a single-stream or bytes body, read from its start (and rewound);
        None when that cannot be known."""
        import hashlib

        data = self.data
        if self.json is not None or self.files is not None:
            return None
        if isinstance(data, (bytes, bytearray, memoryview)):
            raw = bytes(data)
            return len(raw), hashlib.md5(raw).hexdigest()
        if isinstance(data, str):
            raw = data.encode("utf-8")
            return len(raw), hashlib.md5(raw).hexdigest()
        if not self.rewind() or not self._marks:
            return None
        stream = self._marks[0][0]
        digest, size = hashlib.md5(), 0
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        self.rewind()
        return size, digest.hexdigest()


ERROR_BODY_LIMIT = 1 << 20
"""At most this much of an error answer is read (its message is near the start)."""


def error_text(response: requests.Response) -> str:
    """The body of an error answer as text (at most :data:`ERROR_BODY_LIMIT` bytes of a
    streamed one; empty when the connection broke off while reading it)."""
    if response.request is not None and response.request.method == "HEAD":
        return ""
    try:
        if getattr(response, "_content_consumed", False):
            return response.text
        data = bytearray()
        for chunk in response.iter_content(65536):
            data += chunk
            if len(data) >= ERROR_BODY_LIMIT:
                break
    except requests.exceptions.RequestException:
        data = bytearray()
    finally:
        response.close()
    response._content = bytes(data[:ERROR_BODY_LIMIT])  # so .text and .content still work
    return response._content.decode(response.encoding or "utf-8", "replace")


def was_resent(response: requests.Response) -> bool:
    """True when the request behind ``response`` was sent more than once (a retry after a
    lost connection or an overloaded server: it may have arrived before)."""
    return bool(getattr(response, _RESENT, False))


def _mark_resent(response: requests.Response) -> None:
    setattr(response, _RESENT, True)


def _budget(timeout: Timeout) -> float | None:
    """The deadline of one call: the timeout, or connect + read; a timeout that is no
    number of seconds > 0 (or pair of them) raises :class:`XNATValueError` first."""
    if timeout is None:
        return None
    parts = timeout if isinstance(timeout, tuple) else (timeout,)
    if len(parts) != (2 if isinstance(timeout, tuple) else 1) or not all(
        isinstance(part, (int, float)) and not isinstance(part, bool) and 0 < part < math.inf
        for part in parts
    ):
        raise XNATValueError(
            "a timeout is a number of seconds > 0, or a (connect, read) pair of them, "
            f"got {timeout!r}"
        )
    if isinstance(timeout, tuple):
        return float(timeout[0]) + float(timeout[1])
    return float(timeout)


def _attempt_timeout(timeout: Timeout, deadline: float | None) -> Timeout:
    """The timeout of one attempt: the caller's, shortened to what is left of the deadline."""
    if timeout is None or deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), 0.001)
    if isinstance(timeout, tuple):
        return (min(float(timeout[0]), left), min(float(timeout[1]), left))
    return min(float(timeout), left)


def _read_timeout(timeout: Timeout) -> float | None:
    if isinstance(timeout, tuple):
        return float(timeout[1])
    return None if timeout is None else float(timeout)


def _connect_timeout(timeout: Timeout) -> float | None:
    if isinstance(timeout, tuple):
        return float(timeout[0])
    return None if timeout is None else float(timeout)


_NOT_CONNECTED = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)


def _never_connected(exc: BaseException) -> bool:
    """True when ``exc`` says no connection was made (so nothing reached the server)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(
            item, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
        ):
            return True
        if isinstance(item, BaseException):
            todo.extend(item.args)
            todo.append(getattr(item, "reason", None))
            todo.append(item.__cause__)
            todo.append(item.__context__)
    return False


def _reason(exc: BaseException) -> str:
    """A short cause of a connection failure (the innermost useful words)."""
    text = redact_text(str(exc))
    for marker in ("Failed to establish a new connection: ", "Connection aborted.', "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip(" ()'\"")[:200] or type(exc).__name__


def _retry_after(response: requests.Response) -> float | None:
    """Seconds ``Retry-After`` asks to wait (a number or an HTTP date), None if absent."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def scrub(exc: BaseException, *, frames: bool = True) -> None:
    """Drop what an exception chain of a request may hold of the credentials and the
    session: the ``Authorization`` and ``Cookie`` headers of requests' prepared request, the
    cookies of a response it carries (``_urls.redact_exchange``), and (``frames``) the local
    variables of the (finished) frames of the chained exceptions."""
    for item in _chain(exc):
        request = getattr(item, "request", None)
        redact_headers_in_place(getattr(request, "headers", None))
        response = getattr(item, "response", None)
        if response is not None:
            redact_exchange(response)
        if frames and item is not exc and item.__traceback__ is not None:
            traceback.clear_frames(item.__traceback__)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during, each once."""
    seen: set[int] = set()
    item: BaseException | None = exc
    while item is not None and id(item) not in seen:
        seen.add(id(item))
        yield item
        item = item.__cause__ or item.__context__


def redact_messages(exc: BaseException) -> None:
    """Hide a token path's secret in the messages of an exception chain (requests quotes the
    path of a request that failed to connect: a traceback would print it)."""
    for item in _chain(exc):
        text = str(item)
        if redact_text(text) != text:
            item.args = (redact_text(text),)


class _TokenSecretFilter(logging.Filter):
    """Hides a token path's secret in urllib3's own DEBUG lines (``"GET
    /data/services/tokens/invalidate/{alias}/{secret} HTTP/1.1" 200``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
        return True


_urllib3_log = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _TokenSecretFilter) for f in _urllib3_log.filters):
    _urllib3_log.addFilter(_TokenSecretFilter())


def _refusal(here: Origin, target: str, bound: Origin, trusted: bool) -> str | None:
    """Why a redirect from ``here`` to ``target`` is not followed, as the end of "the server
    redirects ..." (None when it is followed)."""
    there, shown = Origin.of(target), redact_url(target)
    if there.scheme not in ("http", "https") or not there.host:
        return f"to an unusable address {shown!r}; not followed"
    if here.scheme == "https" and there.scheme == "http":
        return (
            f"from https to plain http ({shown}); refused: credentials and cookies would "
            "travel in clear text"
        )
    if here.may_go_to(there) and trusted:
        return None
    if there.host == here.host and there.scheme == "https":
        return (
            f"to {shown}, https on another port; not followed: credentials and cookies go "
            f"only to {bound} (an upgrade to https is followed from port 80 to 443 only). "
            f"If XNAT lives at {there}, connect to it directly"
        )
    return (
        f"to another server ({shown}); not followed: credentials and cookies go only to "
        f"{bound}. If that is where XNAT lives, connect to it directly"
    )


def _user_agent() -> str:
    return (
        f"xnat-sdk/{__version__} (python/{sys.version.split()[0]}; requests/{requests.__version__})"
    )


class _GrowingPool(urllib3.HTTPConnectionPool):
    """A pool that keeps every connection its threads opened at once.

    urllib3 keeps ``maxsize`` (10) idle connections per server; an eleventh thread's
    connection was closed on its return with the warning "Connection pool is full,
    discarding connection", and a new one (a TLS handshake on XNAT) opened on its next
    request. Here the pool makes room instead: it grows to the most requests the session
    had under way at once (threads of ``map``, transfers, a user's own pool), and no
    further. A server that keeps connections open (XNAT's Tomcat) then serves each thread
    on its own connection for the whole run.
    """

    def _put_conn(self, conn: Any) -> None:
        waiting = self.pool
        if waiting is not None and conn is not None and waiting.full():
            waiting.maxsize += 1
        super()._put_conn(conn)


class _GrowingHTTPSPool(_GrowingPool, urllib3.HTTPSConnectionPool):
    """The same for ``https`` (the TLS settings and connection class are the HTTPS pool's)."""


_GROWING = {"http": _GrowingPool, "https": _GrowingHTTPSPool}


class _PoolAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with connection pools that grow (see :class:`_GrowingPool`)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _GROWING

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _GROWING
        return manager


class _StayingSession(requests.Session):
    """The transport's ``requests.Session`` (``session.interface``): it holds the server
    session's cookie, which logs anyone in, so it does not travel, as
    :class:`~xnat_sdk.session.XNATSession` does not (``pickle``, ``copy``, a map's
    arguments)."""

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        raise XNATNotPicklableError(
            "the session's requests session (session.interface) holds its server session "
            "cookie and does not travel: send archive objects or listings (they pickle "
            "without credentials and re-attach)"
        )


def _environment(base: str, verify: bool | str) -> tuple[dict[str, str], bool | str]:
    """Proxies and CA bundle from the environment, read once (requests would re-read them,
    and the netrc file, on every request)."""
    proxies = requests.utils.get_environ_proxies(base)
    if verify is True:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
            bundle = os.environ.get(name)
            if bundle:
                return proxies, bundle
    return proxies, verify


_READ_POSTS = ("/data/search",)
"""POSTs that only read: XNAT's search (``SearchResource`` runs the query it is sent)."""


_CREATING_GETS = "/services/tokens/issue"
"""GETs that create: each one of XNAT's token issue makes a new alias token, so a resend
after a lost answer would leave the first token valid (for days), its secret known to no
one the SDK could invalidate it for."""


def _replayable(call: _Call) -> bool:
    """Whether ``call`` may be sent again after a failure: an idempotent method (not a GET
    that creates), or a POST that only reads."""
    if call.method in IDEMPOTENT:
        return call.method != "GET" or _CREATING_GETS not in urlsplit(call.url).path
    return call.method == "POST" and urlsplit(call.url).path.endswith(_READ_POSTS)


class _Call:
    """The state of one call while it is sent: its current hop and what is left of it."""

    __slots__ = ("body", "deadline", "history", "method", "resent", "retries_left", "url")

    def __init__(
        self,
        method: str,
        url: str,
        body: Body,
        deadline: float | None,
        retries_left: int,
        resent: bool = False,
        history: list[requests.Response] | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.body = body
        self.deadline = deadline
        self.retries_left = retries_left
        self.resent = resent
        self.history: list[requests.Response] = [] if history is None else history


class Transport:
    """Sends requests to one origin with the policy above (see the module docstring)."""

    def __init__(
        self,
        base: str,
        *,
        verify: bool | str = True,
        retries: int = 3,
        logger: logging.Logger | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.origin = Origin.of(base)
        self.retries = retries
        self.logger = logger or logging.getLogger("xnat_sdk")
        session = _StayingSession()
        session.trust_env = False
        proxies, verify = _environment(base, verify)
        session.proxies.update(proxies)
        session.verify = verify
        session.headers["User-Agent"] = _user_agent()
        session.cookies = OriginCookieJar()
        adapter = _PoolAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session

    # -- origin and cookies --------------------------------------------------------------------

    def trusts(self, origin: Origin) -> bool:
        """True when credentials and cookies may go to ``origin``."""
        return self.origin.may_go_to(origin)

    def proxy_for(self, url: str) -> str | None:
        """The proxy a request to ``url`` goes through (from the environment), or None."""
        found = requests.utils.select_proxy(url, self.session.proxies)
        return str(found) if found else None

    def rebase(self, url: str) -> None:
        """Bind to the origin of ``url`` (after a login was redirected there)."""
        self.origin = Origin.of(url)

    def set_session_cookie(self, base: str, value: str) -> None:
        """Put a ``JSESSIONID`` cookie for the server of ``base`` (bound to its host)."""
        cookie = requests.cookies.create_cookie(  # type: ignore[no-untyped-call]
            "JSESSIONID", value, domain=cookie_domain(base), path="/"
        )
        self.session.cookies.set_cookie(cookie)

    def cookie(self, name: str) -> str | None:
        """The value of the cookie ``name`` (the newest, there is only one)."""
        for cookie in self.session.cookies:
            if cookie.name == name:
                return cookie.value
        return None

    def basic_auth(self, credentials: Credentials) -> requests.auth.AuthBase:
        """An auth object sending ``credentials`` to this transport's origin only."""
        return _BasicAuth(credentials, self.trusts)

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    # -- sending -------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Body | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
        stream: bool = False,
        auth: requests.auth.AuthBase | None = None,
    ) -> requests.Response:
        """Send one call (retries and same-origin redirects included) and return the final
        answer; raises the SDK's connection errors. ``url`` must be on the bound origin."""
        if not self.trusts(Origin.of(url)):
            raise XNATConnectionError(
                f"{method} {redact_url(url)}: not the server this session is bound to "
                f"({self.origin}); nothing was sent"
            )
        budget = _budget(timeout)
        call = _Call(
            method,
            url,
            body or Body(),
            time.monotonic() + budget if budget is not None else None,
            self.retries,
        )
        while True:
            response = self._attempt(call, headers, timeout, stream, auth)
            if response is None:
                continue  # a failure that is tried again
            if response.is_redirect:
                self._next_hop(call, response)
                continue
            if self._retry_status(call, response):
                continue
            if call.resent:
                _mark_resent(response)
            if call.history:
                response.history = call.history
            return response

    def _attempt(
        self,
        call: _Call,
        headers: Mapping[str, str] | None,
        timeout: Timeout,
        stream: bool,
        auth: requests.auth.AuthBase | None,
    ) -> requests.Response | None:
        """One request of ``call``: its answer, or None when it failed and is tried again;
        raises the SDK's error when it is not."""
        started = time.perf_counter()
        try:
            response = self.session.request(
                call.method,
                call.url,
                data=call.body.data,
                json=call.body.json,
                files=call.body.files,
                headers=dict(headers) if headers else None,
                timeout=_attempt_timeout(timeout, call.deadline),
                stream=stream,
                allow_redirects=False,
                auth=auth,
            )
        except requests.exceptions.SSLError as exc:
            redact_messages(exc)
            scrub(exc, frames=auth is not None)
            raise XNATSSLError(
                f"{call.method} {redact_url(call.url)}: TLS failure: {_reason(exc)}"
            ) from exc
        except requests.exceptions.RequestException as exc:
            redact_messages(exc)
            scrub(exc, frames=auth is not None)
            never = _never_connected(exc)
            retry = not isinstance(exc, requests.exceptions.ReadTimeout) and (
                never or _replayable(call)
            )
            if retry and self._wait_to_retry(call, None, _reason(exc)):
                call.resent = call.resent or not never
                return None
            raise self._failure(call.method, call.url, exc, timeout, never) from exc
        sent = response.request.headers
        if auth is not None and "Authorization" in sent:
            sent["Authorization"] = redact_header("Authorization", sent["Authorization"])
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(
                "%s %s -> %d (%.1f ms)",
                call.method,
                redact_url(call.url),
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        return response

    def _next_hop(self, call: _Call, response: requests.Response) -> None:
        """Point ``call`` at the redirect's target (or raise when it may not go there)."""
        method = call.method
        call.method, call.url = self._follow(
            method, call.url, response, len(call.history), call.body
        )
        with contextlib.suppress(requests.exceptions.RequestException):
            response.content  # noqa: B018 (read, so the connection can be reused)
        response.close()
        call.history.append(response)
        if call.method == "GET" and method != "GET":
            call.body = Body()

    def _retry_status(self, call: _Call, response: requests.Response) -> bool:
        """True when an overloaded-server answer is tried again (after its wait)."""
        if response.status_code not in RETRY_STATUSES or not _replayable(call):
            return False
        if not self._wait_to_retry(call, _retry_after(response), str(response.status_code)):
            return False
        call.resent = True
        response.close()
        return True

    def _wait_to_retry(self, call: _Call, asked: float | None, why: str) -> bool:
        """Wait before the next try of ``call`` (``asked`` seconds, else the backoff) when a
        try is left, the wait ends before the deadline and the body can be sent again."""
        if call.retries_left <= 0:
            return False
        wait = asked if asked is not None else BACKOFF * 2 ** (self.retries - call.retries_left)
        if call.deadline is not None and time.monotonic() + wait >= call.deadline:
            return False
        if not call.body.rewind():
            return False
        call.retries_left -= 1
        self.logger.debug(
            "%s %s: %s; trying again in %.1f s", call.method, redact_url(call.url), why, wait
        )
        time.sleep(wait)
        return True

    def _follow(
        self, method: str, url: str, response: requests.Response, redirects: int, body: Body
    ) -> tuple[str, str]:
        """(method, URL) of the next hop of a redirect, or raise when it may not be taken."""
        target = without_session_id(urljoin(url, response.headers.get("Location", "")))
        refused = _refusal(Origin.of(url), target, self.origin, self.trusts(Origin.of(target)))
        if refused is not None:
            raise XNATRedirectError(
                f"{method} {redact_url(url)}: the server redirects {refused}",
                redact_url(url),
                redact_url(target),
            )
        if redirects >= MAX_REDIRECTS:
            raise XNATConnectionError(
                f"{method} {redact_url(url)}: more than {MAX_REDIRECTS} redirects"
            )
        status = response.status_code
        if status == 303 or (status in (301, 302) and method == "POST"):
            return ("HEAD" if method == "HEAD" else "GET"), target
        if not body.rewind():
            raise XNATConnectionError(
                f"{method} {redact_url(url)}: redirected to {redact_url(target)}, but the body "
                "(a stream that cannot be rewound) cannot be sent again"
            )
        return method, target

    def _failure(
        self, method: str, url: str, exc: BaseException, timeout: Timeout, never: bool
    ) -> XNATConnectionError:
        where = f"{method} {redact_url(url)}"
        if isinstance(exc, requests.exceptions.ReadTimeout):
            seconds = _read_timeout(timeout)
            return XNATTimeoutError(
                f"{where}: no answer within {seconds:g} s (read timeout)"
                if seconds is not None
                else f"{where}: no answer in time (read timeout)"
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            seconds = _connect_timeout(timeout)
            within = f" within {seconds:g} s" if seconds is not None else ""
            return XNATTimeoutError(f"{where}: cannot reach the server (no connection{within})")
        if never:
            return XNATConnectionError(f"{where}: cannot reach the server ({_reason(exc)})")
        return XNATConnectionError(
            f"{where}: the connection broke off before the answer ({_reason(exc)})"
        )

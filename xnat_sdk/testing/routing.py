"""Routing, request context and response helpers of the local XNAT server.

This is the framework every server module plugs into. A module that serves endpoints
defines a ``register(router: Router) -> None`` function; :mod:`xnat_sdk.testing.app` imports
every module named in its ``ROUTE_MODULES`` list (modules that do not exist yet are skipped)
and calls ``register`` once per application. Example::

    from xnat_sdk.testing.routing import RequestContext, Router, HttpError
    from werkzeug.wrappers import Response

    def _hello(ctx: RequestContext) -> Response:
        if ctx.user is None:
            raise HttpError(403, "Guests may not say hello.")
        return ctx.text(f"hello {ctx.user.login} {ctx.params['name']}")

    def register(router: Router) -> None:
        router.add("GET", "/data/services/hello/{name}", _hello)

Path semantics (as XNAT's Restlet router has them):

* ``/REST/...`` is rewritten to ``/data/...`` before matching.
* ``archive=True`` also registers the pattern under ``/data/archive/...`` (every archive
  route exists twice in XNAT: ``/data/projects`` == ``/data/archive/projects``).
* ``{name}`` matches exactly one path segment (already percent-decoded) and lands in
  ``ctx.params``.
* ``tail=True`` makes the route a prefix route: extra segments after the pattern are allowed
  and arrive as the string ``ctx.tail`` (joined with ``/``, keeping a trailing slash, ``""``
  when nothing follows). Used for ``.../files/{path}``, ``.../projects/{dest}`` (sharing),
  ``.../status`` and similar XNAT "filepath" sub-paths.
* When several routes match, the one with more pattern segments wins (then a match with
  no remaining segments beats a prefix match). If routes match the path but none accepts the
  method, the answer is 405 with an ``Allow`` header; when nothing matches, 404 with XNAT's
  status page.
* ``auth="required"`` (default) answers 401 to requests without valid credentials unless the
  handler is reachable by guests: ``auth="optional"`` lets guests through (``ctx.user`` is
  the guest user, ``ctx.is_guest`` true) and the handler decides; ``auth="none"`` is for
  login endpoints (``/data/services/auth``) and never looks at credentials.

Errors: raise :class:`HttpError` (status, message) anywhere in a handler. Under ``/data`` the
body is Restlet's HTML status page with the message in ``<h3>``; under ``/xapi`` plain text.
401 answers carry ``WWW-Authenticate``.

Tables: ``ctx.table(columns, rows, meta=...)`` renders XNAT's ResultSet in the format asked
for by ``format=`` (json default, xml, csv, html); every cell is stringified (``None`` ->
``""``), ``totalRecords`` and other meta values are strings, ``sortBy``/``sortOrder`` are
applied.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from xnat_sdk.testing.app import ServerState
    from xnat_sdk.testing.store import Store, User

__all__ = [
    "AuthMode",
    "Handler",
    "HttpError",
    "RequestContext",
    "Route",
    "RouteMatch",
    "Router",
    "is_true",
    "restlet_status_page",
]

AuthMode = Literal["required", "optional", "none"]
Handler = Callable[["RequestContext"], Response]

_DEFAULT_REASONS = {
    400: "The request could not be understood by the server due to malformed syntax",
    401: "The request requires user authentication",
    403: "The server understood the request, but is refusing to fulfill it",
    404: "The server has not found anything matching the request URI",
    405: "The method specified in the request is not allowed for the resource identified by "
    "the request URI",
    409: "The request could not be completed due to a conflict with the current state of the "
    "resource",
    417: "The expectation given in an Expect request-header field could not be met by this server",
    422: "The server understands the content type of the request entity and the syntax of the "
    "request entity is correct but was unable to process the contained instructions",
    500: "The server encountered an unexpected condition which prevented it from fulfilling "
    "the request",
    503: "The server is currently unable to handle the request due to a temporary overloading "
    "or maintenance of the server",
}


def is_true(value: str | None) -> bool:
    """XNAT's ``isQueryVariableTrue``: present and not ``false``/``0`` (empty counts as true)."""
    if value is None:
        return False
    return value.strip().lower() not in ("false", "0")


def restlet_status_page(status: int, message: str | None = None) -> str:
    """The HTML status page Restlet 1.1 renders for ``/data`` errors (message in ``<h3>``)."""
    text = message or _DEFAULT_REASONS.get(status, "Error")
    return (
        "<html>\n<head>\n   <title>Status page</title>\n</head>\n"
        '<body style="font-family: sans-serif;">\n'
        f"<h3>{html.escape(text, quote=False)}</h3>"
        "<p>You can get technical details "
        '<a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html">here</a>.<br>\n'
        'Please continue your visit at our <a href="/">home page</a>.\n</p>\n</body>\n</html>\n'
    )


class HttpError(Exception):
    """Raise from a handler to answer ``status`` with XNAT's error body naming ``message``."""

    def __init__(
        self, status: int, message: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {message or ''}".strip())
        self.status = status
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


@dataclass(frozen=True)
class Route:
    """One registered route (see the module docstring for the semantics)."""

    methods: frozenset[str]
    pattern: str
    handler: Handler
    tail: bool
    auth: AuthMode
    segments: tuple[str, ...]

    def match(self, parts: Sequence[str]) -> tuple[dict[str, str], list[str]] | None:
        """Params and remaining segments when ``parts`` matches, else ``None``."""
        n = len(self.segments)
        if len(parts) < n or (len(parts) > n and not self.tail):
            return None
        params: dict[str, str] = {}
        for seg, part in zip(self.segments, parts, strict=False):
            if seg.startswith("{") and seg.endswith("}"):
                if part == "":
                    return None
                params[seg[1:-1]] = part
            elif seg != part:
                return None
        return params, list(parts[n:])


@dataclass
class RouteMatch:
    """The outcome of :meth:`Router.resolve`."""

    route: Route | None
    params: dict[str, str] = field(default_factory=dict)
    tail: str = ""
    allowed: frozenset[str] = frozenset()


def _split(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def normalise_path(path: str) -> str:
    """``/REST/...`` -> ``/data/...``; collapse duplicate slashes (keeps a trailing one)."""
    path = re.sub(r"/{2,}", "/", path)
    if path == "/REST" or path.startswith("/REST/"):
        path = "/data" + path[5:]
    return path


class Router:
    """A registry of ``(methods, pattern, handler)`` with XNAT's matching rules."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._by_first: dict[str, list[Route]] = {}

    def add(
        self,
        methods: str | Iterable[str],
        pattern: str,
        handler: Handler,
        *,
        tail: bool = False,
        archive: bool = False,
        auth: AuthMode = "required",
    ) -> None:
        """Register ``handler`` for ``methods`` (``"GET"`` or ``["GET", "PUT"]``) on ``pattern``.

        ``archive=True`` also registers the ``/data/archive/...`` twin of a ``/data/...``
        pattern. ``HEAD`` is implied by ``GET``.
        """
        ms = {methods.upper()} if isinstance(methods, str) else {m.upper() for m in methods}
        if "GET" in ms:
            ms.add("HEAD")
        patterns = [pattern]
        if archive:
            if not pattern.startswith("/data/"):
                raise ValueError(f"archive=True needs a /data/ pattern, got {pattern!r}")
            patterns.append("/data/archive/" + pattern[len("/data/") :])
        for p in patterns:
            segs = tuple(_split(p))
            route = Route(frozenset(ms), p, handler, tail, auth, segs)
            self.routes.append(route)
            self._by_first.setdefault(segs[0] if segs else "", []).append(route)

    def resolve(self, method: str, path: str) -> RouteMatch:
        """Find the route for ``method`` and (normalised) ``path``."""
        trailing = path.endswith("/") and path != "/"
        parts = _split(path)
        candidates = self._by_first.get(parts[0] if parts else "", [])
        best: list[tuple[int, int, Route, dict[str, str], list[str]]] = []
        for route in candidates:
            m = route.match(parts)
            if m is None:
                continue
            params, rest = m
            score = (len(route.segments), 0 if rest else 1)
            best.append((score[0], score[1], route, params, rest))
        if not best:
            return RouteMatch(None)
        best.sort(key=lambda t: (t[0], t[1]), reverse=True)
        top = (best[0][0], best[0][1])
        same = [b for b in best if (b[0], b[1]) == top]
        allowed: set[str] = set()
        for _, _, route, params, rest in same:
            allowed |= route.methods
            if method.upper() in route.methods:
                tail = "/".join(rest)
                if rest and trailing:
                    tail += "/"
                elif not rest and trailing and route.tail:
                    tail = "/"
                return RouteMatch(route, params, tail, frozenset(route.methods))
        return RouteMatch(None, allowed=frozenset(allowed))


_FORMATS = {
    "json": "application/json",
    "xml": "text/xml",
    "csv": "text/csv",
    "html": "text/html",
    "txt": "text/plain",
    "zip": "application/zip",
}


@dataclass
class RequestContext:
    """Everything a handler needs: the request, the user, the store and answer helpers."""

    request: Request
    state: ServerState
    user: User
    params: dict[str, str]
    tail: str
    path: str
    #: the JSESSIONID this request runs in (new or from the cookie), ``None`` for guests
    session_id: str | None = None

    # -- request -------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The server's SQLite store."""
        return self.state.store

    @property
    def is_guest(self) -> bool:
        """True for anonymous (guest) requests."""
        return self.user.login == "guest"

    @property
    def is_admin(self) -> bool:
        """True for site administrators."""
        return self.user.admin

    @property
    def method(self) -> str:
        """The HTTP method, upper case."""
        return self.request.method.upper()

    @property
    def query(self) -> MultiDict[str, str]:
        """The query parameters (percent-decoded)."""
        return self.request.args

    def q(self, name: str, default: str | None = None) -> str | None:
        """A query parameter, case-sensitive name; ``default`` when absent."""
        return self.request.args.get(name, default)

    def qi(self, name: str, default: str | None = None) -> str | None:
        """A query parameter looked up case-insensitively."""
        low = name.lower()
        for k, v in self.request.args.items(multi=True):
            if k.lower() == low:
                return v
        return default

    def flag(self, name: str) -> bool:
        """XNAT truthiness of a query flag (present and not false/0; empty is true)."""
        return is_true(self.qi(name))

    def strict_flag(self, name: str) -> bool:
        """True only for the literal ``true`` (``allowDataDeletion``, ``primary``)."""
        v = self.qi(name)
        return v is not None and v.strip().lower() == "true"

    @property
    def format(self) -> str | None:
        """The ``format=`` parameter lower-cased, or ``None``."""
        f = self.qi("format")
        return f.lower() if f else None

    def require_admin(self) -> None:
        """Raise 403 unless the user is a site administrator."""
        if not self.is_admin:
            raise HttpError(403, "Access Denied: only site administrators may do this.")

    def require_user(self) -> None:
        """Raise 403 for the guest user (writes are never allowed to guests)."""
        if self.is_guest:
            raise HttpError(403, "The guest user may not do this.")

    @property
    def site_url(self) -> str:
        """The absolute URL of the server root (no trailing slash)."""
        return self.request.host_url.rstrip("/")

    # -- answers -------------------------------------------------------------------------
    def text(self, body: str = "", status: int = 200, mimetype: str = "text/plain") -> Response:
        """A text answer."""
        return Response(body, status=status, mimetype=mimetype)

    def json(self, obj: Any, status: int = 200) -> Response:
        """A compact JSON answer."""
        return Response(
            json.dumps(obj, separators=(",", ":")), status=status, mimetype="application/json"
        )

    def xml(self, body: str, status: int = 200) -> Response:
        """A ``text/xml`` answer."""
        return Response(body, status=status, mimetype="text/xml")

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Mapping[str, Any]],
        *,
        meta: Mapping[str, Any] | None = None,
        column_props: Sequence[Mapping[str, str]] | None = None,
        default_format: str = "json",
    ) -> Response:
        """Render a ResultSet table in the requested format (see :func:`render_table`)."""
        fmt = self.format or default_format
        rows = list(rows)
        sort_by = self.q("sortBy")
        if sort_by:
            keys = [k for k in sort_by.split(",") if k]
            rows.sort(key=lambda r: tuple(_sort_key(r.get(k)) for k in keys))
            if (self.q("sortOrder") or "").upper() == "DESC":
                rows.reverse()
        body, mimetype = render_table(fmt, columns, rows, meta or {}, column_props)
        return Response(body, status=200, mimetype=mimetype)


def _sort_key(v: Any) -> tuple[int, Any]:
    if v is None or v == "":
        return (0, "")
    s = str(v)
    try:
        return (1, float(s))
    except ValueError:
        return (2, s)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def render_table(
    fmt: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    meta: Mapping[str, Any],
    column_props: Sequence[Mapping[str, str]] | None = None,
) -> tuple[str, str]:
    """A ResultSet as ``(body, mimetype)`` for ``fmt`` in json/xml/csv/html (else json)."""
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([_cell(r.get(c)).replace("\n", " ") for c in columns])
        return out.getvalue(), "text/csv"
    if fmt == "xml":
        attrs = "".join(
            f' {k}="{html.escape(_cell(v))}"' for k, v in meta.items() if isinstance(k, str)
        )
        parts = [f"<ResultSet{attrs}><results><columns>"]
        parts.extend(f"<column>{_xml_cell(c)}</column>" for c in columns)
        parts.append("</columns>\n<rows>")
        for r in rows:
            parts.append("<row>")
            parts.extend(f"<cell>{_xml_cell(_cell(r.get(c)))}</cell>" for c in columns)
            parts.append("</row>\n")
        parts.append("</rows></results></ResultSet>")
        return "".join(parts), "text/xml"
    if fmt == "html":
        parts = ["<html><body><table><tr>"]
        parts.extend(f"<th>{html.escape(c)}</th>" for c in columns)
        parts.append("</tr>")
        for r in rows:
            parts.append("<tr>")
            parts.extend(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in columns)
            parts.append("</tr>")
        parts.append("</table></body></html>")
        return "".join(parts), "text/html"
    result = [{c: v if type(v := r.get(c)) is str else _cell(v) for c in columns} for r in rows]
    head = ""
    if column_props is not None:
        head = '"Columns":' + json.dumps(list(column_props), separators=(",", ":")) + ","
    body = '{"ResultSet":{' + head + '"Result":' + json.dumps(result, separators=(",", ":"))
    if meta:
        body += ", " + ",".join(f"{json.dumps(k)}: {json.dumps(_cell(v))}" for k, v in meta.items())
    body += "}}"
    return body, "application/json"


def _xml_cell(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""Routing of the local XNAT server: the router every endpoint module plugs into.

A module that serves endpoints defines a ``register(router: Router) -> None`` function;
:mod:`xnat_sdk.testing._server.app` imports every module named in its ``ROUTE_MODULES``
list (a listed module that cannot be found is an error naming it) and calls ``register``
once per application. Example::

    from werkzeug.wrappers import Response

    from xnat_sdk.testing._server.context import RequestContext
    from xnat_sdk.testing._server.routing import HttpError, Router

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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from xnat_sdk.testing._server.context import RequestContext

__all__ = [
    "AuthMode",
    "Handler",
    "HttpError",
    "Route",
    "RouteMatch",
    "Router",
    "normalise_path",
]


AuthMode = Literal["required", "optional", "none"]

Handler = Callable[["RequestContext"], Response]


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
        # candidates by the first two segments when the second is a literal, else by the
        # first alone (most routes start /data/: one bucket would hold nearly all of them)
        self._by_two: dict[tuple[str, str], list[Route]] = {}
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
            if len(segs) >= 2 and not segs[1].startswith("{"):
                self._by_two.setdefault((segs[0], segs[1]), []).append(route)
            else:
                self._by_first.setdefault(segs[0] if segs else "", []).append(route)

    def resolve(self, method: str, path: str) -> RouteMatch:
        """Find the route for ``method`` and (normalised) ``path``."""
        trailing = path.endswith("/") and path != "/"
        parts = _split(path)
        candidates = self._by_first.get(parts[0] if parts else "", [])
        if len(parts) >= 2:
            candidates = self._by_two.get((parts[0], parts[1]), []) + candidates
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

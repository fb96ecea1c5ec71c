"""The WSGI application of the local XNAT server and the list of modules that serve routes.

Plugging in a module (for the engineers adding endpoints):

1. Write ``xnat_sdk/testing/<name>.py`` with ``register(router: Router) -> None`` (see
   :mod:`xnat_sdk.testing.routing` for the route semantics and the handler signature).
2. Optionally give it a module-level ``SCHEMA_SQL: str`` of idempotent DDL for its own
   tables (prefix table names with the module's concern); it is run once at startup.
3. Optionally give it ``on_startup(state: ServerState) -> None`` (e.g. to create folders
   under ``state.store.data_dir``).
4. Make sure its dotted name is in :data:`ROUTE_MODULES` (the services modules are listed
   already; a listed module that does not exist yet is skipped).

Request flow: fault injection (delay, forced 5xx) -> ``/REST`` normalisation -> routing
(404/405) -> authentication (basic, alias token, JSESSIONID cookie; 401 on bad credentials
or a dead session cookie; no credentials = guest) -> handler -> cookies
(``JSESSIONID`` when a session was created, ``SESSION_EXPIRATION_TIME`` on every
authenticated answer) -> fault injection on the body (dropped connection).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from xnat_sdk.testing.routing import (
    HttpError,
    RequestContext,
    Router,
    normalise_path,
    restlet_status_page,
)
from xnat_sdk.testing.store import Store

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from xnat_sdk.testing.faults import Faults

__all__ = ["ROUTE_MODULES", "ServerConfig", "ServerState", "XNATApp", "build_app"]

log = logging.getLogger("xnat_sdk.testing")

#: Modules whose ``register(router)`` is called, in order. Missing modules are skipped.
ROUTE_MODULES: list[str] = [
    "xnat_sdk.testing.auth",
    "xnat_sdk.testing.info",
    "xnat_sdk.testing.archive",
    "xnat_sdk.testing.files",
    "xnat_sdk.testing.creation",
    "xnat_sdk.testing.faults",
    # services (another engineer's modules)
    "xnat_sdk.testing.prearchive",
    "xnat_sdk.testing.services",
    "xnat_sdk.testing.users",
    "xnat_sdk.testing.search",
    "xnat_sdk.testing.inspect",
]


@dataclass
class ServerConfig:
    """Static settings of one server."""

    data_dir: Path
    schemas_dir: Path | None = None
    #: extra ``.xsd`` files (site plugins), served as ``/xapi/schemas/{stem}`` and known types
    extra_schemas: list[Path] = field(default_factory=list)
    site_id: str = "XNAT"
    version: str = "1.8.10"
    session_timeout_ms: int = 900_000
    #: XNAT's ``restrictUserListAccessToAdmins`` site preference; off by default, as in XNAT:
    #: every logged-in user may list the site's users (``/data/users``, ``/xapi/users``,
    #: ``/xapi/users/profiles``, ``/xapi/users/current``, ``/xapi/users/profile/{login}``).
    #: On, only site admins may: ``/data/users`` answers other users 403 "Access Denied: Only
    #: site managers can access site-level user resources." and the XAPI listings a bare 403
    #: (``/xapi/users/profile/{login}`` stays open to that user). Guests are refused either
    #: way (``/data/users`` 403, ``/xapi/users*`` 401).
    restrict_user_list: bool = False
    #: ``(login, password, admin)`` users created at startup (when missing).
    users: list[tuple[str, str, bool]] = field(
        default_factory=lambda: [("admin", "admin", True), ("user", "user", False)]
    )


@dataclass
class ServerState:
    """The live state shared by every request of one server."""

    config: ServerConfig
    store: Store
    router: Router
    faults: Faults
    started_at: float = field(default_factory=time.time)
    #: Free slots for modules (keyed by module name) to keep their own in-memory state.
    extras: dict[str, Any] = field(default_factory=dict)


def _default_schemas_dir() -> Path | None:
    here = Path(__file__).resolve().parents[2] / "schemas"
    return here if (here / "xnat").is_dir() else None


def build_app(config: ServerConfig) -> XNATApp:
    """Open the store, register every route module and return the WSGI app."""
    from xnat_sdk.testing.faults import Faults

    if config.schemas_dir is None:
        config.schemas_dir = _default_schemas_dir()
    store = Store(config.data_dir, site_id=config.site_id)
    for login, password, admin in config.users:
        if store.get_user(login) is None:
            store.add_user(login, password, admin=admin)
    router = Router()
    state = ServerState(config=config, store=store, router=router, faults=Faults(store))
    for name in ROUTE_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        ddl = getattr(module, "SCHEMA_SQL", None)
        if isinstance(ddl, str):
            store.ensure_schema(ddl)
        register = getattr(module, "register", None)
        if callable(register):
            register(router)
        startup = getattr(module, "on_startup", None)
        if callable(startup):
            startup(state)
    return XNATApp(state)


def error_response(path: str, err: HttpError) -> Response:
    """Render ``err`` as XNAT does for ``path`` (Restlet page, or plain text under /xapi)."""
    if path.startswith("/xapi/"):
        resp = Response(err.message or "", status=err.status, mimetype="text/plain")
    else:
        resp = Response(
            restlet_status_page(err.status, err.message), status=err.status, mimetype="text/html"
        )
    for k, v in err.headers.items():
        resp.headers[k] = v
    return resp


class XNATApp:
    """The WSGI callable."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one WSGI request."""
        request = Request(environ)
        path = normalise_path(request.path)
        faults = self.state.faults
        try:
            canned = faults.before_request(path, request)
            response = canned if canned is not None else self.dispatch(request, path)
        except HttpError as err:
            response = error_response(path, err)
        except Exception:
            log.error("error on %s %s\n%s", request.method, path, traceback.format_exc())
            response = error_response(path, HttpError(500, None))
        body = faults.wrap_response(path, response, environ)
        return body(environ, start_response)

    def dispatch(self, request: Request, path: str) -> Response:
        """Route, authenticate and run the handler (raises :class:`HttpError`)."""
        from xnat_sdk.testing.auth import authenticate, finish_response

        if "\x00" in path:
            # Tomcat refuses an (encoded) NUL in the request path before any servlet runs
            raise HttpError(400, "Invalid character in the request path.")
        match = self.state.router.resolve(request.method, path)
        if match.route is None:
            if match.allowed:
                raise HttpError(
                    405,
                    None,
                    headers={"Allow": ", ".join(sorted(match.allowed))},
                )
            raise HttpError(404, None)
        route = match.route
        auth = authenticate(self.state, request, route.auth, path)
        ctx = RequestContext(
            request=request,
            state=self.state,
            user=auth.user,
            params=match.params,
            tail=match.tail,
            path=path,
            session_id=auth.session_id,
        )
        response = route.handler(ctx)
        finish_response(self.state, auth, response, path)
        return response

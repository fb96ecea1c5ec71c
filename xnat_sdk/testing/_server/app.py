"""The WSGI application of the local XNAT server and the list of modules that serve routes.

Plugging in a module (for the engineers adding endpoints):

1. Write a module with ``register(router: Router) -> None`` (see
   :mod:`xnat_sdk.testing._server.routing` for the route semantics and
   :mod:`xnat_sdk.testing._server.context` for what a handler gets); an endpoint area is a
   subpackage of ``xnat_sdk.testing._areas`` whose ``routes`` module is that module.
2. Optionally give it a module-level ``SCHEMA_SQL: str`` of idempotent DDL for its own
   tables (prefix table names with the module's concern); it is run once at startup.
3. Optionally give it ``on_startup(state: ServerState) -> None`` (e.g. to create folders
   under ``state.store.data_dir``).
4. Add its dotted name to :data:`ROUTE_MODULES`. A listed module that cannot be found is an
   error naming it (:func:`build_app` raises ``ImportError``).

Request flow: Tomcat's path parameters (every ``;name=value`` leaves the path; a
``;jsessionid=`` one names the session) -> fault injection (delay, forced 5xx) -> ``/REST``
normalisation -> routing (404/405) -> authentication (basic, alias token, JSESSIONID cookie
or path parameter; 401 on bad credentials or a dead session cookie; no credentials = guest)
-> handler -> cookies (``JSESSIONID`` when a session was created,
``SESSION_EXPIRATION_TIME`` on every authenticated answer) -> fault injection on the body
(dropped connection).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import traceback
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from xnat_sdk.testing._server.authentication import (
    authenticate,
    finish_response,
    take_path_parameters,
)
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.faults import Faults
from xnat_sdk.testing._server.render import restlet_status_page
from xnat_sdk.testing._server.routing import HttpError, Router, normalise_path
from xnat_sdk.testing._server.state import ServerConfig, ServerState
from xnat_sdk.testing._server.store import Store

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["ROUTE_MODULES", "ServerConfig", "ServerState", "XNATApp", "build_app"]

log = logging.getLogger("xnat_sdk.testing")

_AREAS = "xnat_sdk.testing._areas"

#: Modules whose ``register(router)`` is called, in order.
ROUTE_MODULES: list[str] = [
    f"{_AREAS}.permissions.routes",
    f"{_AREAS}.info.routes",
    f"{_AREAS}.site_config.routes",
    f"{_AREAS}.archive.routes",
    f"{_AREAS}.files.routes",
    "xnat_sdk.testing._server.faults",
    f"{_AREAS}.prearchive.routes",
    f"{_AREAS}.project_settings.routes",
    f"{_AREAS}.services.routes",
    f"{_AREAS}.users.routes",
    f"{_AREAS}.search_service.routes",
    f"{_AREAS}.inspect_service.routes",
]


def _default_schemas_dir() -> Path | None:
    """The pinned core schemas: built into the installation, else a checkout's."""
    from xnat_sdk_codegen.core import default_core_schemas  # same wheel, imports nothing

    return default_core_schemas()


def _route_module(name: str) -> ModuleType:
    """The route module ``name``; ``ImportError`` naming it when it cannot be found."""
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:  # a parent package is missing
        spec = None
    if spec is None:
        raise ImportError(f"route module {name!r} (listed in ROUTE_MODULES) not found", name=name)
    return importlib.import_module(name)


def build_app(config: ServerConfig) -> XNATApp:
    """Open the store, register every route module and return the WSGI app."""
    modules = [_route_module(name) for name in ROUTE_MODULES]
    if config.schemas_dir is None:
        config.schemas_dir = _default_schemas_dir()
        if config.schemas_dir is None:
            warnings.warn(
                "the local XNAT server runs without XNAT's core schemas (a checkout where "
                "`make schemas` has not run): it knows only a few data types (projects, "
                "subjects, MR sessions and scans) and answers 400 'Unknown data type' for "
                "the others; run `make schemas` (an installed wheel carries them)",
                RuntimeWarning,
                stacklevel=2,
            )
    store = Store(config.data_dir, site_id=config.site_id or "XNAT")
    for login, password, admin in config.users:
        if store.get_user(login) is None:
            store.add_user(login, password, admin=admin)
    router = Router()
    state = ServerState(config=config, store=store, router=router, faults=Faults(store))
    for module in modules:
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
        take_path_parameters(environ)  # as Tomcat does, before anything reads the path
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

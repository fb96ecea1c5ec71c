"""``/xapi/siteConfig``: XNAT's ``SiteConfigApi`` (``org.nrg.xapi.rest.settings``).

* ``GET /xapi/siteConfig``: the map of every preference the user may read
  (``SiteConfigAccess.canRead``); logged-in users only.
* ``POST /xapi/siteConfig``: set several (a JSON object or a form), site admins only.
* ``GET /xapi/siteConfig/values/{a,b}``: the named ones (each must be readable).
* ``GET /xapi/siteConfig/{name}``: one value (a text value is written as is, ``XNAT``; others
  as JSON). Guests may read the public ones (``siteId``, ``siteUrl`` ...); a preference the
  user may not read: guests 401, users 403; an unknown one: 404 (admins) "No site
  configuration property named {name}".
* ``POST /xapi/siteConfig/{name}``: set one to the request body (text), site admins only.
  XNAT maps no ``PUT`` here: it answers 405.
"""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.site_config.preferences import (
    AUTHENTICATED,
    PUBLIC,
    SCHEMA_SQL,
    accession_prefix,
    all_values,
    get_value,
    set_value,
)
from xnat_sdk.testing._server.authentication import unauthorized
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError, Router
from xnat_sdk.testing._server.state import ServerState

__all__ = ["SCHEMA_SQL", "on_startup", "register"]


def _can_read(ctx: RequestContext, name: str) -> bool:
    if ctx.is_admin:
        return True
    return name in (PUBLIC if ctx.is_guest else AUTHENTICATED)


def _check_read(ctx: RequestContext, name: str) -> None:
    if not _can_read(ctx, name):
        if ctx.is_guest:
            raise unauthorized(ctx.state, "Authentication required.")
        raise HttpError(403, None)


def _check_admin(ctx: RequestContext) -> None:
    if ctx.is_guest:
        raise unauthorized(ctx.state, "Authentication required.")
    if not ctx.is_admin:
        raise HttpError(403, None)


def _get_all(ctx: RequestContext) -> Response:
    if ctx.is_guest:
        raise unauthorized(ctx.state, "Authentication required.")
    values = all_values(ctx.store)
    return ctx.json({k: v for k, v in values.items() if _can_read(ctx, k)})


def _post_all(ctx: RequestContext) -> Response:
    _check_admin(ctx)
    if ctx.request.mimetype == "application/json":
        try:
            body = json.loads(ctx.request.get_data(as_text=True) or "{}")
        except ValueError as exc:
            raise HttpError(400, f"Malformed JSON: {exc}") from None
        if not isinstance(body, dict):
            raise HttpError(400, "The site configuration must be a JSON object.")
        items = list(body.items())
    else:
        items = list(ctx.request.form.items())
    for name, value in items:
        _set(ctx, str(name), value)
    return ctx.text("")


def _set(ctx: RequestContext, name: str, value: object) -> None:
    """Store a preference; ``requireLogin`` takes effect at once (XNAT's
    ``UpdateSecurityFilterHandlerMethod`` rebuilds the security filter), and so does
    ``restrictUserListAccessToAdmins`` (read per request from the preference in XNAT)."""
    set_value(ctx.store, name, value)
    if name == "requireLogin":
        ctx.state.extras["require_login"] = get_value(ctx.store, name) is not False
    elif name == "restrictUserListAccessToAdmins":
        ctx.state.config.restrict_user_list = get_value(ctx.store, name) is True


def _values(ctx: RequestContext) -> Response:
    names = [n for n in ctx.params["names"].split(",") if n]
    for name in names:
        _check_read(ctx, name)
    values = all_values(ctx.store)
    return ctx.json({n: values[n] for n in names if n in values})


def _get_one(ctx: RequestContext) -> Response:
    name = ctx.params["name"]
    _check_read(ctx, name)
    value = get_value(ctx.store, name)
    if value is None:
        raise HttpError(404, f"No site configuration property named {name}")
    if isinstance(value, str):
        return Response(value, mimetype="application/json")
    return ctx.json(value)


def _post_one(ctx: RequestContext) -> Response:
    _check_admin(ctx)
    _set(ctx, ctx.params["name"], ctx.request.get_data(as_text=True))
    return ctx.text("")


def on_startup(state: ServerState) -> None:
    """Take the site ID: the one the server was started with (stored as ``siteId``), else
    the stored one; new accession IDs use it until the next start (as ``IDGenerator``)."""
    if state.config.site_id is not None:
        set_value(state.store, "siteId", state.config.site_id)
    if state.config.require_login is not None:
        set_value(state.store, "requireLogin", state.config.require_login)
    state.extras["require_login"] = get_value(state.store, "requireLogin") is not False
    # the preference the user routes read (ServerConfig.restrict_user_list) is the one
    # /xapi/siteConfig serves and takes: the start option sets it
    set_value(state.store, "restrictUserListAccessToAdmins", state.config.restrict_user_list)
    site_id = str(get_value(state.store, "siteId") or "XNAT")
    state.config.site_id = site_id
    state.store.site_id = accession_prefix(site_id)


def register(router: Router) -> None:
    """Register the site-configuration routes."""
    router.add("GET", "/xapi/siteConfig", _get_all, auth="optional")
    router.add("POST", "/xapi/siteConfig", _post_all, auth="optional")
    router.add("GET", "/xapi/siteConfig/values/{names}", _values, auth="optional")
    router.add("GET", "/xapi/siteConfig/{name}", _get_one, auth="optional")
    router.add("POST", "/xapi/siteConfig/{name}", _post_one, auth="optional")

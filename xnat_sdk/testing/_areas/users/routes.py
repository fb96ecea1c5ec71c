"""The ``/xapi/users`` API of the local XNAT server (XNAT 1.8 ``UsersApi``).

* ``GET /xapi/users``: JSON array of logins; ``GET /xapi/users/profiles``: array of user
  objects ordered by id; ``GET /xapi/users/profile[/{login}]``, ``GET /xapi/users/{login}``:
  one user object; ``GET /xapi/users/username``: the current login as text;
  ``GET /xapi/users/current``: users with a live HTTP session.
* ``POST /xapi/users`` (admin, JSON body) -> 201 + user; an existing login -> 409.
  ``PUT /xapi/users/{login}`` (admin) -> 200 + user.
* ``GET|PUT /xapi/users/{login}/enabled[/{flag}]``, ``.../verified[/{flag}]``,
  ``GET /xapi/users/{login}/roles``, ``PUT|DELETE .../roles/{role}``,
  ``GET /xapi/users/{login}/groups``, ``PUT|DELETE .../groups/{group}`` (``{project}_{level}``).

User objects follow Jackson's ``NON_NULL`` rendering: ``id`` (int), ``username``,
``firstName``, ``lastName``, ``email``, ``secured`` (true), ``enabled``, ``verified`` (bools),
``lastModified`` / ``lastSuccessfulLogin`` (epoch ms, when known). Errors are plain text.

Access (XNAT's ``@XapiRequestMapping(restrictTo=...)``): the listings (``/xapi/users``,
``/profiles``, ``/current``) and ``/profile/{login}`` are ``Authorizer`` with
``UserResourceXapiAuthorization``: admins, the named user, or every logged-in user when
``restrict_user_list`` (``restrictUserListAccessToAdmins``) is off. ``/xapi/users/{login}``
and its ``enabled``/``verified``/``roles``/``groups`` reads are ``AccessLevel.User``: admins
or the named user, whatever the preference. Guests get 401; refusals are a 403 with no body
(``XapiRequestMappingAspect`` only sets the status), checked before the user is looked up.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.permissions.access import user_list_open
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError, Router

__all__ = ["SCHEMA_SQL", "register", "user_object"]

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS users_roles(
    login TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY(login, role)
);
"""

_LEVELS = ("owner", "member", "collaborator")


def user_object(row: sqlite3.Row) -> dict[str, Any]:
    """The XAPI JSON object of one ``users`` row (no password, nulls omitted)."""
    obj: dict[str, Any] = {
        "id": int(row["xdat_user_id"]),
        "username": row["login"],
        "firstName": row["firstname"],
        "lastName": row["lastname"],
        "email": row["email"],
        "secured": True,
    }
    created = row["created"]
    if created:
        obj["lastModified"] = int(float(created) * 1000)
    obj["enabled"] = bool(row["enabled"])
    obj["verified"] = bool(row["verified"])
    last = row["last_login"]
    if last:
        obj["lastSuccessfulLogin"] = int(float(last) * 1000)
    return obj


def _row(ctx: RequestContext, login: str) -> sqlite3.Row:
    row = ctx.store.one("SELECT * FROM users WHERE login=?", (login,))
    if row is None:
        raise HttpError(404, f"Unable to find requested file or resource: user {login}")
    return row


def _require_user(ctx: RequestContext) -> None:
    if ctx.is_guest:
        raise HttpError(401, "Authentication required.")


def _require_self_or_admin(ctx: RequestContext, login: str) -> None:
    """``AccessLevel.User`` (``UserXapiAuthorization``)."""
    _require_user(ctx)
    if not ctx.is_admin and ctx.user.login != login:
        raise HttpError(403)


def _require_list_access(ctx: RequestContext, login: str | None = None) -> None:
    """``UserResourceXapiAuthorization``: an open user list, an admin, or the named user."""
    _require_user(ctx)
    if not user_list_open(ctx) and ctx.user.login != login:
        raise HttpError(403)


def _admin(ctx: RequestContext) -> None:
    _require_user(ctx)
    if not ctx.is_admin:
        raise HttpError(403)


def _logins(ctx: RequestContext) -> Response:
    _require_list_access(ctx)
    rows = ctx.store.query("SELECT login FROM users ORDER BY login")
    return ctx.json([str(r[0]) for r in rows])


def _profiles(ctx: RequestContext) -> Response:
    _require_list_access(ctx)
    rows = ctx.store.query("SELECT * FROM users ORDER BY xdat_user_id")
    return ctx.json([user_object(r) for r in rows])


def _profile_self(ctx: RequestContext) -> Response:
    _require_user(ctx)
    return ctx.json(user_object(_row(ctx, ctx.user.login)))


def _profile(ctx: RequestContext) -> Response:
    login = ctx.params["login"]
    _require_list_access(ctx, login)
    return ctx.json(user_object(_row(ctx, login)))


def _username(ctx: RequestContext) -> Response:
    return ctx.text(ctx.user.login)


def _current(ctx: RequestContext) -> Response:
    _require_list_access(ctx)
    rows = ctx.store.query(
        "SELECT DISTINCT u.* FROM users u JOIN http_sessions s ON s.login = u.login "
        "ORDER BY u.xdat_user_id"
    )
    return ctx.json([user_object(r) for r in rows])


def _get_user(ctx: RequestContext) -> Response:
    login = ctx.params["login"]
    _require_self_or_admin(ctx, login)
    return ctx.json(user_object(_row(ctx, login)))


def _body(ctx: RequestContext) -> dict[str, Any]:
    try:
        body = json.loads(ctx.request.get_data(cache=True) or b"{}")
    except ValueError as exc:
        raise HttpError(400, f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise HttpError(400, "The request body must be a JSON object.")
    return body


_FIELDS = {
    "firstName": "firstname",
    "lastName": "lastname",
    "email": "email",
    "password": "password",
}


def _flag(value: Any, name: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return int(value.lower() == "true")
    raise HttpError(400, f"{name} must be true or false, got {value!r}")


def _apply(ctx: RequestContext, login: str, body: dict[str, Any]) -> None:
    sets: list[str] = []
    values: list[Any] = []
    for key, column in _FIELDS.items():
        if key in body and body[key] is not None:
            if not isinstance(body[key], str):
                raise HttpError(400, f"{key} must be a string")
            sets.append(f"{column}=?")
            values.append(body[key])
    for key in ("enabled", "verified"):
        if key in body and body[key] is not None:
            sets.append(f"{key}=?")
            values.append(_flag(body[key], key))
    if not sets:
        return
    with ctx.store.tx() as db:
        db.execute(f"UPDATE users SET {', '.join(sets)} WHERE login=?", (*values, login))


def _create(ctx: RequestContext) -> Response:
    _admin(ctx)
    body = _body(ctx)
    login = body.get("username") or body.get("login")
    if not isinstance(login, str) or not login.strip():
        raise HttpError(400, "A username is required to create a user.")
    if ctx.store.get_user(login) is not None:
        raise HttpError(409, f"The user {login} already exists.")
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise HttpError(400, "A password is required to create a user.")
    ctx.store.add_user(
        login,
        password,
        firstname=str(body.get("firstName") or ""),
        lastname=str(body.get("lastName") or ""),
        email=str(body.get("email") or ""),
    )
    _apply(ctx, login, {k: body[k] for k in ("enabled", "verified") if k in body})
    return ctx.json(user_object(_row(ctx, login)), status=201)


def _update(ctx: RequestContext) -> Response:
    login = ctx.params["login"]
    _admin(ctx)
    _row(ctx, login)
    _apply(ctx, login, _body(ctx))
    return ctx.json(user_object(_row(ctx, login)))


def _get_flag(ctx: RequestContext, name: str) -> Response:
    login = ctx.params["login"]
    _require_self_or_admin(ctx, login)
    return ctx.json(bool(_row(ctx, login)[name]))


def _set_flag(ctx: RequestContext, name: str) -> Response:
    login = ctx.params["login"]
    _admin(ctx)
    _row(ctx, login)
    _apply(ctx, login, {name: ctx.params["flag"]})
    return ctx.text("")


def _roles_of(ctx: RequestContext, login: str) -> list[str]:
    row = _row(ctx, login)
    roles = [
        str(r[0])
        for r in ctx.store.query(
            "SELECT role FROM users_roles WHERE login=? ORDER BY role", (login,)
        )
    ]
    if row["admin"]:
        roles.insert(0, "Administrator")
    return roles


def _roles(ctx: RequestContext) -> Response:
    login = ctx.params["login"]
    _require_self_or_admin(ctx, login)
    return ctx.json(_roles_of(ctx, login))


def _role_change(ctx: RequestContext) -> Response:
    login, role = ctx.params["login"], ctx.params["role"]
    _admin(ctx)
    _row(ctx, login)
    add = ctx.method == "PUT"
    with ctx.store.tx() as db:
        if role == "Administrator":
            db.execute("UPDATE users SET admin=? WHERE login=?", (int(add), login))
        elif add:
            db.execute("INSERT OR IGNORE INTO users_roles(login, role) VALUES(?,?)", (login, role))
        else:
            db.execute("DELETE FROM users_roles WHERE login=? AND role=?", (login, role))
    return ctx.text("")


def _groups(ctx: RequestContext) -> Response:
    login = ctx.params["login"]
    _require_self_or_admin(ctx, login)
    _row(ctx, login)
    rows = ctx.store.query(
        "SELECT project, level FROM project_users WHERE login=? ORDER BY project", (login,)
    )
    return ctx.json([f"{r['project']}_{r['level']}" for r in rows])


def _group_change(ctx: RequestContext) -> Response:
    login, group = ctx.params["login"], ctx.params["group"]
    _admin(ctx)
    _row(ctx, login)
    project, _, level = group.rpartition("_")
    if not project or level not in _LEVELS:
        raise HttpError(
            400, f"Unknown group {group}: expected {{project}}_{{owner|member|collaborator}}"
        )
    if ctx.store.one("SELECT 1 FROM projects WHERE id=?", (project,)) is None:
        raise HttpError(404, f"Unable to find requested file or resource: project {project}")
    with ctx.store.tx() as db:
        if ctx.method == "PUT":
            db.execute(
                "INSERT OR REPLACE INTO project_users(project, login, level) VALUES(?,?,?)",
                (project, login, level),
            )
        else:
            db.execute(
                "DELETE FROM project_users WHERE project=? AND login=? AND level=?",
                (project, login, level),
            )
    return ctx.text("")


def register(router: Router) -> None:
    """Register the ``/xapi/users`` routes (fixed names before ``{login}``)."""
    router.add("GET", "/xapi/users", _logins)
    router.add("POST", "/xapi/users", _create)
    router.add("GET", "/xapi/users/profiles", _profiles)
    router.add("GET", "/xapi/users/profile", _profile_self)
    router.add("GET", "/xapi/users/profile/{login}", _profile)
    router.add("GET", "/xapi/users/username", _username, auth="optional")
    router.add("GET", "/xapi/users/current", _current)
    router.add("GET", "/xapi/users/{login}", _get_user)
    router.add("PUT", "/xapi/users/{login}", _update)
    router.add("GET", "/xapi/users/{login}/enabled", lambda c: _get_flag(c, "enabled"))
    router.add("PUT", "/xapi/users/{login}/enabled/{flag}", lambda c: _set_flag(c, "enabled"))
    router.add("GET", "/xapi/users/{login}/verified", lambda c: _get_flag(c, "verified"))
    router.add("PUT", "/xapi/users/{login}/verified/{flag}", lambda c: _set_flag(c, "verified"))
    router.add("GET", "/xapi/users/{login}/roles", _roles)
    router.add(["PUT", "DELETE"], "/xapi/users/{login}/roles/{role}", _role_change)
    router.add("GET", "/xapi/users/{login}/groups", _groups)
    router.add(["PUT", "DELETE"], "/xapi/users/{login}/groups/{group}", _group_change)

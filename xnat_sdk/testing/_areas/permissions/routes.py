"""Login, sessions, alias tokens and project membership endpoints of the local XNAT server.

Endpoints: ``GET|POST|DELETE /data/JSESSION``, ``PUT|POST /data/services/auth``,
``GET /data/auth``, ``/data/services/tokens/{issue|show|validate|invalidate}...``,
``GET /data/projects/{P}/users``, ``PUT|DELETE /data/projects/{P}/users/{level}/{login}``,
``GET /data/users``, ``GET /xapi/access/projects``.

How requests are authenticated is :mod:`xnat_sdk.testing._server.authentication`; the
access rules are :mod:`.access`.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.permissions.access import can_read, user_list_open
from xnat_sdk.testing._areas.site_config.preferences import get_value, interval_seconds
from xnat_sdk.testing._server.authentication import (
    AuthResult,
    finish_response,
    new_session,
    token_user,
    unauthorized,
)
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError, Router

__all__ = ["LEVELS", "TOKEN_LIFETIME_MS", "register"]


TOKEN_LIFETIME_MS = 172_800_000
"""A token's life when ``aliasTokenTimeout`` is not an interval (its default: 2 days)."""

LEVELS = {"owner": "Owners", "member": "Members", "collaborator": "Collaborators"}


def _jsession_get(ctx: RequestContext) -> Response:
    """The HTTP session's ID (XNAT's ``UserSession``; ``/data/JSESSION`` is an open URL, so
    an anonymous caller gets a guest session, as pyxnat's ``anonymous=True`` asks)."""
    sid = ctx.session_id
    fresh = sid is None
    if sid is None:
        sid = new_session(ctx.store, "guest", ctx.state.config.session_timeout_ms)
    body = sid
    if ctx.flag("CSRF"):
        body += f"; XNAT_CSRF={secrets.token_hex(16)}"
    resp = ctx.text(body)
    if fresh:
        resp.headers.add("Set-Cookie", f"JSESSIONID={sid}; Path=/; HttpOnly")
    return resp


def _jsession_delete(ctx: RequestContext) -> Response:
    cookie = ctx.request.cookies.get("JSESSIONID")
    if cookie:
        with ctx.store.tx() as db:
            db.execute("DELETE FROM http_sessions WHERE id=?", (cookie,))
    resp = ctx.text("")
    resp.headers.add("Set-Cookie", "JSESSIONID=; Path=/; Max-Age=0")
    return resp


def _services_auth(ctx: RequestContext) -> Response:
    form = ctx.request.form
    login = form.get("username") or form.get("j_username") or ctx.q("username") or ""
    password = form.get("password") or form.get("j_password") or ctx.q("password") or ""
    user = ctx.store.check_password(login, password)
    if user is None:
        raise unauthorized(ctx.state)
    sid = new_session(ctx.store, user.login, ctx.state.config.session_timeout_ms)
    resp = ctx.text(sid)
    finish_response(ctx.state, AuthResult(user, sid, new_session=True), resp, ctx.path)
    return resp


def _auth_get(ctx: RequestContext) -> Response:
    if ctx.is_guest:
        raise unauthorized(ctx.state, "Authentication required.")
    return ctx.text(f"User '{ctx.user.login}' is logged in")


def _token_json(row: dict[str, object]) -> dict[str, object]:
    created = int(float(str(row["created"])))
    return {
        "alias": row["alias"],
        "created": created,
        "disabled": 0,
        "enabled": bool(row["enabled"]),
        "estimatedExpirationTime": int(float(str(row["expires"]))),
        "id": row["id"],
        "secret": row["secret"],
        "singleUse": False,
        "timestamp": created,
        "validIPAddresses": [],
        "xdatUserId": row["login"],
    }


def _tokens(ctx: RequestContext) -> Response:
    if ctx.is_guest:
        raise HttpError(403, "The guest user can't request alias tokens")
    parts = [p for p in ctx.tail.split("/") if p]
    if not parts:
        raise HttpError(400, "No operation specified.")
    op, rest = parts[0], parts[1:]
    store = ctx.store
    if op == "issue":
        login = ctx.user.login
        if len(rest) >= 2 and rest[0] == "user":
            login = rest[1]
            if login != ctx.user.login and not ctx.is_admin:
                raise HttpError(403, "Only admins may issue tokens for other users.")
            if store.get_user(login) is None:
                raise HttpError(404, f"Unknown user {login}")
        alias = str(uuid.uuid4())
        alphabet = string.ascii_letters + string.digits
        secret = "".join(secrets.choice(alphabet) for _ in range(64))
        now_ms = int(time.time() * 1000)
        # XNAT's aliasTokenTimeout site preference (its sweeper disables older tokens)
        lifetime = interval_seconds(get_value(store, "aliasTokenTimeout"))
        lifetime_ms = int(lifetime * 1000) if lifetime is not None else TOKEN_LIFETIME_MS
        with store.tx() as db:
            cur = db.execute(
                "INSERT INTO alias_tokens(alias, secret, login, created, expires) "
                "VALUES(?,?,?,?,?)",
                (alias, secret, login, now_ms, now_ms + lifetime_ms),
            )
            token_id = cur.lastrowid
        row = store.one("SELECT * FROM alias_tokens WHERE id=?", (token_id,))
        assert row is not None
        return ctx.json(_token_json(dict(row)))
    if op == "show":
        rows = store.query(
            "SELECT * FROM alias_tokens WHERE login=? AND enabled=1", (ctx.user.login,)
        )
        return ctx.json([_token_json(dict(r)) for r in rows])
    if op == "validate":
        if len(rest) < 2:
            raise unauthorized(ctx.state, "Token and secret required.")
        user = token_user(store, rest[0], rest[1])
        if user is None:
            raise HttpError(404, "Unknown token.")
        return ctx.json({"valid": user.login})
    if op == "invalidate":
        if not rest:
            raise HttpError(400, "No token specified.")
        with store.tx() as db:
            cur = db.execute(
                "UPDATE alias_tokens SET enabled=0 WHERE alias=? AND (login=? OR ?)",
                (rest[0], ctx.user.login, int(ctx.is_admin)),
            )
            if cur.rowcount == 0:
                raise HttpError(404, "Unknown token.")
        return ctx.json({"result": "OK"})
    raise HttpError(400, f"Unknown operation {op}.")


def _project_or_404(ctx: RequestContext, project: str) -> str:
    row = ctx.store.one("SELECT id FROM projects WHERE id=? OR secondary_id=?", (project, project))
    if row is None or not can_read(ctx.store, ctx.user, row[0]):
        raise HttpError(404, f"Unable to identify project {project}")
    return str(row[0])


def _project_users(ctx: RequestContext) -> Response:
    project = _project_or_404(ctx, ctx.params["project"])
    rows = ctx.store.query(
        "SELECT pu.level, u.* FROM project_users pu JOIN users u ON u.login = pu.login "
        "WHERE pu.project=? ORDER BY u.lastname, u.login",
        (project,),
    )
    out = [
        {
            "GROUP_ID": f"{project}_{r['level']}",
            "displayname": LEVELS.get(r["level"], r["level"]),
            "login": r["login"],
            "firstname": r["firstname"],
            "lastname": r["lastname"],
            "email": r["email"],
            "xdat_user_id": r["xdat_user_id"],
        }
        for r in rows
    ]
    cols = ["GROUP_ID", "displayname", "login", "firstname", "lastname", "email", "xdat_user_id"]
    return ctx.table(cols, out, meta={"title": "Projects", "totalRecords": len(out)})


def _project_member(ctx: RequestContext) -> Response:
    project = _project_or_404(ctx, ctx.params["project"])
    store = ctx.store
    if not (ctx.is_admin or store.project_role(project, ctx.user.login) == "owner"):
        raise HttpError(403, "Only project owners may manage members.")
    level = ctx.params["level"].lower()
    if level.startswith(project.lower() + "_"):
        level = level[len(project) + 1 :]
    level = level.rstrip("s") if level.endswith("s") else level
    if level not in LEVELS:
        raise HttpError(404, f"Unknown group {ctx.params['level']}")
    logins = _members_named(ctx, ctx.params["login"])
    if not logins and ctx.method == "DELETE":
        raise HttpError(404)
    with store.tx() as db:
        for login in logins:
            if ctx.method == "DELETE":
                db.execute(
                    "DELETE FROM project_users WHERE project=? AND login=?", (project, login)
                )
            else:
                db.execute(
                    "INSERT INTO project_users(project, login, level) VALUES(?,?,?) "
                    "ON CONFLICT(project, login) DO UPDATE SET level=excluded.level",
                    (project, login, level),
                )
    return ctx.text("")


def _members_named(ctx: RequestContext, named: str) -> list[str]:
    """The logins ``named`` (comma-separated) stands for, as XNAT's ``ProjectMemberResource``
    reads it: a number is a user's ``xdat_user_id``, else a login, else an email (every user
    of it). What names nobody is, on a PUT, an address XNAT emails an invitation to (noted
    in ``state.extras["invitations"]``), and adds no member."""
    users = ctx.store.list_users()
    logins: list[str] = []
    for ident in (x.strip() for x in named.split(",") if x.strip()):
        if ident.isdigit():
            found = [u.login for u in users if u.xdat_user_id == int(ident)]
        else:
            found = [u.login for u in users if u.login == ident]
            found = found or [u.login for u in users if u.email.lower() == ident.lower()]
        if not found and not ident.isdigit() and ctx.method == "PUT":
            ctx.state.extras.setdefault("invitations", []).append(ident)
        logins += found
    return logins


def _site_users(ctx: RequestContext) -> Response:
    if not user_list_open(ctx):
        raise HttpError(
            403, "Access Denied: Only site managers can access site-level user resources."
        )
    users = sorted(ctx.store.list_users(), key=lambda u: (u.lastname, u.login))
    out = [
        {
            "xdat_user_id": u.xdat_user_id,
            "login": u.login,
            "firstname": u.firstname,
            "lastname": u.lastname,
            "email": u.email,
        }
        for u in users
        if u.enabled
    ]
    cols = ["xdat_user_id", "login", "firstname", "lastname", "email"]
    return ctx.table(cols, out, meta={"title": "Projects", "totalRecords": len(out)})


def _access_projects(ctx: RequestContext) -> Response:
    store = ctx.store
    if ctx.is_admin:
        rows = store.query("SELECT *, 'owner' AS level FROM projects ORDER BY id")
    else:
        rows = store.query(
            "SELECT p.*, pu.level FROM projects p JOIN project_users pu ON pu.project = p.id "
            "WHERE pu.login=? ORDER BY p.id",
            (ctx.user.login,),
        )
    out = [
        {
            "secondary_ID": r["secondary_id"],
            "ID": r["id"],
            "role": LEVELS.get(r["level"], r["level"]),
            "name": r["name"],
            "URI": f"/data/projects/{r['id']}",
            "group_id": f"{r['id']}_{r['level']}",
            "description": r["description"],
        }
        for r in rows
    ]
    return ctx.json(out)


def register(router: Router) -> None:
    """Register the authentication and membership routes."""
    router.add(["GET", "POST"], "/data/JSESSION", _jsession_get, auth="optional")
    router.add("DELETE", "/data/JSESSION", _jsession_delete, auth="none")
    router.add(["PUT", "POST"], "/data/services/auth", _services_auth, auth="none")
    router.add("GET", "/data/auth", _auth_get, auth="optional")
    router.add(["GET", "POST", "PUT", "DELETE"], "/data/services/tokens", _tokens, tail=True)
    router.add("GET", "/data/projects/{project}/users", _project_users, archive=True)
    router.add(
        ["PUT", "DELETE"],
        "/data/projects/{project}/users/{level}/{login}",
        _project_member,
        archive=True,
    )
    router.add("GET", "/data/users", _site_users, auth="optional")
    router.add("GET", "/xapi/access/projects", _access_projects)

"""Authentication, sessions, alias tokens and project membership of the local XNAT server.

Credentials, in order: HTTP basic (login/password, or alias-token alias/secret), then the
``JSESSIONID`` cookie. Bad basic credentials -> 401 ``Authentication failed.``; a cookie
naming no live session (expired, logged out, or killed by the ``expire_sessions`` fault)
and no basic header -> 401; no credentials at all -> the guest user (who only sees public
and protected projects and may not write).

Endpoints: ``GET|POST|DELETE /data/JSESSION``, ``PUT|POST /data/services/auth``,
``GET /data/auth``, ``/data/services/tokens/{issue|show|validate|invalidate}...``,
``GET /data/projects/{P}/users``, ``PUT|DELETE /data/projects/{P}/users/{level}/{login}``,
``GET /data/users``, ``GET /xapi/access/projects``.

Access rules used by the archive (:func:`can_read`, :func:`can_edit`, :func:`can_see`):
admins everything; project members (owner/member/collaborator) read; owners and members
edit; guests and non-members read ``public`` projects; ``protected`` projects are listed and
their own document is readable, but their data is not.
"""

from __future__ import annotations

import base64
import secrets
import string
import time
import uuid
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from xnat_sdk.testing.app import ServerState
from xnat_sdk.testing.routing import AuthMode, HttpError, RequestContext, Router
from xnat_sdk.testing.store import GUEST, Store, User

__all__ = [
    "AuthResult",
    "authenticate",
    "can_edit",
    "can_read",
    "can_see",
    "finish_response",
    "readable_projects",
    "register",
    "user_list_open",
    "visible_projects",
]

TOKEN_LIFETIME_MS = 172_800_000
LEVELS = {"owner": "Owners", "member": "Members", "collaborator": "Collaborators"}


@dataclass
class AuthResult:
    """Who a request is, and which session (if any) it runs in."""

    user: User
    session_id: str | None = None
    new_session: bool = False


def _new_session(store: Store, login: str, timeout_ms: int = 900_000) -> str:
    sid = secrets.token_hex(16).upper()
    now = time.time()
    with store.tx() as db:
        db.execute(
            "INSERT INTO http_sessions(id, login, created, last_access) VALUES(?,?,?,?)",
            (sid, login, now, now),
        )
        if store.next_counter(db, "sessions_created") % 500 == 0:
            # basic-auth clients without cookies create a session per request: prune
            db.execute(
                "DELETE FROM http_sessions WHERE last_access < ?", (now - timeout_ms / 1000,)
            )
    return sid


def _session_user(state: ServerState, sid: str) -> User | None:
    store = state.store
    row = store.one("SELECT login, last_access FROM http_sessions WHERE id=?", (sid,))
    if row is None:
        return None
    now = time.time()
    if now - float(row["last_access"]) > state.config.session_timeout_ms / 1000:
        with store.tx() as db:
            db.execute("DELETE FROM http_sessions WHERE id=?", (sid,))
        return None
    if now - float(row["last_access"]) > 5:
        with store.tx() as db:
            db.execute("UPDATE http_sessions SET last_access=? WHERE id=?", (now, sid))
    return store.get_user(row["login"])


def _token_user(store: Store, alias: str, secret: str) -> User | None:
    row = store.one(
        "SELECT login, expires FROM alias_tokens WHERE alias=? AND secret=? AND enabled=1",
        (alias, secret),
    )
    if row is None or float(row["expires"]) < time.time() * 1000:
        return None
    return store.get_user(row["login"])


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ("", "")
    login, _, password = raw.partition(":")
    if "/" in login:  # provider/username
        login = login.split("/", 1)[1]
    return login, password


def unauthorized(state: ServerState, message: str = "Authentication failed.") -> HttpError:
    """A 401 error carrying ``WWW-Authenticate``."""
    return HttpError(
        401, message, headers={"WWW-Authenticate": f'Basic realm="{state.config.site_id}"'}
    )


def authenticate(state: ServerState, request: Request, mode: AuthMode, path: str) -> AuthResult:
    """Identify the caller of ``request`` (raises 401 as XNAT does)."""
    if mode == "none":
        return AuthResult(GUEST)
    store = state.store
    cookie = request.cookies.get("JSESSIONID")
    creds = _basic(request)
    if creds is not None:
        login, password = creds
        user = store.check_password(login, password) or _token_user(store, login, password)
        if user is None:
            raise unauthorized(state)
        if cookie:
            current = _session_user(state, cookie)
            if current is not None and current.login == user.login:
                return AuthResult(user, cookie)
        return AuthResult(
            user,
            _new_session(store, user.login, state.config.session_timeout_ms),
            new_session=True,
        )
    if cookie:
        user = _session_user(state, cookie)
        if user is None:
            if mode == "optional" and path == "/":
                return AuthResult(GUEST)
            raise unauthorized(state, "Session expired or invalid.")
        return AuthResult(user, cookie)
    if mode == "required":
        raise unauthorized(state, "Authentication required.")
    return AuthResult(GUEST)


def finish_response(state: ServerState, auth: AuthResult, response: Response, path: str) -> None:
    """Set ``JSESSIONID`` (new sessions) and ``SESSION_EXPIRATION_TIME`` cookies."""
    if auth.user.login == "guest" or auth.session_id is None:
        return
    if auth.new_session:
        response.headers.add("Set-Cookie", f"JSESSIONID={auth.session_id}; Path=/; HttpOnly")
    rotated = state.faults.take_rotation(path)
    if rotated is not None:
        fresh = _new_session(state.store, auth.user.login, state.config.session_timeout_ms)
        response.headers.add("Set-Cookie", f"JSESSIONID={fresh}; Path={rotated}; HttpOnly")
    now_ms = int(time.time() * 1000)
    response.headers.add(
        "Set-Cookie",
        f'SESSION_EXPIRATION_TIME="{now_ms},{state.config.session_timeout_ms}"; Version=1; Path=/',
    )


# -- access rules ---------------------------------------------------------------------------


def project_access(store: Store, project: str) -> str | None:
    """The accessibility (``private|protected|public``) of ``project`` or ``None``."""
    row = store.one("SELECT accessibility FROM projects WHERE id=?", (project,))
    return str(row[0]) if row is not None else None


def can_read(store: Store, user: User, project: str) -> bool:
    """Whether ``user`` may read data of ``project``."""
    if user.admin:
        return True
    if project_access(store, project) == "public":
        return True
    return user.login != "guest" and store.project_role(project, user.login) is not None


def can_see(store: Store, user: User, project: str) -> bool:
    """Whether ``user`` may see the project itself (``protected`` ones show, data hidden)."""
    return can_read(store, user, project) or project_access(store, project) == "protected"


def can_edit(store: Store, user: User, project: str) -> bool:
    """Whether ``user`` may modify data of ``project``."""
    if user.admin:
        return True
    if user.login == "guest":
        return False
    return store.project_role(project, user.login) in ("owner", "member")


def readable_projects(store: Store, user: User) -> list[str] | None:
    """IDs of the projects ``user`` may read, or ``None`` meaning all (admins)."""
    if user.admin:
        return None
    rows = store.query(
        "SELECT id FROM projects WHERE accessibility = 'public' "
        "OR id IN (SELECT project FROM project_users WHERE login=?)",
        (user.login if user.login != "guest" else "",),
    )
    return [r[0] for r in rows]


def visible_projects(store: Store, user: User) -> list[str] | None:
    """IDs of the projects ``user`` sees in project listings, ``None`` meaning all."""
    readable = readable_projects(store, user)
    if readable is None:
        return None
    rows = store.query("SELECT id FROM projects WHERE accessibility = 'protected'")
    return sorted(set(readable) | {r[0] for r in rows})


# -- endpoints ------------------------------------------------------------------------------


def _jsession_get(ctx: RequestContext) -> Response:
    if ctx.is_guest or ctx.session_id is None:
        raise unauthorized(ctx.state, "Authentication required.")
    body = ctx.session_id
    if ctx.flag("CSRF"):
        body += f"; XNAT_CSRF={secrets.token_hex(16)}"
    return ctx.text(body)


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
    sid = _new_session(ctx.store, user.login, ctx.state.config.session_timeout_ms)
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
        with store.tx() as db:
            cur = db.execute(
                "INSERT INTO alias_tokens(alias, secret, login, created, expires) "
                "VALUES(?,?,?,?,?)",
                (alias, secret, login, now_ms, now_ms + TOKEN_LIFETIME_MS),
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
        user = _token_user(store, rest[0], rest[1])
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
    logins = [x for x in ctx.params["login"].split(",") if x]
    for login in logins:
        if store.get_user(login) is None:
            raise HttpError(404, f"Unknown user {login}")
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


def user_list_open(ctx: RequestContext) -> bool:
    """Whether the caller may list every site user: XNAT's ``restrictUserListAccessToAdmins``
    (``ServerConfig.restrict_user_list``) lets only admins, or every logged-in user when off.
    Guests never may."""
    return not ctx.is_guest and (ctx.is_admin or not ctx.state.config.restrict_user_list)


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
    router.add(["GET", "POST"], "/data/JSESSION", _jsession_get)
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

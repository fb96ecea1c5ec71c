"""Authentication of the local XNAT server: credentials, HTTP sessions and their cookies.

Credentials, in order: HTTP basic (login/password, or alias-token alias/secret), then the
``JSESSIONID`` cookie. Bad basic credentials -> 401 ``Authentication failed.``; a cookie
naming no live session (expired, logged out, or killed by the ``expire_sessions`` fault)
and no basic header -> 401; no credentials at all -> the guest user, who gets past the
login only where the site lets guests in: with the ``requireLogin`` site preference on
(a fresh XNAT's default; ``state.extras["require_login"]``) XNAT's security filter answers
anonymous requests 401 everywhere but its open URLs (:data:`OPEN_URLS`;
``UpdateSecurityFilterHandlerMethod.updateSecurityFilter``: ``/**`` is
``isAuthenticated()`` unless ``requireLogin`` is off).

:func:`authenticate` runs before every handler and :func:`finish_response` after it (the
``JSESSIONID`` and ``SESSION_EXPIRATION_TIME`` cookies). The login, logout and alias-token
endpoints are in :mod:`xnat_sdk.testing._areas.permissions.routes`.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from xnat_sdk.testing._server.routing import AuthMode, HttpError
from xnat_sdk.testing._server.state import ServerState
from xnat_sdk.testing._server.store import GUEST, Store, User

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

URL_SESSION = "xnat.url_session"
"""The environ key of a session id a request named in a ``;jsessionid=`` path parameter."""


def take_path_parameters(environ: WSGIEnvironment) -> None:
    """Tomcat's path parameters (``CoyoteAdapter.parsePathParameters``): every ``;name=value``
    of a path segment in the raw, still encoded URI (``%3B`` is no separator) is removed
    before the path is decoded and routed, and a ``jsessionid`` one names the session
    (Tomcat's URL session tracking, on by default and not switched off in XNAT's
    ``web.xml``), which a ``JSESSIONID`` cookie overrides."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        return
    path = str(raw).encode("latin-1").decode("utf-8", "replace").partition("?")[0]
    if not path.startswith("/") and "://" in path:  # absolute-form request target
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    if ";" not in path:
        return
    kept: list[str] = []
    for segment in path.split("/"):
        name, _, parameters = segment.partition(";")
        kept.append(name)
        for parameter in parameters.split(";") if parameters else ():
            key, _, value = parameter.partition("=")
            if key == "jsessionid" and value and URL_SESSION not in environ:
                environ[URL_SESSION] = value
    environ["PATH_INFO"] = unquote("/".join(kept)).encode("utf-8").decode("latin-1")


__all__ = [
    "AuthResult",
    "authenticate",
    "finish_response",
    "new_session",
    "session_user",
    "token_user",
    "unauthorized",
]


@dataclass
class AuthResult:
    """Who a request is, and which session (if any) it runs in."""

    user: User
    session_id: str | None = None
    new_session: bool = False


def new_session(store: Store, login: str, timeout_ms: int = 900_000) -> str:
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


def session_user(state: ServerState, sid: str) -> User | None:
    store = state.store
    row = store.one("SELECT login, last_access FROM http_sessions WHERE id=?", (sid,))
    if row is None:
        return None
    now = time.time()
    timeout = state.config.session_timeout_ms / 1000
    if now - float(row["last_access"]) > timeout:
        with store.tx() as db:
            db.execute("DELETE FROM http_sessions WHERE id=?", (sid,))
        return None
    # every request refreshes the session (as a servlet container does); written at most
    # every 5 s, or every tenth of a shorter timeout
    if now - float(row["last_access"]) > min(5.0, timeout / 10):
        with store.tx() as db:
            db.execute("UPDATE http_sessions SET last_access=? WHERE id=?", (now, sid))
    if row["login"] == GUEST.login:  # an anonymous session (GET /data/JSESSION)
        return GUEST
    return store.get_user(row["login"])


def token_user(store: Store, alias: str, secret: str) -> User | None:
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
        401,
        message,
        headers={"WWW-Authenticate": f'Basic realm="{state.config.site_id or "XNAT"}"'},
    )


def authenticate(state: ServerState, request: Request, mode: AuthMode, path: str) -> AuthResult:
    """Identify the caller of ``request`` (raises 401 as XNAT does)."""
    if mode == "none":
        return AuthResult(GUEST)
    store = state.store
    cookie = request.cookies.get("JSESSIONID") or request.environ.get(URL_SESSION)
    creds = _basic(request)
    if creds is not None:
        login, password = creds
        user = store.check_password(login, password) or token_user(store, login, password)
        if user is None:
            raise unauthorized(state)
        if cookie:
            current = session_user(state, cookie)
            if current is not None and current.login == user.login:
                return AuthResult(user, cookie)
        return AuthResult(
            user,
            new_session(store, user.login, state.config.session_timeout_ms),
            new_session=True,
        )
    if cookie:
        user = session_user(state, cookie)
        if user is None:
            if mode == "optional" and path == "/":
                return AuthResult(GUEST)
            raise unauthorized(state, "Session expired or invalid.")
        if user.login != GUEST.login:
            return AuthResult(user, cookie)
    if mode == "required" or (state.extras.get("require_login", True) and not is_open(path)):
        raise unauthorized(state, "Authentication required.")
    return AuthResult(GUEST, cookie if cookie else None)


#: XNAT's open URLs (``META-INF/xnat/security/configured-urls.yaml`` ``openUrls``; ``/REST``
#: is already ``/data`` here), the only ones a guest may GET while ``requireLogin`` is on
OPEN_URLS = frozenset(
    {
        "/",
        "/data/JSESSION",
        "/data/services/auth",
        "/data/services/sendemailverification",
        "/xapi/siteConfig/buildInfo",
        "/xapi/siteConfig/siteHome",
        "/xapi/siteConfig/siteId",
        "/xapi/siteConfig/siteLogoPath",
        "/xapi/siteConfig/siteUrl",
    }
)


def is_open(path: str) -> bool:
    """Whether ``path`` is one of XNAT's open URLs (no login needed, whatever the site's
    ``requireLogin``)."""
    return path.rstrip("/") in OPEN_URLS or path == "/"


def finish_response(state: ServerState, auth: AuthResult, response: Response, path: str) -> None:
    """Set ``JSESSIONID`` (new sessions) and ``SESSION_EXPIRATION_TIME`` cookies."""
    if auth.user.login == "guest" or auth.session_id is None:
        return
    if auth.new_session:
        response.headers.add("Set-Cookie", f"JSESSIONID={auth.session_id}; Path=/; HttpOnly")
    rotated = state.faults.take_rotation(path)
    if rotated is not None:
        fresh = new_session(state.store, auth.user.login, state.config.session_timeout_ms)
        response.headers.add("Set-Cookie", f"JSESSIONID={fresh}; Path={rotated}; HttpOnly")
    now_ms = int(time.time() * 1000)
    response.headers.add(
        "Set-Cookie",
        f'SESSION_EXPIRATION_TIME="{now_ms},{state.config.session_timeout_ms}"; Version=1; Path=/',
    )

"""Reading prearchive requests: the session of a URL or of ``src`` parameters, a ``dest``
URI, a ``newProject``."""

from __future__ import annotations

import re
from collections.abc import Mapping

from xnat_sdk.testing._areas.prearchive.access import can_edit, can_view, project_exists
from xnat_sdk.testing._areas.prearchive.model import UNASSIGNED, PrearcSession, find_session
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.params import first, strip_data_prefix
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import Store

__all__ = [
    "check_move_target",
    "parse_archive_dest",
    "resolve_src",
    "session_from_ctx",
    "sources",
]


_PREARC_URI = re.compile(r"^/prearchive/projects/([^/]+)/([^/]+)/([^/]+)/?$")


def resolve_src(store: Store, src: str) -> PrearcSession:
    """The session a ``src`` URI names; 400 for archive URIs, 404 for unknown sessions."""
    path = strip_data_prefix(src)
    m = _PREARC_URI.match(path)
    if m is None:
        if path.startswith("/archive") or path.startswith("/projects"):
            raise HttpError(400, f"Invalid src URI ({src})")
        raise HttpError(404, "Unknown prearchive session.")
    s = find_session(store, m.group(1), m.group(2), m.group(3))
    if s is None:
        raise HttpError(404, f"{path} not found.")
    return s


def session_from_ctx(ctx: RequestContext, *, write: bool = False) -> PrearcSession:
    p, ts, folder = ctx.params["project"], ctx.params["timestamp"], ctx.params["folder"]
    s = find_session(ctx.store, p, ts, folder)
    if s is None:
        raise HttpError(404, f"Unable to find the prearchive session {p}/{ts}/{folder}.")
    allowed = can_edit(ctx.store, ctx.user, p) if write else can_view(ctx, p)
    if not allowed:
        raise HttpError(403, "Unable to modify session data for destination project.")
    return s


def sources(ctx: RequestContext, params: Mapping[str, list[str]]) -> list[PrearcSession]:
    srcs = params.get("src", [])
    if not srcs:
        p, ts, folder = (first(params, k) for k in ("project", "timestamp", "folder"))
        if p and ts and folder:
            srcs = [f"/prearchive/projects/{p}/{ts}/{folder}"]
    if not srcs:
        raise HttpError(404, "Unknown prearchive session.")
    return [resolve_src(ctx.store, src) for src in srcs]


def check_move_target(ctx: RequestContext, new_project: str) -> str:
    if new_project == UNASSIGNED:
        if not ctx.user.admin:
            raise HttpError(403, "Invalid permissions for new project.")
        return UNASSIGNED
    target = project_exists(ctx.store, new_project)
    if target is None:
        raise HttpError(404, f"One or more specified projects does not exist: {new_project}")
    if not can_edit(ctx.store, ctx.user, target):
        raise HttpError(403, "Invalid permissions for new project.")
    return target


_DEST_RE = re.compile(
    r"^/archive/projects/(?P<project>[^/]+)(?:/subjects/(?P<subject>[^/]+)"
    r"(?:/experiments/(?P<experiment>[^/]+))?)?/?$"
)


def parse_archive_dest(dest: str) -> dict[str, str]:
    """``/archive/projects/P[/subjects/S[/experiments/E]]`` -> its parts (400 otherwise)."""
    m = _DEST_RE.match(strip_data_prefix(dest))
    if m is None:
        raise HttpError(400, f"Invalid dest URI ({dest})")
    return {k: v for k, v in m.groupdict().items() if v}

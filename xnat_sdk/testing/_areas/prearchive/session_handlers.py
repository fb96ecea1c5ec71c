"""Prearchive session handlers: ``GET /data/prearchive[/projects[/{P}[,{P2}]]]`` (rows),
``PUT /data/prearchive`` (rebuild all, admins), ``GET|DELETE|POST
/data/prearchive/projects/{P}/{TS}/{FOLDER}`` (the row ``format=json``, the session XML,
``format=zip``; delete; ``action=build|reset-status|move|commit|set-status``)."""

from __future__ import annotations

import html

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.prearchive.access import can_read, project_exists
from xnat_sdk.testing._areas.prearchive.archiver import ArchiveRequest, archive_uri, run_archive
from xnat_sdk.testing._areas.prearchive.documents import session_xml, zip_folder
from xnat_sdk.testing._areas.prearchive.layout import session_dir
from xnat_sdk.testing._areas.prearchive.model import COLUMNS, UNASSIGNED, session_rows
from xnat_sdk.testing._areas.prearchive.params import check_move_target, session_from_ctx
from xnat_sdk.testing._areas.prearchive.sessions import (
    delete_session,
    move_session,
    rebuild_session,
    set_status,
)
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.params import all_params, first
from xnat_sdk.testing._server.routing import HttpError

__all__ = [
    "projects_list",
    "session_delete",
    "session_get",
    "session_post",
    "sessions_list",
    "sessions_rebuild",
]


def sessions_list(ctx: RequestContext) -> Response:
    if ctx.user.admin:
        sessions = session_rows(ctx.store)
    else:
        projects = [
            str(r[0])
            for r in ctx.store.query(
                "SELECT project FROM project_users WHERE login=? AND level IN ('owner','member')",
                (ctx.user.login,),
            )
        ]
        sessions = session_rows(ctx.store, projects)
    tag = ctx.q("tag")
    if tag is not None:
        if not ctx.user.admin:
            raise HttpError(403, "Only site or data administrators may search by tag.")
        sessions = [s for s in sessions if s.tag == tag]
    return ctx.table(COLUMNS, [s.row() for s in sessions])


def sessions_rebuild(ctx: RequestContext) -> Response:
    if not ctx.user.admin:
        raise HttpError(
            403, "Only site or data administrators can request a rebuild of the prearchive."
        )
    for s in session_rows(ctx.store):
        rebuild_session(ctx.store, s)
    return ctx.text("")


def projects_list(ctx: RequestContext) -> Response:
    wanted = [p for p in ctx.params["projects"].split(",") if p]
    canonical: list[str] = []
    for p in wanted:
        if p == UNASSIGNED:
            if not ctx.user.admin:
                raise HttpError(
                    403, f"The current user does not have access to the requested project: {p}"
                )
            canonical.append(p)
            continue
        real = project_exists(ctx.store, p)
        if real is None or not can_read(ctx.store, ctx.user, real):
            raise HttpError(
                403, f"The current user does not have access to the requested project: {p}"
            )
        canonical.append(real)
    sessions = session_rows(ctx.store, canonical)
    return ctx.table(COLUMNS, [s.row() for s in sessions])


def session_get(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx)
    fmt = ctx.format
    if fmt == "json":
        return ctx.table(COLUMNS, [s.row()])
    if fmt in (None, "xml"):
        return ctx.xml(session_xml(ctx.store, s))
    if fmt == "zip":
        return zip_folder(session_dir(ctx.store, s), s.folder, f"{s.folder}.zip")
    if fmt == "html":
        body = f"<html><body><h3>{html.escape(s.url)}</h3></body></html>"
        return ctx.text(body, mimetype="text/html")
    raise HttpError(400, f"Requested type {fmt} is not supported")


def session_delete(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx, write=True)
    if ctx.tail:
        raise HttpError(400, "Invalid path for a prearchive session delete.")
    delete_session(ctx.store, s)
    return ctx.text("")


def session_post(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx, write=True)
    params = all_params(ctx)
    action = first(params, "action")
    if not action:
        raise HttpError(400, "No action parameter was specified for the prearchive session.")
    if action == "build":
        rebuild_session(ctx.store, s)
        return ctx.text(f"/data{s.url}", mimetype="text/uri-list")
    if action == "reset-status":
        set_status(ctx.store, s, "READY")
        return ctx.text(f"/data{s.url}", mimetype="text/uri-list")
    if action == "set-status":
        status = first(params, "status")
        if not status:
            raise HttpError(400, "The set-status action needs a status parameter.")
        set_status(ctx.store, s, status)
        return ctx.text(f"/data{s.url}", mimetype="text/uri-list")
    if action == "move":
        new_project = first(params, "newProject")
        if not new_project:
            raise HttpError(400, "The move action needs a newProject parameter.")
        target = check_move_target(ctx, new_project)
        moved = move_session(ctx.store, s, target)
        return ctx.text(f"/data{moved.url}", status=301, mimetype="text/uri-list")
    if action == "commit":
        built = rebuild_session(ctx.store, s)
        if built.autoarchive in ("AutoArchive", "AutoArchiveOverwrite"):
            req = ArchiveRequest(
                overwrite="append" if built.autoarchive == "AutoArchiveOverwrite" else "none"
            )
            uri = archive_uri(*run_archive(ctx.store, ctx.user, built, req))
            return ctx.text(uri, status=301, mimetype="text/uri-list")
        return ctx.text(f"/data{s.url}", mimetype="text/uri-list")
    raise HttpError(400, f"Unsupported action: {action}")

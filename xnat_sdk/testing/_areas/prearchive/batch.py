"""The batch services: ``POST /data/services/archive`` (archive sessions named by ``src`` or
``project``/``timestamp``/``folder``, to ``dest`` or the given project/subject/label) and
``POST /data/services/prearchive/{move,rebuild,delete}``."""

from __future__ import annotations

from collections.abc import Sequence

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.prearchive.access import can_edit
from xnat_sdk.testing._areas.prearchive.archiver import ArchiveRequest, archive_uri, run_archive
from xnat_sdk.testing._areas.prearchive.documents import rows_response
from xnat_sdk.testing._areas.prearchive.model import PrearcSession
from xnat_sdk.testing._areas.prearchive.params import check_move_target, parse_archive_dest, sources
from xnat_sdk.testing._areas.prearchive.sessions import (
    delete_session,
    move_session,
    rebuild_session,
)
from xnat_sdk.testing._server.context import RequestContext, is_true
from xnat_sdk.testing._server.params import all_params, first
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["archive_sessions", "batch_delete", "batch_move", "batch_rebuild"]


def _check_edit_all(ctx: RequestContext, sessions: Sequence[PrearcSession], verb: str) -> None:
    denied = sorted({s.project for s in sessions if not can_edit(ctx.store, ctx.user, s.project)})
    if denied:
        raise HttpError(
            403,
            f"Invalid permissions for user {ctx.user.login} to {verb} prearchive sessions in "
            f"one or more projects: {', '.join(denied)}",
        )


def batch_delete(ctx: RequestContext) -> Response:
    params = all_params(ctx)
    sessions = sources(ctx, params)
    _check_edit_all(ctx, sessions, "delete")
    for s in sessions:
        delete_session(ctx.store, s)
    return rows_response(ctx, sessions, "QUEUED_DELETING")


def batch_rebuild(ctx: RequestContext) -> Response:
    params = all_params(ctx)
    sessions = sources(ctx, params)
    _check_edit_all(ctx, sessions, "rebuild")
    for s in sessions:
        rebuild_session(ctx.store, s)
    return rows_response(ctx, sessions, "QUEUED_BUILDING")


def batch_move(ctx: RequestContext) -> Response:
    params = all_params(ctx)
    new_project = first(params, "newProject")
    if not new_project:
        raise HttpError(400, "The newProject parameter is required.")
    sessions = sources(ctx, params)
    _check_edit_all(ctx, sessions, "move")
    target = check_move_target(ctx, new_project)
    for s in sessions:
        if s.project != target:
            move_session(ctx.store, s, target)
    return rows_response(ctx, sessions, "QUEUED_MOVING")


def archive_sessions(ctx: RequestContext) -> Response:
    ctx.require_user()
    params = all_params(ctx)
    sessions = sources(ctx, params)
    dest_parts: dict[str, str] = {}
    dest = first(params, "dest")
    if dest:
        dest_parts = parse_archive_dest(dest)
    overwrite = (first(params, "overwrite") or "none").lower()
    req = ArchiveRequest(
        project=first(params, "project", "PROJECT_ID") or dest_parts.get("project"),
        subject=first(params, "subject", "subject_ID", "SUBJECT_ID") or dest_parts.get("subject"),
        label=first(params, "session", "label", "EXPT_LABEL") or dest_parts.get("experiment"),
        overwrite=overwrite if overwrite in ("append", "delete") else "none",
        overwrite_files=is_true(first(params, "overwrite_files")),
        quarantine=is_true(first(params, "quarantine")),
    )
    if len(sessions) > 1:
        done: list[PrearcSession] = []
        for s in sessions:
            run_archive(ctx.store, ctx.user, s, req)
            done.append(s)
        return rows_response(ctx, done, "ARCHIVING")
    s = sessions[0]
    uri = archive_uri(*run_archive(ctx.store, ctx.user, s, req))
    if is_true(first(params, "redirect")):
        resp = ctx.text("", status=303)
        resp.headers["Location"] = ctx.site_url + uri
        return resp
    return ctx.text(uri + "\r\n", mimetype="text/uri-list")

"""Project archive settings XNAT serves beside the project:

* ``GET /data/projects/{P}/prearchive_code`` (``0``/``4``/``5``) and
  ``PUT /data/projects/{P}/prearchive_code/{code}`` (owners; the project's prearchive
  sessions follow: ``Manual``/``AutoArchive``/``AutoArchiveOverwrite``);
* ``GET|PUT /data/projects/{P}/quarantine_code[/{0|1}]``;
* ``GET|PUT /data/projects/{P}/current_arc[/{folder}]``.
"""

from __future__ import annotations

import re

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.prearchive.access import can_read, project_exists
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError, Router
from xnat_sdk.testing._server.store import dumps_data, loads_data

__all__ = ["register"]


def _get_prearchive_code(ctx: RequestContext) -> Response:
    project = project_exists(ctx.store, ctx.params["project"])
    if project is None or not can_read(ctx.store, ctx.user, project):
        raise HttpError(404, f"Unable to find project {ctx.params['project']}.")
    row = ctx.store.one("SELECT data FROM projects WHERE id=?", (project,))
    code = loads_data(row[0]).get("prearchive_code", "0") if row is not None else "0"
    return ctx.text(code if code in ("0", "4", "5") else "0")


def _put_prearchive_code(ctx: RequestContext) -> Response:
    project = project_exists(ctx.store, ctx.params["project"])
    if project is None:
        raise HttpError(404, f"Unable to find project {ctx.params['project']}.")
    if not (ctx.user.admin or ctx.store.project_role(project, ctx.user.login) == "owner"):
        raise HttpError(403, "Only project owners may change the prearchive setting.")
    code = ctx.params["code"]
    if code not in ("0", "4", "5"):
        raise HttpError(400, f"Invalid prearchive code {code}: use 0, 4 or 5.")
    with ctx.store.tx() as db:
        row = db.execute("SELECT data FROM projects WHERE id=?", (project,)).fetchone()
        data = loads_data(row[0]) if row is not None else {}
        data["prearchive_code"] = code
        db.execute("UPDATE projects SET data=? WHERE id=?", (dumps_data(data), project))
        db.execute(
            "UPDATE prearchive_sessions SET autoarchive=? WHERE project=?",
            ({"4": "AutoArchive", "5": "AutoArchiveOverwrite"}.get(code, "Manual"), project),
        )
    return ctx.text("")


def _project_setting(ctx: RequestContext, write: bool) -> str:
    """The project of a settings route, checking read (or owner) access."""
    project = project_exists(ctx.store, ctx.params["project"])
    if project is None or not can_read(ctx.store, ctx.user, project):
        raise HttpError(404, f"Unable to find project {ctx.params['project']}.")
    if write and not (ctx.user.admin or ctx.store.project_role(project, ctx.user.login) == "owner"):
        raise HttpError(403, "Only project owners may change project settings.")
    return project


def _setting_value(ctx: RequestContext, project: str, key: str, default: str) -> str:
    row = ctx.store.one("SELECT data FROM projects WHERE id=?", (project,))
    return loads_data(row[0]).get(key, default) if row is not None else default


def _set_setting(ctx: RequestContext, project: str, key: str, value: str) -> None:
    with ctx.store.tx() as db:
        row = db.execute("SELECT data FROM projects WHERE id=?", (project,)).fetchone()
        data = loads_data(row[0]) if row is not None else {}
        data[key] = value
        db.execute("UPDATE projects SET data=? WHERE id=?", (dumps_data(data), project))


def _get_quarantine_code(ctx: RequestContext) -> Response:
    project = _project_setting(ctx, write=False)
    return ctx.text(_setting_value(ctx, project, "quarantine_code", "0"))


def _put_quarantine_code(ctx: RequestContext) -> Response:
    project = _project_setting(ctx, write=True)
    code = ctx.params["code"]
    if code not in ("0", "1"):
        raise HttpError(400, f"Invalid quarantine code {code}: use 0 or 1.")
    _set_setting(ctx, project, "quarantine_code", code)
    return ctx.text("")


def _get_current_arc(ctx: RequestContext) -> Response:
    project = _project_setting(ctx, write=False)
    return ctx.text(_setting_value(ctx, project, "current_arc", "arc001"))


def _put_current_arc(ctx: RequestContext) -> Response:
    project = _project_setting(ctx, write=True)
    folder = ctx.params["folder"]
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", folder):
        raise HttpError(400, f"Invalid archive folder {folder!r}.")
    _set_setting(ctx, project, "current_arc", folder)
    return ctx.text("")


def register(router: Router) -> None:
    """Register the project archive settings routes."""
    router.add(
        "GET", "/data/projects/{project}/prearchive_code", _get_prearchive_code, archive=True
    )
    router.add(
        "PUT",
        "/data/projects/{project}/prearchive_code/{code}",
        _put_prearchive_code,
        archive=True,
    )
    qc = "/data/projects/{project}/quarantine_code"
    router.add("GET", qc, _get_quarantine_code, archive=True)
    router.add("PUT", qc + "/{code}", _put_quarantine_code, archive=True)
    arc = "/data/projects/{project}/current_arc"
    router.add("GET", arc, _get_current_arc, archive=True)
    router.add("PUT", arc + "/{folder}", _put_current_arc, archive=True)

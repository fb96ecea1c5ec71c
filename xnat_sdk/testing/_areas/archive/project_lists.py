"""The other handlers of ``GET /data/projects`` (xnat-web ``ProjectListResource``): it asks
each of its handlers ``canHandle`` and keeps the last that can, so ``permissions=`` wins over
the filter keys, which win over the default listing.

* ``FilteredProjects`` (``accessible``, ``data``, ``prearc_code``, ``owner``, ``member``,
  ``collaborator``, ``activeSince``, ``recent``, ``favorite``, ``admin``): a
  ``DisplaySearch`` of ``xnat:projectData`` whose columns are its display fields' row IDs
  (``id``, ``name`` ... ``user_role_{xdat_user_id}``, ``last_accessed_{xdat_user_id}``,
  ``DisplayFieldWrapper.getRowID``) and the root's ``quarantine_status``, sorted by
  ``SECONDARY_ID``, with the meta ``title: Projects``, ``xdat_user_id`` and ``totalRecords``.
* ``PermissionsProjectHandler`` (``permissions=read|create|edit|delete|active`` and
  ``dataType``): ``id`` and ``secondary_id`` of the projects whose group gives the user (or
  the guest: public projects, read only) that action on the data type
  (``DefaultGroupsAndPermissionsCache.getProjectsForDatatypeAction``), by ``secondary_id``,
  no meta; an all-data admin gets every project. A missing or unknown action or data type
  throws: 500.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.xsd import schema_of
from xnat_sdk.testing._areas.permissions.access import all_data_admin, visible_projects
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import loads_data

__all__ = ["project_list_handler"]

#: the keys that select ``FilteredProjects`` (``containsQueryVariable``)
FILTER_KEYS = (
    "accessible",
    "data",
    "prearc_code",
    "owner",
    "member",
    "collaborator",
    "activeSince",
    "recent",
    "favorite",
    "admin",
)

#: what each role's group may do with the data of its project (XNAT's default groups:
#: ``UserGroupManager``), and the guest with a public project's
_ACTIONS = {
    "owner": {"read", "create", "edit", "delete", "active"},
    "member": {"read", "create", "edit"},
    "collaborator": {"read"},
    "public": {"read"},
}

#: ``USER_ROLE``: the display name of the user's group in the project
_ROLE_NAMES = {"owner": "Owners", "member": "Members", "collaborator": "Collaborators"}

_Project = Callable[[sqlite3.Row, "str | None"], bool]


def project_list_handler(ctx: RequestContext) -> Callable[[RequestContext], Response] | None:
    """The handler ``ProjectListResource.represent`` picks for the request (None: the
    default listing). ``format=search_xml`` (a stored search document) is not served here."""
    if "permissions" in ctx.request.args:
        return _permissions_projects
    if any(key in ctx.request.args for key in FILTER_KEYS):
        return _filtered_projects
    return None


def _roles(ctx: RequestContext) -> dict[str, str]:
    rows = ctx.store.query(
        "SELECT project, level FROM project_users WHERE login=?", (ctx.user.login,)
    )
    return {str(r[0]): str(r[1]) for r in rows}


def _permissions_projects(ctx: RequestContext) -> Response:
    action = ctx.q("permissions") or ""
    data_type = ctx.q("dataType") or ""
    if action not in ("read", "create", "edit", "delete", "active"):
        raise HttpError(500, None)  # "You must specify one of the following values ..."
    if schema_of(ctx).canonical(data_type) is None:
        raise HttpError(500, None)  # SchemaElement.GetElement throws
    roles = _roles(ctx) if not ctx.is_guest else {}
    rows = []
    for p in ctx.store.query("SELECT id, secondary_id, accessibility FROM projects"):
        role = roles.get(str(p["id"]))
        granted = _ACTIONS.get(role or "", set()) | (
            _ACTIONS["public"] if p["accessibility"] == "public" else set()
        )
        if all_data_admin(ctx.user) or action in granted:
            rows.append({"id": p["id"], "secondary_id": p["secondary_id"]})
    rows.sort(key=lambda r: str(r["secondary_id"]))
    return ctx.table(["id", "secondary_id"], rows)


def _criteria(ctx: RequestContext, all_data: bool) -> list[_Project]:
    """The criteria ``FilteredProjects`` ANDs (an OR of the role keys among them)."""
    found: list[_Project] = []
    data = ctx.q("data") or ""
    if data and data.lower() not in ("readable", "writable"):
        # the ResourceException it throws is caught as any exception: 500
        raise HttpError(500, None)
    if not all_data and data == "writable":
        found.append(lambda p, role: role in ("owner", "member"))
    elif not all_data and data == "readable":
        found.append(lambda p, role: role is not None or p["accessibility"] == "public")
    access = ctx.q("accessible") or ""
    if access and not all_data:
        found.append(lambda p, role: role is not None or p["accessibility"] != "private")
    if access.lower() == "false":  # PROJECT_USERS NOT LIKE '% login %' OR IS NULL
        found.append(lambda p, role: role is None)
    either = _role_criteria(ctx, all_data)
    if either:
        found.append(lambda p, role: any(c(p, role) for c in either))
    return found


def _role_criteria(ctx: RequestContext, all_data: bool) -> list[_Project]:
    """The ORed criteria: ``owner``/``member``/``collaborator`` ``true`` (the user's role
    is that one), another value (NOT LIKE the user among the project's users, owners' own
    key, or among its members or collaborators: a project with none matches neither);
    ``admin`` (all projects, for an all-data admin); ``recent``, ``favorite`` (none here: no
    access history, no favourites)."""
    either: list[_Project] = []
    levels = {"owner": "owner", "member": "member", "collaborator": "collaborator"}
    for key, level in levels.items():
        value = ctx.q(key)
        if value is None:
            continue
        if value.lower() == "true":
            either.append(_has_role(level))
        elif key == "owner":
            either.append(lambda p, role: role is None and bool(p["has_users"]))
        else:
            either.append(_lacks_role(level))
    if ctx.q("admin") is not None and ctx.flag("admin") and all_data:
        either.append(lambda p, role: True)
    for key in ("recent", "favorite"):
        if ctx.q(key) is not None:
            either.append(lambda p, role: False)
    return either


def _has_role(level: str) -> _Project:
    return lambda p, role: role == level


def _lacks_role(level: str) -> _Project:
    """``PROJECT_MEMBERS`` (or ``_COLLABS``) ``NOT LIKE '% login %'``: NULL, no match, for a
    project without such users."""
    return lambda p, role: role != level and level in str(p["levels"] or "")


def _filtered_row(ctx: RequestContext, p: sqlite3.Row, role: str | None) -> dict[str, str]:
    """One row of ``FilteredProjects``: its display fields' values."""
    data = loads_data(p["data"])
    first, last = data.get("PI/firstname"), data.get("PI/lastname")
    uid = ctx.user.xdat_user_id
    row = {
        "id": p["id"],
        "name": p["name"],
        "description": p["description"] or "",
        "secondary_id": p["secondary_id"],
        # PI: firstname || ' ' || lastname (NULL when either is); PROJECT_INVS: the PI's and
        # investigators' "lastname, firstname" joined by " <br/> "
        "pi": f"{first} {last}" if first and last else "",
        "project_invs": f"{last}, {first}" if first and last else "",
        "project_access": p["accessibility"],
        "project_access_img": "/@WEBAPPimages/"
        + ("globe.gif" if p["accessibility"] == "public" else "key.gif"),
        "insert_date": p["insert_date"] or "",
        "insert_user": p["insert_user"] or "",
        f"user_role_{uid}": _ROLE_NAMES.get(role or "", ""),
        f"last_accessed_{uid}": "",
    }
    if ctx.flag("prearc_code"):
        row["proj_quarantine"] = data.get("quarantine_code") or "0"
        row["proj_prearchive_code"] = data.get("prearchive_code") or "4"
    row["quarantine_status"] = "active"
    return row


def _filtered_projects(ctx: RequestContext) -> Response:
    all_data = all_data_admin(ctx.user)
    criteria = _criteria(ctx, all_data)
    seen = None if all_data else set(visible_projects(ctx.store, ctx.user) or [])
    roles = _roles(ctx) if not ctx.is_guest else {}
    sql = (
        "SELECT p.*, (SELECT group_concat(level) FROM project_users u WHERE u.project=p.id)"
        " AS levels, EXISTS(SELECT 1 FROM project_users u WHERE u.project=p.id) AS has_users"
        " FROM projects p"
    )
    rows = []
    for p in ctx.store.query(sql):
        role = roles.get(str(p["id"]))
        if seen is not None and p["id"] not in seen:
            continue
        if all(c(p, role) for c in criteria):
            rows.append(_filtered_row(ctx, p, role))
    rows.sort(key=lambda r: (r["secondary_id"].lower(), r["secondary_id"]))
    columns = _filtered_row_keys(ctx)
    meta = {"title": "Projects", "xdat_user_id": ctx.user.xdat_user_id, "totalRecords": len(rows)}
    return ctx.table(columns, rows, meta=meta)


def _filtered_row_keys(ctx: RequestContext) -> list[str]:
    uid = ctx.user.xdat_user_id
    keys = ["id", "name", "description", "secondary_id", "pi", "project_invs"]
    keys += ["project_access", "project_access_img", "insert_date", "insert_user"]
    keys += [f"user_role_{uid}", f"last_accessed_{uid}"]
    if ctx.flag("prearc_code"):
        keys += ["proj_quarantine", "proj_prearchive_code"]
    return [*keys, "quarantine_status"]

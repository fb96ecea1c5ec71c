"""Project handlers: ``/data/projects`` (listing), ``/data/projects/{P}`` (GET
``format=json|xml``, ``.../accessibility``; PUT create/update, ``.../accessibility/{level}``;
DELETE with everything in it)."""

from __future__ import annotations

import sqlite3

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.changes import (
    apply_custom,
    canonical_paths,
    merge_data,
    parse_changes,
)
from xnat_sdk.testing._areas.archive.documents import project_node
from xnat_sdk.testing._areas.archive.lookup import (
    find_project,
    project_hidden,
    require_edit,
    resolve,
)
from xnat_sdk.testing._areas.archive.model import (
    VALID_ID,
    create_project,
    delete_experiment,
    delete_resources,
    delete_subject,
)
from xnat_sdk.testing._areas.archive.project_lists import project_list_handler
from xnat_sdk.testing._areas.archive.tables import answer
from xnat_sdk.testing._areas.archive.views import represent
from xnat_sdk.testing._areas.archive.xsd import schema_of
from xnat_sdk.testing._areas.permissions.access import (
    all_data_admin,
    can_edit,
    can_see,
    listed_projects,
)
from xnat_sdk.testing._areas.site_config.preferences import get_value
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import dumps_data, loads_data

__all__ = ["project_delete", "project_get", "project_list", "project_put"]


def project_list(ctx: RequestContext) -> Response:
    """``ProjectListResource``'s default handler: an all-data admin (or a site admin asking
    ``allDataOverride=true``, ``Boolean.parseBoolean``) gets every project and the request's
    filters; anyone else the projects they may read (``restrict=edit`` or ``delete``: those
    they may edit or delete, which they own), the readable-projects criterion replacing the
    request's (``qo.setWhere``), so their filters are ignored. The filter keys and
    ``permissions=`` have their own handlers (:mod:`.project_lists`)."""
    handler = project_list_handler(ctx)
    if handler is not None:
        return handler(ctx)
    store = ctx.store
    override = ctx.user.admin and (ctx.q("allDataOverride") or "").lower() == "true"
    all_data = all_data_admin(ctx.user) or override
    allowed = listed_projects(store, ctx.user, all_data)
    if allowed is not None and ctx.q("restrict") in ("edit", "delete"):
        # Permissions.getAllowedValues on xnat:projectData/ID for that action: the owners'
        # group has it, the members' and collaborators' groups and the guest do not
        allowed = [p for p in allowed if store.project_role(p, ctx.user.login) == "owner"]
    rows = []
    for p in store.query("SELECT * FROM projects ORDER BY rowid"):
        if allowed is not None and p["id"] not in allowed:
            continue
        data = loads_data(p["data"])
        rows.append(
            (
                {
                    "ID": p["id"],
                    "secondary_ID": p["secondary_id"],
                    "name": p["name"],
                    "description": p["description"],
                    "pi_firstname": data.get("PI/firstname", ""),
                    "pi_lastname": data.get("PI/lastname", ""),
                    "insert_date": p["insert_date"],
                    "insert_user": p["insert_user"],
                    "accessibility": p["accessibility"],
                    "URI": f"/data/projects/{p['id']}",
                },
                data,
            )
        )
    return answer(
        ctx,
        "project",
        rows,
        ["ID", "secondary_ID", "name", "description", "pi_firstname", "pi_lastname", "URI"],
        pk_column="ID",
        filters=all_data,
    )


def _accessibility_project(ctx: RequestContext) -> sqlite3.Row:
    """The project of ``ProjectAccessibilityResource``: the one the user's project lookup
    finds (``getProjectByIDorAlias(id, user)``), else 404 with its message."""
    ref = ctx.params["project"]
    row = find_project(ctx.store, ref)
    if row is None or (not ctx.is_admin and not can_see(ctx.store, ctx.user, str(row["id"]))):
        raise HttpError(404, f"Could not find the project with ID '{ref}'")
    return row


def _accessibility_put(ctx: RequestContext, tail: str) -> Response:
    """``PUT .../accessibility/{level}`` (``ProjectAccessibilityResource.handlePut``): the
    user must be able to delete the project (its owner; 403 without a message), non-private
    projects must be allowed (``securityAllowNonPrivateProjects``, else 403). ``public`` and
    ``protected`` (case kept) are those levels, any other value makes the project private
    (``PermissionsServiceImpl.setAccessibilityInternal``). Answers the level now in force
    (``getPublicAccessibility``, text)."""
    level = tail.partition("/")[2]
    if not level:
        raise HttpError(400, "You must specify the ACCESS_ID parameter for this PUT call")
    row = _accessibility_project(ctx)
    pid = str(row["id"])
    if not (all_data_admin(ctx.user) or ctx.store.project_role(pid, ctx.user.login) == "owner"):
        raise HttpError(403, None)
    allowed = get_value(ctx.store, "securityAllowNonPrivateProjects")
    if allowed is not None and not allowed:
        raise HttpError(403, None)
    stored = level if level in ("public", "protected") else "private"
    with ctx.store.tx() as db:
        db.execute("UPDATE projects SET accessibility=? WHERE id=?", (stored, pid))
    return ctx.text(stored)


def project_get(ctx: RequestContext) -> Response:
    if ctx.tail.strip("/") == "accessibility":
        return ctx.text(_accessibility_project(ctx)["accessibility"])
    row = find_project(ctx.store, ctx.params["project"])
    if row is not None and not can_see(ctx.store, ctx.user, row["id"]):
        row = resolve(ctx).project  # raises XNAT's 403/404
    if row is None:
        raise HttpError(404, f"Unable to identify project {ctx.params['project']}")
    if ctx.tail.strip("/"):
        raise HttpError(404, None)
    return represent(ctx, project_node(ctx.store, row))


def project_put(ctx: RequestContext) -> Response:
    store = ctx.store
    ref = ctx.params["project"]
    tail = ctx.tail.strip("/")
    existing = find_project(store, ref)
    if tail == "accessibility" or tail.startswith("accessibility/"):
        return _accessibility_put(ctx, tail)
    if tail:
        raise HttpError(400, "Unsupported project sub-path.")
    ctx.require_user()
    _check_put_rights(ctx, existing, ref)
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "project", schema)
    ch.data = canonical_paths(schema, "xnat:projectData", ch.data)
    access = ctx.q("accessibility")
    if access is not None and access not in ("private", "protected", "public"):
        raise HttpError(400, f"Unknown accessibility {access}")
    if existing is None:
        if not VALID_ID.match(ref):
            raise HttpError(417, "Invalid character in project ID.")
        sec = ch.data.pop("secondary_ID", None) or ref
        name = ch.data.pop("name", None) or sec
        desc = ch.data.pop("description", None) or ""
        for k in ("ID",):
            ch.data.pop(k, None)
        with store.tx() as db:
            clash = db.execute(
                "SELECT id FROM projects WHERE secondary_id=? OR name=?", (sec, name)
            ).fetchone()
            if clash is not None:
                raise HttpError(
                    409, f"Requested new project conflicts with existing projects: {clash[0]}"
                )
            create_project(
                store,
                db,
                ref,
                name=name,
                secondary_id=sec,
                description=desc,
                accessibility=access or "private",
                # XNAT's initArcProject gives a new project the site's defaultPrearchiveCode,
                # 4 (auto-archive) unless configured otherwise
                data={
                    "prearchive_code": "4",
                    **{k: v for k, v in ch.data.items() if v is not None},
                },
                user=ctx.user.login,
            )
            apply_custom(db, "project", ref, ch.custom)
        return ctx.text("")
    pid = existing["id"]
    require_edit(ctx, pid)
    with store.tx() as db:
        cols = {"name": "name", "secondary_ID": "secondary_id", "description": "description"}
        for key, col in cols.items():
            if key in ch.data:
                db.execute(f"UPDATE projects SET {col}=? WHERE id=?", (ch.data.pop(key) or "", pid))
        ch.data.pop("ID", None)
        data = merge_data(loads_data(existing["data"]), ch.data)
        db.execute("UPDATE projects SET data=? WHERE id=?", (dumps_data(data), pid))
        if access:
            db.execute("UPDATE projects SET accessibility=? WHERE id=?", (access, pid))
        apply_custom(db, "project", pid, ch.custom)
    return ctx.text("")


def _check_put_rights(ctx: RequestContext, existing: sqlite3.Row | None, ref: str) -> None:
    """``ProjectResource.handlePut``'s refusals (403), in its order. The project it works on
    is the one the user's project lookup finds (``getProjectByIDorAlias(id, user)``): none
    for a missing project or one hidden from the user (private, not theirs), which XNAT
    then takes for a new project: refused when non-admins may not create projects
    (``uiAllowNonAdminProjectCreation``), else refused as the item it builds has a database
    version the user may not edit (``Permissions.canEdit``). A project the user sees but may
    not edit (protected, or a collaborator's) is refused by ``canEditProject``."""
    user = ctx.user
    if ctx.is_admin:
        return
    found = existing is not None and can_see(ctx.store, user, str(existing["id"]))
    allowed = get_value(ctx.store, "uiAllowNonAdminProjectCreation")
    if not found and allowed is not None and not allowed:
        raise HttpError(
            403, f"User {user.login} doesn't have permission to create projects on this system"
        )
    if existing is None or can_edit(ctx.store, user, str(existing["id"])):
        return
    if found:
        raise HttpError(403, f"User {user.login} doesn't have permission to edit the project {ref}")
    raise HttpError(403, "User account doesn't have permission to edit this project.")


def project_delete(ctx: RequestContext) -> Response:
    if project_hidden(ctx):
        # ProjectResource.handleDelete: no project found for the user (missing or hidden)
        raise HttpError(400, None)
    chain = resolve(ctx)
    assert chain.project is not None
    if ctx.tail.strip("/"):
        raise HttpError(400, "Unsupported project sub-path.")
    pid = chain.project["id"]
    store = ctx.store
    if not (ctx.is_admin or store.project_role(pid, ctx.user.login) == "owner"):
        raise HttpError(403, "Only project owners may delete a project.")
    remove = ctx.flag("removeFiles")
    with store.tx() as db:
        for s in db.execute("SELECT id FROM subjects WHERE project=?", (pid,)).fetchall():
            delete_subject(store, db, s[0], remove)
        for e in db.execute("SELECT id FROM experiments WHERE project=?", (pid,)).fetchall():
            delete_experiment(store, db, e[0], remove)
        delete_resources(store, db, "project", pid, remove)
        db.execute("DELETE FROM shares WHERE project=?", (pid,))
        db.execute("DELETE FROM project_users WHERE project=?", (pid,))
        db.execute("DELETE FROM custom_fields WHERE kind='project' AND owner_id=?", (pid,))
        db.execute("DELETE FROM projects WHERE id=?", (pid,))
    return ctx.text("")

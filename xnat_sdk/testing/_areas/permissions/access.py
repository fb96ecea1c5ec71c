"""Access rules of the local XNAT server, used by every area.

Admins everything; project members (owner/member/collaborator) read; owners and members
edit; guests and non-members read ``public`` projects; ``protected`` projects are listed and
their own document is readable, but their data is not; ``/data/projects`` lists every
project to an all-data admin only (:func:`listed_projects`). Listing the site's users follows
XNAT's ``restrictUserListAccessToAdmins`` (:func:`user_list_open`).
"""

from __future__ import annotations

from dataclasses import replace

from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.store import Store, User

__all__ = [
    "all_data_admin",
    "can_edit",
    "can_read",
    "can_read_object",
    "can_see",
    "listed_projects",
    "project_access",
    "readable_projects",
    "readable_through_shares",
    "user_list_open",
    "visible_projects",
]


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


def can_read_object(store: Store, user: User, kind: str, object_id: str, project: str) -> bool:
    """Whether ``user`` may read subject/experiment ``object_id`` (primary ``project``): XNAT
    gives every project group read access to the objects *shared* into its project too
    (``XdatUsergroup.init``: a field mapping on ``{type}/sharing/share/project`` with read
    and nothing else), so a reader of a sharing project reads the object by any URL, its
    accession ID included, though the primary project is closed to them."""
    if can_read(store, user, project):
        return True
    rows = store.query("SELECT project FROM shares WHERE kind=? AND object_id=?", (kind, object_id))
    return any(can_read(store, user, str(r[0])) for r in rows)


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


def readable_through_shares(store: Store, user: User, kind: str) -> set[str]:
    """IDs of the subjects/experiments (``kind``) shared into a project ``user`` may read
    (readable by them wherever their primary project is: :func:`can_read_object`)."""
    readable = readable_projects(store, user)
    rows = store.query("SELECT object_id, project FROM shares WHERE kind=?", (kind,))
    return {str(r[0]) for r in rows if readable is None or r[1] in readable}


def visible_projects(store: Store, user: User) -> list[str] | None:
    """IDs of the projects ``user`` sees in project listings, ``None`` meaning all."""
    readable = readable_projects(store, user)
    if readable is None:
        return None
    rows = store.query("SELECT id FROM projects WHERE accessibility = 'protected'")
    return sorted(set(readable) | {r[0] for r in rows})


def all_data_admin(user: User) -> bool:
    """Whether ``user`` is in XNAT's ``ALL_DATA_ADMIN`` group (``Groups.ALL_DATA_ADMIN_GROUP``):
    the site admin XNAT creates at installation, ``admin`` (``init_security_000.sql`` puts
    user 1 in it). A site admin made later (``admin=True``, the XAPI's ``Administrator`` role)
    has the role only: XNAT adds no one to the group with it."""
    return user.admin and user.login == "admin"


def listed_projects(store: Store, user: User, all_data: bool) -> list[str] | None:
    """The projects ``/data/projects`` lists for ``user`` (``ProjectListResource``'s default
    handler), ``None`` meaning all: every project for an all-data admin (``all_data``: a
    member of the group, or a site admin asking ``allDataOverride=true``), else the
    projects ``Permissions.getAllowedValues`` names, which for a site admin outside the group
    are those of their own groups and the open ones, as for any user (XNAT's project
    permissions come from groups, not from the site admin role)."""
    if all_data:
        return None
    return visible_projects(store, replace(user, admin=False))


def user_list_open(ctx: RequestContext) -> bool:
    """Whether the caller may list every site user: XNAT's ``restrictUserListAccessToAdmins``
    (``ServerConfig.restrict_user_list``) lets only admins, or every logged-in user when off.
    Guests never may."""
    return not ctx.is_guest and (ctx.is_admin or not ctx.state.config.restrict_user_list)

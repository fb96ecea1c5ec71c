"""Who may see or change a project's prearchive: the archive's rules, and admins only for
the ``Unassigned`` folder."""

from __future__ import annotations

from xnat_sdk.testing._areas.archive.lookup import find_project
from xnat_sdk.testing._areas.permissions import access as permissions
from xnat_sdk.testing._areas.prearchive.model import UNASSIGNED
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.store import Store, User

__all__ = ["can_edit", "can_read", "can_view", "project_exists"]


def project_exists(store: Store, project: str) -> str | None:
    """The canonical project ID for an ID or secondary ID (as the archive resolves them)."""
    row = find_project(store, project)
    return str(row["id"]) if row is not None else None


def can_edit(store: Store, user: User, project: str) -> bool:
    """Admins, owners and members may change a project's data (and its prearchive)."""
    if project == UNASSIGNED:
        return user.admin
    return permissions.can_edit(store, user, project)


def can_read(store: Store, user: User, project: str) -> bool:
    """Whoever may read a project's data, by the archive's rules (Unassigned: admins)."""
    if project == UNASSIGNED:
        return user.admin
    return permissions.can_read(store, user, project)


def can_view(ctx: RequestContext, project: str) -> bool:
    return ctx.user.admin or can_edit(ctx.store, ctx.user, project)

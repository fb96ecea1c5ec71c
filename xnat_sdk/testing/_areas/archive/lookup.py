"""Resolving archive URLs (``{project}``, ``{subject}``, ``{experiment}``, ``{scan}``, ...) to rows.

Route params named ``project``, ``subject``, ``experiment``, ``scan``, ``recon`` and
``assessor`` are looked up in that order with XNAT's rules: a project by ID or secondary ID;
under a project, a subject/experiment by accession ID or by label (its own label in its
primary project, or the share label in a sharing project: a share made without a label is
found there by accession ID only, as XNAT's ``GetExptByProjectIdentifier`` /
``GetSubjectByProjectIdentifier`` match a share's own label); at top level by accession ID
only; scans and reconstructions by their ID within the experiment; assessors by ID or label.
Missing objects raise 404 with XNAT's messages; unreadable private projects raise 403 for
logged-in users and 404 for guests.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from xnat_sdk.testing._areas.permissions.access import (
    can_edit,
    can_read,
    can_read_object,
    can_see,
)
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import Store, loads_data

__all__ = [
    "Chain",
    "find_project",
    "project_hidden",
    "project_row",
    "require_edit",
    "resolve",
]


@dataclass
class Chain:
    """The objects named by a URL (``None`` when absent from it)."""

    project: sqlite3.Row | None = None
    subject: sqlite3.Row | None = None
    experiment: sqlite3.Row | None = None
    scan: sqlite3.Row | None = None
    recon: sqlite3.Row | None = None
    assessor: sqlite3.Row | None = None
    #: whether the URL named a subject segment (affects canonical file URIs)
    has_subject_segment: bool = False

    @property
    def context_project(self) -> str | None:
        """The project of the URL (may be a sharing project)."""
        return str(self.project["id"]) if self.project is not None else None

    def owner_project(self) -> str | None:
        """The primary project of the deepest archivable object."""
        for row in (self.assessor, self.experiment, self.subject, self.project):
            if row is not None:
                return str(row["project"] if "project" in row else row["id"])
        return None

    def label_in_context(self, kind: str, store: Store) -> str:
        """The label of the subject/experiment/assessor as seen from the URL's project."""
        row = {"subject": self.subject, "experiment": self.experiment, "assessor": self.assessor}[
            kind
        ]
        assert row is not None
        ctx = self.context_project
        if ctx is None or ctx == row["project"]:
            return str(row["label"])
        share = store.one(
            "SELECT label FROM shares WHERE kind=? AND object_id=? AND project=?",
            ("subject" if kind == "subject" else "experiment", row["id"], ctx),
        )
        # a share without a label of its own shows the object's (XNAT's listings)
        return str(share[0]) if share is not None and share[0] else str(row["label"])


def find_project(store: Store, ref: str) -> sqlite3.Row | None:
    """The project row for ID or secondary ID ``ref``."""
    row = store.one("SELECT * FROM projects WHERE id=?", (ref,))
    if row is None:
        row = store.one("SELECT * FROM projects WHERE secondary_id=?", (ref,))
    return row


def _check_read(ctx: RequestContext, project: str, hidden_as: str = "project") -> None:
    """404 for a project the user may not see, as XNAT 1.8 answers: its project lookup
    (``XnatProjectdata.getProjectByIDorAlias`` through ``DefaultUserProjectCache.get``)
    returns null for a project the user has no read access to, and the resources answer
    "Unable to identify project" to a GET; 403 for a protected project's data.

    A write into a project the user may not see finds nothing either: the file and resource
    handlers (xnat-web ``restlet/resources/files/XNATTemplate``) answer 404 "Unable to
    identify project" (with ``PROJECT_ID`` in the URL) or "Unable to identify {hidden_as}"
    (a subject or experiment named by its accession ID, looked up with the user's rights);
    a subject or experiment PUT answers its own (``subjects.subject_put``,
    ``experiments.experiment_put``)."""
    if not can_read(ctx.store, ctx.user, project):
        hidden = not can_see(ctx.store, ctx.user, project)
        if ctx.is_guest or (hidden and ctx.method in ("GET", "HEAD")):
            raise HttpError(404, f"Unable to identify project {project}")
        if hidden:
            raise HttpError(404, f"Unable to identify {hidden_as}")
        raise HttpError(403, f"Access denied: you have no access to project {project}.")


def _check_read_object(ctx: RequestContext, kind: str, row: sqlite3.Row) -> None:
    """As :func:`_check_read` for the primary project of a subject/experiment named by its
    accession ID alone, but a reader of a project it is shared into may read it."""
    if not can_read_object(ctx.store, ctx.user, kind, str(row["id"]), str(row["project"])):
        _check_read(ctx, str(row["project"]), hidden_as=kind)


def project_hidden(ctx: RequestContext) -> bool:
    """Whether the URL's ``{project}`` is one XNAT's project lookup does not find for the
    user: missing, or private to them (not readable, not listed); never for a guest, whom
    XNAT redirects or refuses before."""
    ref = ctx.params.get("project")
    if ref is None or ctx.is_guest:
        return False
    row = find_project(ctx.store, ref)
    if row is None:
        return True
    pid = str(row["id"])
    return not can_read(ctx.store, ctx.user, pid) and not can_see(ctx.store, ctx.user, pid)


def require_edit(ctx: RequestContext, project: str) -> None:
    """403 unless the user may modify data of ``project``."""
    if not can_edit(ctx.store, ctx.user, project):
        raise HttpError(403, "User account doesn't have permission to modify this session.")


def project_row(ctx: RequestContext, ref: str) -> sqlite3.Row:
    """The readable project ``ref`` (404/403)."""
    row = find_project(ctx.store, ref)
    if row is None:
        raise HttpError(404, f"Unable to identify project {ref}")
    _check_read(ctx, str(row["id"]))
    return row


def _in_project(store: Store, table: str, kind: str, project: str, ref: str) -> sqlite3.Row | None:
    row = store.one(f"SELECT * FROM {table} WHERE id=?", (ref,))
    if row is not None:
        if row["project"] == project:
            return row
        shared = store.one(
            "SELECT 1 FROM shares WHERE kind=? AND object_id=? AND project=?",
            (kind, ref, project),
        )
        if shared is not None:
            return row
    row = store.one(f"SELECT * FROM {table} WHERE project=? AND label=?", (project, ref))
    if row is not None:
        return row
    share = store.one(
        "SELECT object_id FROM shares WHERE kind=? AND project=? AND label=?", (kind, project, ref)
    )
    if share is not None:
        return store.one(f"SELECT * FROM {table} WHERE id=?", (share[0],))
    return None


def resolve(ctx: RequestContext, *, upto: str | None = None) -> Chain:
    """Resolve the archive params of ``ctx`` (stop before ``upto`` when given)."""
    p = ctx.params
    store = ctx.store
    chain = Chain()
    order = ["project", "subject", "experiment", "scan", "recon", "assessor"]
    wanted = order if upto is None else order[: order.index(upto)]
    if "project" in p and "project" in wanted:
        chain.project = project_row(ctx, p["project"])
    if "subject" in p and "subject" in wanted:
        chain.has_subject_segment = True
        ref = p["subject"]
        if chain.project is not None:
            chain.subject = _in_project(store, "subjects", "subject", chain.project["id"], ref)
            if chain.subject is None:
                raise HttpError(
                    404,
                    "Unable to find the specified subject. The project "
                    f"{chain.project['id']} does not contain a subject identifiable by the "
                    f"ID or label {ref}.",
                )
        else:
            chain.subject = store.one("SELECT * FROM subjects WHERE id=?", (ref,))
            if chain.subject is None:
                raise HttpError(
                    404,
                    "Unable to find the specified subject. When searching by subject ID only, "
                    f"you must specify the accession number and not the subject label. {ref} "
                    "is not a known subject accession ID.",
                )
            _check_read_object(ctx, "subject", chain.subject)
    if "experiment" in p and "experiment" in wanted:
        ref = p["experiment"]
        row: sqlite3.Row | None
        if chain.project is not None:
            row = _in_project(store, "experiments", "experiment", chain.project["id"], ref)
        else:
            row = store.one("SELECT * FROM experiments WHERE id=?", (ref,))
            if row is not None:
                _check_read_object(ctx, "experiment", row)
        if row is None or (chain.subject is not None and row["subject_id"] != chain.subject["id"]):
            raise HttpError(404, "Unable to find the specified experiment.")
        chain.experiment = row
    if chain.experiment is not None:
        eid = chain.experiment["id"]
        if "scan" in p and "scan" in wanted:
            chain.scan = store.one(
                "SELECT * FROM scans WHERE experiment_id=? AND id=?", (eid, p["scan"])
            )
            if chain.scan is None:
                raise HttpError(404, "Unable to find the specified scan.")
        if "recon" in p and "recon" in wanted:
            chain.recon = store.one(
                "SELECT * FROM reconstructions WHERE experiment_id=? AND id=?", (eid, p["recon"])
            )
            if chain.recon is None:
                raise HttpError(404, "Unable to find the specified reconstruction.")
        if "assessor" in p and "assessor" in wanted:
            ref = p["assessor"]
            a = store.one("SELECT * FROM experiments WHERE id=? AND session_id=?", (ref, eid))
            if a is None:
                proj = chain.context_project or chain.experiment["project"]
                cand = _in_project(store, "experiments", "experiment", proj, ref)
                if cand is not None and cand["session_id"] == eid:
                    a = cand
            if a is None:
                raise HttpError(404, "Unable to find the specified assessor.")
            chain.assessor = a
    return chain


def data_of(row: sqlite3.Row) -> dict[str, str]:
    """The decoded ``data`` column of a row."""
    return loads_data(row["data"])

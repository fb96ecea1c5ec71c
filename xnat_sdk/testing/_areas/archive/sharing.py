"""Sharing a subject or an experiment into another project (``PUT .../projects/{P2}``,
with ``label=``), or moving it there (``primary=true``)."""

from __future__ import annotations

import sqlite3

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.documents import experiment_node, subject_node
from xnat_sdk.testing._areas.archive.lookup import find_project, require_edit, resolve
from xnat_sdk.testing._areas.archive.model import add_share
from xnat_sdk.testing._areas.archive.views import represent
from xnat_sdk.testing._areas.permissions.access import can_edit
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["share"]


def share(ctx: RequestContext, kind: str) -> Response:
    tail = ctx.tail.strip("/")
    if not tail.startswith("projects/"):
        raise HttpError(400, "Unsupported sub-path.")
    dest_ref = tail.split("/", 1)[1]
    chain = resolve(ctx)
    row = chain.subject if kind == "subject" else (chain.assessor or chain.experiment)
    assert row is not None
    store = ctx.store
    dest = find_project(store, dest_ref)
    if dest is None:
        raise HttpError(404, f"Unable to identify project: {dest_ref}")
    dest_id = dest["id"]
    if not can_edit(store, ctx.user, dest_id) and not (
        ctx.user.login != "guest" and store.project_role(dest_id, ctx.user.login)
    ):
        raise HttpError(403, f"Insufficient privileges to share into project {dest_id}.")
    table = "subjects" if kind == "subject" else "experiments"
    label = ctx.q("label") or row["label"]  # the primary's label on a move
    primary = ctx.strict_flag("primary")
    relabelled = False
    with store.tx() as db:
        if primary:
            require_edit(ctx, row["project"])
            clash = db.execute(
                f"SELECT 1 FROM {table} WHERE project=? AND label=? AND id<>?",
                (dest_id, label, row["id"]),
            ).fetchone()
            if clash:
                raise HttpError(409, f"Label already in use:{label}")
            db.execute(
                "DELETE FROM shares WHERE kind=? AND object_id=? AND project=?",
                (kind, row["id"], dest_id),
            )
            db.execute(
                f"UPDATE {table} SET project=?, label=? WHERE id=?", (dest_id, label, row["id"])
            )
        else:
            relabelled = _add_share(db, kind, row, dest_id, ctx.q("label"))
    if relabelled:
        raise HttpError(409, f"Already assigned to project:{dest_id}")
    if ctx.format in ("json", "xml"):
        fresh = store.one(f"SELECT * FROM {table} WHERE id=?", (row["id"],))
        assert fresh is not None
        node = subject_node(store, fresh) if kind == "subject" else experiment_node(store, fresh)
        return represent(ctx, node)
    return ctx.text("")


def _add_share(
    db: sqlite3.Connection, kind: str, row: sqlite3.Row, dest_id: str, given: str | None
) -> bool:
    """Share ``row`` into ``dest_id``, under the label ``given`` when there is one and
    without a label of its own otherwise (``SecureResource.shareExperimentToProject`` sets
    the label only when it is not blank, ``SubjectResource`` only when ``label=`` is
    given), checking that label alone in ``dest_id`` (``Get{Expt,Subject}ByProjectIdentifier``:
    a primary label there or a share label there); or relabel its share there. True when
    an experiment's share was relabelled, which XNAT answers with a 409 all the same."""
    if dest_id == row["project"]:
        raise HttpError(409, f"Already assigned to project:{dest_id}")
    current = db.execute(
        "SELECT label FROM shares WHERE kind=? AND object_id=? AND project=?",
        (kind, row["id"], dest_id),
    ).fetchone()
    if current is not None:
        return _relabel(db, kind, row["id"], dest_id, current[0], given)
    if given:
        _check_free(db, kind, dest_id, given)
    add_share(db, kind, row["id"], dest_id, given or None)
    return False


def _relabel(
    db: sqlite3.Connection,
    kind: str,
    object_id: str,
    dest_id: str,
    current: str | None,
    given: str | None,
) -> bool:
    """Give the share of ``object_id`` in ``dest_id`` the label ``given``.

    ``SubjectResource`` checks the label first and answers the subject; the experiment
    resources (``SubjAssessmentResource``/``ExperimentResource``) save it without checking,
    then answer 409 "Already assigned", and fail on a share without a label (they compare
    ``pp.getLabel().equals(newLabel)``: a NullPointerException, answered 500)."""
    if not given or current == given:
        raise HttpError(409, f"Already assigned to project:{dest_id}")
    if kind == "subject":
        _check_free(db, kind, dest_id, given)
    elif current is None:
        raise HttpError(500, None)
    db.execute(
        "UPDATE shares SET label=? WHERE kind=? AND object_id=? AND project=?",
        (given, kind, object_id, dest_id),
    )
    return kind != "subject"


def _check_free(db: sqlite3.Connection, kind: str, project: str, label: str) -> None:
    """409 when ``label`` names a subject/experiment in ``project``: its own label there,
    or the label of its share there (an unlabelled share takes no label)."""
    table = "subjects" if kind == "subject" else "experiments"
    clash = (
        db.execute(
            f"SELECT 1 FROM {table} WHERE project=? AND label=?", (project, label)
        ).fetchone()
        or db.execute(
            "SELECT 1 FROM shares WHERE kind=? AND project=? AND label=?", (kind, project, label)
        ).fetchone()
    )
    if clash:
        raise HttpError(409, f"Label already in use:{label}")

"""Subject handlers: listings (``/data/subjects``, ``/data/projects/{P}/subjects``) and
``/data/projects/{P}/subjects/{S}``, ``/data/subjects/{S}`` (GET, ``.../projects``,
``.../status``; PUT create/update or share; DELETE or unshare)."""

from __future__ import annotations

import sqlite3
from typing import Any

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.changes import (
    Changes,
    apply_custom,
    canonical_paths,
    merge_data,
    parse_changes,
    refuse_project_change,
    touch_when_changed,
    validate_label,
)
from xnat_sdk.testing._areas.archive.documents import subject_node
from xnat_sdk.testing._areas.archive.lookup import project_hidden, require_edit, resolve
from xnat_sdk.testing._areas.archive.model import VALID_ID, create_subject, delete_subject
from xnat_sdk.testing._areas.archive.sharing import share
from xnat_sdk.testing._areas.archive.tables import answer
from xnat_sdk.testing._areas.archive.views import projects_table, represent
from xnat_sdk.testing._areas.archive.xsd import schema_of
from xnat_sdk.testing._areas.permissions.access import (
    readable_projects,
    readable_through_shares,
)
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import dumps_data, loads_data

__all__ = ["subject_delete", "subject_get", "subject_list", "subject_put"]


def _subject_rows(
    ctx: RequestContext, project: str | None
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    store = ctx.store
    if project is not None:
        rows = store.query(
            "SELECT s.*, NULL AS share_label, s.rowid AS row_order FROM subjects s "
            "WHERE s.project=? UNION ALL "
            "SELECT s.*, sh.label AS share_label, s.rowid AS row_order FROM subjects s "
            "JOIN shares sh ON sh.object_id = s.id AND sh.kind='subject' WHERE sh.project=? "
            "ORDER BY row_order",
            (project, project),
        )
    else:
        allowed = readable_projects(store, ctx.user)
        shared = readable_through_shares(store, ctx.user, "subject")
        rows = [
            r
            for r in store.query("SELECT s.*, NULL AS share_label FROM subjects s ORDER BY s.rowid")
            if allowed is None or r["project"] in allowed or r["id"] in shared
        ]
    out = []
    for r in rows:
        data = loads_data(r["data"])
        out.append(
            (
                {
                    "ID": r["id"],
                    "project": r["project"],
                    "label": r["label"],
                    "insert_date": r["insert_date"],
                    "insert_user": r["insert_user"],
                    "last_modified": r["last_modified"] or r["insert_date"],
                    "URI": f"/data/subjects/{r['id']}",
                },
                data,
            )
        )
    return out


def subject_list(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    if chain.context_project is None and readable_projects(ctx.store, ctx.user) == []:
        # SubjectListResource: a user who reads no project (public, or one they have a
        # role in) makes it throw IllegalAccessException inside its try: 500
        raise HttpError(500, None)
    rows = _subject_rows(ctx, chain.context_project)
    return answer(
        ctx,
        "subject",
        rows,
        ["ID", "project", "label", "insert_date", "insert_user", "URI"],
        pk_column="ID",
        pageable=True,
        unknown_field="error",
        overlay=_share_labels(ctx, chain.context_project),
    )


def _share_labels(ctx: RequestContext, project: str | None) -> dict[str, dict[str, str]]:
    """What ``ProjectSubjectList`` puts into a project's rows after its query (which filtered
    on the primary values): each subject's label in the project where its share has one."""
    if project is None:
        return {}
    found = ctx.store.query(
        "SELECT object_id, label FROM shares WHERE kind='subject' AND project=?", (project,)
    )
    return {str(r["object_id"]): {"label": str(r["label"])} for r in found if r["label"]}


def subject_get(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.subject is not None
    tail = ctx.tail.strip("/")
    if tail == "projects":
        return projects_table(ctx, "subject", chain.subject)
    if tail == "status":
        return ctx.text("active")
    if tail:
        raise HttpError(404, None)
    return represent(ctx, subject_node(ctx.store, chain.subject))


def subject_put(ctx: RequestContext) -> Response:
    tail = ctx.tail.strip("/")
    if tail:
        return share(ctx, "subject")
    store = ctx.store
    ctx.require_user()
    if project_hidden(ctx):
        # SubjectResource: getProjectByIDorAlias finds no project the user may not read (nor
        # a missing one), the new subject item has no project, and handlePut answers 422
        raise HttpError(422, "Submitted subject record must include the project attribute.")
    chain = resolve(ctx, upto="subject")
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "subject", schema)
    ch.data = canonical_paths(schema, "xnat:subjectData", ch.data)
    ref = ctx.params["subject"]
    project = chain.project
    existing = None
    if project is not None:
        try:
            existing = resolve(ctx).subject
        except HttpError as err:
            if err.status != 404:
                raise
    else:
        existing = store.one("SELECT * FROM subjects WHERE id=?", (ref,))
        if existing is None:
            raise HttpError(404, f"Unable to find subject {ref}; create it under a project.")
    by_id = False  # the PUT names the subject by a taken ID: a full save, not a rename
    if existing is None and ch.id:
        existing = _subject_with_id(ctx, ch, ref)
        by_id = existing is not None
    if existing is None:
        assert project is not None
        pid = project["id"]
        require_edit(ctx, pid)
        label = ch.label or ref
        validate_label(label, "subject")
        if ch.id and not VALID_ID.match(ch.id):
            raise HttpError(417, "Invalid character in subject ID.")
        with store.tx() as db:
            if db.execute(
                "SELECT 1 FROM subjects WHERE project=? AND label=?", (pid, label)
            ).fetchone():
                raise HttpError(409, "Specified label is already in use.")
            sid = create_subject(
                store,
                db,
                pid,
                label,
                data={k: v for k, v in ch.data.items() if v is not None},
                user=ctx.user.login,
                subject_id=ch.id,
            )
            apply_custom(db, "subject", sid, ch.custom)
        return ctx.text(sid, status=201)
    sid = existing["id"]
    if ch.id and ch.id != sid:
        raise HttpError(400, "ID cannot be modified")
    require_edit(ctx, existing["project"])
    refuse_project_change(ch, existing["project"])
    with store.tx() as db, touch_when_changed(db, "subjects", sid):
        renamed = False
        if ch.label and ch.label != existing["label"]:
            validate_label(ch.label, "subject")
            if db.execute(
                "SELECT 1 FROM subjects WHERE project=? AND label=?",
                (existing["project"], ch.label),
            ).fetchone():
                raise HttpError(409, "Specified label is already in use.")
            db.execute("UPDATE subjects SET label=? WHERE id=?", (ch.label, sid))
            renamed = True
        data = merge_data(loads_data(existing["data"]), ch.data)
        db.execute("UPDATE subjects SET data=? WHERE id=?", (dumps_data(data), sid))
        apply_custom(db, "subject", sid, ch.custom)
    if renamed and not ch.data and not ch.custom and not by_id:
        return ctx.text("")
    return ctx.text(sid)


def _subject_with_id(ctx: RequestContext, ch: Changes, ref: str) -> sqlite3.Row | None:
    """The subject already holding the client's ID ``ch.id`` (XNAT's ``SubjectResource``
    looks it up site-wide): one in another project is refused with 409, one in the URL's
    project is updated (and takes the URL's label unless ``label`` is given)."""
    row = ctx.store.one("SELECT * FROM subjects WHERE id=?", (ch.id,))
    if row is None:
        return None
    project = resolve(ctx, upto="subject").project
    if project is None or row["project"] != project["id"]:
        raise HttpError(409, "Project must be modified through separate URI.")
    ch.label = ch.label or ref
    return row


def subject_delete(ctx: RequestContext) -> Response:
    if project_hidden(ctx) and not ctx.tail.strip("/"):
        # SubjectResource.handleDelete: no project, and the subject looked up with the
        # user's rights is not found
        raise HttpError(404, "Unable to find the specified subject.")
    chain = resolve(ctx)
    assert chain.subject is not None
    tail = ctx.tail.strip("/")
    store = ctx.store
    subj = chain.subject
    target_project = chain.context_project
    if tail.startswith("projects/"):
        target_project = tail.split("/", 1)[1]
    elif tail:
        raise HttpError(400, "Unsupported sub-path.")
    if target_project is not None and target_project != subj["project"]:
        require_edit(ctx, target_project)
        with store.tx() as db:
            db.execute(
                "DELETE FROM shares WHERE kind='subject' AND object_id=? AND project=?",
                (subj["id"], target_project),
            )
        return ctx.text("")
    require_edit(ctx, subj["project"])
    with store.tx() as db:
        delete_subject(store, db, subj["id"], ctx.flag("removeFiles"))
    return ctx.text("")

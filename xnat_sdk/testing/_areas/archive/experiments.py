"""Experiment and assessor handlers: ``{experiment}`` under a subject, a project or at top
level, and ``{experiment}/assessors/{A}`` (GET ``format=json|xml``, ``.../projects``,
``.../status``; PUT create/update or share; DELETE or unshare)."""

from __future__ import annotations

import sqlite3

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.changes import (
    Changes,
    apply_custom,
    canonical_paths,
    has_xml_body,
    merge_data,
    parse_changes,
    refuse_project_change,
    touch_when_changed,
    validate_label,
)
from xnat_sdk.testing._areas.archive.documents import experiment_node
from xnat_sdk.testing._areas.archive.lookup import Chain, project_hidden, require_edit, resolve
from xnat_sdk.testing._areas.archive.model import (
    VALID_ID,
    create_experiment,
    create_scan,
    create_subject,
    delete_experiment,
)
from xnat_sdk.testing._areas.archive.sharing import share
from xnat_sdk.testing._areas.archive.views import projects_table, represent
from xnat_sdk.testing._areas.archive.xsd import SchemaInfo, schema_of
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import dumps_data, loads_data

__all__ = ["experiment_delete", "experiment_get", "experiment_put"]


def experiment_get(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    row = chain.assessor or chain.experiment
    assert row is not None
    tail = ctx.tail.strip("/")
    if tail == "projects":
        return projects_table(ctx, "experiment", row)
    if tail == "status":
        return ctx.text(row["status"])
    if tail and not _misrouted(ctx):
        raise HttpError(404, None)
    return represent(ctx, experiment_node(ctx.store, row))


def _misrouted(ctx: RequestContext) -> bool:
    """A GET under ``/data/projects/{P}/experiments/{E}`` that XNAT routes nowhere else
    (``.../scans/1``, ``.../files``): Restlet's prefix matching hands it to
    ``ExperimentResource``, whose ``represent`` answers the experiment itself for any
    ``filepath`` but ``status``/``history``/``projects``."""
    return (
        "subject" not in ctx.params
        and "assessor" not in ctx.params
        and (
            ctx.path.startswith("/data/projects/") or ctx.path.startswith("/data/archive/projects/")
        )
    )


def experiment_put(ctx: RequestContext) -> Response:
    """PUT an experiment or assessor: create it (201, its ID) or update it (its ID; an empty
    answer for a rename alone); a ``.../projects/{P2}`` tail shares it."""
    if ctx.tail.strip("/"):
        return share(ctx, "experiment")
    ctx.require_user()
    if project_hidden(ctx):
        # SubjAssessmentResource's constructor: no project found (missing, or not readable by
        # the user) -> setGuestDataResponse, a bare 404, and Restlet's Finder runs no handler
        raise HttpError(404, None)
    assessor = "assessor" in ctx.params
    chain = _parent_chain(ctx, assessor)
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "experiment", schema)
    existing = _existing_experiment(ctx, assessor)
    if existing is None and ch.id:
        existing = _experiment_with_id(ctx, chain, ch, assessor)
    if existing is None:
        return _create_experiment(ctx, chain, ch, schema, assessor)
    if ch.id and ch.id != existing["id"]:
        raise HttpError(400, "ID cannot be modified")
    return _update_experiment(ctx, existing, ch, schema)


def _experiment_with_id(
    ctx: RequestContext, chain: Chain, ch: Changes, assessor: bool
) -> sqlite3.Row | None:
    """The experiment already holding the client's ID ``ch.id`` (XNAT's
    ``SubjAssessmentResource.getExistingExperiment`` looks it up site-wide): one in another
    project -> 409; one in this project can only be relabelled with ``label=`` (else 400)."""
    row = ctx.store.one("SELECT * FROM experiments WHERE id=?", (ch.id,))
    if row is None:
        return None
    if row["project"] != _new_experiment_project(chain, assessor):
        raise HttpError(409, "Project must be modified through separate URI.")
    if not ctx.q("label"):
        raise HttpError(400, "Label must be modified through separate URI.")
    return row


def _parent_chain(ctx: RequestContext, assessor: bool) -> Chain:
    """The objects above the experiment (a missing subject of a subject URL is created)."""
    try:
        return resolve(ctx, upto="assessor" if assessor else "experiment")
    except HttpError as err:
        if err.status != 404 or assessor or "subject" not in ctx.params:
            raise
        return resolve(ctx, upto="subject")  # the subject is created below


def _existing_experiment(ctx: RequestContext, assessor: bool) -> sqlite3.Row | None:
    try:
        full = resolve(ctx)
    except HttpError as err:
        if err.status != 404:
            raise
        return None
    return full.assessor if assessor else full.experiment


def _create_experiment(
    ctx: RequestContext, chain: Chain, ch: Changes, schema: SchemaInfo, assessor: bool
) -> Response:
    store = ctx.store
    ref = ctx.params["assessor" if assessor else "experiment"]
    pid = _new_experiment_project(chain, assessor)
    require_edit(ctx, pid)
    xsi = _new_experiment_type(ch, schema, assessor)
    label = ch.label or ref
    validate_label(label, "experiment")
    if ch.id and not VALID_ID.match(ch.id):
        raise HttpError(417, "Invalid character in experiment label.")  # sic: XNAT's wording
    data = {
        k: v
        for k, v in canonical_paths(schema, xsi, ch.data).items()
        if v is not None and k not in ("subject_ID", "imageSession_ID")
    }
    with store.tx() as db:
        if db.execute(
            "SELECT 1 FROM experiments WHERE project=? AND label=?", (pid, label)
        ).fetchone():
            raise HttpError(409, "Specified label is already in use.")
        subject_id, session_id = _new_experiment_parents(
            ctx, db, chain, ch, schema, pid, xsi, assessor
        )
        eid = create_experiment(
            store,
            db,
            pid,
            label,
            xsi,
            subject_id=subject_id,
            session_id=session_id,
            data=data,
            user=ctx.user.login,
            experiment_id=ch.id,
        )
        apply_custom(db, "experiment", eid, ch.custom)
        for scan_id, sxsi, sfields in ch.scans:
            create_scan(
                store,
                db,
                eid,
                scan_id,
                sxsi,
                type=sfields.pop("type", ""),
                data={k: v for k, v in sfields.items() if k != "ID"},
            )
    return ctx.text(eid, status=201)


def _new_experiment_project(chain: Chain, assessor: bool) -> str:
    """The project a new experiment goes into (an assessor: its session's, as seen)."""
    if assessor and chain.experiment is not None:
        return str(chain.context_project or chain.experiment["project"])
    if chain.project is None:
        raise HttpError(404, "Unable to find the specified experiment.")
    return str(chain.project["id"])


def _new_experiment_type(ch: Changes, schema: SchemaInfo, assessor: bool) -> str:
    if not ch.xsi_type:
        raise HttpError(417, "Need POST Contents" if assessor else "Need PUT Contents")
    xsi = ch.xsi_type
    if schema.canonical(xsi) is None:
        raise HttpError(400, f"Unknown data type: {xsi}")
    if not schema.is_a(xsi, "xnat:experimentData"):
        # XNAT's wording, whatever the address (subject, scan, ... types are refused here)
        raise HttpError(422, "Only xnat:Subject documents can be PUT to this address.")
    return xsi


def _new_experiment_parents(
    ctx: RequestContext,
    db: sqlite3.Connection,
    chain: Chain,
    ch: Changes,
    schema: SchemaInfo,
    pid: str,
    xsi: str,
    assessor: bool,
) -> tuple[str | None, str | None]:
    """``(subject ID, session ID)`` of a new experiment: its session's (assessors), the
    URL's subject (created when missing) or the ``subject_ID`` field."""
    if assessor:
        assert chain.experiment is not None
        return chain.experiment["subject_id"], chain.experiment["id"]
    if chain.subject is not None:
        return chain.subject["id"], None
    if "subject" in ctx.params:
        sid = create_subject(ctx.store, db, pid, ctx.params["subject"], user=ctx.user.login)
        return sid, None
    sref = ch.data.get("subject_ID")
    if sref:
        srow = db.execute(
            "SELECT id FROM subjects WHERE id=? OR (project=? AND label=?)",
            (sref, pid, sref),
        ).fetchone()
        if srow is None:
            raise HttpError(404, f"Unable to identify subject {sref}")
        return srow[0], None
    if schema.is_a(xsi, "xnat:subjectAssessorData"):
        raise HttpError(422, "Submitted experiment record must include the subject.")
    return None, None


def _update_experiment(
    ctx: RequestContext, existing: sqlite3.Row, ch: Changes, schema: SchemaInfo
) -> Response:
    store = ctx.store
    eid = existing["id"]
    require_edit(ctx, existing["project"])
    refuse_project_change(ch, existing["project"])
    wanted = schema.canonical(ch.xsi_type) if ch.xsi_type else None
    if wanted not in (None, existing["xsi_type"]) and not schema.is_a(
        existing["xsi_type"], wanted or ""
    ):
        raise HttpError(400, "Specified xsiType differs from existing xsiType")
    with store.tx() as db, touch_when_changed(db, "experiments", eid):
        renamed = _relabel_experiment(db, existing, ch)
        _set_experiment_data(ctx, db, existing, ch, schema)
        _set_experiment_status(ctx, db, eid)
        apply_custom(db, "experiment", eid, ch.custom)
        for scan_id, sxsi, sfields in ch.scans:
            if not db.execute(
                "SELECT 1 FROM scans WHERE experiment_id=? AND id=?", (eid, scan_id)
            ).fetchone():
                create_scan(
                    store,
                    db,
                    eid,
                    scan_id,
                    sxsi,
                    type=sfields.pop("type", ""),
                    data={k: v for k, v in sfields.items() if k != "ID"},
                )
    if renamed and not ch.data and not ch.custom:
        return ctx.text("")
    return ctx.text(eid)


def _relabel_experiment(db: sqlite3.Connection, existing: sqlite3.Row, ch: Changes) -> bool:
    """Give the experiment ``ch.label`` (409 when taken in its project); whether it changed."""
    if not ch.label or ch.label == existing["label"]:
        return False
    validate_label(ch.label, "experiment")
    if db.execute(
        "SELECT 1 FROM experiments WHERE project=? AND label=?",
        (existing["project"], ch.label),
    ).fetchone():
        raise HttpError(409, "Specified label is already in use.")
    db.execute("UPDATE experiments SET label=? WHERE id=?", (ch.label, existing["id"]))
    return True


def _set_experiment_data(
    ctx: RequestContext,
    db: sqlite3.Connection,
    existing: sqlite3.Row,
    ch: Changes,
    schema: SchemaInfo,
) -> None:
    """Merge the field changes (replace them with ``allowDataDeletion=true`` and an XML
    document); ``subject_ID`` moves the experiment to another subject."""
    eid = existing["id"]
    changes = canonical_paths(schema, existing["xsi_type"], ch.data)
    new_subject = changes.pop("subject_ID", None)
    if new_subject:
        srow = db.execute(
            "SELECT id FROM subjects WHERE id=? OR (project=? AND label=?)",
            (new_subject, existing["project"], new_subject),
        ).fetchone()
        if srow is None:
            raise HttpError(404, f"Unable to identify subject {new_subject}")
        db.execute("UPDATE experiments SET subject_id=? WHERE id=?", (srow[0], eid))
    changes.pop("imageSession_ID", None)
    data = (
        {k: v for k, v in changes.items() if v is not None}
        if ctx.strict_flag("allowDataDeletion") and has_xml_body(ctx)
        else merge_data(loads_data(existing["data"]), changes)
    )
    db.execute(
        "UPDATE experiments SET data=?, date=? WHERE id=?",
        (dumps_data(data), data.get("date"), eid),
    )


def _set_experiment_status(ctx: RequestContext, db: sqlite3.Connection, eid: str) -> None:
    """``activate=true``, ``quarantine=true|false``."""
    if ctx.flag("activate"):
        db.execute("UPDATE experiments SET status='active' WHERE id=?", (eid,))
    if ctx.qi("quarantine") is not None:
        status = "quarantine" if ctx.flag("quarantine") else "active"
        db.execute("UPDATE experiments SET status=? WHERE id=?", (status, eid))


def experiment_delete(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    row = chain.assessor or chain.experiment
    assert row is not None
    tail = ctx.tail.strip("/")
    target = chain.context_project
    if tail.startswith("projects/"):
        target = tail.split("/", 1)[1]
    elif tail:
        raise HttpError(400, "Unsupported sub-path.")
    store = ctx.store
    if target is not None and target != row["project"]:
        require_edit(ctx, target)
        with store.tx() as db:
            db.execute(
                "DELETE FROM shares WHERE kind='experiment' AND object_id=? AND project=?",
                (row["id"], target),
            )
        return ctx.text("")
    require_edit(ctx, row["project"])
    with store.tx() as db:
        delete_experiment(store, db, row["id"], ctx.flag("removeFiles"))
    return ctx.text("")

"""Scan and reconstruction handlers (``{experiment}/scans[/{SC}]``,
``{experiment}/reconstructions[/{R}]``) and the ``/data/scanners``, ``/data/scan_types``
listings."""

from __future__ import annotations

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.changes import (
    canonical_paths,
    merge_data,
    parse_changes,
    touch_when_changed,
)
from xnat_sdk.testing._areas.archive.documents import recon_node, scan_node
from xnat_sdk.testing._areas.archive.lookup import require_edit, resolve
from xnat_sdk.testing._areas.archive.model import (
    create_reconstruction,
    create_scan,
    delete_resources,
    delete_scan,
)
from xnat_sdk.testing._areas.archive.tables import answer
from xnat_sdk.testing._areas.archive.views import represent
from xnat_sdk.testing._areas.archive.xsd import schema_of
from xnat_sdk.testing._areas.permissions.access import readable_projects
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import dumps_data, loads_data

__all__ = [
    "recon_delete",
    "recon_get",
    "recon_list",
    "recon_put",
    "scan_delete",
    "scan_get",
    "scan_list",
    "scan_put",
    "scan_types",
    "scanners",
]


def scan_list(ctx: RequestContext) -> Response:
    """``ScanList``: its constructor finds the session with
    ``XnatImagesessiondata.getXnatImagesessiondatasById``, which knows image sessions only.
    An experiment of another kind (a subject assessor such as ``xnat:subjectVariablesData``)
    or none at all is a bare 404: set by the constructor, or (``/data/experiments/{E}/scans``:
    a ``NullPointerException`` on the missing project; a project's route: a
    ``ClassCastException`` of the experiment found by label) Restlet's ``Finder`` finding
    no resource it could make."""
    try:
        chain = resolve(ctx)
    except HttpError as err:
        if err.status == 404:
            raise HttpError(404, None) from None
        raise
    assert chain.experiment is not None
    if not schema_of(ctx).is_a(chain.experiment["xsi_type"], "xnat:imageSessionData"):
        raise HttpError(404, None)
    eid = chain.experiment["id"]
    rows = []
    for s in ctx.store.query("SELECT * FROM scans WHERE experiment_id=? ORDER BY pk", (eid,)):
        data = loads_data(s["data"])
        rows.append(
            (
                {
                    "xnat_imagescandata_id": s["pk"],
                    "ID": s["id"],
                    "type": s["type"],
                    "quality": data.get("quality", ""),
                    "xsiType": s["xsi_type"],
                    "note": data.get("note", ""),
                    "series_description": data.get("series_description", ""),
                    "insert_date": s["insert_date"],
                    "insert_user": s["insert_user"],
                    "last_modified": s["last_modified"] or s["insert_date"],
                    "URI": f"/data/experiments/{eid}/scans/{s['id']}",
                },
                data,
            )
        )
    wanted = ctx.q("xsiType") or ""
    if wanted and "," not in wanted:  # the query's root: that type and those derived from it
        schema = schema_of(ctx)
        root = schema.canonical(wanted) or wanted
        rows = [r for r in rows if schema.is_a(r[0]["xsiType"], root)]
    return answer(
        ctx,
        "scan",
        rows,
        [
            "xnat_imagescandata_id",
            "ID",
            "type",
            "quality",
            "xsiType",
            "note",
            "series_description",
            "URI",
        ],
        pk_column="xnat_imagescandata_id",
        root="xnat:imageScanData",
        filters=False,
        uri_key="xnat:imageScanData/ID",
    )


def scan_get(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.scan is not None and chain.experiment is not None
    if ctx.tail.strip("/"):
        raise HttpError(404, None)
    return represent(ctx, scan_node(ctx.store, chain.scan, chain.experiment["project"]))


def scan_put(ctx: RequestContext) -> Response:
    ctx.require_user()
    if ctx.tail.strip("/"):
        raise HttpError(400, "Unsupported scan sub-path.")
    store = ctx.store
    chain = resolve(ctx, upto="scan")
    assert chain.experiment is not None
    exp = chain.experiment
    require_edit(ctx, exp["project"])
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "scan", schema)
    scan_id = ctx.params["scan"]
    existing = store.one("SELECT * FROM scans WHERE experiment_id=? AND id=?", (exp["id"], scan_id))
    if existing is None:
        if not ch.xsi_type:
            raise HttpError(417, "Need PUT Contents")
        xsi = schema.canonical(ch.xsi_type) or ch.xsi_type
        if schema.canonical(xsi) is None:
            raise HttpError(400, f"Unknown data type: {xsi}")
        if not schema.is_a(xsi, "xnat:imageScanData"):
            raise HttpError(
                400,
                "Only Scan documents can be PUT to this address. "
                f"Expected: xnat:imageScanData Received: {xsi}",
            )
        if xsi == "xnat:imageScanData":
            raise HttpError(
                400,
                "Multiple scan modalities can be associated here.  Please retry with the "
                "specification of a particular modality (i.e. ?xsiType=xnat:mrScanData).",
            )
        data = {k: v for k, v in canonical_paths(schema, xsi, ch.data).items() if v is not None}
        data.pop("ID", None)
        with store.tx() as db:
            create_scan(
                store,
                db,
                exp["id"],
                scan_id,
                xsi,
                type=data.pop("type", ""),
                data=data,
                user=ctx.user.login,
            )
        return ctx.text("")
    if ch.xsi_type and (schema.canonical(ch.xsi_type) or ch.xsi_type) != existing["xsi_type"]:
        raise HttpError(409, "Specified xsiType differs from existing xsiType")
    changes = canonical_paths(schema, existing["xsi_type"], ch.data)
    changes.pop("ID", None)
    data = merge_data(loads_data(existing["data"]), changes)
    with store.tx() as db, touch_when_changed(db, "scans", existing["pk"]):
        db.execute(
            "UPDATE scans SET data=?, type=? WHERE pk=?",
            (dumps_data(data), data.get("type", ""), existing["pk"]),
        )
    return ctx.text("")


def scan_delete(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.scan is not None and chain.experiment is not None
    require_edit(ctx, chain.experiment["project"])
    store = ctx.store
    with store.tx() as db:
        delete_scan(store, db, chain.scan["pk"], ctx.flag("removeFiles"))
    return ctx.text("")


def recon_list(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.experiment is not None
    eid = chain.experiment["id"]
    rows = []
    for r in ctx.store.query(
        "SELECT * FROM reconstructions WHERE experiment_id=? ORDER BY pk", (eid,)
    ):
        rows.append(
            (
                {
                    "xnat_reconstructedimagedata_id": r["pk"],
                    "ID": r["id"],
                    "type": r["type"],
                    "baseScanType": r["base_scan_type"],
                    "xsiType": r["xsi_type"],
                    "URI": f"/data/experiments/{eid}/reconstructions/{r['id']}",
                },
                loads_data(r["data"]),
            )
        )
    return answer(
        ctx,
        "recon",
        rows,
        ["xnat_reconstructedimagedata_id", "ID", "type", "baseScanType", "URI"],
        filters=False,
        uri_key="xnat:reconstructedImageData/ID",
    )


def recon_get(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.recon is not None
    return represent(ctx, recon_node(ctx.store, chain.recon))


def recon_put(ctx: RequestContext) -> Response:
    ctx.require_user()
    store = ctx.store
    chain = resolve(ctx, upto="recon")
    assert chain.experiment is not None
    require_edit(ctx, chain.experiment["project"])
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "recon", schema)
    rid = ctx.params["recon"]
    existing = store.one(
        "SELECT * FROM reconstructions WHERE experiment_id=? AND id=?",
        (chain.experiment["id"], rid),
    )
    data = {k: v for k, v in ch.data.items()}
    with store.tx() as db:
        if existing is None:
            create_reconstruction(
                store,
                db,
                chain.experiment["id"],
                rid,
                type=data.pop("type", None) or "",
                base_scan_type=data.pop("baseScanType", None) or "",
                data={k: v for k, v in data.items() if v is not None and k != "ID"},
            )
        else:
            new = merge_data(loads_data(existing["data"]), data)
            db.execute(
                "UPDATE reconstructions SET data=?, type=?, base_scan_type=? WHERE pk=?",
                (
                    dumps_data(new),
                    new.get("type", existing["type"]),
                    new.get("baseScanType", existing["base_scan_type"]),
                    existing["pk"],
                ),
            )
    return ctx.text("")


def recon_delete(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.recon is not None and chain.experiment is not None
    require_edit(ctx, chain.experiment["project"])
    store = ctx.store
    with store.tx() as db:
        delete_resources(
            store, db, "reconstruction", str(chain.recon["pk"]), ctx.flag("removeFiles")
        )
        db.execute("DELETE FROM reconstructions WHERE pk=?", (chain.recon["pk"],))
    return ctx.text("")


def scanners(ctx: RequestContext) -> Response:
    allowed = readable_projects(ctx.store, ctx.user)
    found: set[str] = set()
    for e in ctx.store.query("SELECT project, data FROM experiments"):
        if allowed is not None and e["project"] not in allowed:
            continue
        s = loads_data(e["data"]).get("scanner")
        if s:
            found.add(s)
    rows = [{"scanner": s} for s in sorted(found)]
    return ctx.table(["scanner"], rows, meta={"title": "Scanners", "totalRecords": len(rows)})


def scan_types(ctx: RequestContext) -> Response:
    project = None
    if "project" in ctx.params:
        project = resolve(ctx).context_project
    allowed = readable_projects(ctx.store, ctx.user)
    sql = (
        "SELECT s.type, s.data, e.project FROM scans s JOIN experiments e ON e.id = s.experiment_id"
    )
    by_type: dict[str, list[str]] = {}
    for r in ctx.store.query(sql):
        if project is not None and r["project"] != project:
            continue
        if allowed is not None and r["project"] not in allowed:
            continue
        desc = loads_data(r["data"]).get("series_description", "")
        by_type.setdefault(r["type"], [])
        if desc and desc not in by_type[r["type"]]:
            by_type[r["type"]].append(desc)
    rows = [
        {"series_descriptions": "".join(d + "," for d in descs), "type": t}
        for t, descs in sorted(by_type.items())
    ]
    return ctx.table(
        ["series_descriptions", "type"],
        rows,
        meta={"title": "Scan Types", "totalRecords": len(rows)},
    )

"""Resource catalog handlers: ``GET {parent}/resources`` (the 11-column table),
``PUT|POST|GET|DELETE {parent}/resources/{label}`` (create, catalog XML, delete)."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any
from xml.sax.saxutils import quoteattr

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.changes import canonical_paths
from xnat_sdk.testing._areas.archive.lookup import require_edit
from xnat_sdk.testing._areas.archive.xsd import schema_of
from xnat_sdk.testing._areas.files.parents import (
    Parent,
    find_resources,
    listing_parent_of,
    one_resource,
    parent_of,
    resources_of,
    selected_scans,
    session_children,
)
from xnat_sdk.testing._areas.files.storage import create_resource, delete_resource
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["resource_delete", "resource_get", "resource_list", "resource_put"]


def _category(parent: Parent) -> tuple[str, str, str]:
    c = parent.chain
    if parent.kind == "scan" and c.scan is not None:
        return "scans", str(c.scan["id"]), str(c.scan["type"])
    if parent.kind == "reconstruction" and c.recon is not None:
        return "reconstructions", str(c.recon["id"]), str(c.recon["type"])
    if parent.kind == "assessor" and c.assessor is not None:
        return "assessors", str(c.assessor["id"]), str(c.assessor["xsi_type"])
    if parent.kind == "experiment" and c.experiment is not None:
        return "resources", str(c.experiment["id"]), " "
    return "resources", "", " "


def resource_list(ctx: RequestContext) -> Response:
    """``GET {parent}/resources``; under ``scans/{selector}`` the resources of every scan
    the selector names (XNAT: ID or type, ``ALL``, lists), each row's ``cat_id`` its scan's."""
    sel = ctx.params.get("scan")
    parents: list[Parent] = []
    if sel is not None:
        with contextlib.suppress(HttpError):  # a missing session: the nearest object's
            parents = selected_scans(ctx, sel)
    rows = []
    for parent in parents or [listing_parent_of(ctx)]:
        rows += _resource_rows(ctx, parent)
        if parent.kind == "experiment" and ctx.flag("all"):
            rows = _all_rows(ctx, parent, rows)
    cols = [
        "xnat_abstractresource_id",
        "label",
        "element_name",
        "category",
        "cat_id",
        "cat_desc",
        "file_count",
        "file_size",
        "tags",
        "content",
        "format",
    ]
    return ctx.table(cols, rows, meta={"title": "Resources", "totalRecords": len(rows)})


def _all_rows(
    ctx: RequestContext, parent: Parent, own: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """An experiment's resources with ``all=true``: its own (``cat_id`` empty, ``cat_desc``
    "" in this query, not the " " of the plain listing), then those of its scans,
    reconstructions and assessors (``XNATTemplate.loadCatalogs``, the ``all`` UNION)."""
    rows = [{**row, "cat_id": "", "cat_desc": ""} for row in own]
    for kid in session_children(ctx, parent):
        described = _child_category(ctx, kid)
        rows += [{**row, **described} for row in _resource_rows(ctx, kid)]
    return rows


_CHILD_TABLES = {
    "scan": ("scans", "SELECT id, type FROM scans WHERE pk=?"),
    "reconstruction": ("reconstructions", "SELECT id, type FROM reconstructions WHERE pk=?"),
    "assessor": ("assessors", "SELECT id, xsi_type AS type FROM experiments WHERE id=?"),
}


def _child_category(ctx: RequestContext, kid: Parent) -> dict[str, str]:
    """``category``, ``cat_id`` and ``cat_desc`` of a resource of an experiment's child."""
    category, sql = _CHILD_TABLES[kid.kind]
    row = ctx.store.one(sql, (kid.id,))
    assert row is not None
    return {"category": category, "cat_id": str(row["id"]), "cat_desc": str(row["type"] or "")}


def _resource_rows(ctx: RequestContext, parent: Parent) -> list[dict[str, Any]]:
    category, cat_id, cat_desc = _category(parent)
    rows = []
    for r in resources_of(ctx, parent):
        stats = ctx.store.one(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE resource_id=?", (r["id"],)
        )
        assert stats is not None
        rows.append(
            {
                "xnat_abstractresource_id": r["id"],
                "label": r["label"],
                "element_name": r["xsi_type"],
                "category": category,
                "cat_id": cat_id,
                "cat_desc": cat_desc,
                "file_count": stats[0],
                "file_size": stats[1],
                "tags": r["tags"],
                "content": r["content"],
                "format": r["format"],
            }
        )
    return rows


def resource_put(ctx: RequestContext) -> Response:
    if ctx.tail.strip("/"):
        raise HttpError(
            400,
            "This resource works at the catalog level only and does not accept file paths.  "
            "To work with the resource files, append '/files' after the resource ID.",
        )
    ctx.require_user()
    parent = parent_of(ctx)
    require_edit(ctx, parent.edit_project)
    label = ctx.params["resource"]
    if find_resources(ctx, parent, label):
        raise HttpError(409, "Specified resource already exists.")
    xsi, data = _subtype(ctx)
    # the catalog's own columns given as XPath parameters ({xsiType}/format=..., as xnatpy
    # sends them) are the item's fields in XNAT's loadItem; plain parameters win
    own = {k: data.pop(k) for k in _COLUMNS if k in data}
    fmt = ctx.q("format") or own.get("format") or ""
    if fmt.lower() in ("json", "xml", "html", "csv"):
        fmt = own.get("format") or ""
    store = ctx.store
    with store.tx() as db:
        create_resource(
            store,
            db,
            parent.kind,
            parent.id,
            label,
            format=fmt,
            content=ctx.q("content") or own.get("content") or "",
            description=ctx.q("description") or own.get("description") or "",
            tags=ctx.q("tags") or own.get("tags") or "",
            inout=parent.inout or ("out" if parent.kind in ("assessor", "reconstruction") else ""),
            xsi_type=xsi,
            data=json.dumps(data, sort_keys=True),
        )
    return ctx.text("")


_CATALOG = "xnat:resourceCatalog"
_COLUMNS = ("format", "content", "description", "tags")


def _subtype(ctx: RequestContext) -> tuple[str, dict[str, str]]:
    """The resource type of a PUT (``xsiType``: a site's subtype of ``xnat:resourceCatalog``,
    as XNAT's ``CatalogResource`` loads it with ``loadItem`` and refuses other types) and its
    own fields (``{xsiType}/{path}`` parameters), validated against the schema."""
    given = ctx.q("xsiType")
    if not given:
        return _CATALOG, {}
    schema = schema_of(ctx)
    xsi = schema.canonical(given)
    if xsi is None:
        raise HttpError(400, f"Unknown data type: {given}")
    if not schema.is_a(xsi, _CATALOG):
        raise HttpError(400, f"{xsi} is not a resource catalog type")
    fields: dict[str, str | None] = {}
    for key, value in ctx.query.items(multi=True):
        head, _, path = key.partition("/")
        if path and head.lower() == xsi.lower() and schema.field(xsi, path) is not None:
            fields[path] = value
    stored = canonical_paths(schema, xsi, fields)
    return xsi, {k: v for k, v in stored.items() if v is not None}


def resource_get(ctx: RequestContext) -> Response:
    parent = parent_of(ctx)
    res = one_resource(ctx, parent)
    files = ctx.store.query("SELECT * FROM files WHERE resource_id=? ORDER BY path", (res["id"],))
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<cat:Catalog xmlns:cat="http://nrg.wustl.edu/catalog"'
        f" ID={quoteattr(str(res['id']))} label={quoteattr(res['label'])}><cat:entries>"
    ]
    for f in files:
        parts.append(
            f"<cat:entry URI={quoteattr(f['path'])} ID={quoteattr(f['path'])} "
            f"name={quoteattr(os.path.basename(f['path']))} digest={quoteattr(f['md5'])} "
            f"format={quoteattr(f['format'])} content={quoteattr(f['content'])}/>"
        )
    parts.append("</cat:entries></cat:Catalog>")
    return ctx.xml("".join(parts))


def resource_delete(ctx: RequestContext) -> Response:
    if ctx.tail.strip("/"):
        raise HttpError(400, "This resource works at the catalog level only.")
    parent = parent_of(ctx)
    require_edit(ctx, parent.edit_project)
    res = one_resource(ctx, parent)
    store = ctx.store
    with store.tx() as db:
        delete_resource(store, db, res["id"])
    return ctx.text("")

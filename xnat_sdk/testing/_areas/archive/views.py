"""What the archive handlers answer alike: an object in the asked format, the projects an
object is in, its label as seen from a sharing project."""

from __future__ import annotations

import sqlite3
from typing import Any

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.documents import ItemNode, to_json, to_xml
from xnat_sdk.testing._areas.archive.xsd import schema_of
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import Store

__all__ = ["label_in", "projects_table", "represent"]


def represent(ctx: RequestContext, node: ItemNode) -> Response:
    fmt = ctx.format or "html"
    schema = schema_of(ctx)
    if fmt == "json":
        return ctx.json(to_json(schema, node))
    if fmt == "xml":
        return ctx.xml(to_xml(schema, node, ctx.site_url))
    if fmt == "html":
        title = node.fields.get("label") or node.fields.get("ID", "")
        body = (
            f"<html><head><title>{node.xsi_type} {title}</title></head><body>"
            f"<h1>{node.xsi_type}</h1><p>{title}</p></body></html>"
        )
        return ctx.text(body, mimetype="text/html")
    raise HttpError(400, f"Unsupported format {fmt}")


def projects_table(ctx: RequestContext, kind: str, row: sqlite3.Row) -> Response:
    """``.../projects``: the primary project with the object's label, then the projects it is
    shared into with the share's label, or its accession ID for a share without a label
    (``getProjectDatas`` of ``BaseXnatSubjectdata``/``BaseXnatExperimentdata``)."""
    store = ctx.store
    rows: list[dict[str, Any]] = []
    primary = store.one("SELECT * FROM projects WHERE id=?", (row["project"],))
    if primary is not None:
        rows.append(_proj_row(primary, row["label"]))
    for sh in store.query(
        "SELECT s.label AS slabel, p.* FROM shares s JOIN projects p ON p.id = s.project "
        "WHERE s.kind=? AND s.object_id=? ORDER BY s.project",
        (kind, row["id"]),
    ):
        rows.append(_proj_row(sh, sh["slabel"] or row["id"]))
    return ctx.table(["label", "ID", "Secondary_ID", "Name"], rows, meta={})


def _proj_row(p: sqlite3.Row, label: str) -> dict[str, Any]:
    return {"label": label, "ID": p["id"], "Secondary_ID": p["secondary_id"], "Name": p["name"]}


def label_in(store: Store, kind: str, oid: str, project: str, default: str) -> str:
    """The label of the share of ``oid`` in ``project``; ``default`` (its own label) when it
    has none there, as XNAT's listings answer (a share label replaces the row's only when
    it is not empty: ``ProjSubExptAsstList``, ``ProjSubExptList``, ``ProjectSubjectList``)."""
    row = store.one(
        "SELECT label FROM shares WHERE kind=? AND object_id=? AND project=?", (kind, oid, project)
    )
    return str(row[0]) if row is not None and row[0] else default

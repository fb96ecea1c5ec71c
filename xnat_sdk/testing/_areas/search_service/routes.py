"""``POST /data/search`` (:func:`xnat_sdk.testing._areas.search_service.query.run_search`) and
the stored searches.

Stored searches: ``GET /data/search/saved`` (``id, brief_description, description,
root_element_name``), ``GET|PUT|DELETE /data/search/saved/{id}`` (the bundle XML) and
``GET /data/search/saved/{id}/results``; visible to their owner, admins, the listed
``xdat:allowed_user`` logins, or everyone when none are listed.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.search_service.bundle import SearchBundleError, parse_bundle
from xnat_sdk.testing._areas.search_service.query import run_search, search_document
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError, Router

__all__ = ["SCHEMA_SQL", "register"]


SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS search_saved(
    id TEXT PRIMARY KEY,
    brief_description TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    root_element_name TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL,
    allowed_users TEXT NOT NULL DEFAULT '',
    document BLOB NOT NULL
);
"""


def _search(ctx: RequestContext) -> Response:
    return run_search(ctx, search_document(ctx))


_SAVED_COLUMNS = ["id", "brief_description", "description", "root_element_name"]


def _allowed_users(document: bytes) -> list[str]:
    root = ET.fromstring(document)
    return [
        (login.text or "").strip()
        for node in root
        if node.tag.endswith("}allowed_user")
        for login in node
        if login.tag.endswith("}login")
    ]


def _may_see(ctx: RequestContext, row: sqlite3.Row) -> bool:
    allowed = [u for u in str(row["allowed_users"]).split(",") if u]
    return (
        ctx.is_admin or row["owner"] == ctx.user.login or not allowed or (ctx.user.login in allowed)
    )


def _saved_row(ctx: RequestContext) -> sqlite3.Row:
    row = ctx.store.one("SELECT * FROM search_saved WHERE id=?", (ctx.params["id"],))
    if row is None or not _may_see(ctx, row):
        raise HttpError(404, f"Unable to find the stored search {ctx.params['id']}.")
    return row


def _saved_list(ctx: RequestContext) -> Response:
    rows = [
        {k: r[k] for k in _SAVED_COLUMNS}
        for r in ctx.store.query("SELECT * FROM search_saved ORDER BY id")
        if _may_see(ctx, r)
    ]
    return ctx.table(_SAVED_COLUMNS, rows, meta={"title": "Stored Searches"})


def _saved_get(ctx: RequestContext) -> Response:
    return ctx.xml(bytes(_saved_row(ctx)["document"]).decode("utf-8"))


def _saved_results(ctx: RequestContext) -> Response:
    return run_search(ctx, bytes(_saved_row(ctx)["document"]))


def _saved_put(ctx: RequestContext) -> Response:
    ctx.require_user()
    search_id = ctx.params["id"]
    document = search_document(ctx)
    try:
        bundle = parse_bundle(document)
        root = ET.fromstring(document)
    except (SearchBundleError, ET.ParseError) as exc:
        raise HttpError(422, str(exc)) from exc
    existing = ctx.store.one("SELECT owner FROM search_saved WHERE id=?", (search_id,))
    if existing is not None and existing[0] != ctx.user.login and not ctx.is_admin:
        raise HttpError(403, f"The stored search {search_id} belongs to another user.")
    with ctx.store.tx() as db:
        db.execute(
            "INSERT OR REPLACE INTO search_saved(id, brief_description, description, "
            "root_element_name, owner, allowed_users, document) VALUES(?,?,?,?,?,?,?)",
            (
                search_id,
                root.get("brief-description") or search_id,
                root.get("description") or "",
                bundle.root_element,
                existing[0] if existing is not None else ctx.user.login,
                ",".join(_allowed_users(document)),
                document,
            ),
        )
    return ctx.text("")


def _saved_delete(ctx: RequestContext) -> Response:
    row = _saved_row(ctx)
    if row["owner"] != ctx.user.login and not ctx.is_admin:
        raise HttpError(403, f"The stored search {row['id']} belongs to another user.")
    with ctx.store.tx() as db:
        db.execute("DELETE FROM search_saved WHERE id=?", (row["id"],))
    return ctx.text("")


def register(router: Router) -> None:
    """Register ``POST /data/search`` and the stored searches."""
    router.add("POST", "/data/search", _search)
    router.add("GET", "/data/search/saved", _saved_list)
    router.add("GET", "/data/search/saved/{id}", _saved_get)
    router.add("PUT", "/data/search/saved/{id}", _saved_put)
    router.add("DELETE", "/data/search/saved/{id}", _saved_delete)
    router.add("GET", "/data/search/saved/{id}/results", _saved_results)

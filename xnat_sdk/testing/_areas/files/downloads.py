"""File listings and downloads: ``GET {parent}/resources/{R}/files[/{folder}/]`` (table,
``digest`` = MD5; ``format=zip|tar|tar.gz``), ``GET .../files/{path}`` (the bytes; Range,
HEAD), ``GET {parent}/files`` (every file of the parent, ``all=true`` with its children),
``GET {experiment}/scans/{ALL|*|id,id|type}/files``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from werkzeug.utils import send_file
from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.files.parents import (
    Parent,
    find_resources,
    parent_of,
    resources_of,
    selected_scans,
    session_children,
)
from xnat_sdk.testing._areas.files.storage import resource_dir, safe_relpath
from xnat_sdk.testing._areas.files.zips import ZipEntry, stream_tar, stream_zip
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["content_disposition", "files_get", "parent_files"]


_MIME = {
    "bmp": "image/bmp",
    "gif": "image/gif",
    "html": "text/html",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "pdf": "application/pdf",
    "png": "image/png",
    "svg": "image/svg+xml",
    "tiff": "image/tiff",
    "txt": "text/plain",
    "xml": "text/xml",
}


def _file_rows(
    ctx: RequestContext, parent: Parent, resources: list[sqlite3.Row], folder: str = ""
) -> list[tuple[Parent, sqlite3.Row, sqlite3.Row]]:
    out = []
    recursive = (ctx.q("recursive") or "true").lower() != "false"
    for res in resources:
        for f in ctx.store.query(
            "SELECT * FROM files WHERE resource_id=? ORDER BY path", (res["id"],)
        ):
            path = f["path"]
            if folder:
                if not path.startswith(folder):
                    continue
                if not recursive and "/" in path[len(folder) :]:
                    continue
            out.append((parent, res, f))
    fc, ff = ctx.q("file_content"), ctx.q("file_format")
    if fc is not None:
        out = [x for x in out if (x[2]["content"] or "NULL") == fc]
    if ff is not None:
        out = [x for x in out if (x[2]["format"] or "NULL") == ff]
    return out


def _files_answer(
    ctx: RequestContext, items: list[tuple[Parent, sqlite3.Row, sqlite3.Row]]
) -> Response:
    fmt = ctx.format
    if fmt in ("zip", "tar", "tar.gz"):
        return _zip_answer(ctx, items)
    corrupt = ctx.state.faults.take_corrupt_digest(ctx.path)
    rows = []
    locate = _locator(ctx)
    for parent, res, f in items:
        digest = f["md5"]
        if corrupt:
            digest = "0" * 32 if digest != "0" * 32 else "f" * 32
        path = f["path"]
        rows.append(
            {
                "Name": path.rsplit("/", 1)[-1],
                "Size": str(f["size"]),
                "URI": locate(parent, res) + path,
                "collection": res["label"],
                "file_tags": f["tags"],
                "file_format": f["format"],
                "file_content": f["content"],
                "cat_ID": str(res["id"]),
                "digest": digest,
            }
        )
    cols = [
        "Name",
        "Size",
        "URI",
        "collection",
        "file_tags",
        "file_format",
        "file_content",
        "cat_ID",
        "digest",
    ]
    return ctx.table(
        cols, rows, meta={"title": "Files"}, column_props=[{"key": "URI", "serverRoot": ""}]
    )


def _locator(ctx: RequestContext) -> Callable[[Parent, sqlite3.Row], str]:
    """The ``URI`` cell's prefix (the file's path follows): REST path, or a disk path with
    ``locator=absolutePath|projectPath``; computed once per resource."""
    locator = (ctx.q("locator") or "").lower()
    cache: dict[tuple[str, int], str] = {}

    def prefix(parent: Parent, res: sqlite3.Row) -> str:
        key = (parent.base_uri, int(res["id"]))
        found = cache.get(key)
        if found is None:
            disk = resource_dir(ctx.store, res["id"])
            if locator == "absolutepath":
                found = f"{disk}/"
            elif locator == "projectpath":
                found = f"{disk.relative_to(ctx.store.data_dir).as_posix()}/"
            else:
                found = f"{parent.base_uri}/resources/{res['id']}/files/"
            cache[key] = found
        return found

    return prefix


def _zip_answer(
    ctx: RequestContext, items: list[tuple[Parent, sqlite3.Row, sqlite3.Row]]
) -> Response:
    if not items:
        raise HttpError(404, None)
    root = items[0][0].zip_root
    simplified = (ctx.q("structure") or "").lower() == "simplified"
    store = ctx.store

    def entries() -> Iterator[ZipEntry]:
        # Made while the archive streams, so its first bytes leave before the last entry
        # of a large resource is worked out.
        folders: dict[int, str] = {}
        for parent, res, f in items:
            label = res["label"]
            if simplified:
                arc = f"{parent.zip_root}/{parent.zip_prefix}{label}/{f['path']}"
            else:
                arc = f"{parent.zip_root}/{parent.zip_prefix}resources/{label}/files/{f['path']}"
            folder = folders.get(res["id"])
            if folder is None:
                folder = folders[res["id"]] = str(resource_dir(store, res["id"]))
            yield ZipEntry(arc, f"{folder}/{f['path']}", f["size"], f["mtime"])

    if ctx.format in ("tar", "tar.gz"):
        gz = ctx.format == "tar.gz"
        resp = Response(
            stream_tar(entries(), gzip=gz),
            mimetype="application/x-gtar" if gz else "application/x-tar",
        )
        resp.headers["Content-Disposition"] = content_disposition(f"{root}.{ctx.format}")
        return resp
    compress = (ctx.q("compression") or "0") not in ("0", "")
    resp = Response(stream_zip(entries(), compress=compress), mimetype="application/zip")
    resp.headers["Content-Disposition"] = content_disposition(f"{root}.zip")
    return resp


def files_get(ctx: RequestContext) -> Response:
    """``GET {parent}/resources/{R}/files[/{path}]``; under ``scans/{selector}`` the
    resources ``R`` of every scan the selector names (XNAT: ID or type, ``ALL``, lists)."""
    sel = ctx.params.get("scan")
    parents = selected_scans(ctx, sel) if sel is not None else [parent_of(ctx)]
    found = [(p, res) for p in parents for res in find_resources(ctx, p, ctx.params["resource"])]
    if not found:
        raise HttpError(404, "Unable to find the specified catalog.")
    tail = ctx.tail.lstrip("/")
    if not tail or tail.endswith("/"):
        return _files_answer(ctx, _rows_of(ctx, found, tail))
    try:
        rel = safe_relpath(tail)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    for parent, res in found:
        f = ctx.store.one("SELECT * FROM files WHERE resource_id=? AND path=?", (res["id"], rel))
        if f is not None:
            if ctx.format in ("zip", "tar", "tar.gz"):
                return _zip_answer(ctx, [(parent, res, f)])
            return _send(ctx, resource_dir(ctx.store, res["id"]) / rel)
    # a folder named without its trailing slash
    items = _rows_of(ctx, found, rel + "/")
    if items and ctx.format in ("zip", "tar", "tar.gz"):
        return _zip_answer(ctx, items)
    if ctx.flag("accept-not-found"):
        return Response(status=204)
    raise HttpError(404, "Unable to find file.")


def _rows_of(
    ctx: RequestContext, found: list[tuple[Parent, sqlite3.Row]], folder: str
) -> list[tuple[Parent, sqlite3.Row, sqlite3.Row]]:
    return [item for parent, res in found for item in _file_rows(ctx, parent, [res], folder)]


def content_disposition(name: str) -> str:
    """XNAT's ``attachment; filename="x";`` (RFC 5987 form added for non-ASCII names)."""
    plain = name.replace('"', "").replace("\r", "").replace("\n", "")
    try:
        plain.encode("latin-1")
    except UnicodeEncodeError:
        fallback = plain.encode("ascii", "replace").decode("ascii")
        return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')};"
    return f'attachment; filename="{plain}";'


def _send(ctx: RequestContext, path: Path) -> Response:
    if not path.is_file():
        raise HttpError(404, "Unable to find file.")
    ext = path.name.rsplit(".", 1)[-1].lower() if "." in path.name else ""
    resp = send_file(
        path,
        ctx.request.environ,
        mimetype=_MIME.get(ext, "application/octet-stream"),
        conditional=True,
        etag=False,
        max_age=None,
    )
    resp.headers["Content-Disposition"] = content_disposition(path.name)
    resp.headers["Cache-Control"] = "must-revalidate"
    resp.headers.pop("Date", None)
    return resp


def parent_files(ctx: RequestContext) -> Response:
    scan_sel = ctx.params.get("scan")
    if scan_sel is not None:
        return _scan_selection_files(ctx, scan_sel)
    parent = parent_of(ctx)
    items = _file_rows(ctx, parent, resources_of(ctx, parent))
    if parent.kind == "experiment" and ctx.flag("all"):
        items += _session_children_files(ctx, parent)
    return _files_answer(ctx, items)


def _session_children_files(
    ctx: RequestContext, parent: Parent
) -> list[tuple[Parent, sqlite3.Row, sqlite3.Row]]:
    """Files of the scans, reconstructions and assessors of an experiment (``all=true``)."""
    items: list[tuple[Parent, sqlite3.Row, sqlite3.Row]] = []
    for kid in session_children(ctx, parent):
        items += _file_rows(ctx, kid, resources_of(ctx, kid))
    return items


def _scan_selection_files(ctx: RequestContext, selector: str) -> Response:
    scans = selected_scans(ctx, selector)
    if not scans:
        raise HttpError(404, "Unable to find the specified scan.")
    items: list[tuple[Parent, sqlite3.Row, sqlite3.Row]] = []
    for parent in scans:
        items.extend(_file_rows(ctx, parent, resources_of(ctx, parent)))
    return _files_answer(ctx, items)

"""Uploads and deletes: ``PUT|POST {parent}/resources/{R}/files[/{path}]`` (raw body or
multipart; ``extract=true`` for zip/tar/tgz; ``overwrite=true``; existing file -> 200
``{"duplicates":[...]}``), ``DELETE .../files/{path-or-folder}``."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.lookup import require_edit
from xnat_sdk.testing._areas.files.parents import Parent, find_resources, parent_of
from xnat_sdk.testing._areas.files.storage import (
    CHUNK,
    create_resource,
    resource_dir,
    safe_relpath,
    store_file,
    store_files,
    temp_prefix,
)
from xnat_sdk.testing._areas.files.zips import is_extractable, members_of
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["files_delete", "upload"]


_UPLOAD_EXT = {
    "application/zip": ".zip",
    "application/x-tar": ".tar",
    "application/x-gtar": ".tar.gz",
    "application/x-gzip": ".tar.gz",
    "text/plain": ".txt",
    "text/xml": ".xml",
    "application/xml": ".xml",
}


def upload(ctx: RequestContext) -> Response:
    """``PUT|POST .../files[/{path}]``: store the body (raw or multipart); ``extract=true``
    unpacks zip/tar files; existing files are kept unless ``overwrite=true`` and answered as
    ``{"duplicates": [...]}``."""
    ctx.require_user()
    parent = parent_of(ctx)
    require_edit(ctx, parent.edit_project)
    store = ctx.store
    res_id = _upload_resource(ctx, parent)
    overwrite = ctx.flag("overwrite")
    extract = ctx.flag("extract")
    meta = _file_meta(ctx)
    bodies = _request_bodies(ctx, ctx.tail.strip("/"))
    duplicates: list[str] = []
    for name, body in bodies:
        try:
            rel = safe_relpath(name)
        except ValueError as exc:
            raise HttpError(400, f"Invalid file path: {name}") from exc
        if extract and is_extractable(rel):
            duplicates += _extract(ctx, res_id, rel, body, overwrite, meta)
            continue
        rec = store_file(store, res_id, rel, body, overwrite=overwrite, **meta)
        if rec is None:
            duplicates.append(rel)
    if duplicates:
        return ctx.text(json.dumps({"duplicates": duplicates}), mimetype="text/html")
    return ctx.text("")


def _upload_resource(ctx: RequestContext, parent: Parent) -> int:
    """The ID of the resource uploaded into (created when missing)."""
    store = ctx.store
    ref = ctx.params["resource"]
    found = find_resources(ctx, parent, ref)
    if found:
        return int(found[0]["id"])
    fmt = ctx.q("format") or ""
    with store.tx() as db:
        return create_resource(
            store,
            db,
            parent.kind,
            parent.id,
            ref,
            format="" if fmt.lower() in ("json", "xml", "html", "csv", "zip") else fmt,
            content=ctx.q("content") or "",
            description=ctx.q("description") or "",
            inout=parent.inout or ("out" if parent.kind in ("assessor", "reconstruction") else ""),
        )


def _file_meta(ctx: RequestContext) -> dict[str, str]:
    """``format``, ``content`` and ``tags`` of the uploaded files."""
    return {
        "format": ""
        if (ctx.q("format") or "").lower() in ("json", "xml", "html")
        else ctx.q("format") or "",
        "content": ctx.q("content") or "",
        "tags": ctx.q("tags") or "",
    }


def _request_bodies(ctx: RequestContext, tail: str) -> list[tuple[str, IO[bytes]]]:
    """``(name, stream)`` of each uploaded file: the parts of a multipart form (only the first
    when the URL names the file), or the raw body; 400 when there is nothing."""
    request = ctx.request
    bodies: list[tuple[str, IO[bytes]]] = []
    if (request.mimetype or "").startswith("multipart/"):
        if ctx.flag("inbody"):
            raise HttpError(406, "In-body File posts must include the file directly as the body.")
        for f in request.files.values():
            name = os.path.basename(f.filename or "") or "upload"
            bodies.append((tail or name, f.stream))
            if tail:
                break
    else:
        stream = request.stream
        first = stream.read(1)
        if not first:
            bodies = []
        else:
            name = tail or "upload" + _UPLOAD_EXT.get(request.mimetype or "", "")
            bodies.append((name, _Prefixed(first, stream)))  # type: ignore[arg-type]
    if not bodies:
        raise HttpError(
            400,
            "You tried to PUT to this service, but didn't provide any data (found request "
            "entity size of 0). Please check the format of your service request.",
        )
    return bodies


class _Prefixed:
    """A stream with one already-read prefix chunk put back in front."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            if n < 0:
                return head + bytes(self._rest.read())
            more = bytes(self._rest.read(n - len(head))) if n > len(head) else b""
            return head + more
        return bytes(self._rest.read(n))


def _extract(
    ctx: RequestContext,
    res_id: int,
    rel: str,
    body: IO[bytes],
    overwrite: bool,
    meta: dict[str, str],
) -> list[str]:
    store = ctx.store
    folder = os.path.dirname(rel)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix("extract"), dir=store.data_dir)
    duplicates: list[str] = []
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = body.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)

        def members() -> Iterator[tuple[str, IO[bytes]]]:
            for member, stream in members_of(Path(tmp), rel):
                try:
                    target = safe_relpath(f"{folder}/{member}" if folder else member)
                except ValueError as exc:
                    raise HttpError(400, f"Archive member escapes the resource: {member}") from exc
                yield target, stream

        try:
            duplicates += store_files(store, res_id, members(), overwrite=overwrite, **meta)
        except HttpError:
            raise
        except Exception as exc:  # corrupt archives
            raise HttpError(400, f"Unable to extract archive {rel}: {exc}") from exc
    finally:
        os.unlink(tmp)
    return duplicates


def files_delete(ctx: RequestContext) -> Response:
    parent = parent_of(ctx)
    require_edit(ctx, parent.edit_project)
    resources = find_resources(ctx, parent, ctx.params["resource"])
    if not resources:
        raise HttpError(404, "Unable to find the specified catalog.")
    tail = ctx.tail.strip("/")
    if not tail:
        raise HttpError(400, "Specify the file to delete.")
    store = ctx.store
    removed = 0
    keep_on_disk = (ctx.q("removeFiles") or "").lower() == "false"
    for res in resources:
        rows = store.query(
            "SELECT path FROM files WHERE resource_id=? AND (path=? OR path LIKE ? ESCAPE '\\')",
            (res["id"], tail, _like_prefix(tail)),
        )
        with store.tx() as db:
            for r in rows:
                db.execute("DELETE FROM files WHERE resource_id=? AND path=?", (res["id"], r[0]))
                if not keep_on_disk:
                    p = resource_dir(store, res["id"]) / r[0]
                    if p.exists():
                        p.unlink()
                removed += 1
    if not removed:
        if ctx.flag("accept-not-found"):
            return Response(status=204)
        raise HttpError(404, "No matched files")
    return ctx.text("")


def _like_prefix(folder: str) -> str:
    esc = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return esc + "/%"

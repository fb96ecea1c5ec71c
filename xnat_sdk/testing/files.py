"""Resources and files at every level of the archive (spec §4.6, §4.7, §6).

Parents: project, subject, experiment, scan, reconstruction (``[/in|/out]``) and assessor
(``[/in|/out]``), in every URL form of :mod:`xnat_sdk.testing.archive`. For each parent:

* ``GET {parent}/resources`` -> the 11-column resource table;
* ``PUT|POST {parent}/resources/{label}[?format=&content=&description=&tags=]`` -> create
  (200, 409 if it exists, 400 with a path tail); ``GET`` -> catalog XML; ``DELETE``;
* ``GET {parent}/resources/{R}/files[/{folder}/]`` -> file table (``digest`` = MD5),
  ``?format=zip`` -> zip; ``GET .../files/{path}`` -> the bytes (Range, HEAD);
* ``PUT|POST {parent}/resources/{R}/files[/{path}]`` -> upload (raw body or multipart;
  ``extract=true`` for zip/tar/tgz; ``overwrite=true``; existing file -> 200
  ``{"duplicates":[...]}``); ``DELETE .../files/{path-or-folder}``;
* ``GET {parent}/files`` -> every file of the parent's resources (``?format=zip``);
  ``GET {experiment}/scans/{ALL|*|id,id|type}/files`` -> the files of those scans.

At startup the temporary files of killed servers are removed
(:func:`xnat_sdk.testing.objects.remove_stale_temp_files`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.utils import send_file
from werkzeug.wrappers import Response

import xnat_sdk.testing.objects as objects
from xnat_sdk.testing.archive import EXPERIMENT_PREFIXES, PROJECT_PREFIX, SUBJECT_PREFIXES
from xnat_sdk.testing.lookup import Chain, require_edit, resolve
from xnat_sdk.testing.routing import HttpError, RequestContext, Router
from xnat_sdk.testing.zips import (
    ZipEntry,
    archive_members,
    is_archive_name,
    sanitize,
    stream_tar,
    stream_zip,
)

if TYPE_CHECKING:
    from xnat_sdk.testing.app import ServerState

__all__ = ["Parent", "on_startup", "register"]

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
_UPLOAD_EXT = {
    "application/zip": ".zip",
    "application/x-tar": ".tar",
    "application/x-gtar": ".tar.gz",
    "application/x-gzip": ".tar.gz",
    "text/plain": ".txt",
    "text/xml": ".xml",
    "application/xml": ".xml",
}


@dataclass
class Parent:
    """The resource owner named by a URL."""

    kind: str  # project|subject|experiment|scan|reconstruction|assessor
    id: str  # stored parent_id
    inout: str | None
    chain: Chain
    edit_project: str
    base_uri: str  # canonical URL of the parent
    zip_root: str  # first folder in zips
    zip_prefix: str  # folders between the root and "resources/"


def _exp_base(chain: Chain, exp: sqlite3.Row) -> str:
    if chain.has_subject_segment and chain.project is not None and chain.subject is not None:
        return (
            f"/data/projects/{chain.project['id']}/subjects/{chain.subject['id']}"
            f"/experiments/{exp['id']}"
        )
    return f"/data/experiments/{exp['id']}"


def parent_of(ctx: RequestContext) -> Parent:
    """Resolve the URL to the resource parent (404/403 as XNAT)."""
    chain = resolve(ctx)
    inout = ctx.params.get("inout")
    if inout is not None and inout not in ("in", "out"):
        raise HttpError(404, None)
    if chain.assessor is not None:
        a, e = chain.assessor, chain.experiment
        assert e is not None
        io_seg = inout or "out"
        return Parent(
            "assessor",
            a["id"],
            inout,
            chain,
            a["project"],
            f"{_exp_base(chain, e)}/assessors/{a['id']}/{io_seg}",
            e["label"],
            f"assessors/{a['id']}/{io_seg}/",
        )
    if chain.recon is not None:
        r, e = chain.recon, chain.experiment
        assert e is not None
        io_seg = inout or "out"
        folder = f"{r['id']}-{sanitize(r['type'])}" if r["type"] else r["id"]
        return Parent(
            "reconstruction",
            str(r["pk"]),
            inout,
            chain,
            e["project"],
            f"{_exp_base(chain, e)}/reconstructions/{r['id']}/{io_seg}",
            e["label"],
            f"reconstructions/{folder}/{io_seg}/",
        )
    if chain.scan is not None:
        s, e = chain.scan, chain.experiment
        assert e is not None
        return Parent(
            "scan",
            str(s["pk"]),
            None,
            chain,
            e["project"],
            f"{_exp_base(chain, e)}/scans/{s['id']}",
            e["label"],
            f"scans/{_scan_folder(s)}/",
        )
    if chain.experiment is not None:
        e = chain.experiment
        return Parent(
            "experiment", e["id"], None, chain, e["project"], _exp_base(chain, e), e["label"], ""
        )
    if chain.subject is not None:
        s = chain.subject
        return Parent(
            "subject",
            s["id"],
            None,
            chain,
            s["project"],
            f"/data/projects/{s['project']}/subjects/{s['id']}",
            s["label"],
            "",
        )
    assert chain.project is not None
    p = chain.project
    return Parent(
        "project", p["id"], None, chain, p["id"], f"/data/projects/{p['id']}", p["id"], ""
    )


def _scan_folder(scan: sqlite3.Row) -> str:
    return f"{scan['id']}-{sanitize(scan['type'])}" if scan["type"] else str(scan["id"])


def _resources(ctx: RequestContext, parent: Parent) -> list[sqlite3.Row]:
    sql = "SELECT * FROM resources WHERE parent_kind=? AND parent_id=?"
    params: list[Any] = [parent.kind, parent.id]
    if parent.inout is not None:
        sql += " AND inout IN (?, '')"
        params.append(parent.inout)
    return ctx.store.query(sql + " ORDER BY id", params)


def _find_resources(ctx: RequestContext, parent: Parent, ref: str) -> list[sqlite3.Row]:
    out = []
    all_rows = _resources(ctx, parent)
    for part in ref.split(","):
        for r in all_rows:
            hit = (
                (part.isdigit() and str(r["id"]) == part)
                or r["label"] == part
                or (part == "NULL" and not r["label"])
            )
            if hit and r not in out:
                out.append(r)
    return out


def _one_resource(ctx: RequestContext, parent: Parent) -> sqlite3.Row:
    found = _find_resources(ctx, parent, ctx.params["resource"])
    if not found:
        raise HttpError(404, "Unable to find the specified catalog.")
    return found[0]


# -- resource table -----------------------------------------------------------------------


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


def _resource_list(ctx: RequestContext) -> Response:
    parent = parent_of(ctx)
    category, cat_id, cat_desc = _category(parent)
    rows = []
    for r in _resources(ctx, parent):
        stats = ctx.store.one(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE resource_id=?", (r["id"],)
        )
        assert stats is not None
        rows.append(
            {
                "xnat_abstractresource_id": r["id"],
                "label": r["label"],
                "element_name": "xnat:resourceCatalog",
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


def _resource_put(ctx: RequestContext) -> Response:
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
    if _find_resources(ctx, parent, label):
        raise HttpError(409, "Specified resource already exists.")
    fmt = ctx.q("format") or ""
    if fmt.lower() in ("json", "xml", "html", "csv"):
        fmt = ""
    store = ctx.store
    with store.tx() as db:
        objects.create_resource(
            store,
            db,
            parent.kind,
            parent.id,
            label,
            format=fmt,
            content=ctx.q("content") or "",
            description=ctx.q("description") or "",
            tags=ctx.q("tags") or "",
            inout=parent.inout or ("out" if parent.kind in ("assessor", "reconstruction") else ""),
        )
    return ctx.text("")


def _resource_get(ctx: RequestContext) -> Response:
    parent = parent_of(ctx)
    res = _one_resource(ctx, parent)
    files = ctx.store.query("SELECT * FROM files WHERE resource_id=? ORDER BY path", (res["id"],))
    from xml.sax.saxutils import quoteattr

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


def _resource_delete(ctx: RequestContext) -> Response:
    if ctx.tail.strip("/"):
        raise HttpError(400, "This resource works at the catalog level only.")
    parent = parent_of(ctx)
    require_edit(ctx, parent.edit_project)
    res = _one_resource(ctx, parent)
    store = ctx.store
    with store.tx() as db:
        objects.delete_resource(store, db, res["id"])
    return ctx.text("")


# -- file listings, downloads, zips ---------------------------------------------------------


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
            disk = objects.resource_dir(ctx.store, res["id"])
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
                folder = folders[res["id"]] = str(objects.resource_dir(store, res["id"]))
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


def _files_get(ctx: RequestContext) -> Response:
    sel = ctx.params.get("scan")
    if sel is not None and (sel in ("ALL", "*") or "," in sel):
        return _scan_selection_files(ctx, sel)
    parent = parent_of(ctx)
    resources = _find_resources(ctx, parent, ctx.params["resource"])
    if not resources:
        raise HttpError(404, "Unable to find the specified catalog.")
    tail = ctx.tail.lstrip("/")
    if not tail or tail.endswith("/"):
        return _files_answer(ctx, _file_rows(ctx, parent, resources, tail))
    try:
        rel = objects.safe_relpath(tail)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    for res in resources:
        f = ctx.store.one("SELECT * FROM files WHERE resource_id=? AND path=?", (res["id"], rel))
        if f is not None:
            if ctx.format in ("zip", "tar", "tar.gz"):
                return _zip_answer(ctx, [(parent, res, f)])
            return _send(ctx, objects.resource_dir(ctx.store, res["id"]) / rel)
    # a folder named without its trailing slash
    items = _file_rows(ctx, parent, resources, rel + "/")
    if items and ctx.format in ("zip", "tar", "tar.gz"):
        return _zip_answer(ctx, items)
    if ctx.flag("accept-not-found"):
        return Response(status=204)
    raise HttpError(404, "Unable to find file.")


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


def _parent_files(ctx: RequestContext) -> Response:
    scan_sel = ctx.params.get("scan")
    if scan_sel is not None:
        return _scan_selection_files(ctx, scan_sel)
    parent = parent_of(ctx)
    items = _file_rows(ctx, parent, _resources(ctx, parent))
    if parent.kind == "experiment" and ctx.flag("all"):
        items += _session_children_files(ctx, parent)
    return _files_answer(ctx, items)


def _session_children_files(
    ctx: RequestContext, parent: Parent
) -> list[tuple[Parent, sqlite3.Row, sqlite3.Row]]:
    """Files of the scans, reconstructions and assessors of an experiment (``all=true``)."""
    chain = parent.chain
    exp = chain.experiment
    assert exp is not None
    store = ctx.store
    base = _exp_base(chain, exp)
    kids: list[Parent] = []
    for s in store.query("SELECT * FROM scans WHERE experiment_id=? ORDER BY pk", (exp["id"],)):
        kids.append(
            Parent(
                "scan",
                str(s["pk"]),
                None,
                chain,
                exp["project"],
                f"{base}/scans/{s['id']}",
                exp["label"],
                f"scans/{_scan_folder(s)}/",
            )
        )
    for r in store.query(
        "SELECT * FROM reconstructions WHERE experiment_id=? ORDER BY pk", (exp["id"],)
    ):
        folder = f"{r['id']}-{sanitize(r['type'])}" if r["type"] else r["id"]
        kids.append(
            Parent(
                "reconstruction",
                str(r["pk"]),
                None,
                chain,
                exp["project"],
                f"{base}/reconstructions/{r['id']}/out",
                exp["label"],
                f"reconstructions/{folder}/out/",
            )
        )
    for a in store.query("SELECT * FROM experiments WHERE session_id=? ORDER BY id", (exp["id"],)):
        kids.append(
            Parent(
                "assessor",
                a["id"],
                None,
                chain,
                exp["project"],
                f"{base}/assessors/{a['id']}/out",
                exp["label"],
                f"assessors/{a['id']}/out/",
            )
        )
    items: list[tuple[Parent, sqlite3.Row, sqlite3.Row]] = []
    for kid in kids:
        items += _file_rows(ctx, kid, _resources(ctx, kid))
    return items


def _scan_selection_files(ctx: RequestContext, selector: str) -> Response:
    chain = resolve(ctx, upto="scan")
    exp = chain.experiment
    assert exp is not None
    scans = ctx.store.query("SELECT * FROM scans WHERE experiment_id=? ORDER BY pk", (exp["id"],))
    if selector not in ("ALL", "*"):
        wanted = selector.split(",")
        scans = [s for s in scans if s["id"] in wanted or s["type"] in wanted]
        if not scans:
            raise HttpError(404, "Unable to find the specified scan.")
    items: list[tuple[Parent, sqlite3.Row, sqlite3.Row]] = []
    for s in scans:
        sub = Chain(
            project=chain.project,
            subject=chain.subject,
            experiment=exp,
            scan=s,
            has_subject_segment=chain.has_subject_segment,
        )
        parent = Parent(
            "scan",
            str(s["pk"]),
            None,
            sub,
            exp["project"],
            f"{_exp_base(sub, exp)}/scans/{s['id']}",
            exp["label"],
            f"scans/{_scan_folder(s)}/",
        )
        resources = _resources(ctx, parent)
        res_ref = ctx.params.get("resource")
        if res_ref is not None:
            resources = _find_resources(ctx, parent, res_ref)
        items.extend(_file_rows(ctx, parent, resources))
    return _files_answer(ctx, items)


# -- uploads and deletes ------------------------------------------------------------------


def _upload(ctx: RequestContext) -> Response:
    ctx.require_user()
    parent = parent_of(ctx)
    require_edit(ctx, parent.edit_project)
    store = ctx.store
    ref = ctx.params["resource"]
    found = _find_resources(ctx, parent, ref)
    if found:
        res_id = int(found[0]["id"])
    else:
        fmt = ctx.q("format") or ""
        with store.tx() as db:
            res_id = objects.create_resource(
                store,
                db,
                parent.kind,
                parent.id,
                ref,
                format="" if fmt.lower() in ("json", "xml", "html", "csv", "zip") else fmt,
                content=ctx.q("content") or "",
                description=ctx.q("description") or "",
                inout=parent.inout
                or ("out" if parent.kind in ("assessor", "reconstruction") else ""),
            )
    tail = ctx.tail.strip("/")
    overwrite = ctx.flag("overwrite")
    extract = ctx.flag("extract")
    meta = {
        "format": ""
        if (ctx.q("format") or "").lower() in ("json", "xml", "html")
        else ctx.q("format") or "",
        "content": ctx.q("content") or "",
        "tags": ctx.q("tags") or "",
    }
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
    duplicates: list[str] = []
    for name, body in bodies:
        try:
            rel = objects.safe_relpath(name)
        except ValueError as exc:
            raise HttpError(400, f"Invalid file path: {name}") from exc
        if extract and is_archive_name(rel):
            duplicates += _extract(ctx, res_id, rel, body, overwrite, meta)
            continue
        rec = objects.store_file(store, res_id, rel, body, overwrite=overwrite, **meta)
        if rec is None:
            duplicates.append(rel)
    if duplicates:
        return ctx.text(json.dumps({"duplicates": duplicates}), mimetype="text/html")
    return ctx.text("")


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
    fd, tmp = tempfile.mkstemp(prefix=objects.temp_prefix("extract"), dir=store.data_dir)
    duplicates: list[str] = []
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = body.read(objects.CHUNK)
                if not chunk:
                    break
                out.write(chunk)

        def members() -> Iterator[tuple[str, IO[bytes]]]:
            for member, stream in archive_members(Path(tmp), rel):
                try:
                    target = objects.safe_relpath(f"{folder}/{member}" if folder else member)
                except ValueError as exc:
                    raise HttpError(400, f"Archive member escapes the resource: {member}") from exc
                yield target, stream

        try:
            duplicates += objects.store_files(store, res_id, members(), overwrite=overwrite, **meta)
        except HttpError:
            raise
        except Exception as exc:  # corrupt archives
            raise HttpError(400, f"Unable to extract archive {rel}: {exc}") from exc
    finally:
        os.unlink(tmp)
    return duplicates


def _files_delete(ctx: RequestContext) -> Response:
    parent = parent_of(ctx)
    require_edit(ctx, parent.edit_project)
    resources = _find_resources(ctx, parent, ctx.params["resource"])
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
                    p = objects.resource_dir(store, res["id"]) / r[0]
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


# -- registration -----------------------------------------------------------------------------


def _parents() -> Iterator[str]:
    yield PROJECT_PREFIX
    yield from SUBJECT_PREFIXES
    for ep in EXPERIMENT_PREFIXES:
        yield ep
        yield ep + "/scans/{scan}"
        for kind in ("reconstructions/{recon}", "assessors/{assessor}"):
            yield f"{ep}/{kind}"
            yield f"{ep}/{kind}/{{inout}}"


def on_startup(state: ServerState) -> None:
    """Remove temporary upload files that servers killed mid-upload left in the folder."""
    objects.remove_stale_temp_files(state.store)


def register(router: Router) -> None:
    """Register resource and file routes for every parent."""
    for p in _parents():
        router.add("GET", p + "/resources", _resource_list, archive=True, auth="optional")
        r = p + "/resources/{resource}"
        router.add(["PUT", "POST"], r, _resource_put, archive=True, tail=True)
        router.add("GET", r, _resource_get, archive=True, auth="optional")
        router.add("DELETE", r, _resource_delete, archive=True, tail=True)
        f = r + "/files"
        router.add("GET", f, _files_get, archive=True, auth="optional", tail=True)
        router.add(["PUT", "POST"], f, _upload, archive=True, tail=True)
        router.add("DELETE", f, _files_delete, archive=True, tail=True)
        router.add("GET", p + "/files", _parent_files, archive=True, auth="optional")

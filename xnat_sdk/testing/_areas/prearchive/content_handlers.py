"""What is in a prearchive session: ``.../scans``, ``.../scans/{S}`` (zip, DELETE),
``.../scans/{S}/resources[/{R}[/files[/{name}]]]``, ``.../resources[/{R}/files[/{name}]]``,
``.../logs[/last]``."""

from __future__ import annotations

import shutil
from pathlib import Path

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.prearchive.documents import file_response, zip_folder
from xnat_sdk.testing._areas.prearchive.layout import (
    check_segment,
    files_in,
    path_within,
    resource_dirs,
    session_dir,
)
from xnat_sdk.testing._areas.prearchive.model import PrearcSession, scans_of
from xnat_sdk.testing._areas.prearchive.params import session_from_ctx
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import now_timestamp

__all__ = [
    "scan_delete",
    "scan_files",
    "scan_get",
    "scan_resource",
    "scan_resources",
    "scans_list",
    "session_logs",
    "session_resource_files",
    "session_resources",
]


def scans_list(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx)
    rows = [
        {"ID": sc.scan_id, "xsiType": sc.xsi_type, "series_description": sc.series_description}
        for sc in scans_of(ctx.store, s)
    ]
    return ctx.table(["ID", "xsiType", "series_description"], rows)


def _scan_dir(ctx: RequestContext, s: PrearcSession) -> Path:
    scan = ctx.params["scan"]
    known = {sc.scan_id for sc in scans_of(ctx.store, s)}
    if scan not in known:
        raise HttpError(404, f"Unknown scan {scan}")
    return session_dir(ctx.store, s) / "SCANS" / scan


def scan_get(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx)
    folder = _scan_dir(ctx, s)
    if ctx.format != "zip":
        raise HttpError(400, "Only zip format is supported for a prearchive scan.")
    return zip_folder(folder, ctx.params["scan"], f"{ctx.params['scan']}.zip")


def scan_delete(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx, write=True)
    folder = _scan_dir(ctx, s)
    shutil.rmtree(folder, ignore_errors=True)
    with ctx.store.tx() as db:
        db.execute(
            "DELETE FROM prearchive_scans WHERE project=? AND timestamp=? AND folder=? AND "
            "scan_id=?",
            (s.project, s.timestamp, s.folder, ctx.params["scan"]),
        )
        db.execute(
            "UPDATE prearchive_sessions SET lastmod=? WHERE project=? AND timestamp=? AND folder=?",
            (now_timestamp(), s.project, s.timestamp, s.folder),
        )
    return ctx.text("")


def _resource_rows(folder: Path) -> list[dict[str, str]]:
    rows = []
    for res in resource_dirs(folder):
        files = files_in(res)
        rows.append(
            {
                "label": res.name,
                "file_count": str(len(files)),
                "file_size": str(sum(f.stat().st_size for f in files)),
            }
        )
    return rows


def scan_resources(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx)
    return ctx.table(["label", "file_count", "file_size"], _resource_rows(_scan_dir(ctx, s)))


def _file_rows(ctx: RequestContext, res: Path) -> list[dict[str, str]]:
    base = ctx.path.rstrip("/")
    pretty = ctx.flag("prettyPrint")
    rows = []
    for f in files_in(res):
        rel = f.relative_to(res).as_posix()
        size = f.stat().st_size
        rows.append(
            {
                "Name": rel,
                "Size": _pretty_size(size) if pretty else str(size),
                "URI": f"{base}/{rel}",
            }
        )
    return rows


def _pretty_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)  # pragma: no cover


def _scan_resource_dir(ctx: RequestContext, s: PrearcSession) -> Path:
    label = check_segment(ctx.params["resource"], "resource")
    folder = _scan_dir(ctx, s) / label
    if not folder.is_dir():
        raise HttpError(404, f"Unable to find resource {label}.")
    return folder


def scan_files(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx)
    res = _scan_resource_dir(ctx, s)
    if ctx.tail.strip("/"):
        return _one_file(res, ctx.tail.strip("/"))
    if ctx.format == "zip":
        return zip_folder(res, res.name, f"{res.name}.zip")
    return ctx.table(["Name", "Size", "URI"], _file_rows(ctx, res))


def _one_file(res: Path, rel: str) -> Response:
    path = path_within(res, rel)
    if not path.is_file():
        raise HttpError(404, f"Unable to find file {rel}.")
    return file_response(path)


def scan_resource(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx)
    res = _scan_resource_dir(ctx, s)
    if ctx.format == "zip":
        return zip_folder(res, res.name, f"{res.name}.zip")
    rows = [r for r in _resource_rows(res.parent) if r["label"] == res.name]
    return ctx.table(["label", "file_count", "file_size"], rows)


def session_resources(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx)
    folder = session_dir(ctx.store, s)
    rows: list[dict[str, str]] = []
    for sc in scans_of(ctx.store, s):
        for r in _resource_rows(folder / "SCANS" / sc.scan_id):
            rows.append({"category": "scans", "cat_id": sc.scan_id, **r})
    for r in _resource_rows(folder / "RESOURCES"):
        rows.append({"category": "resources", "cat_id": "", **r})
    return ctx.table(["category", "cat_id", "label", "file_count", "file_size"], rows)


def session_resource_files(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx)
    label = check_segment(ctx.params["resource"], "resource")
    res = session_dir(ctx.store, s) / "RESOURCES" / label
    if not res.is_dir():
        raise HttpError(404, f"Unable to find resource {label}.")
    if ctx.tail.strip("/"):
        return _one_file(res, ctx.tail.strip("/"))
    if ctx.format == "zip":
        return zip_folder(res, label, f"{label}.zip")
    return ctx.table(["Name", "Size", "URI"], _file_rows(ctx, res))


def session_logs(ctx: RequestContext) -> Response:
    s = session_from_ctx(ctx)
    rows = ctx.store.query(
        "SELECT id, date, entry FROM prearchive_logs WHERE project=? AND timestamp=? AND "
        "folder=? ORDER BY id",
        (s.project, s.timestamp, s.folder),
    )
    if ctx.tail.strip("/") == "last":
        return ctx.text(str(rows[-1]["entry"]) if rows else "")
    return ctx.table(["id", "date", "entry"], [dict(r) for r in rows])

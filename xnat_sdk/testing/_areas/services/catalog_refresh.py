"""Refreshing a resource catalog.

* ``POST /data/services/refresh/catalog?resource=<uri>[&options=checksum,delete,append,
  populateStats]``: re-sync a resource's file rows with its folder (``append`` adds files
  found on disk, ``delete`` drops rows whose file is gone, ``checksum``/``populateStats``
  recompute MD5 and size) -> 200.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.lookup import find_project
from xnat_sdk.testing._areas.files.storage import file_digest, resource_dir
from xnat_sdk.testing._areas.prearchive.access import can_edit
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.params import all_params, strip_data_prefix
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["refresh_catalog"]


_REFRESH_OPTIONS = {"checksum", "delete", "append", "populateStats"}


def _resource_from_uri(ctx: RequestContext, uri: str) -> tuple[int, str]:
    """``(resource id, project)`` of a resource URI (``/archive/experiments/E/resources/R``,
    ``/archive/projects/P/subjects/S/experiments/E/scans/1/resources/DICOM``, ...)."""
    path = strip_data_prefix(uri).strip("/")
    parts = path.split("/")
    if parts and parts[0] == "archive":
        parts = parts[1:]
    if len(parts) % 2 or len(parts) < 2 or parts[-2] != "resources":
        raise HttpError(400, f"Invalid resource URI: {uri}")
    store = ctx.store
    kind, parent, project = "", "", ""
    for collection, ref in zip(parts[0:-2:2], parts[1:-2:2], strict=True):
        row = None
        if collection == "projects":
            row = find_project(store, ref)
            if row is not None:
                kind, parent, project = "project", str(row["id"]), str(row["id"])
        elif collection == "subjects":
            row = store.one(
                "SELECT id, project FROM subjects WHERE id=? OR (project=? AND label=?)",
                (ref, project, ref),
            )
            if row is not None:
                kind, parent, project = "subject", str(row["id"]), str(row["project"])
        elif collection == "experiments":
            row = store.one(
                "SELECT id, project FROM experiments WHERE id=? OR (project=? AND label=?)",
                (ref, project, ref),
            )
            if row is not None:
                kind, parent, project = "experiment", str(row["id"]), str(row["project"])
        elif collection == "scans" and kind == "experiment":
            row = store.one("SELECT pk FROM scans WHERE experiment_id=? AND id=?", (parent, ref))
            if row is not None:
                kind, parent = "scan", str(row["pk"])
        if row is None:
            raise HttpError(404, f"Unable to find {collection} {ref} of {uri}")
    label = parts[-1]
    res = store.one(
        "SELECT id FROM resources WHERE parent_kind=? AND parent_id=? AND (label=? OR id=?)",
        (kind, parent, label, label),
    )
    if res is None:
        raise HttpError(404, f"Unable to find resource {label} of {uri}")
    return int(res["id"]), project


def refresh_catalog(ctx: RequestContext) -> Response:
    params = all_params(ctx)
    resources = params.get("resource", [])
    if not resources:
        raise HttpError(400, "The resource parameter is required.")
    options = {o for value in params.get("options", []) for o in value.split(",") if o}
    unknown = options - _REFRESH_OPTIONS
    if unknown:
        raise HttpError(400, f"Unknown refresh options: {', '.join(sorted(unknown))}")
    targets = [_resource_from_uri(ctx, uri) for uri in resources]
    for _res, project in targets:
        if not can_edit(ctx.store, ctx.user, project):
            raise HttpError(403, f"The user may not refresh resources of project {project}.")
    for res_id, _project in targets:
        folder = resource_dir(ctx.store, res_id)
        rows = {
            str(r["path"]): r
            for r in ctx.store.query("SELECT * FROM files WHERE resource_id=?", (res_id,))
        }
        on_disk = {
            p.relative_to(folder).as_posix(): p
            for p in (folder.rglob("*") if folder.is_dir() else [])
            if p.is_file() and not p.name.startswith(".")
        }
        changes: list[tuple[str, str, int, str]] = []  # (op, path, size, md5)
        if "delete" in options:
            changes += [("delete", rel, 0, "") for rel in rows if rel not in on_disk]
        if "append" in options:
            for rel, path in on_disk.items():
                if rel not in rows:
                    size, md5 = file_digest(path)
                    changes.append(("add", rel, size, md5))
        if "checksum" in options or "populateStats" in options:
            for rel, row in rows.items():
                if rel in on_disk:
                    size, md5 = file_digest(on_disk[rel])
                    if (size, md5) != (row["size"], row["md5"]):
                        changes.append(("update", rel, size, md5))
        with ctx.store.tx() as db:
            for op, rel, size, md5 in changes:
                if op == "delete":
                    db.execute("DELETE FROM files WHERE resource_id=? AND path=?", (res_id, rel))
                elif op == "add":
                    db.execute(
                        "INSERT INTO files(resource_id, path, size, md5, mtime) VALUES(?,?,?,?,?)",
                        (res_id, rel, size, md5, on_disk[rel].stat().st_mtime),
                    )
                else:
                    db.execute(
                        "UPDATE files SET size=?, md5=? WHERE resource_id=? AND path=?",
                        (size, md5, res_id, rel),
                    )
    return ctx.text("")

"""The import service and the DICOM dump of the local XNAT server.

* ``POST /data/services/import``: a DICOM zip/tar/tar.gz (or one DICOM file) as the raw body
  or as the single file of a multipart form. Studies become prearchive sessions (default,
  ``dest=/prearchive[/projects/P]``) or archived sessions (``dest=/archive/projects/P[...]``,
  ``Direct-Archive=true``, ``auto-archive=true`` or an auto-archiving project). Parameters
  ``project``/``PROJECT_ID``, ``subject``/``SUBJECT_ID``, ``session``/``EXPT_LABEL``,
  ``overwrite``, ``overwrite_files``, ``quarantine``, ``Ignore-Unparsable``,
  ``import-handler`` (``gradual-DICOM`` adds to the open prearchive session of the same
  study instead of opening a new one). Answer: ``text/uri-list``, one ``/data/...`` URI
  per session, each followed by CRLF. Input is fully validated before anything is written.
* ``GET /data/services/dicomdump?src=...[&field=...]``: header rows of the first DICOM file
  of an archive or prearchive session, scan or file (columns ``tag1, tag2, vr, value, desc``).
  Besides XNAT's ``/archive/projects/...`` and ``/prearchive/projects/...`` templates, the
  ``/data/projects/...`` and ``/data/experiments/...`` file URIs of the listings work too
  (resources named by label or by numeric id).
* ``POST /data/services/refresh/catalog?resource=<uri>[&options=checksum,delete,append,
  populateStats]``: re-sync a resource's file rows with its folder (``append`` adds files
  found on disk, ``delete`` drops rows whose file is gone, ``checksum``/``populateStats``
  recompute MD5 and size) -> 200.
"""

from __future__ import annotations

import re
import sqlite3

from werkzeug.wrappers import Response

from xnat_sdk.testing.prearchive import (
    UNASSIGNED,
    ArchiveRequest,
    PrearcSession,
    all_params,
    archive_uri,
    can_edit,
    can_read,
    create_session,
    find_receiving,
    find_session,
    first,
    merge_into_session,
    project_exists,
    run_archive,
    scans_of,
    session_dir,
    strip_data_prefix,
)
from xnat_sdk.testing.routing import HttpError, RequestContext, Router, is_true

__all__ = ["register"]

_HANDLERS = {"SI", "DICOM-zip", "gradual-DICOM"}
_UNSUPPORTED_HANDLERS = {"XAR", "inbox", "automation", "xar"}


def _upload(ctx: RequestContext) -> tuple[bytes, str | None, str]:
    """The uploaded bytes, their content type and name (multipart part or raw body)."""
    req = ctx.request
    if (req.mimetype or "").lower() == "multipart/form-data":
        files = [f for _, f in req.files.items(multi=True)]
        if len(files) > 1:
            raise HttpError(400, "Importer is limited to one uploaded resource at a time.")
        if not files:
            raise HttpError(400, "Unable to identify upload format.")
        part = files[0]
        return part.read(), part.mimetype or None, part.filename or "upload"
    return req.get_data(cache=True), req.mimetype or None, "upload"


_PREARC_DEST = re.compile(r"^/prearchive(?:/projects/(?P<project>[^/]+)(?:/[^/]+/[^/]+)?)?/?$")
_ARCHIVE_DEST = re.compile(
    r"^/archive(?:/projects/(?P<project>[^/]+)(?:/subjects/(?P<subject>[^/]+)"
    r"(?:/experiments/(?P<experiment>[^/]+))?)?)?/?$"
)


def _parse_dest(dest: str | None) -> tuple[str | None, dict[str, str]]:
    """``(kind, parts)``: kind ``prearchive``/``archive``/``None`` (no dest)."""
    if not dest:
        return None, {}
    path = strip_data_prefix(dest)
    m = _PREARC_DEST.match(path)
    if m is not None:
        return "prearchive", {k: v for k, v in m.groupdict().items() if v}
    m = _ARCHIVE_DEST.match(path)
    if m is not None:
        return "archive", {k: v for k, v in m.groupdict().items() if v}
    raise HttpError(400, "Parameter dest format error")


def _import(ctx: RequestContext) -> Response:
    from xnat_sdk.testing.dicomtools import (
        NotDicomError,
        UploadFormatError,
        parse_upload,
        read_entries,
    )

    ctx.require_user()
    if (ctx.request.mimetype or "").lower() == "multipart/form-data":
        params = all_params(ctx)
    else:
        # the body is the upload whatever its declared type (curl --data-binary sends
        # x-www-form-urlencoded): parameters come from the query string only
        ctx.request.get_data(cache=True)
        params = {k: ctx.request.args.getlist(k) for k in ctx.request.args}
    handler = first(params, "import-handler") or "SI"
    if handler in _UNSUPPORTED_HANDLERS:
        raise HttpError(400, f"The {handler} importer is not supported by the local XNAT server.")
    if handler not in _HANDLERS:
        raise HttpError(404, f"Unknown importer implementation specified: {handler}")
    body, ctype, name = _upload(ctx)
    if not body:
        raise HttpError(400, "Unable to identify upload format.")
    dest_kind, dest = _parse_dest(first(params, "dest"))
    to_archive = dest_kind == "archive" or any(
        is_true(first(params, k)) for k in ("Direct-Archive", "AA", "auto-archive")
    )
    if dest_kind == "prearchive":
        to_archive = False
    explicit_project = first(params, "project", "PROJECT_ID") or dest.get("project")
    project: str | None = None
    if explicit_project:
        project = project_exists(ctx.store, explicit_project)
        if project is None:
            raise HttpError(404, f"Unable to identify project {explicit_project}")
        if not can_edit(ctx.store, ctx.user, project):
            raise HttpError(
                403, f"User {ctx.user.login} does not have permission to upload to {project}."
            )
    subject = first(params, "subject", "SUBJECT_ID") or dest.get("subject")
    label = first(params, "session", "EXPT_LABEL") or dest.get("experiment")
    # The session importer (SI) builds sessions from what it recognises and skips the rest;
    # the DICOM-zip and gradual importers fail on the first unparsable entry unless told.
    ignore = (
        handler == "SI"
        or is_true(first(params, "Ignore-Unparsable"))
        or first(params, "action") == "commit"
    )
    try:
        studies = parse_upload(read_entries(body, ctype, name), ignore_unparsable=ignore)
    except (NotDicomError, UploadFormatError) as exc:
        raise HttpError(400, str(exc)) from exc
    if not studies:
        raise HttpError(400, "Upload did not include parsable files for session generation.")
    if handler == "SI" and to_archive and len(studies) > 1:
        raise HttpError(400, "Upload included files for multiple imaging sessions.")
    targets: list[str] = []
    for study in studies:
        target = project
        if target is None:
            for candidate in study.project_candidates:
                real = project_exists(ctx.store, candidate)
                if real is not None and can_edit(ctx.store, ctx.user, real):
                    target = real
                    break
        if target is None and to_archive:
            raise HttpError(400, "unable to identify destination project")
        targets.append(target or UNASSIGNED)
    overwrite = (first(params, "overwrite") or "none").lower()
    uris: list[str] = []
    for study, target in zip(studies, targets, strict=True):
        existing = None
        if handler == "gradual-DICOM":
            name = label or study.session_label or study.study_instance_uid
            existing = find_receiving(ctx.store, target, study, name)
        if existing is not None:
            s = merge_into_session(ctx.store, existing, study)
        else:
            s = create_session(ctx.store, target, study, subject=subject, label=label)
        auto = s.autoarchive in ("AutoArchive", "AutoArchiveOverwrite")
        if to_archive or auto:
            req = ArchiveRequest(
                project=target,
                subject=subject,
                label=label,
                overwrite=overwrite
                if overwrite in ("append", "delete")
                else ("append" if s.autoarchive == "AutoArchiveOverwrite" else "none"),
                overwrite_files=is_true(first(params, "overwrite_files")),
                quarantine=is_true(first(params, "quarantine")),
            )
            uris.append(archive_uri(*run_archive(ctx.store, ctx.user, s, req)))
        else:
            uris.append(f"/data{s.url}")
    if ctx.format == "txt" and len(uris) == 1:
        return ctx.text(uris[0])
    return ctx.text("".join(u + "\r\n" for u in uris), mimetype="text/uri-list")


# -- dicomdump ------------------------------------------------------------------------------

_SEG = r"([^/]+)"
_ARCH_SESSION = re.compile(
    rf"^/(?:archive/)?projects/{_SEG}(?:/subjects/{_SEG})?/experiments/{_SEG}"
    rf"(?:/scans/{_SEG}(?:/resources/{_SEG}/files/(.+))?)?/?$"
)
_ARCH_TOP = re.compile(
    rf"^/(?:archive/)?experiments/{_SEG}(?:/scans/{_SEG}(?:/resources/{_SEG}/files/(.+))?)?/?$"
)
_PREARC = re.compile(
    rf"^/prearchive/projects/{_SEG}/{_SEG}/{_SEG}"
    rf"(?:/scans/{_SEG}(?:/resources/{_SEG}/files/(.+))?)?/?$"
)


def _scan_dicom_files(
    db_rows: list[sqlite3.Row], ctx: RequestContext, resource: str | None, file: str | None
) -> bytes | None:
    from xnat_sdk.testing.objects import resource_dir

    for scan in db_rows:
        res_rows = ctx.store.query(
            "SELECT id, label FROM resources WHERE parent_kind='scan' AND parent_id=? "
            "ORDER BY (label='DICOM') DESC, id",
            (str(scan["pk"]),),
        )
        for res in res_rows:
            if resource is not None and resource not in (res["label"], str(res["id"])):
                continue
            if resource is None and res["label"] not in ("DICOM", "secondary"):
                continue
            files = ctx.store.query(
                "SELECT path FROM files WHERE resource_id=? ORDER BY path", (res["id"],)
            )
            for f in files:
                if file is not None and f["path"] != file:
                    continue
                path = resource_dir(ctx.store, int(res["id"])) / str(f["path"])
                if path.is_file():
                    data = path.read_bytes()
                    if file is not None or _is_dicom(data):
                        return data
    return None


def _is_dicom(data: bytes) -> bool:
    return len(data) >= 132 and data[128:132] == b"DICM"


def _archive_dump_source(
    ctx: RequestContext,
    project: str | None,
    experiment: str,
    scan: str | None,
    resource: str | None,
    file: str | None,
) -> bytes | None:
    if project is not None:
        real = project_exists(ctx.store, project)
        if real is None:
            raise HttpError(404, f"Unable to find project {project}.")
        row = ctx.store.one(
            "SELECT id, project FROM experiments WHERE (project=? AND label=?) OR id=?",
            (real, experiment, experiment),
        )
    else:
        row = ctx.store.one("SELECT id, project FROM experiments WHERE id=?", (experiment,))
    if row is None:
        raise HttpError(404, f"Unable to find experiment {experiment}.")
    if not can_read(ctx.store, ctx.user, str(row["project"])):
        raise HttpError(403, "The user is not allowed to read this session.")
    scans = ctx.store.query("SELECT pk, id FROM scans WHERE experiment_id=?", (row["id"],))
    scans.sort(key=lambda r: (0, int(r["id"]), "") if r["id"].isdigit() else (1, 0, r["id"]))
    if scan is not None:
        scans = [r for r in scans if r["id"] == scan]
        if not scans:
            raise HttpError(404, f"Unable to find scan {scan}.")
    return _scan_dicom_files(scans, ctx, resource, file)


def _prearchive_dump_source(
    ctx: RequestContext,
    s: PrearcSession,
    scan: str | None,
    resource: str | None,
    file: str | None,
) -> bytes | None:
    if not (ctx.user.admin or can_edit(ctx.store, ctx.user, s.project)):
        raise HttpError(403, "The user is not allowed to read this prearchive session.")
    folder = session_dir(ctx.store, s)
    scan_ids = [sc.scan_id for sc in scans_of(ctx.store, s)]
    if scan is not None:
        if scan not in scan_ids:
            raise HttpError(404, f"Unable to find scan {scan}.")
        scan_ids = [scan]
    for sid in scan_ids:
        res_dir = folder / "SCANS" / sid / (resource or "DICOM")
        if not res_dir.is_dir():
            continue
        for path in sorted(p for p in res_dir.rglob("*") if p.is_file()):
            if file is not None and path.relative_to(res_dir).as_posix() != file:
                continue
            data = path.read_bytes()
            if file is not None or _is_dicom(data):
                return data
    return None


def _dicomdump(ctx: RequestContext) -> Response:
    from xnat_sdk.testing.dicomtools import dicom_dump_rows

    src = ctx.q("src")
    if not src:
        raise HttpError(400, "The src parameter is required.")
    path = strip_data_prefix(src)
    data: bytes | None
    m = _ARCH_SESSION.match(path)
    if m is not None:
        project, _subject, experiment, scan, resource, file = m.groups()
        data = _archive_dump_source(ctx, project, experiment, scan, resource, file)
    elif (m := _ARCH_TOP.match(path)) is not None:
        experiment, scan, resource, file = m.groups()
        data = _archive_dump_source(ctx, None, experiment, scan, resource, file)
    elif (m := _PREARC.match(path)) is not None:
        project, ts, folder, scan, resource, file = m.groups()
        s = find_session(ctx.store, project, ts, folder)
        if s is None:
            raise HttpError(404, f"Unable to find the prearchive session {project}/{ts}/{folder}.")
        data = _prearchive_dump_source(ctx, s, scan, resource, file)
    else:
        raise HttpError(400, f"Invalid src URI: {src}")
    fields = ctx.query.getlist("field")
    rows: list[dict[str, str]] = []
    if data is not None:
        try:
            rows = dicom_dump_rows(data, fields)
        except Exception as exc:
            raise HttpError(500, "There was an error rendering Dicom Header") from exc
    return ctx.table(["tag1", "tag2", "vr", "value", "desc"], rows)


# -- catalog refresh --------------------------------------------------------------------------

_REFRESH_OPTIONS = {"checksum", "delete", "append", "populateStats"}


def _resource_from_uri(ctx: RequestContext, uri: str) -> tuple[int, str]:
    """``(resource id, project)`` of a resource URI (``/archive/experiments/E/resources/R``,
    ``/archive/projects/P/subjects/S/experiments/E/scans/1/resources/DICOM``, ...)."""
    from xnat_sdk.testing.lookup import find_project

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


def _refresh_catalog(ctx: RequestContext) -> Response:
    from xnat_sdk.testing.objects import resource_dir
    from xnat_sdk.testing.prearchive import file_digest

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


def register(router: Router) -> None:
    """Register the import and dicomdump services."""
    router.add("POST", "/data/services/import", _import)
    router.add("GET", "/data/services/dicomdump", _dicomdump)
    router.add("POST", "/data/services/refresh/catalog", _refresh_catalog)

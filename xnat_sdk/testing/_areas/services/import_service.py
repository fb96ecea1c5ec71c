"""The import service of the local XNAT server.

* ``POST /data/services/import``: a DICOM zip/tar/tar.gz (or one DICOM file) as the raw body
  or as the single file of a multipart form. Studies become prearchive sessions (default,
  ``dest=/prearchive[/projects/P]``) or archived sessions (``dest=/archive/projects/P[...]``,
  ``Direct-Archive=true``, ``auto-archive=true`` or an auto-archiving project). Parameters
  ``project``/``PROJECT_ID``, ``subject``/``SUBJECT_ID``, ``session``/``EXPT_LABEL``,
  ``overwrite``, ``overwrite_files``, ``quarantine``, ``Ignore-Unparsable``,
  ``import-handler`` (``gradual-DICOM`` adds to the open prearchive session of the same
  study instead of opening a new one). Answer: ``text/uri-list``, one ``/data/...`` URI
  per session, each followed by CRLF. Input is fully validated before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.prearchive.access import can_edit, project_exists
from xnat_sdk.testing._areas.prearchive.archiver import ArchiveRequest, archive_uri, run_archive
from xnat_sdk.testing._areas.prearchive.dicom_studies import (
    DicomStudy,
    NotDicomError,
    UploadFormatError,
    parse_upload,
    read_entries,
)
from xnat_sdk.testing._areas.prearchive.model import UNASSIGNED, find_receiving
from xnat_sdk.testing._areas.prearchive.sessions import create_session, merge_into_session
from xnat_sdk.testing._server.context import RequestContext, is_true
from xnat_sdk.testing._server.params import all_params, first, strip_data_prefix
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["import_upload"]


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


@dataclass(frozen=True)
class _Options:
    """What an import request asks for, besides the upload and the project."""

    handler: str
    subject: str | None
    label: str | None
    to_archive: bool
    overwrite: str
    overwrite_files: bool
    quarantine: bool
    to_prearchive: bool = False
    """``dest`` names the prearchive: the session stays there even in an auto-archiving
    project (XNAT's ``SessionImporter.call`` returns before ``FinishImageUpload``)."""


def import_upload(ctx: RequestContext) -> Response:
    """``POST /data/services/import``: one ``/data/...`` URI per session received."""
    ctx.require_user()
    params = _import_params(ctx)
    handler = _importer(params)
    body, ctype, name = _upload(ctx)
    if not body:
        raise HttpError(400, "Unable to identify upload format.")
    dest_kind, dest = _parse_dest(first(params, "dest"))
    to_archive = dest_kind == "archive" or any(
        is_true(first(params, k)) for k in ("Direct-Archive", "AA", "auto-archive")
    )
    if dest_kind == "prearchive":
        to_archive = False
    project = _explicit_project(ctx, first(params, "project", "PROJECT_ID") or dest.get("project"))
    opts = _Options(
        handler=handler,
        subject=first(params, "subject", "SUBJECT_ID") or dest.get("subject"),
        label=first(params, "session", "EXPT_LABEL") or dest.get("experiment"),
        to_archive=to_archive,
        overwrite=(first(params, "overwrite") or "none").lower(),
        overwrite_files=is_true(first(params, "overwrite_files")),
        quarantine=is_true(first(params, "quarantine")),
        to_prearchive=dest_kind == "prearchive",
    )
    studies = _parse_studies(body, ctype, name, params, opts)
    targets = _targets(ctx, studies, project, to_archive)
    uris = [
        _receive(ctx, study, target, opts) for study, target in zip(studies, targets, strict=True)
    ]
    if ctx.format == "txt" and len(uris) == 1:
        return ctx.text(uris[0])
    return ctx.text("".join(u + "\r\n" for u in uris), mimetype="text/uri-list")


def _import_params(ctx: RequestContext) -> dict[str, list[str]]:
    if (ctx.request.mimetype or "").lower() == "multipart/form-data":
        return all_params(ctx)
    # the body is the upload whatever its declared type (curl --data-binary sends
    # x-www-form-urlencoded): parameters come from the query string only
    ctx.request.get_data(cache=True)
    return {k: ctx.request.args.getlist(k) for k in ctx.request.args}


def _importer(params: dict[str, list[str]]) -> str:
    """The ``import-handler`` asked for (400 for XNAT's others, 404 for unknown ones)."""
    handler = first(params, "import-handler") or "SI"
    if handler in _UNSUPPORTED_HANDLERS:
        raise HttpError(400, f"The {handler} importer is not supported by the local XNAT server.")
    if handler not in _HANDLERS:
        raise HttpError(404, f"Unknown importer implementation specified: {handler}")
    return handler


def _explicit_project(ctx: RequestContext, explicit_project: str | None) -> str | None:
    """The project the request names (404 when unknown, 403 without write access)."""
    if not explicit_project:
        return None
    project = project_exists(ctx.store, explicit_project)
    if project is None:
        raise HttpError(404, f"Unable to identify project {explicit_project}")
    if not can_edit(ctx.store, ctx.user, project):
        raise HttpError(
            403, f"User {ctx.user.login} does not have permission to upload to {project}."
        )
    return project


def _parse_studies(
    body: bytes, ctype: str | None, name: str, params: dict[str, list[str]], opts: _Options
) -> list[DicomStudy]:
    """The DICOM studies of the upload (400 when there are none or too many)."""
    # The session importer (SI) builds sessions from what it recognises and skips the rest;
    # the DICOM-zip and gradual importers fail on the first unparsable entry unless told.
    ignore = (
        opts.handler == "SI"
        or is_true(first(params, "Ignore-Unparsable"))
        or first(params, "action") == "commit"
    )
    try:
        studies = parse_upload(read_entries(body, ctype, name), ignore_unparsable=ignore)
    except (NotDicomError, UploadFormatError) as exc:
        raise HttpError(400, str(exc)) from exc
    if not studies:
        raise HttpError(400, "Upload did not include parsable files for session generation.")
    if opts.handler == "SI" and opts.to_archive and len(studies) > 1:
        raise HttpError(400, "Upload included files for multiple imaging sessions.")
    return studies


def _targets(
    ctx: RequestContext, studies: list[DicomStudy], project: str | None, to_archive: bool
) -> list[str]:
    """The project of each study: the one asked for, else the first writable candidate
    its headers name, else ``Unassigned`` (400 when archiving)."""
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
    return targets


def _receive(ctx: RequestContext, study: DicomStudy, target: str, opts: _Options) -> str:
    """Put one study into the prearchive (a gradual upload joins its open session), and
    archive it when asked or when the project auto-archives; returns its URI."""
    existing = None
    if opts.handler == "gradual-DICOM":
        name = opts.label or study.session_label or study.study_instance_uid
        existing = find_receiving(ctx.store, target, study, name)
    if existing is not None:
        s = merge_into_session(ctx.store, existing, study)
    else:
        s = create_session(ctx.store, target, study, subject=opts.subject, label=opts.label)
    auto = not opts.to_prearchive and s.autoarchive in ("AutoArchive", "AutoArchiveOverwrite")
    if not (opts.to_archive or auto):
        return f"/data{s.url}"
    req = ArchiveRequest(
        project=target,
        subject=opts.subject,
        label=opts.label,
        overwrite=opts.overwrite
        if opts.overwrite in ("append", "delete")
        else ("append" if s.autoarchive == "AutoArchiveOverwrite" else "none"),
        overwrite_files=opts.overwrite_files,
        quarantine=opts.quarantine,
    )
    return archive_uri(*run_archive(ctx.store, ctx.user, s, req))

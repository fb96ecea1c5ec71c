"""The DICOM dump of the local XNAT server.

* ``GET /data/services/dicomdump?src=...[&field=...]``: header rows of the first DICOM file
  of an archive or prearchive session, scan or file (columns ``tag1, tag2, vr, value, desc``).
  Besides XNAT's ``/archive/projects/...`` and ``/prearchive/projects/...`` templates, the
  ``/data/projects/...`` and ``/data/experiments/...`` file URIs of the listings work too
  (resources named by label or by numeric id).

:func:`dicom_dump_rows` gives the rows (``tag1, tag2, vr, value, desc``) of one file;
pydicom is imported on first use.
"""

from __future__ import annotations

import html
import io
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.files.storage import resource_dir
from xnat_sdk.testing._areas.prearchive.access import can_edit, can_read, project_exists
from xnat_sdk.testing._areas.prearchive.layout import session_dir
from xnat_sdk.testing._areas.prearchive.model import PrearcSession, find_session, scans_of
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.params import strip_data_prefix
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["dicom_dump_rows", "dicomdump"]


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


def dicomdump(ctx: RequestContext) -> Response:
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


# -- header rows -----------------------------------------------------------------------------


def _tag_text(tag: Any) -> str:
    return f"({tag.group:04X},{tag.element:04X})"


_BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW"}


def _value_text(elem: Any) -> str:
    if elem.VR in _BINARY_VRS:
        value = elem.value
        size = len(value) if isinstance(value, bytes | bytearray) else 0
        return f"[{size} bytes]" if size else ""
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    return html.escape(text[:255], quote=False)


def _wanted(elem: Any, fields: set[str]) -> bool:
    if not fields:
        return True
    tag_hex = f"{elem.tag.group:04X}{elem.tag.element:04X}"
    return tag_hex in fields or (elem.keyword or "").upper() in fields


def dicom_dump_rows(data: bytes, fields: Sequence[str] = ()) -> list[dict[str, str]]:
    """Rows of XNAT's DICOM dump for one file: ``tag1, tag2, vr, value, desc``.

    ``fields`` restricts the rows to tags given as ``GGGGEEEE`` or keywords (case-insensitive).
    Sequence parents have an empty value; their items' elements carry the parent tag in
    ``tag1`` and their own tag in ``tag2``. Pixel data is not dumped.
    """
    from pydicom import dcmread

    ds = dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
    wanted = {f.strip().upper().replace(",", "").strip("()") for f in fields if f.strip()}
    rows: list[dict[str, str]] = []

    def row(tag1: str, tag2: str, elem: Any, value: str) -> dict[str, str]:
        return {
            "tag1": tag1,
            "tag2": tag2,
            "vr": str(elem.VR),
            "value": value,
            "desc": html.escape(str(elem.name), quote=False),
        }

    elements: list[Any] = []
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        elements.extend(meta)
    elements.extend(ds)
    for elem in elements:
        if not _wanted(elem, wanted):
            continue
        if elem.VR == "SQ":
            rows.append(row(_tag_text(elem.tag), "", elem, ""))
            for item in elem.value:
                for sub in item:
                    if sub.VR == "SQ":
                        rows.append(row(_tag_text(elem.tag), _tag_text(sub.tag), sub, ""))
                    else:
                        rows.append(
                            row(_tag_text(elem.tag), _tag_text(sub.tag), sub, _value_text(sub))
                        )
            continue
        rows.append(row(_tag_text(elem.tag), "", elem, _value_text(elem)))
    return rows

"""What the prearchive answers: the session XML XNAT keeps beside a session, zips of
folders, single files and session tables."""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.prearchive.layout import files_in, resource_dirs, session_dir
from xnat_sdk.testing._areas.prearchive.model import COLUMNS, PrearcSession, scans_of
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.store import Store

__all__ = ["file_response", "rows_response", "session_xml", "zip_folder"]


def rows_response(
    ctx: RequestContext, sessions: Iterable[PrearcSession], status: str | None = None
) -> Response:
    """Prearchive rows as a table (batch services default to XML, like XNAT)."""
    rows = [s.row(status) for s in sessions]
    return ctx.table(COLUMNS, rows, default_format="xml")


def _xml_escape(text: str) -> str:
    return html.escape(text, quote=True)


_XML_ELEMENT = {
    "xnat:mrSessionData": "MRSession",
    "xnat:ctSessionData": "CTSession",
    "xnat:petSessionData": "PETSession",
    "xnat:otherDicomSessionData": "OtherDicomSession",
}


def session_xml(store: Store, s: PrearcSession) -> str:
    """A session document like the one XNAT keeps beside a prearchive session."""
    element = _XML_ELEMENT.get(s.xsi_type, s.xsi_type.split(":")[-1].replace("Data", ""))
    folder = session_dir(store, s)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<xnat:{element} xmlns:xnat="http://nrg.wustl.edu/xnat" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'label="{_xml_escape(s.name)}" project="{_xml_escape(s.project)}" '
        f'UID="{_xml_escape(s.tag)}">\n',
    ]
    if s.scan_date:
        parts.append(f"  <xnat:date>{s.scan_date}</xnat:date>\n")
    if s.scan_time:
        parts.append(f"  <xnat:time>{s.scan_time.split('.')[0]}</xnat:time>\n")
    parts.append(f"  <xnat:subject_ID>{_xml_escape(s.subject)}</xnat:subject_ID>\n")
    parts.append(f"  <xnat:prearchivePath>{_xml_escape(str(folder))}</xnat:prearchivePath>\n")
    parts.append("  <xnat:scans>\n")
    for scan in scans_of(store, s):
        parts.append(
            f'    <xnat:scan ID="{_xml_escape(scan.scan_id)}" type="'
            f'{_xml_escape(scan.series_description)}" UID="{_xml_escape(scan.series_uid)}" '
            f'xsi:type="{scan.xsi_type}">\n'
            f"      <xnat:series_description>{_xml_escape(scan.series_description)}"
            "</xnat:series_description>\n"
        )
        for res in resource_dirs(folder / "SCANS" / scan.scan_id):
            files = files_in(res)
            parts.append(
                f'      <xnat:file label="{_xml_escape(res.name)}" format="{res.name}" '
                f'content="RAW" xsi:type="xnat:resourceCatalog" '
                f'URI="SCANS/{scan.scan_id}/{res.name}/scan_{scan.scan_id}_catalog.xml" '
                f'file_count="{len(files)}" file_size="{sum(f.stat().st_size for f in files)}"/>\n'
            )
        parts.append("    </xnat:scan>\n")
    parts.append(f"  </xnat:scans>\n</xnat:{element}>\n")
    return "".join(parts)


def zip_folder(folder: Path, prefix: str, name: str) -> Response:
    """A zip of ``folder`` with entries under ``prefix/`` as an attachment ``name``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for path in files_in(folder):
            zf.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    resp = Response(buf.getvalue(), mimetype="application/zip")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}";'
    return resp


def file_response(path: Path) -> Response:
    """The bytes of one file as an attachment."""
    resp = Response(path.read_bytes(), mimetype=_mimetype(path.name))
    resp.headers["Content-Disposition"] = f'attachment; filename="{path.name}";'
    return resp


def _mimetype(name: str) -> str:
    if name.lower().endswith(".dcm"):
        return "application/dicom"
    if name.lower().endswith(".xml"):
        return "text/xml"
    return "application/octet-stream"

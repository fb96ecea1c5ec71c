"""Reading DICOM headers of scans without downloading the scan (extra ``dicom``: pydicom).

:func:`read_dicom_file` (behind ``scan.read_dicom``) streams ONE file of the scan's
``DICOM`` (or ``secondary``) resource and, unless pixel data is wanted, stops reading at the
pixel data element; the rest of the file is never transferred. pydicom is imported only when
used. The DICOM dump service (``/data/services/dicomdump``) is here too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from xnat_sdk._answers import fetch
from xnat_sdk.errors import XNATError, XNATKeyError, XNATValidationError, XNATValueError

if TYPE_CHECKING:
    from pydicom.dataset import FileDataset

    from xnat_sdk.listings import Listing, RemoteFile
    from xnat_sdk.models import AbstractResource
    from xnat_sdk.session import XNATSession

__all__ = ["DicomDumpRow", "dicom_dump", "pick_dicom_file", "read_dicom_file"]

DICOM_RESOURCES = ("DICOM", "secondary")


class DicomDumpRow(dict[str, str]):
    """One DICOM header element of a dump (``tag1`` like ``(0008,0060)``): a dict with
    XNAT's column names, as xnatpy's rows are (``row["value"]``, ``json.dumps(rows)``,
    ``pandas.DataFrame(rows)``), with typed attributes too (``row.value``). A key it does
    not have raises :class:`~xnat_sdk.errors.XNATKeyError` naming those it has."""

    def __init__(
        self, tag1: str = "", tag2: str = "", vr: str = "", value: str = "", desc: str = ""
    ) -> None:
        super().__init__(tag1=tag1, tag2=tag2, vr=vr, value=value, desc=desc)

    def __missing__(self, key: str) -> str:
        raise XNATKeyError(key, f"a DICOM dump row has no {key!r} (keys: {', '.join(self)})")

    @property
    def tag1(self) -> str:
        """The tag, ``(0008,0060)`` (an item of a sequence: ``(0008,1140)[0](0008,1150)``)."""
        return self.get("tag1", "")

    @property
    def tag2(self) -> str:
        """The tag inside a sequence item, when there is one."""
        return self.get("tag2", "")

    @property
    def vr(self) -> str:
        """The value representation (``CS``, ``DA`` ...)."""
        return self.get("vr", "")

    @property
    def value(self) -> str:
        """The value, as text."""
        return self.get("value", "")

    @property
    def desc(self) -> str:
        """The element's name (``Modality``)."""
        return self.get("desc", "")

    @property
    def tag(self) -> tuple[int, int] | None:
        """``tag1`` as (group, element) numbers (None when it is not a plain tag)."""
        match = re.fullmatch(r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)", self.tag1.strip())
        if match is None:
            return None
        return int(match.group(1), 16), int(match.group(2), 16)


def dicom_dump(
    session: XNATSession, src: str, fields: list[str] | None = None
) -> list[DicomDumpRow]:
    """The DICOM header of the first file under ``src`` (``GET /data/services/dicomdump``):
    a path below ``/data`` (``/archive/projects/P/experiments/E/scans/1``,
    ``/prearchive/projects/P/{timestamp}/{session}``; a leading ``/data`` is dropped).
    ``fields`` (tag numbers ``00080060`` or keywords) restricts the rows."""
    if fields is not None and (
        isinstance(fields, str) or not all(isinstance(f, str) and f for f in fields)
    ):
        raise XNATValidationError("fields", "must be a list of tag numbers or keywords")
    if src.startswith("/data/"):
        src = src[len("/data") :]
    query: dict[str, Any] = {"src": src}
    if fields:
        query["field"] = list(fields)
    rows = fetch(session, "/data/services/dicomdump", query=query).rows()
    return [
        DicomDumpRow(
            tag1=str(row.get("tag1", "")),
            tag2=str(row.get("tag2", "")),
            vr=str(row.get("vr", "")),
            value=str(row.get("value", "")),
            desc=str(row.get("desc", "")),
        )
        for row in rows
    ]


def _pydicom() -> Any:
    try:
        import pydicom
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise XNATError("reading DICOM needs pydicom: pip install 'xnat-sdk[dicom]'") from exc
    return pydicom


def read_dicom_file(
    remote: RemoteFile, read_pixel_data: bool = False, force: bool = False
) -> FileDataset:
    """Parse one remote DICOM file, streaming only as far as needed."""
    pydicom = _pydicom()
    with remote.open() as handle:
        dataset: FileDataset = pydicom.dcmread(
            handle, stop_before_pixels=not read_pixel_data, force=force
        )
    return dataset


def pick_dicom_file(
    scan_uri: str, resources: Listing[AbstractResource], file: RemoteFile | str | None = None
) -> RemoteFile:
    """The file of a scan's ``DICOM`` (else ``secondary``) resource to read: ``file`` (an
    object of that resource, a path or a name), default the first by path."""
    resource = None
    for label in DICOM_RESOURCES:
        resource = resources.get(label)
        if resource is not None:
            break
    if resource is None:
        raise XNATValueError(f"scan {scan_uri} has no DICOM (or secondary) resource")
    files = resource.files
    if file is None:
        ordered = sorted(files, key=lambda f: f.path)
        if not ordered:
            raise XNATValueError(f"the DICOM resource of scan {scan_uri} has no files")
        return ordered[0]
    if isinstance(file, str):
        found = next((f for f in files if f.path == file or f.name == file), None)
        if found is None:
            raise XNATValueError(f"scan {scan_uri} has no DICOM file {file!r}")
        return found
    if all(f.uri != file.uri for f in files):
        raise XNATValueError(f"{file.path} is not a file of scan {scan_uri}'s DICOM")
    return file

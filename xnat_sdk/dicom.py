"""Reading DICOM headers of scans without downloading the scan (extra ``dicom``: pydicom).

:meth:`DicomReading.read_dicom` streams ONE file of the scan's ``DICOM`` (or ``secondary``)
resource and, unless pixel data is wanted, stops reading at the pixel data element; the
rest of the file is never transferred. pydicom is imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xnat_sdk.errors import XNATError, XNATValueError

if TYPE_CHECKING:
    from pydicom.dataset import FileDataset

    from xnat_sdk.bases import XNATObject as _ObjectBase
    from xnat_sdk.listings import RemoteFile
else:
    _ObjectBase = object

__all__ = ["DicomReading", "read_dicom_file"]

DICOM_RESOURCES = ("DICOM", "secondary")


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


class DicomReading(_ObjectBase):
    """``read_dicom`` of a scan."""

    __slots__ = ()

    def read_dicom(
        self,
        file: RemoteFile | str | None = None,
        read_pixel_data: bool = False,
        force: bool = False,
    ) -> FileDataset:
        """The DICOM header (a pydicom Dataset) of one file of this scan's DICOM resource.

        ``file``: a file of that resource (object, path or name); default the first by
        path. Only that file is streamed, and only up to the pixel data unless
        ``read_pixel_data``.
        """
        resources = getattr(self, "resources", None)
        resource = None
        if resources is not None:
            for label in DICOM_RESOURCES:
                resource = resources.get(label)
                if resource is not None:
                    break
        if resource is None:
            raise XNATValueError(f"scan {self.uri} has no DICOM (or secondary) resource")
        files = resource.files
        if file is None:
            ordered = sorted(files, key=lambda f: f.path)
            if not ordered:
                raise XNATValueError(f"the DICOM resource of scan {self.uri} has no files")
            chosen = ordered[0]
        elif isinstance(file, str):
            found = next((f for f in files if f.path == file or f.name == file), None)
            if found is None:
                raise XNATValueError(f"scan {self.uri} has no DICOM file {file!r}")
            chosen = found
        else:
            if all(f.uri != file.uri for f in files):
                raise XNATValueError(f"{file.path} is not a file of scan {self.uri}'s DICOM")
            chosen = file
        return read_dicom_file(chosen, read_pixel_data=read_pixel_data, force=force)

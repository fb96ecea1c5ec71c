"""The session and scan fields XNAT's DICOM session builder takes from the headers.

XNAT's builder (NrgXnat ``dicom-xnat``, ``org.nrg.dcm.xnat``) names an attribute definition
per field: ``ImageSessionAttributes`` (every image session), ``MRSessionAttributes`` (MR),
``ImageScanAttributes`` (every scan) and ``MRScanAttributes`` (MR scans). Each definition is
folded over every file of the session or scan; a field whose files disagree has no unique
value (``NoUniqueValueException``) and is left out, except the session's ``scanner``, whose
values are joined with ``,`` (``ValueJoiningAttrDef``), and ``parameters/te``, which for a
multi-echo scan becomes ``parameters/addParam`` items ``MultiEcho_TE{EchoNumbers}``
(``MREchoTimeAttribute``). Real numbers are written as Java's ``String.valueOf(double)``
(``2300.0``), dates ``yyyy-MM-dd``, times ``HH:mm:ss``. Diffusion and contrast-bolus fields
and the ``studyComments`` custom field are not built here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["scan_fields", "session_fields"]

#: ``ImageSessionAttributes``: field -> DICOM keyword (plain text values)
_SESSION_TEXT = {
    "acquisition_site": "InstitutionName",
    "session_type": "StudyDescription",
    "scanner/manufacturer": "Manufacturer",
    "scanner/model": "ManufacturerModelName",
    "operator": "OperatorsName",
    "study_id": "StudyID",
    "dcmAccessionNumber": "AccessionNumber",
    "dcmPatientId": "PatientID",
    "dcmPatientName": "PatientName",
    "dcmPatientWeight": "PatientWeight",
}

#: ``ImageScanAttributes``: field -> DICOM keyword (plain text values)
_SCAN_TEXT = {
    "scanner": "StationName",
    "scanner/manufacturer": "Manufacturer",
    "scanner/model": "ManufacturerModelName",
    "requestedProcedureDescription": "RequestedProcedureDescription",
    "protocolName": "ProtocolName",
    "bodyPartExamined": "BodyPartExamined",
}

#: ``MRScanAttributes``: text fields
_MR_TEXT = {
    "coil": "ReceiveCoilName",
    "parameters/sequence": "SequenceName",
    "parameters/imageType": "ImageType",
    "parameters/scanSequence": "ScanningSequence",
    "parameters/seqVariant": "SequenceVariant",
    "parameters/scanOptions": "ScanOptions",
    "parameters/acqType": "MRAcquisitionType",
}

#: ``MRScanAttributes``: ``XnatAttrDef.Real`` fields
_MR_REAL = {
    "parameters/tr": "RepetitionTime",
    "parameters/ti": "InversionTime",
    "parameters/flip": "FlipAngle",
    "parameters/pixelBandwidth": "PixelBandwidth",
}


def dicom_text(ds: Dataset, keyword: str) -> str:
    """An attribute as DICOM text (multiple values joined with ``\\``), ``""`` when absent."""
    value = ds.get(keyword, None)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v).strip() for v in value)
    return str(value).strip()


def java_real(value: float) -> str:
    """Java's ``String.valueOf(double)`` for the numbers DICOM headers hold."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e7:
        return f"{int(value)}.0"
    text = repr(value)
    if "e" in text:
        mantissa, _, exp = text.partition("e")
        mantissa = mantissa if "." in mantissa else mantissa + ".0"
        return f"{mantissa}E{int(exp)}"
    return text


def _unique(datasets: Iterable[Dataset], read: Callable[[Dataset], str]) -> str:
    """The one non-empty value the files agree on, else ``""`` (no unique value)."""
    found = {v for v in (read(ds) for ds in datasets) if v}
    return found.pop() if len(found) == 1 else ""


def _texts(datasets: Sequence[Dataset], table: dict[str, str]) -> dict[str, str]:
    """The unique text value of each field of ``table`` (field -> DICOM keyword)."""
    return {key: _unique_text(datasets, keyword) for key, keyword in table.items()}


def _unique_text(datasets: Sequence[Dataset], keyword: str) -> str:
    return _unique(datasets, lambda ds: dicom_text(ds, keyword))


def _unique_real(datasets: Sequence[Dataset], keyword: str) -> str:
    return _unique(datasets, lambda ds: _real(dicom_text(ds, keyword)))


def _real(text: str) -> str:
    try:
        return java_real(float(text))
    except ValueError:
        return ""


def _date(text: str) -> str:
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text.replace("-", "").replace(".", ""))
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else ""


def _time(text: str) -> str:
    m = re.match(r"(\d{2})(\d{2})?(\d{2})?", text.replace(":", ""))
    if not m:
        return ""
    return f"{m.group(1)}:{m.group(2) or '00'}:{m.group(3) or '00'}"


def _field_strength(text: str) -> str:
    """``MagneticFieldStrengthAttribute``: Gauss (>= 500) to Tesla, rounded to 0.5 T."""
    try:
        value = float(text)
    except ValueError:
        return ""
    tesla = value / 10000.0 if value >= 500 else value
    return java_real(math.floor(tesla * 2.0 + 0.5) / 2.0)


def session_fields(datasets: Sequence[Dataset], xsi_type: str) -> dict[str, str]:
    """The session fields (``ImageSessionAttributes``, ``MRSessionAttributes``)."""
    out = _texts(datasets, _SESSION_TEXT)
    out["dcmPatientWeight"] = _real(out["dcmPatientWeight"]) if out["dcmPatientWeight"] else ""
    out["dcmPatientBirthDate"] = _unique(
        datasets, lambda ds: _date(dicom_text(ds, "PatientBirthDate"))
    )
    stations: list[str] = []
    for ds in datasets:
        name = dicom_text(ds, "StationName")
        if name and name not in stations:
            stations.append(name)
    out["scanner"] = ",".join(stations)
    if xsi_type == "xnat:mrSessionData":
        out["fieldStrength"] = _unique(
            datasets, lambda ds: _field_strength(dicom_text(ds, "MagneticFieldStrength"))
        )
    return {k: v for k, v in out.items() if v}


def scan_fields(datasets: Sequence[Dataset], modality: str) -> dict[str, str]:
    """The scan fields (``ImageScanAttributes``, and ``MRScanAttributes`` for MR)."""
    out = _texts(datasets, _SCAN_TEXT)
    out["startTime"] = _unique(datasets, lambda ds: _time(dicom_text(ds, "SeriesTime")))
    out["start_date"] = _unique(datasets, lambda ds: _date(dicom_text(ds, "SeriesDate")))
    if modality.upper() == "MR":
        out.update(_mr_scan_fields(datasets))
    return {k: v for k, v in out.items() if v}


def _mr_scan_fields(datasets: Sequence[Dataset]) -> dict[str, str]:
    out = _texts(datasets, _MR_TEXT)
    for key, keyword in _MR_REAL.items():
        out[key] = _unique_real(datasets, keyword)
    out["fieldStrength"] = _unique(
        datasets, lambda ds: _field_strength(dicom_text(ds, "MagneticFieldStrength"))
    )
    out["parameters/orientation"] = _unique(datasets, _orientation)
    voxel = _unique(datasets, _voxel_res)
    if voxel:
        for axis, value in zip("xyz", voxel.split(","), strict=True):
            out[f"parameters/voxelRes/{axis}"] = value
    fov = _unique(
        datasets,
        lambda ds: (
            f"{dicom_text(ds, 'Columns')},{dicom_text(ds, 'Rows')}"
            if dicom_text(ds, "Columns") and dicom_text(ds, "Rows")
            else ""
        ),
    )
    if fov:
        out["parameters/fov/x"], out["parameters/fov/y"] = fov.split(",")
    out.update(_echo_times(datasets))
    return out


def _voxel_res(ds: Dataset) -> str:
    """``VoxelResAttribute``: PixelSpacing (x\\y) and SliceThickness (z)."""
    xy = dicom_text(ds, "PixelSpacing").split("\\")
    z = dicom_text(ds, "SliceThickness")
    if len(xy) != 2 or not z:
        return ""
    try:
        return ",".join(java_real(float(v)) for v in (*xy, z))
    except ValueError:
        return ""


def _orientation(ds: Dataset) -> str:
    """``OrientationAttribute``: the image plane's normal along X -> ``Sag``, Y -> ``Cor``,
    Z -> ``Tra`` (from ImageOrientationPatient's two cosine vectors)."""
    parts = dicom_text(ds, "ImageOrientationPatient").split("\\")
    if len(parts) != 6:
        return ""
    try:
        o = [float(p) for p in parts]
    except ValueError:
        return ""
    nx = abs(o[1] * o[5] - o[2] * o[4])
    ny = abs(o[2] * o[3] - o[0] * o[5])
    nz = abs(o[0] * o[4] - o[1] * o[3])
    if nx > ny:
        return "Sag" if nx > nz else "Tra"
    return "Cor" if ny > nz else "Tra"


def _echo_times(datasets: Sequence[Dataset]) -> dict[str, str]:
    """``MREchoTimeAttribute``: one TE -> ``parameters/te``; several echoes (EchoNumbers)
    -> ``parameters/addParam`` ``MultiEcho_TE{n}``; echoes that disagree -> nothing."""
    by_echo: dict[int, set[str]] = {}
    for ds in datasets:
        te = _real(dicom_text(ds, "EchoTime"))
        if not te:
            continue
        try:
            number = int(dicom_text(ds, "EchoNumbers").split("\\")[0] or 0)
        except ValueError:
            number = 0
        by_echo.setdefault(number, set()).add(te)
    if not by_echo or any(len(v) != 1 for v in by_echo.values()):
        return {}
    if len(by_echo) == 1:
        return {"parameters/te": next(iter(by_echo.values())).pop()}
    return {f"parameters/addParam[name=MultiEcho_TE{n}]": by_echo[n].pop() for n in sorted(by_echo)}

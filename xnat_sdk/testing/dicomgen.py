"""Realistic multi-series DICOM test data, made with pydicom from the datasets it ships.

Every generated study gets fresh Study/Series/SOP Instance UIDs, so two calls never collide on
a server. The identifying headers follow the rules XNAT's default DICOM object identifier
applies on import, so that importing the data without parameters lands where you expect:

* ``PatientName`` (0010,0010) is the **subject** label,
* ``PatientID`` (0010,0020) is the **session** label,
* ``PatientComments`` (0010,4000) carries ``Project: P Subject: S Session: E`` when a project is
  given (XNAT reads that too), and ``StudyDescription`` is the project ID.

Typical use::

    from xnat_sdk.testing.dicomgen import make_dicom_zip
    data = make_dicom_zip(None, patient="SUBJ01", study_label="SUBJ01_MR1",
                          series=[(1, "T1"), (2, "T2")], instances_per_series=3)

The acquisition headers XNAT's DICOM session builder reads are filled with fixed values
(:data:`SITE_HEADERS` for every series, :data:`MR_HEADERS` for MR series, whose
RepetitionTime is ``2000 + 100 * SeriesNumber``), so that an import shows the scanner,
operator, acquisition site, field strength, coil and scan parameters XNAT fills.

``make_dicom_zip`` returns the zip as bytes (or writes it and returns the path);
``write_dicom_folder`` writes loose ``.dcm`` files; ``make_study`` returns the datasets.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from pydicom.dataset import Dataset, FileDataset

__all__ = [
    "MR_HEADERS",
    "SITE_HEADERS",
    "GeneratedInstance",
    "GeneratedStudy",
    "SeriesSpec",
    "make_dicom_zip",
    "make_study",
    "write_dicom_folder",
    "zip_study",
]

#: The modalities we can generate, mapped to the pydicom test file used as a template.
_TEMPLATES: dict[str, str] = {"MR": "MR_small.dcm", "CT": "CT_small.dcm"}

_SOP_CLASSES: dict[str, str] = {
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "CT": "1.2.840.10008.5.1.4.1.1.2",
}


#: Headers of every generated instance (XNAT: acquisition_site, scanner, scanner/manufacturer,
#: scanner/model, operator, dcmPatientBirthDate, dcmPatientWeight, bodyPartExamined).
SITE_HEADERS: dict[str, object] = {
    "InstitutionName": "Local Imaging Centre",
    "StationName": "LOCALSCAN1",
    "Manufacturer": "SIEMENS",
    "ManufacturerModelName": "Prisma",
    "OperatorsName": "Operator^Test",
    "PatientBirthDate": "19800101",
    "PatientWeight": "70",
    "BodyPartExamined": "BRAIN",
}

#: Headers of generated MR instances (XNAT: fieldStrength, coil, parameters/te, ti, flip,
#: sequence, imageType, scanSequence, seqVariant, scanOptions, acqType, pixelBandwidth,
#: voxelRes from PixelSpacing and SliceThickness, orientation ``Sag`` from
#: ImageOrientationPatient; fov is the template's 64 x 64 matrix).
MR_HEADERS: dict[str, object] = {
    "MagneticFieldStrength": "3",
    "ReceiveCoilName": "HeadNeck_64",
    "EchoTime": "2.98",
    "EchoNumbers": "1",
    "InversionTime": "900",
    "FlipAngle": "9",
    "SequenceName": "*tfl3d1_16ns",
    "ImageType": ["ORIGINAL", "PRIMARY", "M", "ND"],
    "ScanningSequence": ["GR", "IR"],
    "SequenceVariant": ["SK", "SP", "MP"],
    "ScanOptions": "IR",
    "MRAcquisitionType": "3D",
    "PixelBandwidth": "240",
    "PixelSpacing": ["1.0", "1.0"],
    "SliceThickness": "1.0",
    "ImageOrientationPatient": ["0", "1", "0", "0", "0", "-1"],
}


@dataclass(frozen=True)
class SeriesSpec:
    """One series to generate: its SeriesNumber, SeriesDescription and (optional) modality."""

    number: int
    description: str
    modality: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.number, int) or isinstance(self.number, bool) or self.number < 0:
            raise ValueError(f"series number must be a non-negative int, got {self.number!r}")
        if self.modality is not None and self.modality.upper() not in _TEMPLATES:
            raise ValueError(
                f"unsupported modality {self.modality!r}; choose one of {sorted(_TEMPLATES)}"
            )


SeriesLike = SeriesSpec | tuple[int, str] | tuple[int, str, str]


@dataclass(frozen=True)
class GeneratedInstance:
    """One generated DICOM file: where it goes (relative path) and its encoded bytes."""

    relpath: str
    data: bytes
    series_number: int
    instance_number: int
    sop_instance_uid: str


@dataclass(frozen=True)
class GeneratedStudy:
    """A generated study: its identifying values and every instance, series by series."""

    patient: str
    study_label: str
    study_instance_uid: str
    modality: str
    series: tuple[SeriesSpec, ...]
    instances: tuple[GeneratedInstance, ...] = field(repr=False)

    @property
    def total_bytes(self) -> int:
        """Sum of the encoded sizes of all instances."""
        return sum(len(i.data) for i in self.instances)

    def instances_of(self, series_number: int) -> list[GeneratedInstance]:
        """The instances of one series, in InstanceNumber order."""
        return [i for i in self.instances if i.series_number == series_number]


def _normalise_series(series: Sequence[SeriesLike]) -> tuple[SeriesSpec, ...]:
    specs: list[SeriesSpec] = []
    for item in series:
        if isinstance(item, SeriesSpec):
            specs.append(item)
        elif isinstance(item, tuple) and len(item) in (2, 3):
            modality = item[2] if len(item) == 3 else None
            specs.append(SeriesSpec(int(item[0]), str(item[1]), modality))
        else:
            raise TypeError(f"a series is SeriesSpec or (number, description[, mod]): {item!r}")
    if not specs:
        raise ValueError("at least one series is needed")
    numbers = [s.number for s in specs]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"series numbers must be unique, got {numbers}")
    return tuple(specs)


def _uid(seed: str | None, *parts: object) -> str:
    from pydicom.uid import generate_uid

    if seed is None:
        return str(generate_uid())
    return str(generate_uid(entropy_srcs=[seed, *map(str, parts)]))


def _template(modality: str) -> FileDataset:
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    path = get_testdata_file(_TEMPLATES[modality])
    if path is None:  # pragma: no cover - the files ship inside pydicom
        raise RuntimeError(f"pydicom's test file {_TEMPLATES[modality]} is missing")
    ds: FileDataset = dcmread(str(path), force=True)
    return ds


def _check_text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if any(c in value for c in "\\/\r\n\0"):
        raise ValueError(f"{name} must not contain path separators or control characters")
    return value


def make_study(
    *,
    patient: str = "SUBJ001",
    study_label: str | None = None,
    project: str | None = None,
    series: Sequence[SeriesLike] = ((1, "T1"), (2, "T2")),
    instances_per_series: int = 3,
    modality: str = "MR",
    study_date: _dt.date | None = None,
    study_time: _dt.time | None = None,
    seed: str | None = None,
) -> GeneratedStudy:
    """Generate one study (all instances encoded in memory).

    ``patient`` becomes PatientName (the XNAT subject), ``study_label`` PatientID (the XNAT
    session label; default ``{patient}_{modality}1``). ``seed`` makes the UIDs reproducible.
    """
    label, modality, specs = _study_args(
        patient, study_label, project, series, instances_per_series, modality
    )
    study = _Study(
        patient=patient,
        label=label,
        project=project,
        date=study_date or _dt.date(2024, 1, 15),
        time=study_time or _dt.time(10, 30, 0),
        uid=_uid(seed, "study", patient, label),
        seed=seed,
    )
    templates: dict[str, FileDataset] = {}
    instances: list[GeneratedInstance] = []
    for spec in specs:
        series_modality = (spec.modality or modality).upper()
        if series_modality not in templates:
            templates[series_modality] = _template(series_modality)
        instances += _series_instances(
            study, spec, series_modality, templates[series_modality], instances_per_series
        )
    return GeneratedStudy(
        patient=patient,
        study_label=label,
        study_instance_uid=study.uid,
        modality=modality,
        series=specs,
        instances=tuple(instances),
    )


def _study_args(
    patient: str,
    study_label: str | None,
    project: str | None,
    series: Sequence[SeriesLike],
    instances_per_series: int,
    modality: str,
) -> tuple[str, str, tuple[SeriesSpec, ...]]:
    """Checked arguments of :func:`make_study`: ``(label, modality, series specs)``."""
    _check_text("patient", patient)
    label = _check_text("study_label", study_label or f"{patient}_{modality.upper()}1")
    if project is not None:
        _check_text("project", project)
    modality = modality.upper()
    if modality not in _TEMPLATES:
        raise ValueError(f"unsupported modality {modality!r}; choose one of {sorted(_TEMPLATES)}")
    if not isinstance(instances_per_series, int) or instances_per_series < 1:
        raise ValueError(f"instances_per_series must be >= 1, got {instances_per_series!r}")
    return label, modality, _normalise_series(series)


@dataclass(frozen=True)
class _Study:
    """The study-level values every instance of a generated study carries."""

    patient: str
    label: str
    project: str | None
    date: _dt.date
    time: _dt.time
    uid: str
    seed: str | None


def _series_instances(
    study: _Study,
    spec: SeriesSpec,
    series_modality: str,
    template: FileDataset,
    instances_per_series: int,
) -> list[GeneratedInstance]:
    """The encoded instances ``1..instances_per_series`` of one series."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian

    label, project, seed = study.label, study.project, study.seed
    series_uid = _uid(seed, "series", label, spec.number)
    frame_uid = _uid(seed, "frame", label, spec.number)
    instances: list[GeneratedInstance] = []
    for index in range(1, instances_per_series + 1):
        ds = template.copy()
        sop_uid = _uid(seed, "sop", label, spec.number, index)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = UID(_SOP_CLASSES[series_modality])
        meta.MediaStorageSOPInstanceUID = UID(sop_uid)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = UID("1.2.826.0.1.3680043.8.498.1")
        ds.file_meta = meta
        ds.SOPClassUID = _SOP_CLASSES[series_modality]
        ds.SOPInstanceUID = sop_uid
        ds.StudyInstanceUID = study.uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.PatientName = study.patient
        ds.PatientID = label
        ds.StudyID = "1"
        ds.AccessionNumber = ""
        ds.StudyDescription = project or ""
        if project is not None:
            ds.PatientComments = f"Project: {project} Subject: {study.patient} Session: {label}"
        ds.StudyDate = study.date.strftime("%Y%m%d")
        ds.SeriesDate = ds.StudyDate
        ds.StudyTime = study.time.strftime("%H%M%S")
        ds.SeriesTime = ds.StudyTime
        ds.Modality = series_modality
        ds.SeriesNumber = spec.number
        ds.SeriesDescription = spec.description
        ds.ProtocolName = spec.description
        ds.InstanceNumber = index
        ds.ImagePositionPatient = [0.0, 0.0, float(index)]
        _acquisition_headers(ds, series_modality, spec.number)
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        data = buf.getvalue()
        relpath = f"{label}/{spec.number}-{_safe(spec.description)}/{index:04d}.dcm"
        instances.append(GeneratedInstance(relpath, data, spec.number, index, sop_uid))
    return instances


def _acquisition_headers(ds: Dataset, modality: str, series_number: int) -> None:
    """Set :data:`SITE_HEADERS` (and :data:`MR_HEADERS` on MR) on ``ds``."""
    headers = dict(SITE_HEADERS)
    if modality == "MR":
        headers.update(MR_HEADERS, RepetitionTime=str(2000 + 100 * series_number))
    for keyword, value in headers.items():
        setattr(ds, keyword, value)


def _safe(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    return cleaned or hashlib.sha1(text.encode()).hexdigest()[:8]


@overload
def make_dicom_zip(
    path: None = None,
    *,
    patient: str = ...,
    study_label: str | None = ...,
    project: str | None = ...,
    series: Sequence[SeriesLike] = ...,
    instances_per_series: int = ...,
    modality: str = ...,
    study_date: _dt.date | None = ...,
    seed: str | None = ...,
) -> bytes: ...
@overload
def make_dicom_zip(
    path: str | Path,
    *,
    patient: str = ...,
    study_label: str | None = ...,
    project: str | None = ...,
    series: Sequence[SeriesLike] = ...,
    instances_per_series: int = ...,
    modality: str = ...,
    study_date: _dt.date | None = ...,
    seed: str | None = ...,
) -> Path: ...
def make_dicom_zip(
    path: str | Path | None = None,
    *,
    patient: str = "SUBJ001",
    study_label: str | None = None,
    project: str | None = None,
    series: Sequence[SeriesLike] = ((1, "T1"), (2, "T2")),
    instances_per_series: int = 3,
    modality: str = "MR",
    study_date: _dt.date | None = None,
    seed: str | None = None,
) -> bytes | Path:
    """Generate a study (see :func:`make_study`) and zip it.

    With ``path=None`` the zip is returned as bytes; otherwise it is written to ``path`` and
    the path is returned. Entries are ``{study_label}/{n}-{description}/{i:04d}.dcm``.
    """
    study = make_study(
        patient=patient,
        study_label=study_label,
        project=project,
        series=series,
        instances_per_series=instances_per_series,
        modality=modality,
        study_date=study_date,
        seed=seed,
    )
    data = zip_study(study)
    if path is None:
        return data
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def zip_study(study: GeneratedStudy) -> bytes:
    """Zip the instances of a generated study (deflated) and return the archive bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for inst in study.instances:
            zf.writestr(inst.relpath, inst.data)
    return buf.getvalue()


def write_dicom_folder(
    folder: str | Path,
    *,
    patient: str = "SUBJ001",
    study_label: str | None = None,
    project: str | None = None,
    series: Sequence[SeriesLike] = ((1, "T1"), (2, "T2")),
    instances_per_series: int = 3,
    modality: str = "MR",
    study_date: _dt.date | None = None,
    seed: str | None = None,
) -> list[Path]:
    """Generate a study and write it as loose ``.dcm`` files under ``folder``; return them."""
    study = make_study(
        patient=patient,
        study_label=study_label,
        project=project,
        series=series,
        instances_per_series=instances_per_series,
        modality=modality,
        study_date=study_date,
        seed=seed,
    )
    root = Path(folder)
    written: list[Path] = []
    for inst in study.instances:
        target = root / inst.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(inst.data)
        written.append(target)
    return written

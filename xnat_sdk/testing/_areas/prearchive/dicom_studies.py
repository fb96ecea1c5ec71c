"""Reading uploaded DICOM (zip, tar, tar.gz or loose files) into studies.

What the import service needs from an upload, decided the way XNAT's default DICOM object
identifier does:

* studies (StudyInstanceUID) become **sessions**; the session label is ``PatientID``, the
  subject label ``PatientName``; a ``Project: P Subject: S Session: E`` note in
  PatientComments/StudyComments overrides those, and StudyDescription/AccessionNumber are
  project candidates;
* series become **scans**: ID = SeriesNumber, ``type`` and ``series_description`` =
  SeriesDescription, ``modality`` and an xsi type (``xnat:mrScanData`` ...);
* instances become files of the scan's ``DICOM`` resource.

Studies become prearchive sessions
(:func:`xnat_sdk.testing._areas.prearchive.sessions.create_session`). Nothing here needs the
server; pydicom is imported on first use.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xnat_sdk.testing._areas.prearchive.dicom_fields import scan_fields, session_fields

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "DicomFile",
    "DicomSeries",
    "DicomStudy",
    "NotDicomError",
    "UploadFormatError",
    "group_studies",
    "parse_upload",
    "read_entries",
    "scan_xsi_type",
    "session_xsi_type",
]


class UploadFormatError(ValueError):
    """The upload is not a zip/tar/DICOM stream we can read."""


class NotDicomError(ValueError):
    """An uploaded entry is not DICOM (and unparsable entries were not to be ignored)."""

    def __init__(self, name: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"Unable to parse {name} as DICOM{detail}")
        self.name = name


#: modality -> (session xsi type, scan xsi type), as XNAT's DICOM session builders name them.
_MODALITY_TYPES: dict[str, tuple[str, str]] = {
    "MR": ("xnat:mrSessionData", "xnat:mrScanData"),
    "CT": ("xnat:ctSessionData", "xnat:ctScanData"),
    "PT": ("xnat:petSessionData", "xnat:petScanData"),
    "US": ("xnat:usSessionData", "xnat:usScanData"),
    "CR": ("xnat:crSessionData", "xnat:crScanData"),
    "DX": ("xnat:dxSessionData", "xnat:dxScanData"),
    "MG": ("xnat:mgSessionData", "xnat:mgScanData"),
    "NM": ("xnat:nmSessionData", "xnat:nmScanData"),
    "XA": ("xnat:xaSessionData", "xnat:xaScanData"),
    "RF": ("xnat:rfSessionData", "xnat:rfScanData"),
    "OPT": ("xnat:optSessionData", "xnat:optScanData"),
    "EPS": ("xnat:epsSessionData", "xnat:epsScanData"),
    "HD": ("xnat:hdSessionData", "xnat:hdScanData"),
    "ECG": ("xnat:ecgSessionData", "xnat:ecgScanData"),
    "SR": ("xnat:srSessionData", "xnat:srScanData"),
    "SC": ("xnat:otherDicomSessionData", "xnat:scScanData"),
    "OT": ("xnat:otherDicomSessionData", "xnat:otherDicomScanData"),
}
_OTHER = ("xnat:otherDicomSessionData", "xnat:otherDicomScanData")
#: When a study mixes modalities, the session type follows the first of these present.
_SESSION_PRIORITY = ("PT", "MR", "CT", "NM", "US", "XA", "RF", "MG", "DX", "CR", "OPT", "SR")


def session_xsi_type(modalities: Iterable[str]) -> str:
    """The session xsi type for a study holding series of ``modalities``."""
    present = {m.upper() for m in modalities}
    for m in _SESSION_PRIORITY:
        if m in present:
            return _MODALITY_TYPES[m][0]
    for m in sorted(present):
        if m in _MODALITY_TYPES:
            return _MODALITY_TYPES[m][0]
    return _OTHER[0]


def scan_xsi_type(modality: str) -> str:
    """The scan xsi type for a series of ``modality``."""
    return _MODALITY_TYPES.get(modality.upper(), _OTHER)[1]


@dataclass
class DicomFile:
    """One parsed instance: original entry name, bytes and the headers we use."""

    entry: str
    data: bytes
    sop_instance_uid: str
    sop_class_uid: str
    instance_number: int | None

    @property
    def stored_name(self) -> str:
        """File name in the session's ``DICOM`` resource (unique per SOP instance)."""
        digest = hashlib.sha1(self.sop_instance_uid.encode()).hexdigest()[:12]
        number = self.instance_number if self.instance_number is not None else 0
        return f"{number:05d}-{digest}.dcm"


@dataclass
class DicomSeries:
    """A series: becomes one scan."""

    series_instance_uid: str
    number: str
    description: str
    modality: str
    files: list[DicomFile] = field(default_factory=list)
    #: the fields XNAT's session builder takes from the headers (:mod:`.dicom_fields`)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def xsi_type(self) -> str:
        """The scan xsi type (``xnat:mrScanData`` ...)."""
        return scan_xsi_type(self.modality)

    @property
    def total_bytes(self) -> int:
        """Sum of the sizes of the files."""
        return sum(len(f.data) for f in self.files)


@dataclass
class DicomStudy:
    """A study: becomes one session."""

    study_instance_uid: str
    patient_id: str
    patient_name: str
    study_date: str
    study_time: str
    study_description: str
    accession_number: str
    comment_fields: dict[str, str]
    series: dict[str, DicomSeries] = field(default_factory=dict)
    #: the session fields XNAT's session builder takes from the headers (:mod:`.dicom_fields`)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def modalities(self) -> list[str]:
        """The modalities of the series, in series order."""
        return [s.modality for s in self.series.values()]

    @property
    def xsi_type(self) -> str:
        """The session xsi type (``xnat:mrSessionData`` ...)."""
        return session_xsi_type(self.modalities)

    @property
    def session_label(self) -> str:
        """Session label per XNAT's rules (comments override PatientID)."""
        return self.comment_fields.get("session") or self.patient_id or ""

    @property
    def subject_label(self) -> str:
        """Subject label per XNAT's rules (comments override PatientName)."""
        return self.comment_fields.get("subject") or self.patient_name or ""

    @property
    def project_candidates(self) -> list[str]:
        """Project IDs the headers name, most specific first (the server checks existence)."""
        out = [
            self.comment_fields.get("project", ""),
            self.study_description,
            self.accession_number,
        ]
        return [p for p in out if p]

    @property
    def scan_date(self) -> str:
        """StudyDate as ``YYYY-MM-DD`` or ``""``."""
        d = self.study_date
        return f"{d[:4]}-{d[4:6]}-{d[6:8]}" if re.fullmatch(r"\d{8}", d) else ""

    @property
    def scan_time(self) -> str:
        """StudyTime as ``HH:MM:SS`` or ``""``."""
        t = self.study_time
        m = re.match(r"(\d{2})(\d{2})(\d{2})(\.\d+)?", t)
        if not m:
            return ""
        return f"{m.group(1)}:{m.group(2)}:{m.group(3)}"

    @property
    def file_count(self) -> int:
        """Number of instances in the study."""
        return sum(len(s.files) for s in self.series.values())


def _looks_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _looks_tar(data: bytes) -> bool:
    return len(data) > 262 and data[257:262] == b"ustar"


def _looks_gzip(data: bytes) -> bool:
    return data[:2] == b"\x1f\x8b"


def _skip(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return (
        name.endswith("/")
        or name.startswith("__MACOSX/")
        or base.startswith("._")
        or base in (".DS_Store", "Thumbs.db")
    )


def read_entries(
    data: bytes, content_type: str | None = None, name: str = "upload"
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(entry name, bytes)`` for every file in a zip/tar/tar.gz, or the one raw file.

    The container is recognised by its magic bytes (the Content-Type is only a hint, as clients
    often send ``application/octet-stream``). Nested archives are expanded.
    """
    ctype = (content_type or "").split(";")[0].strip().lower()
    if _looks_gzip(data):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise UploadFormatError(f"{name}: corrupt gzip data ({exc})") from exc
    if _looks_zip(data):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if info.is_dir() or _skip(info.filename):
                        continue
                    inner = zf.read(info)
                    if _looks_zip(inner) or _looks_tar(inner) or _looks_gzip(inner):
                        yield from read_entries(inner, None, info.filename)
                    else:
                        yield info.filename, inner
        except zipfile.BadZipFile as exc:
            raise UploadFormatError(f"{name}: corrupt zip archive ({exc})") from exc
        return
    if _looks_tar(data) or ctype in ("application/x-tar", "application/tar"):
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
                for member in tf.getmembers():
                    if not member.isfile() or _skip(member.name):
                        continue
                    fh = tf.extractfile(member)
                    if fh is None:
                        continue
                    inner = fh.read()
                    if _looks_zip(inner) or _looks_tar(inner) or _looks_gzip(inner):
                        yield from read_entries(inner, None, member.name)
                    else:
                        yield member.name, inner
        except tarfile.TarError as exc:
            raise UploadFormatError(f"{name}: corrupt tar archive ({exc})") from exc
        return
    yield name, data


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, None)
    if value is None:
        return ""
    return str(value).strip()


_COMMENT_RE = re.compile(r"(project|subject|session)\s*:\s*([^\s;,]+)", re.IGNORECASE)


def _comment_fields(ds: Dataset) -> dict[str, str]:
    out: dict[str, str] = {}
    for keyword in ("PatientComments", "StudyComments", "AdditionalPatientHistory"):
        for key, value in _COMMENT_RE.findall(_text(ds, keyword)):
            out.setdefault(key.lower(), value)
    return out


def _plausible_raw_dataset(data: bytes) -> bool:
    """A DICOM stream without preamble starts with a group 0002 or 0008 element."""
    if len(data) < 8:
        return False
    group_le = int.from_bytes(data[0:2], "little")
    group_be = int.from_bytes(data[0:2], "big")
    return group_le in (0x0002, 0x0008) or group_be in (0x0002, 0x0008)


def _parse_one(name: str, data: bytes) -> tuple[Dataset, DicomFile]:
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    has_preamble = len(data) >= 132 and data[128:132] == b"DICM"
    if not has_preamble and not _plausible_raw_dataset(data):
        raise NotDicomError(name, "no DICOM preamble and no DICOM header")
    try:
        ds = dcmread(io.BytesIO(data), stop_before_pixels=True, force=not has_preamble)
        sop = _text(ds, "SOPInstanceUID")
        study = _text(ds, "StudyInstanceUID")
        series = _text(ds, "SeriesInstanceUID")
    except (InvalidDicomError, EOFError, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise NotDicomError(name, str(exc)) from exc
    except Exception as exc:  # pydicom raises a variety of errors on garbage
        raise NotDicomError(name, type(exc).__name__) from exc
    if not (sop and study and series):
        raise NotDicomError(name, "missing Study/Series/SOP Instance UID")
    number: int | None
    try:
        raw = ds.get("InstanceNumber", None)
        number = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    return ds, DicomFile(name, data, sop, _text(ds, "SOPClassUID"), number)


def parse_upload(
    entries: Iterable[tuple[str, bytes]], *, ignore_unparsable: bool = False
) -> list[DicomStudy]:
    """Parse DICOM entries and group them (see :func:`group_studies`).

    A non-DICOM entry raises :class:`NotDicomError` unless ``ignore_unparsable``.
    """
    parsed: list[tuple[Dataset, DicomFile]] = []
    for name, data in entries:
        try:
            parsed.append(_parse_one(name, data))
        except NotDicomError:
            if not ignore_unparsable:
                raise
    return group_studies(parsed)


def group_studies(parsed: Sequence[tuple[Dataset, DicomFile]]) -> list[DicomStudy]:
    """Group parsed instances: study -> series -> files (sorted by InstanceNumber).

    Scan IDs are SeriesNumber; a series without one (or clashing with another series of the
    same number) gets the next free number. Duplicate SOP instances keep the last copy.
    """
    studies: dict[str, DicomStudy] = {}
    series_by_uid: dict[str, DicomSeries] = {}
    headers: dict[str, list[Dataset]] = {}
    for ds, f in parsed:
        headers.setdefault(_text(ds, "SeriesInstanceUID"), []).append(ds)
        study_uid = _text(ds, "StudyInstanceUID")
        study = studies.get(study_uid)
        if study is None:
            study = DicomStudy(
                study_instance_uid=study_uid,
                patient_id=_text(ds, "PatientID"),
                patient_name=_text(ds, "PatientName"),
                study_date=_text(ds, "StudyDate"),
                study_time=_text(ds, "StudyTime"),
                study_description=_text(ds, "StudyDescription"),
                accession_number=_text(ds, "AccessionNumber"),
                comment_fields=_comment_fields(ds),
            )
            studies[study_uid] = study
        series_uid = _text(ds, "SeriesInstanceUID")
        series = series_by_uid.get(series_uid)
        if series is None:
            number = _text(ds, "SeriesNumber")
            try:
                number = str(int(float(number)))
            except ValueError:
                number = ""
            if not number or number in study.series:
                used = {int(k) for k in study.series if k.isdigit()}
                candidate = max(used, default=0) + 1
                number = str(candidate)
            series = DicomSeries(
                series_instance_uid=series_uid,
                number=number,
                description=_text(ds, "SeriesDescription"),
                modality=_text(ds, "Modality").upper() or "OT",
            )
            study.series[number] = series
            series_by_uid[series_uid] = series
        series.files = [x for x in series.files if x.sop_instance_uid != f.sop_instance_uid]
        series.files.append(f)
    for study in studies.values():
        everything: list[Dataset] = []
        for series in study.series.values():
            series.files.sort(key=lambda x: (x.instance_number or 0, x.sop_instance_uid))
            series.fields = scan_fields(headers[series.series_instance_uid], series.modality)
            everything.extend(headers[series.series_instance_uid])
        study.fields = session_fields(everything, study.xsi_type)
        study.series = dict(
            sorted(study.series.items(), key=lambda kv: (not kv[0].isdigit(), _num(kv[0])))
        )
    return list(studies.values())


def _num(text: str) -> int:
    return int(text) if text.isdigit() else 0

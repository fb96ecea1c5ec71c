"""The full DICOM path through the SDK: import to the prearchive, inspect, move, archive, delete.

Everything goes over HTTP to the local server; the DICOM data comes from
:mod:`xnat_sdk.testing.dicomgen` (fresh UIDs each call).
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk.errors import (
    XNATBadRequestError,
    XNATConflictError,
    XNATForbiddenError,
    XNATNotFoundError,
    XNATValidationError,
)
from xnat_sdk.models import MrScanData, MrSessionData
from xnat_sdk.prearchive import PrearchiveFile, PrearchiveScan, PrearchiveSession
from xnat_sdk.services import DicomDumpRow
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog

SERIES = [(1, "T1_MPRAGE"), (2, "T2_FLAIR"), (4, "DWI")]
STUDY_DATE = datetime.date(2023, 5, 17)


def _series_sizes(data: bytes) -> dict[str, list[int]]:
    """Series number -> sizes of its instances, from a dicomgen zip."""
    sizes: dict[str, list[int]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            series = info.filename.split("/")[1].split("-", 1)[0]
            sizes.setdefault(series, []).append(info.file_size)
    return sizes


@pytest.fixture
def study(xnat_project: str) -> bytes:
    return make_dicom_zip(
        None,
        patient="SUBJ_PA",
        study_label="SUBJ_PA_MR1",
        project=xnat_project,
        series=SERIES,
        instances_per_series=2,
        study_date=STUDY_DATE,
    )


@pytest.fixture
def pending(session: XNATSession, xnat_project: str, study: bytes) -> PrearchiveSession:
    made = session.services.import_(study, project=xnat_project)
    assert isinstance(made, PrearchiveSession)
    return made


def test_import_lands_in_the_prearchive_with_typed_fields(
    session: XNATSession, xnat_project: str, pending: PrearchiveSession
) -> None:
    assert pending.project == xnat_project
    assert pending.subject == "SUBJ_PA"
    assert pending.label == pending.name == "SUBJ_PA_MR1"
    assert pending.folder_name == "SUBJ_PA_MR1"
    assert pending.status == "READY"
    assert pending.scan_date == STUDY_DATE
    assert isinstance(pending.scan_time, datetime.time)
    assert isinstance(pending.uploaded, datetime.datetime)
    assert isinstance(pending.lastmod, datetime.datetime)
    assert isinstance(pending.timestamp, datetime.datetime)
    now = datetime.datetime.now()
    assert pending.uploaded is not None and abs((now - pending.uploaded).total_seconds()) < 600
    assert pending.tag.startswith("1.2.")
    assert pending.autoarchive in ("Manual", "")
    assert pending.prevent_anon is False and pending.prevent_auto_commit is False
    assert pending.uri == (
        f"/data/prearchive/projects/{xnat_project}/{pending.timestamp_folder}/SUBJ_PA_MR1"
    )
    listed = session.prearchive.sessions(project=xnat_project)
    assert [p.id for p in listed] == [pending.id]
    assert pending.id in {p.id for p in session.prearchive.sessions()}
    assert [p.id for p in session.prearchive.find(xnat_project, subject="SUBJ_PA")] == [pending.id]
    assert session.prearchive.find(xnat_project, subject="nobody") == []
    again = session.prearchive.get(xnat_project, pending.timestamp_folder, "SUBJ_PA_MR1")
    assert again.tag == pending.tag


def test_scans_files_and_downloads(
    pending: PrearchiveSession, study: bytes, tmp_path: Path
) -> None:
    sizes = _series_sizes(study)
    scans = pending.scans
    assert all(isinstance(scan, PrearchiveScan) for scan in scans)
    assert [(s.id, s.series_description) for s in scans] == [(str(n), d) for n, d in SERIES]
    assert {s.xsi_type for s in scans} == {"xnat:mrScanData"}
    first = scans[0]
    assert first.resources == ["DICOM"]
    files = first.files
    assert all(isinstance(f, PrearchiveFile) for f in files)
    assert sorted(f.size for f in files) == sorted(sizes["1"])
    target = files[0].download(tmp_path / "one.dcm")
    assert target.stat().st_size == files[0].size
    assert target.read_bytes()[128:132] == b"DICM"
    zipped = first.download(tmp_path / "scan1.zip")
    with zipfile.ZipFile(zipped) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dcm")]
    assert len(names) == 2
    whole = pending.download(tmp_path / "all" / "session.zip")
    with zipfile.ZipFile(whole) as archive:
        dicoms = [n for n in archive.namelist() if n.endswith(".dcm")]
        assert all(n.startswith("SUBJ_PA_MR1/") for n in archive.namelist())
    assert len(dicoms) == 6
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["session.zip"]


def test_dicom_dump_of_prearchive_scans(pending: PrearchiveSession) -> None:
    for scan, (_, description) in zip(pending.scans, SERIES, strict=True):
        rows = scan.dicom_dump(fields=["SeriesDescription"])
        assert rows == [DicomDumpRow("(0008,103E)", "", "LO", description, "Series Description")]
        assert rows[0].tag == (0x0008, 0x103E)
    everything = pending.dicom_dump()
    tags = {row.tag1: row.value for row in everything}
    assert tags["(0010,0010)"] == "SUBJ_PA"
    assert tags["(0008,0020)"] == STUDY_DATE.strftime("%Y%m%d")
    assert len(everything) > 20


def test_move_archive_and_find_the_typed_session(
    session: XNATSession,
    server: LocalXNAT,
    xnat_project: str,
    pending: PrearchiveSession,
    study: bytes,
) -> None:
    other = f"{xnat_project}_B"
    server.seed_project(other)
    moved = pending.move(other)
    assert moved.project == other
    assert moved.status == "READY"
    assert session.prearchive.sessions(project=xnat_project) == []
    assert [p.id for p in session.prearchive.sessions(project=other)] == [moved.id]

    archived = moved.archive(subject="SUBJ_X", experiment="EXP_X")
    assert isinstance(archived, MrSessionData)
    assert archived.label == "EXP_X"
    assert archived.project == other
    assert session.prearchive.sessions(project=other) == []

    experiment = session.projects[other].experiments["EXP_X"]
    assert isinstance(experiment, MrSessionData)
    assert experiment.id == archived.id
    assert experiment.date == STUDY_DATE
    subject = session.projects[other].subjects["SUBJ_X"]
    assert experiment.subject_id == subject.id
    scans = experiment.scans
    assert sorted(scans.keys()) == [str(n) for n, _ in SERIES]
    sizes = _series_sizes(study)
    for number, description in SERIES:
        scan = scans[str(number)]
        assert isinstance(scan, MrScanData)
        assert scan.series_description == description
        assert scan.type == description
        files = scan.resources["DICOM"].files
        assert len(files) == 2
        assert sorted(f.size or 0 for f in files.values()) == sorted(sizes[str(number)])
        dump = scan.dicom_dump(fields=["00080060", "SeriesNumber"])
        assert {row.desc: row.value for row in dump} == {
            "Modality": "MR",
            "Series Number": str(number),
        }
    assert Counter(s.xsi_type for s in scans.values()) == Counter({"xnat:mrScanData": 3})


def test_delete_and_rebuild(
    session: XNATSession, xnat_project: str, pending: PrearchiveSession
) -> None:
    rebuilt = pending.rebuild()
    assert rebuilt is pending and pending.status == "READY"
    pending.delete()
    assert session.prearchive.sessions(project=xnat_project) == []
    with pytest.raises(XNATNotFoundError):
        pending.refresh()


def test_archive_over_an_existing_label_is_refused_and_changes_nothing(
    session: XNATSession, xnat_project: str, study: bytes
) -> None:
    first = session.services.import_(
        study, destination="/archive", project=xnat_project, subject="SUBJ_C", experiment="EXP_C"
    )
    assert isinstance(first, MrSessionData)
    before = session.get_json(f"/data/experiments/{first.id}")
    second_zip = make_dicom_zip(
        None, patient="SUBJ_C", study_label="OTHER", project=xnat_project, series=[(9, "EXTRA")]
    )
    pending = session.services.import_(second_zip, project=xnat_project)
    assert isinstance(pending, PrearchiveSession)
    with pytest.raises(XNATConflictError) as caught:
        pending.archive(subject="SUBJ_C", experiment="EXP_C")
    assert "exists" in caught.value.message
    assert caught.value.status == 409
    session.clearcache()
    after = session.get_json(f"/data/experiments/{first.id}")
    assert after == before
    scans = session.projects[xnat_project].experiments["EXP_C"].scans
    assert sorted(scans.keys()) == [str(n) for n, _ in SERIES]
    # the prearchive keeps the session (XNAT marks it CONFLICT) for a later overwrite
    left = session.prearchive.sessions(project=xnat_project)
    assert [(p.id, p.status) for p in left] == [(pending.id, "CONFLICT")]
    replaced = left[0].archive(subject="SUBJ_C", experiment="EXP_C", overwrite="append")
    assert replaced.id == first.id
    session.clearcache()
    scans = session.projects[xnat_project].experiments["EXP_C"].scans
    assert sorted(scans.keys()) == sorted([str(n) for n, _ in SERIES] + ["9"])


def test_bad_prearchive_requests(
    session: XNATSession, xnat_project: str, pending: PrearchiveSession, log: RequestLog
) -> None:
    with pytest.raises(XNATForbiddenError, match="NOPE"):
        session.prearchive.sessions(project="NOPE")
    with pytest.raises(XNATNotFoundError, match="NOPE"):
        pending.move("NOPE")
    log.clear()
    with pytest.raises(XNATValidationError, match="overwrite"):
        pending.archive(overwrite="sometimes")
    with pytest.raises(XNATValidationError, match="new_project"):
        pending.move("bad project!")
    with pytest.raises(XNATValidationError, match="asynchronous"):
        pending.delete(asynchronous="yes")  # type: ignore[arg-type]
    with pytest.raises(XNATValidationError, match="path"):
        pending.download(Path("/"))
    with pytest.raises(XNATValidationError, match="experiment"):
        pending.archive(experiment="no/slashes")
    assert len(log) == 0, "invalid input must be refused before any request"
    still = session.prearchive.sessions(project=xnat_project)
    assert [(p.id, p.status) for p in still] == [(pending.id, "READY")]


def test_archive_into_another_project_and_unassigned_refusal(
    session: XNATSession, server: LocalXNAT, xnat_project: str, pending: PrearchiveSession
) -> None:
    other = f"{xnat_project}_DEST"
    server.seed_project(other)
    archived = pending.archive(project=other, subject="SUBJ_O", experiment="EXP_O")
    assert isinstance(archived, MrSessionData)
    assert (archived.project, archived.label) == (other, "EXP_O")
    assert list(session.projects[other].experiments.keys()) == [archived.id]
    assert len(session.projects[xnat_project].experiments) == 0

    unrouted = session.services.import_(
        make_dicom_zip(None, patient="NOBODY", study_label="NOWHERE"), destination="/prearchive"
    )
    assert isinstance(unrouted, PrearchiveSession)
    assert unrouted.project == "Unassigned"
    with pytest.raises(XNATBadRequestError, match="Unassigned"):
        unrouted.archive()
    assert unrouted.refresh().status == "READY"
    unrouted.delete()
    with pytest.raises(XNATNotFoundError):
        unrouted.refresh()


@given(
    stamp=st.datetimes(
        min_value=datetime.datetime(1990, 1, 1), max_value=datetime.datetime(2090, 1, 1)
    ),
    empty=st.booleans(),
)
def test_listing_dates_parse(stamp: datetime.datetime, empty: bool) -> None:
    stamp = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
    row = {
        "project": "P",
        "timestamp": stamp.strftime("%Y%m%d_%H%M%S") + f"{stamp.microsecond // 1000:03d}",
        "uploaded": "" if empty else stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        "lastmod": stamp.strftime("%Y-%m-%d %H:%M:%S") + ".0",
        "scan_date": "" if empty else stamp.strftime("%Y-%m-%d"),
        "scan_time": "" if empty else stamp.strftime("%H:%M:%S.%f")[:-3],
        "folderName": "F",
        "prevent_anon": "true",
    }
    parsed = PrearchiveSession(None, row)  # type: ignore[arg-type]
    assert parsed.timestamp == stamp
    assert parsed.lastmod == stamp.replace(microsecond=0)
    assert parsed.prevent_anon is True and parsed.prevent_auto_commit is False
    if empty:
        assert (parsed.uploaded, parsed.scan_date, parsed.scan_time) == (None, None, None)
    else:
        assert parsed.uploaded == stamp
        assert parsed.scan_date == stamp.date()
        assert parsed.scan_time == stamp.time()
    assert parsed.uri == "/data/prearchive/projects/P/" + row["timestamp"] + "/F"


def test_read_dicom_and_open_prearchive_files(pending: PrearchiveSession, tmp_path: Path) -> None:
    scan = pending.scans[1]
    header = scan.read_dicom()
    assert header.SeriesDescription == "T2_FLAIR"
    assert header.PatientName == "SUBJ_PA"
    assert "PixelData" not in header
    files = scan.files
    named = scan.read_dicom(files[-1].name, read_pixel_data=True)
    assert "PixelData" in named
    assert named.SOPInstanceUID != header.SOPInstanceUID
    with files[0].open() as handle:
        streamed = handle.read()
    assert streamed == files[0].download(tmp_path / "f.dcm").read_bytes()
    with pytest.raises(XNATValidationError, match="no file"):
        scan.read_dicom("missing.dcm")


def test_result_uri_of_a_redirected_archive(
    session: XNATSession, xnat_project: str, pending: PrearchiveSession
) -> None:
    from xnat_sdk.prearchive import archived_experiment, result_uri

    response = session.post(
        "/data/services/archive",
        query={"src": pending.uri, "redirect": "true", "subject": "R_S", "session": "R_E"},
    )
    assert response.history and response.history[0].status_code == 303
    uri = result_uri(response)
    assert uri == f"/data/archive/projects/{xnat_project}/subjects/R_S/experiments/R_E"
    experiment = archived_experiment(session, uri)
    assert isinstance(experiment, MrSessionData) and experiment.label == "R_E"

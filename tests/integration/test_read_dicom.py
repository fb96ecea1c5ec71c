"""scan.read_dicom(): the right header from ONE streamed file, pixel data only on request."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from xnat_sdk.errors import XNATValueError
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import GeneratedStudy, make_study
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded


@pytest.fixture
def study(server: LocalXNAT, seeded: Seeded) -> GeneratedStudy:
    """Three instances in each of series 1 and 2, stored as the DICOM resources of scans
    1 and 2 of E1."""
    generated = make_study(
        patient="S1", study_label="E1", series=((1, "T1"), (2, "T2")), seed="read-dicom"
    )
    eid = seeded.sessions["E1"]
    for number in (1, 2):
        row = server.store.one(
            "SELECT pk FROM scans WHERE experiment_id=? AND id=?", (eid, str(number))
        )
        assert row is not None
        rid = server.seed_resource("scan", row[0], "DICOM", format="DICOM", content="RAW")
        for instance in generated.instances_of(number):
            server.seed_file(rid, instance.relpath.rsplit("/", 1)[-1], instance.data)
    return generated


def _file_gets(log: RequestLog) -> list[str]:
    return [p for p in log.paths() if p.startswith("GET") and ".dcm" in p]


def test_read_dicom_streams_one_file_and_stops_before_pixels(
    session: XNATSession, seeded: Seeded, study: GeneratedStudy, log: RequestLog
) -> None:
    scan = session.experiments[seeded.sessions["E1"]].scans["2"]
    log.clear()
    header = scan.read_dicom()
    expected = study.instances_of(2)[0]
    assert header.SOPInstanceUID == expected.sop_instance_uid
    assert header.SeriesNumber == 2 and header.InstanceNumber == 1
    assert header.PatientID == "E1"
    assert "PixelData" not in header
    gets = _file_gets(log)
    assert len(gets) == 1 and gets[0].endswith("/files/0001.dcm"), gets
    assert len(log) <= 3, log.paths()  # resources listing, file listing, one file


def test_read_dicom_named_file_and_pixels(
    session: XNATSession, seeded: Seeded, study: GeneratedStudy, log: RequestLog
) -> None:
    import io

    import pydicom

    scan = session.experiments[seeded.sessions["E1"]].scans["1"]
    third = study.instances_of(1)[2]
    header = scan.read_dicom(file="0003.dcm")
    assert header.InstanceNumber == 3
    assert header.SOPInstanceUID == third.sop_instance_uid
    remote = scan.resources["DICOM"].files["0003.dcm"]
    full = scan.read_dicom(remote, read_pixel_data=True)
    reference = pydicom.dcmread(io.BytesIO(third.data))
    assert full.PixelData == reference.PixelData
    log.clear()
    scan.read_dicom(remote)
    assert len(_file_gets(log)) == 1


def test_read_dicom_errors(
    session: XNATSession, seeded: Seeded, study: GeneratedStudy, server: LocalXNAT
) -> None:
    experiment = session.experiments[seeded.sessions["E1"]]
    with pytest.raises(XNATValueError, match="no DICOM"):
        experiment.scans["3"].read_dicom()
    with pytest.raises(XNATValueError, match=r"9999\.dcm"):
        experiment.scans["1"].read_dicom(file="9999.dcm")
    other = experiment.scans["2"].resources["DICOM"].files["0001.dcm"]
    with pytest.raises(XNATValueError, match="not a file of scan"):
        experiment.scans["1"].read_dicom(other)


def test_header_read_stops_before_large_pixel_data(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, study: GeneratedStudy
) -> None:
    import io

    import pydicom

    dataset = pydicom.dcmread(io.BytesIO(study.instances_of(1)[0].data))
    dataset.Rows = dataset.Columns = 1024
    dataset.BitsAllocated = dataset.BitsStored = 16
    dataset.HighBit = 15
    dataset.SamplesPerPixel = 1
    dataset.PixelData = bytes(1024 * 1024 * 2)  # 2 MiB of pixels
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    eid = seeded.sessions["E1"]
    row = server.store.one("SELECT pk FROM scans WHERE experiment_id=? AND id='3'", (eid,))
    assert row is not None
    rid = server.seed_resource("scan", row[0], "DICOM")
    server.seed_file(rid, "big.dcm", buffer.getvalue())

    scan = session.experiments[eid].scans["3"]
    assert scan.read_dicom().Rows == 1024
    remote = scan.resources["DICOM"].files["big.dcm"]
    with remote.open() as handle:
        header = pydicom.dcmread(handle, stop_before_pixels=True)
        fetched = handle.bytes_received
    assert header.Columns == 1024
    assert fetched < 256 * 1024 < len(buffer.getvalue()), fetched
    assert "PixelData" in scan.read_dicom(read_pixel_data=True)

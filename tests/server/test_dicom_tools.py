"""dicomgen (test data), upload parsing and grouping (prearchive.dicom_studies), header dump."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xnat_sdk.testing._areas.prearchive.dicom_studies import (
    NotDicomError,
    UploadFormatError,
    parse_upload,
    read_entries,
    scan_xsi_type,
    session_xsi_type,
)
from xnat_sdk.testing._areas.services.dicomdump import dicom_dump_rows
from xnat_sdk.testing.dicomgen import (
    SeriesSpec,
    make_dicom_zip,
    make_study,
    write_dicom_folder,
    zip_study,
)


def test_zip_layout_and_headers() -> None:
    data = make_dicom_zip(
        patient="P01", study_label="P01_MR", project="PRJ", series=[(1, "T1"), (2, "T2")]
    )
    assert isinstance(data, bytes)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert names == [
            f"P01_MR/{n}-{d}/{i:04d}.dcm" for n, d in ((1, "T1"), (2, "T2")) for i in (1, 2, 3)
        ]
        datasets = [pydicom.dcmread(io.BytesIO(zf.read(n))) for n in names]
    assert {str(ds.PatientName) for ds in datasets} == {"P01"}
    assert {ds.PatientID for ds in datasets} == {"P01_MR"}
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 2
    assert len({ds.SOPInstanceUID for ds in datasets}) == 6
    assert [int(ds.InstanceNumber) for ds in datasets] == [1, 2, 3, 1, 2, 3]
    assert datasets[0].PatientComments == "Project: PRJ Subject: P01 Session: P01_MR"
    assert datasets[0].file_meta.MediaStorageSOPInstanceUID == datasets[0].SOPInstanceUID


def test_two_calls_never_share_uids_but_seeds_reproduce() -> None:
    a, b = make_study(), make_study()
    assert a.study_instance_uid != b.study_instance_uid
    assert {i.sop_instance_uid for i in a.instances}.isdisjoint(
        i.sop_instance_uid for i in b.instances
    )
    assert make_study(seed="s").instances == make_study(seed="s").instances


def test_zip_to_path_and_folder(tmp_path: Path) -> None:
    target = make_dicom_zip(tmp_path / "out" / "study.zip", series=[SeriesSpec(4, "CT", "CT")])
    assert isinstance(target, Path) and zipfile.is_zipfile(target)
    files = write_dicom_folder(
        tmp_path / "folder", patient="F", series=[(1, "a")], instances_per_series=2
    )
    assert len(files) == 2 and all(f.is_file() for f in files)
    entries = [(str(f), f.read_bytes()) for f in files]
    (study,) = parse_upload(entries)
    assert study.subject_label == "F" and list(study.series) == ["1"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"series": []}, ValueError),
        ({"series": [(1, "a"), (1, "b")]}, ValueError),
        ({"instances_per_series": 0}, ValueError),
        ({"modality": "XX"}, ValueError),
        ({"patient": "a/b"}, ValueError),
        ({"series": ["T1"]}, TypeError),
    ],
)
def test_bad_generator_input(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        make_study(**kwargs)  # type: ignore[arg-type]


series_strategy = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=999),
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-",
            min_size=1,
            max_size=20,
        ).filter(lambda s: s.strip() == s and s != ""),
        st.sampled_from(["MR", "CT"]),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda t: t[0],
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series=series_strategy, per_series=st.integers(min_value=1, max_value=3))
def test_round_trip_grouping(series: list[tuple[int, str, str]], per_series: int) -> None:
    study = make_study(
        patient="RT", study_label="RT_1", series=series, instances_per_series=per_series
    )
    (parsed,) = parse_upload(read_entries(zip_study(study), "application/zip"))
    assert parsed.study_instance_uid == study.study_instance_uid
    assert parsed.session_label == "RT_1" and parsed.subject_label == "RT"
    assert list(parsed.series) == [str(n) for n, _, _ in sorted(series)]
    for number, description, modality in series:
        got = parsed.series[str(number)]
        assert got.description == description
        assert got.modality == modality
        assert got.xsi_type == scan_xsi_type(modality)
        assert [f.data for f in got.files] == [i.data for i in study.instances_of(number)]
    modalities = {m for _, _, m in series}
    expected = "xnat:mrSessionData" if "MR" in modalities else "xnat:ctSessionData"
    assert parsed.xsi_type == expected


def test_tar_and_gzip_and_single_file() -> None:
    study = make_study(series=[(1, "x")], instances_per_series=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for inst in study.instances:
            info = tarfile.TarInfo(inst.relpath)
            info.size = len(inst.data)
            tf.addfile(info, io.BytesIO(inst.data))
    entries = list(read_entries(buf.getvalue(), "application/x-gzip"))
    assert sorted(e[1] for e in entries) == sorted(i.data for i in study.instances)
    single = list(read_entries(study.instances[0].data, "application/dicom"))
    assert single == [("upload", study.instances[0].data)]


def test_non_dicom_is_refused_unless_ignored() -> None:
    study = make_study(series=[(1, "x")], instances_per_series=1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.dcm", study.instances[0].data)
        zf.writestr("readme.txt", "not dicom")
    with pytest.raises(NotDicomError, match=r"readme\.txt"):
        parse_upload(read_entries(buf.getvalue()))
    (parsed,) = parse_upload(read_entries(buf.getvalue()), ignore_unparsable=True)
    assert parsed.file_count == 1
    with pytest.raises(UploadFormatError):
        list(read_entries(b"PK\x03\x04 broken zip"))


def test_modality_types() -> None:
    assert session_xsi_type(["MR"]) == "xnat:mrSessionData"
    assert session_xsi_type(["CT", "PT"]) == "xnat:petSessionData"
    assert session_xsi_type(["XYZ"]) == "xnat:otherDicomSessionData"
    assert scan_xsi_type("pt") == "xnat:petScanData"
    assert scan_xsi_type("OT") == "xnat:otherDicomScanData"


def test_dump_rows() -> None:
    study = make_study(series=[(3, "<b>&desc")], instances_per_series=1)
    data = study.instances[0].data
    rows = dicom_dump_rows(data)
    assert all(set(r) == {"tag1", "tag2", "vr", "value", "desc"} for r in rows)
    assert not any(r["tag1"] == "(7FE0,0010)" for r in rows)  # no pixel data
    by_tag = {r["tag1"]: r for r in rows if not r["tag2"]}
    assert by_tag["(0020,0011)"] == {
        "tag1": "(0020,0011)",
        "tag2": "",
        "vr": "IS",
        "value": "3",
        "desc": "Series Number",
    }
    assert by_tag["(0008,103E)"]["value"] == "&lt;b&gt;&amp;desc"  # HTML-escaped
    assert by_tag["(0002,0010)"]["vr"] == "UI"  # file meta included
    only = dicom_dump_rows(data, ["00200011", "PatientID", "(0008,0060)"])
    assert [r["tag1"] for r in only] == ["(0008,0060)", "(0010,0020)", "(0020,0011)"]


def test_dump_sequences_and_truncation() -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import UID, ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    ds.file_meta.MediaStorageSOPInstanceUID = UID("1.2.3.4")
    ds.ImageComments = "x" * 400
    item = Dataset()
    item.CodeValue = "123"
    ds.ProcedureCodeSequence = Sequence([item])
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    rows = dicom_dump_rows(buf.getvalue())
    comments = next(r for r in rows if r["tag1"] == "(0020,4000)")
    assert len(comments["value"]) == 255
    seq = [r for r in rows if r["tag1"] == "(0008,1032)"]
    assert seq[0]["tag2"] == "" and seq[0]["value"] == "" and seq[0]["vr"] == "SQ"
    assert seq[1]["tag2"] == "(0008,0100)" and seq[1]["value"] == "123"


def test_dicom_without_preamble_is_still_read() -> None:
    study = make_study(series=[(2, "raw")], instances_per_series=1)
    ds = pydicom.dcmread(io.BytesIO(study.instances[0].data))
    ds.preamble = None
    del ds.file_meta  # a bare dataset, as some tools write them
    buf = io.BytesIO()
    ds.save_as(buf, implicit_vr=True, little_endian=True)
    raw = buf.getvalue()
    assert raw[128:132] != b"DICM"
    (parsed,) = parse_upload([("bare.dcm", raw)])
    assert list(parsed.series) == ["2"] and parsed.series["2"].description == "raw"
    with pytest.raises(NotDicomError, match="no DICOM preamble"):
        parse_upload([("note.txt", b"just some text, not a dataset")])

"""Typed navigation over HTTP: narrowing a listing to a model class, the errors a wrong
class or key gives, and the single nested children that are always there (and are created
by writing one of their fields)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

import pytest

import xnat_sdk
from xnat_sdk.errors import XNATKeyError, XNATTypeMismatchError, XNATValidationError
from xnat_sdk.models import (
    DemographicData,
    ImageScanData,
    MrScanData,
    MrSessionData,
    PetSessionData,
    QcAssessmentData,
    SubjectData,
)

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded

    from xnat_sdk import XNATSession
    from xnat_sdk.testing import LocalXNAT


def _fresh(server: LocalXNAT) -> XNATSession:
    return xnat_sdk.connect(server.url, user="admin", password="admin")


def test_the_readme_chain_narrows_at_each_step(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    e1 = seeded.sessions["E1"]
    server.seed_scan(e1, "4", type="EPI", fields={"parameters/tr": "2.5"})
    log.clear()
    subject = session.projects[seeded.project].subjects["S1"]
    mr = subject.experiments[MrSessionData]["E1"]
    assert type(mr) is MrSessionData and mr.id == e1
    scan = mr.scans[MrScanData]["4"]
    assert type(scan) is MrScanData
    assert scan.parameters.tr == 2.5
    # the same in one expression, by ID or label, with the tuple form too
    chain = session.projects[seeded.project].subjects["S1"].experiments[MrSessionData]["E1"]
    assert chain.scans[MrScanData]["4"].parameters.tr == 2.5
    assert subject.experiments["E1", MrSessionData] is mr
    assert mr.scans["EPI", MrScanData] is scan
    # narrowing sends nothing of its own: projects, subjects, experiments, the session's
    # document (its scans), nothing more
    paths = [p.split("?")[0] for p in log.paths()]
    assert len(paths) == len(set(paths)) <= 5, paths


def test_a_wrong_class_names_both_xsi_types(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    pet = server.seed_session(seeded.project, "S1", "PET1", xsi_type="xnat:petSessionData")
    experiments = session.projects[seeded.project].subjects["S1"].experiments
    assert isinstance(experiments["PET1"], PetSessionData)
    log.clear()
    with pytest.raises(XNATTypeMismatchError) as info:
        experiments[MrSessionData]["PET1"]
    error = info.value
    assert isinstance(error, TypeError)  # a typed error, also a TypeError
    assert "xnat:mrSessionData" in error.expected and "xnat:petSessionData" in error.actual
    assert str(error).startswith("'PET1' in /data/projects/")
    assert "is xnat:petSessionData (PetSessionData), not xnat:mrSessionData" in str(error)
    with pytest.raises(XNATTypeMismatchError, match="petSessionData"):
        experiments[pet, MrSessionData]  # by ID, in one subscript
    assert len(log) == 0  # all from the listing read before
    # a narrowed view holds only its class; a key that is nowhere stays a key error
    assert [e.label for e in experiments[MrSessionData]] == ["E1"]
    assert list(experiments[PetSessionData].keys()) == [pet]
    with pytest.raises(XNATKeyError, match="no experiment with ID or label 'NOPE'"):
        experiments[MrSessionData]["NOPE"]
    assert "PET1" not in experiments[MrSessionData] and "PET1" in experiments


@pytest.mark.parametrize("key", [3.5, ("E1",), ("E1", "MrSessionData"), ("E1", MrSessionData, 1)])
def test_keys_of_the_wrong_shape_are_refused_with_a_typed_error(
    session: XNATSession, seeded: Seeded, key: object
) -> None:
    experiments = session.projects[seeded.project].subjects["S1"].experiments
    with pytest.raises(XNATKeyError, match="indexed by ID or label"):
        experiments[key]  # type: ignore[index]


def test_narrowing_to_a_class_that_is_not_a_model_is_refused(
    session: XNATSession, seeded: Seeded
) -> None:
    experiments = session.projects[seeded.project].subjects["S1"].experiments
    with pytest.raises(XNATValidationError, match="model class"):
        experiments[int]  # type: ignore[type-var]


def test_scans_narrow_and_other_modalities_are_named(
    server: LocalXNAT, session: XNATSession, seeded: Seeded
) -> None:
    e1 = seeded.sessions["E1"]
    server.seed_scan(e1, "9", type="SC", xsi_type="xnat:scScanData")
    scans = session.experiments[e1].scans  # type: ignore[attr-defined]
    assert isinstance(scans["9"], ImageScanData)
    with pytest.raises(XNATTypeMismatchError, match=r"xnat:scScanData .*not xnat:mrScanData"):
        scans[MrScanData]["9"]
    assert sorted(scans[MrScanData].keys()) == ["1", "2", "3"]


def test_a_missing_single_child_is_an_empty_one_and_writing_a_field_creates_it(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    subject = session.projects[seeded.project].subjects["S2"]
    demographics = subject.demographics
    assert type(demographics) is DemographicData  # the one form XNAT stores
    assert (demographics.gender, demographics.yob, demographics.weight.weight) == (None,) * 3
    log.clear()
    subject.demographics.gender = "female"  # the reference's idiom: one PUT
    assert [p.split("?")[0] for p in log.paths()] == [f"PUT {subject.uri}"]
    sent = unquote(log.paths()[0])
    assert "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender=female" in sent
    with _fresh(server) as other:
        fresh = other.projects[seeded.project].subjects["S2"].demographics
        assert fresh.gender == "female"
        fresh.yob = 1980  # an existing child: the field is added to it
    subject.clearcache()
    assert (subject.demographics.gender, subject.demographics.yob) == ("female", 1980)
    with pytest.raises(XNATValidationError, match="gender"):
        subject.demographics.gender = "blue"  # type: ignore[assignment]


def test_a_missing_nested_element_is_written_through_its_scan(
    server: LocalXNAT, session: XNATSession, seeded: Seeded
) -> None:
    scan = session.experiments[seeded.sessions["E2"]].scans[MrScanData]["1"]  # type: ignore[attr-defined]
    assert scan.parameters.tr is None and scan.parameters.voxel_res.x is None
    scan.parameters.tr = 2.0
    scan.parameters.voxel_res.x = 0.9
    with _fresh(server) as other:
        fresh = other.experiments[seeded.sessions["E2"]].scans[MrScanData]["1"]  # type: ignore[attr-defined]
        assert (fresh.parameters.tr, fresh.parameters.voxel_res.x) == (2.0, 0.9)


def test_create_takes_nested_objects_in_its_one_request(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    project = session.projects[seeded.project]
    log.clear()
    created = project.subjects.create("S7", demographics=DemographicData(gender="male", yob=1970))
    assert [p.split("?")[0].split(" ")[0] for p in log.paths()] == ["GET", "PUT"]
    typed = project.subjects.create(
        SubjectData(label="S8", group="g", demographics=DemographicData(handedness="left"))
    )
    # an empty nested object is no field: nothing of it is sent
    plain = project.subjects.create(SubjectData(label="S9"))
    assert "demographics" not in log.paths()[-1]
    with _fresh(server) as other:
        subjects = other.projects[seeded.project].subjects
        assert (subjects["S7"].demographics.gender, subjects["S7"].demographics.yob) == (
            "male",
            1970,
        )
        assert subjects["S8"].demographics.handedness == "left" and subjects["S8"].group == "g"
        assert subjects["S9"].demographics.gender is None
    assert {created.label, typed.label, plain.label} == {"S7", "S8", "S9"}


def test_experiment_subject_is_typed_and_costs_no_request_from_its_subject(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    subject = session.projects[seeded.project].subjects["S1"]
    mr = subject.experiments[MrSessionData]["E1"]
    log.clear()
    assert mr.subject is subject and len(log) == 0
    # reached without its subject: bound lazily to the subject's URL
    alone = session.experiments[seeded.sessions["E1"]]  # type: ignore[attr-defined]
    found = alone.subject
    assert isinstance(found, SubjectData)
    assert found.label == "S1" and found.id == seeded.subjects["S1"]
    assert found.uri == f"/data/projects/{seeded.project}/subjects/{seeded.subjects['S1']}"


def test_files_of_every_level_list_all_their_resources(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    project = session.projects[seeded.project]
    subject = project.subjects["S1"]
    mr = subject.experiments[MrSessionData]["E1"]
    scan = mr.scans[MrScanData]["1"]
    for owner, tag in ((project, "p"), (subject, "s"), (mr, "e"), (scan, "c")):
        first = owner.create_resource("NOTES")
        first.upload(f"{tag}\n".encode(), "a/notes.txt")
        second = owner.create_resource("MORE")
        second.upload(b"same name, other folder\n", "a/notes.txt")
    assessor = mr.assessors.create("QC1", QcAssessmentData)
    assessor.create_resource("OUT").upload(b"qc\n", "qc.txt")
    session.clearcache()
    log.clear()
    files = mr.files
    assert sorted(files.keys()) == ["MORE/a/notes.txt", "NOTES/a/notes.txt"]  # scan's not here
    assert len(log) == 1 and log.paths()[0].startswith(f"GET {mr.uri}/files")
    note = files["NOTES/a/notes.txt"]
    assert (note.resource, note.path, note.name, note.size) == (
        "NOTES",
        "a/notes.txt",
        "notes.txt",
        2,
    )
    assert note.digest is not None
    assert sorted(f.resource or "" for f in scan.files.values()) == ["MORE", "NOTES"]
    assert len(project.files) == len(subject.files) == 2
    assert list(assessor.files.keys()) == ["OUT/qc.txt"]
    with pytest.raises(XNATKeyError, match="several files"):
        files["notes.txt"]  # the name is in both folders: the key tells them apart


def test_scan_fields_are_its_custom_parameters(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    scan = session.experiments[seeded.sessions["E1"]].scans[MrScanData]["2"]  # type: ignore[attr-defined]
    assert dict(scan.fields) == {}
    log.clear()
    scan.fields["coil"] = "HEAD32"
    assert len(log) == 1 and log.paths()[0].startswith(f"PUT {scan.uri}")
    with _fresh(server) as other:
        fresh = other.experiments[seeded.sessions["E1"]].scans[MrScanData]["2"]  # type: ignore[attr-defined]
        assert dict(fresh.fields) == {"coil": "HEAD32"}
        assert [p.name for p in fresh.parameters.add_param] == ["coil"]
    del scan.fields["coil"]
    assert "coil" not in scan.fields
    with pytest.raises(XNATKeyError, match="no custom variable 'nope'"):
        scan.fields["nope"]


def test_experiment_status_reads_and_changes_over_rest(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    mr = session.projects[seeded.project].subjects["S1"].experiments[MrSessionData]["E1"]
    log.clear()
    assert mr.status == "active" and mr.status == "active"
    assert [p.split("?")[0] for p in log.paths()] == [f"GET {mr.uri}/status"]  # cached
    mr.status = "quarantine"
    assert "quarantine=true" in log.paths()[-1]
    with _fresh(server) as other:
        assert other.experiments[seeded.sessions["E1"]].status == "quarantine"  # type: ignore[attr-defined]
    assert mr.status == "quarantine"
    mr.activate()
    assert mr.status == "active"
    log.clear()
    with pytest.raises(XNATValidationError, match="'active' or 'quarantine', got 'locked'"):
        mr.status = "locked"
    assert len(log) == 0


def test_files_of_a_project_routed_experiment_use_the_experiments_route(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    # XNAT routes no /files under /data/projects/{P}/experiments/{E}
    mr = session.projects[seeded.project].experiments[MrSessionData]["E1"]
    assert mr.uri.startswith(f"/data/projects/{seeded.project}/experiments/")
    mr.create_resource("R").upload(b"x\n", "x.txt")
    scan = mr.scans[MrScanData]["1"]
    log.clear()
    assert list(mr.files.keys()) == ["R/x.txt"]
    assert list(scan.files.keys()) == []
    assert [p.split("?")[0] for p in log.paths()] == [
        f"GET /data/experiments/{seeded.sessions['E1']}/files",
        f"GET /data/experiments/{seeded.sessions['E1']}/scans/1/files",
    ]


def test_a_typed_view_is_kept_and_follows_its_listing(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    experiments = session.projects[seeded.project].subjects["S1"].experiments
    assert experiments[MrSessionData] is experiments.of_type(MrSessionData)
    assert list(experiments[MrSessionData].keys()) == [seeded.sessions["E1"]]
    server.seed_session(seeded.project, "S1", "E7")
    experiments.clearcache()  # the listing's own clearcache reaches its views
    assert len(experiments[MrSessionData]) == 2

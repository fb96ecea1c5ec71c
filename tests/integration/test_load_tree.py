"""``project.load_tree``: the project's tree in three listing requests, the same typed objects
and values a per-object walk reads (issue 16, item 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import xnat_sdk
from xnat_sdk.bulk import sync_session
from xnat_sdk.errors import XNATValidationError, XNATValueError
from xnat_sdk.models import (
    CtScanData,
    ImageSessionData,
    MrScanData,
    QcManualAssessorData,
    SubjectData,
)
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded


def _more(server: LocalXNAT, seeded: Seeded) -> None:
    """A CT scan, a session without scans, a subject without sessions, a non-image
    experiment (no scans) next to the fixture's data."""
    project = seeded.project
    e3 = server.seed_session(project, "S2", "E3", xsi_type="xnat:ctSessionData")
    server.seed_scan(e3, "7", type="CT", xsi_type="xnat:ctScanData", fields={"quality": "usable"})
    server.seed_session(project, "S1", "E4")
    server.seed_subject(project, "S3")
    server.seed_session(project, "S3", "Q1", xsi_type="xnat:qcManualAssessorData")


def _walk(subjects: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for subject in subjects.values():
        out.append((type(subject), subject.uri, subject.label))
        for experiment in subject.experiments.values():
            out.append((type(experiment), experiment.uri, experiment.label, experiment.xsi_type))
            # image sessions list scans; an assessor's ``scans`` are its own child items
            for scan in (
                experiment.scans.values() if isinstance(experiment, ImageSessionData) else ()
            ):
                out.append(
                    (
                        type(scan),
                        scan.uri,
                        scan.id,
                        scan.type,
                        scan.series_description,
                        scan.xsi_type,
                    )
                )
    return out


def test_load_tree_gives_the_objects_and_values_of_a_per_object_walk(
    server: LocalXNAT, seeded: Seeded, session: XNATSession, log: RequestLog
) -> None:
    _more(server, seeded)
    with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
        other.caching = False  # every object read on its own: no listing batched
        expected = _walk(other.projects[seeded.project].subjects)
    project = session.projects[seeded.project]
    log.clear()
    subjects = project.load_tree()
    walked = _walk(subjects)
    assert len(log) == 3, log.paths()
    assert walked == expected
    assert subjects is project.subjects
    kinds = {row[0] for row in walked}
    assert {MrScanData, CtScanData, SubjectData} <= kinds
    assert any(row[2:4] == ("1", "T1") and row[4] == "T1 s" for row in walked)


def test_load_tree_costs_three_requests_whatever_the_size(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    server.seed_project("TREE_BULK", name="bulk")
    server.seed_bulk("TREE_BULK", 40, sessions_per_subject=2, scans_per_session=3)
    project = session.projects["TREE_BULK"]
    server.faults.start_recording()
    log.clear()
    count = 0
    for subject in project.load_tree(["type", "series_description", "quality"]):
        for experiment in subject.experiments:
            for scan in experiment.scans:
                assert scan.type and scan.series_description
                assert scan.quality in (None, "", "usable")
                count += 1
    assert count == 40 * 2 * 3
    assert len(log) == 3, log.paths()
    recorded = server.faults.recorded()
    assert len(recorded) == 3
    assert {r.path for r in recorded} == {
        "/data/projects/TREE_BULK/subjects",
        "/data/projects/TREE_BULK/experiments",
    }


def test_a_field_not_loaded_is_read_from_the_object(
    server: LocalXNAT, seeded: Seeded, session: XNATSession, log: RequestLog
) -> None:
    _more(server, seeded)
    subjects = session.projects[seeded.project].load_tree(["type"])
    log.clear()
    ct = subjects["S2"].experiments["E3"].scans["7"]
    assert isinstance(ct, CtScanData)
    assert ct.type == "CT"
    assert len(log) == 0
    assert ct.quality == "usable"  # not in the listing: the scan's own document
    assert len(log) == 1, log.paths()


def test_load_tree_refuses_unknown_fields_before_sending(
    seeded: Seeded, session: XNATSession, log: RequestLog
) -> None:
    project = session.projects[seeded.project]
    log.clear()
    with pytest.raises(XNATValidationError, match="series_descripton"):
        project.load_tree(["series_descripton"])
    with pytest.raises(XNATValidationError, match="list of names"):
        project.load_tree("type")
    assert len(log) == 0


def test_a_plain_walk_batches_the_scans_too(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """xnatpy's loop (no load_tree): the experiments and, from the second session on, the
    scans of the whole project come in one joined listing each; an MR scan's own fields
    (not in the listing) cost one request per session, for all its scans."""
    server.seed_project("TREE_WALK", name="walk")
    server.seed_bulk("TREE_WALK", 30, sessions_per_subject=1, scans_per_session=3)
    with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
        other.caching = False
        expected = _walk(other.projects["TREE_WALK"].subjects)
    project = session.projects["TREE_WALK"]
    log.clear()
    assert _walk(project.subjects) == expected
    # subjects; S1's experiments and E1's document; the project's experiments; E2's
    # document; then ONE joined listing for the scans of every other session
    assert len(log) == 6, log.paths()
    log.clear()
    sessions = [e for s in project.subjects for e in s.experiments][:3]
    for experiment in sessions:
        for scan in experiment.scans:
            assert isinstance(scan, MrScanData)
            assert scan.parameters.tr is None or scan.parameters.tr >= 0
    assert len(log) == 1, log.paths()  # E1, E2 came from their documents; E3's, once


def test_map_and_bulk_downloads_pass_over_an_assessor_with_scan_items(
    server: LocalXNAT, seeded: Seeded, session: XNATSession, tmp_path: Any
) -> None:
    """A QC assessor listed among a subject's experiments has ``scans`` of its own (child
    items, not a scan listing): the scan-level walk and the bulk download leave it out."""
    _more(server, seeded)
    project = session.projects[seeded.project]
    types = project.map(lambda scan: scan.type, level="scan")
    assert "CT" in types.values()
    assert not any("/Q1/" in uri for uri in types)
    report = project.download_files(tmp_path)
    assert not report.failed
    with pytest.raises(XNATValueError, match="image session"):
        sync_session(project.subjects["S3"].experiments["Q1"], tmp_path)


def _assessed(server: LocalXNAT, seeded: Seeded) -> None:
    """Two QC assessors on E1 (raters ana, ben), none on E2."""
    with xnat_sdk.connect(server.url, user="admin", password="admin") as admin:
        e1 = admin.projects[seeded.project].subjects["S1"].experiments["E1"]
        for label, rater in (("E1_QC1", "ana"), ("E1_QC2", "ben")):
            e1.assessors.create(label, QcManualAssessorData, rater=rater, comments=f"{rater} c")


def _assessors(subjects: Any) -> list[tuple[Any, ...]]:
    return [
        (experiment.label, type(assessor), assessor.label, assessor.rater)
        for subject in subjects.values()
        for experiment in subject.experiments.values()
        if isinstance(experiment, ImageSessionData)
        for assessor in experiment.assessors.values()
    ]


def test_load_tree_brings_the_assessors_in_one_request_more(
    server: LocalXNAT, seeded: Seeded, session: XNATSession, log: RequestLog
) -> None:
    """``assessors=True``: every image session's assessors from one listing (the experiments
    listing with ``xsiType=xnat:imageAssessorData``), the same objects and values a
    per-object walk reads; ``assessor_columns`` fill fields (here the QC rater)."""
    _assessed(server, seeded)
    with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
        other.caching = False
        expected = _assessors(other.projects[seeded.project].subjects)
    assert [row[2:] for row in expected] == [("E1_QC1", "ana"), ("E1_QC2", "ben")]
    project = session.projects[seeded.project]
    log.clear()
    subjects = project.load_tree(["type"], assessor_columns=["xnat:qcManualAssessorData/rater"])
    assert len(log) == 4, log.paths()
    assert "xsiType=xnat:imageAssessorData" in log.paths()[-1]
    log.clear()
    assert _assessors(subjects) == expected
    assert len(log) == 0, log.paths()
    qc = subjects["S1"].experiments["E1"].assessors["E1_QC2"]
    assert qc.comments == "ben c"  # not a listing column: the assessor's own document
    assert len(log) == 1
    session.clearcache()
    project = session.projects[seeded.project]
    log.clear()
    plain = project.load_tree(["type"], assessors=True)
    assert len(log) == 4
    assert [a.label for a in plain["S2"].experiments["E2"].assessors] == []  # none: no request
    assert [a.label for a in plain["S1"].experiments["E1"].assessors] == ["E1_QC1", "E1_QC2"]
    assert len(log) == 4


def test_a_plain_walk_reads_the_assessors_in_three_listings_whatever_the_sessions(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """Without ``load_tree``, a walk batches the assessors as it batches scans: once a second
    session of the walk's batched experiments asks, one project-wide listing answers the
    rest. Three listing requests for six sessions (six before), the same objects and values
    as a per-object walk."""
    server.seed_project("WALKA")
    for n in range(6):
        server.seed_subject("WALKA", f"S{n}")
        server.seed_session("WALKA", f"S{n}", f"E{n}")
    with xnat_sdk.connect(server.url, user="admin", password="admin") as admin:
        for n in (0, 2, 3, 5):
            experiment = admin.projects["WALKA"].subjects[f"S{n}"].experiments[f"E{n}"]
            experiment.assessors.create(f"E{n}_QC", QcManualAssessorData, rater=f"r{n}")
        admin.caching = False
        expected = _assessors(admin.projects["WALKA"].subjects)
    assert len(expected) == 4
    project = session.projects["WALKA"]
    log.clear()
    assert _assessors(project.subjects) == expected
    listings = [p for p in log.paths() if "/assessors?" in p or "imageAssessorData" in p]
    # the first subject's session (its experiments not batched yet), the second's (a first
    # ask), then one project-wide listing for the rest; each rater from its assessor's document
    assert len(listings) == 3, listings


def test_a_project_listing_without_sessions_is_not_taken_for_the_assessors(
    server: LocalXNAT, session: XNATSession
) -> None:
    """A server that answers the project-wide assessors request with rows that name no
    session (it did not take the assessor type as the root) is not batched: each session
    reads its own listing, and no session loses its assessors."""
    server.seed_project("WALKB")
    for n in range(4):
        server.seed_subject("WALKB", f"S{n}")
        server.seed_session("WALKB", f"S{n}", f"E{n}")
    with xnat_sdk.connect(server.url, user="admin", password="admin") as admin:
        e3 = admin.projects["WALKB"].subjects["S3"].experiments["E3", ImageSessionData]
        e3.assessors.create("E3_QC", QcManualAssessorData)
    subjects = list(session.projects["WALKB"].subjects.values())
    sessions = [
        s.experiments[f"E{n}", ImageSessionData] for n, s in enumerate(subjects)
    ]  # the walk's experiments, batched from the second subject on
    assert [a.label for a in sessions[0].assessors] == []  # a first ask: its own listing
    server.faults.answer_next(  # what the second ask's project-wide listing gets
        {"ResultSet": {"Result": [{"ID": "E9", "label": "E9"}], "totalRecords": "1"}},
        prefix="/data/projects/WALKB/experiments",
    )
    assert [a.label for a in sessions[1].assessors] == []
    assert [a.label for a in sessions[2].assessors] == []
    assert [a.label for a in sessions[3].assessors] == ["E3_QC"]

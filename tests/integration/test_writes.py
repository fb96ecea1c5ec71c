"""Writes: create, update, custom variables, delete, share; validation before any request."""

from __future__ import annotations

import datetime
import itertools
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xnat_sdk
from xnat_sdk.errors import XNATConflictError, XNATValidationError
from xnat_sdk.fields import LABEL_PATTERN
from xnat_sdk.models import (
    CtSessionData,
    DemographicData,
    ImageSessionData,
    MrScanData,
    MrSessionData,
    ProjectData,
    QcAssessmentData,
    ResourceSeries,
    SubjectData,
)
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded

_ids = itertools.count(1)


def _fresh(server: LocalXNAT) -> XNATSession:
    return xnat_sdk.connect(server.url, user="admin", password="admin")


def test_create_project_subject_experiment_scan_assessor(
    session: XNATSession, server: LocalXNAT
) -> None:
    pid = f"RT_NEWP{next(_ids)}"
    project = ProjectData.create(session, id=pid, name=f"New {pid}", description="made here")
    assert isinstance(project, ProjectData)
    subject = project.subjects.create("SUB1", group="control")
    assert isinstance(subject, SubjectData)
    experiment = subject.experiments.create(
        "MR1", MrSessionData, date=datetime.date(2021, 3, 4), field_strength="3.0"
    )
    assert isinstance(experiment, MrSessionData)
    scan = experiment.scans.create("5", MrScanData, type="T1w", quality="usable")
    assert isinstance(scan, MrScanData)
    assessor = experiment.assessors.create("QC1", QcAssessmentData)
    assert isinstance(assessor, QcAssessmentData)

    with _fresh(server) as other:
        p = other.projects[pid]
        assert (p.name, p.description) == (f"New {pid}", "made here")
        s = p.subjects["SUB1"]
        assert s.group == "control"
        assert s.id == subject.id
        e = s.experiments["MR1"]
        assert isinstance(e, MrSessionData)
        assert e.date == datetime.date(2021, 3, 4)
        assert e.field_strength == "3.0"
        assert (e.scans["5"].type, e.scans["T1w"].quality) == ("T1w", "usable")
        assert "QC1" in e.assessors


def test_create_from_a_typed_instance(session: XNATSession, seeded: Seeded) -> None:
    subject = session.projects[seeded.project].subjects["S2"]
    new = MrSessionData(id="", label="MR7", subject_id="", session_type="typed", modality="MR")
    created = subject.experiments.create(new)
    assert isinstance(created, MrSessionData)
    assert created.session_type == "typed"
    assert created.label == "MR7"


def test_update_fields_by_assignment_and_mset(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    experiment = session.projects[seeded.project].experiments["E2"]
    assert isinstance(experiment, MrSessionData)
    experiment.note = "first note"
    experiment.mset({"operator": "ann", "coil": "head32"})
    experiment.update(stabilization="foam")
    with _fresh(server) as other:
        fresh = other.experiments[seeded.sessions["E2"]]
        assert isinstance(fresh, MrSessionData)
        assert (fresh.note, fresh.operator, fresh.coil, fresh.stabilization) == (
            "first note",
            "ann",
            "head32",
            "foam",
        )
    experiment.note = None
    with _fresh(server) as other:
        assert other.experiments[seeded.sessions["E2"]].note is None


def test_rename_label(session: XNATSession, seeded: Seeded, server: LocalXNAT) -> None:
    subject = session.projects[seeded.project].subjects["S2"]
    subject.label = "S2b"
    with _fresh(server) as other:
        assert "S2b" in other.projects[seeded.project].subjects
    with pytest.raises(XNATConflictError):
        subject.label = "S1"


def test_delete(session: XNATSession, seeded: Seeded, server: LocalXNAT) -> None:
    experiment = session.projects[seeded.project].experiments["E2"]
    experiment.delete()
    assert "E2" not in session.projects[seeded.project].experiments
    with _fresh(server) as other:
        assert "E2" not in other.projects[seeded.project].experiments


def test_share(session: XNATSession, seeded: Seeded, server: LocalXNAT) -> None:
    target = f"RT_SHARE{next(_ids)}"
    server.seed_project(target)
    subject = session.projects[seeded.project].subjects["S1"]
    subject.share(target, label="S1shared")
    experiment = subject.experiments["E1"]
    experiment.share(session.projects[target])
    shared = session.projects[target]
    assert "S1shared" in shared.subjects
    assert shared.subjects["S1shared"].id == subject.id
    assert experiment.id in shared.experiments


# -- validation: typed errors naming the field, and no request sent ------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: p.subjects.create("bad label!"), "label"),
        (lambda p: p.subjects.create("OK1", colour="red"), "colour"),
        (lambda p: p.subjects.create("OK2", group=3), "group"),
        (lambda p: p.subjects["S1"].experiments.create("E5", MrSessionData, date="2020"), "date"),
        (lambda p: p.subjects["S1"].experiments.create("E6"), "cls"),
        (lambda p: p.subjects["S1"].experiments.create("E7", ImageSessionData), "cls"),
        (lambda p: p.subjects["S1"].experiments.create("E8", SubjectData), "cls"),
        (lambda p: p.experiments.create("E9", CtSessionData), "subject"),
        (lambda p: p.subjects["S1"].experiments["E1"].scans.create("1 2", MrScanData), "id"),
        (
            lambda p: (
                p.subjects["S1"].experiments["E1"].scans.create("9", MrScanData, frames="two")
            ),
            "frames",
        ),
        (lambda p: ProjectData.create(p.xnat_session, id="no spaces"), "id"),
        (lambda p: setattr(p.subjects["S1"], "group", 5), "group"),
        (lambda p: setattr(p, "active", "yes"), "active"),
        (lambda p: p.subjects["S1"].share("P X"), "project"),
        (lambda p: p.subjects["S1"].share("OTHER", label="a/b"), "label"),
        (lambda p: p.subjects.filter(label=1), "label"),
        # a required field (use="required"); a string element without a length facet is
        # not one for XNAT (GenericWrapperField.getRequired), so QC "pass" may be left out
        (lambda p: p.resources.create("RS", ResourceSeries, pattern="*.dcm"), "path"),
    ],
)
def test_bad_input_is_rejected_before_any_request(
    session: XNATSession, seeded: Seeded, log: RequestLog, call: Any, field: str
) -> None:
    project = session.projects[seeded.project]
    project.subjects["S1"].experiments["E1"].scans  # noqa: B018 - warm the caches
    log.clear()
    with pytest.raises(XNATValidationError) as info:
        call(project)
    assert info.value.field == field
    assert field in str(info.value)
    assert len(log) == 0, log.paths()


def test_nested_child_writes_through_its_owner(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog
) -> None:
    subject = session.projects[seeded.project].subjects["S1"]
    session.put(
        subject.uri,
        query={"xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender": "male"},
    )
    session.clearcache()
    demographics = session.projects[seeded.project].subjects["S1"].demographics
    assert isinstance(demographics, DemographicData)
    assert demographics.gender == "male"
    log.clear()
    with pytest.raises(XNATValidationError, match="gender") as info:
        demographics.gender = "blue"  # type: ignore[assignment]
    assert info.value.field == "gender" and len(log) == 0
    demographics.gender = "female"
    demographics.handedness = "left"
    with _fresh(server) as other:
        fresh = other.subjects[seeded.subjects["S1"]].demographics
        assert isinstance(fresh, DemographicData)
        assert (fresh.gender, fresh.handedness) == ("female", "left")


def test_enum_literals_are_checked(session: XNATSession, seeded: Seeded, log: RequestLog) -> None:
    from xnat_sdk.fields import class_fields

    literal_fields = [
        (cls, spec)
        for cls in (DemographicData, SubjectData, MrSessionData, MrScanData)
        for spec in class_fields(cls).data
        if spec.literals
    ]
    if not literal_fields:
        pytest.skip("the pinned schema has no enumerations on these types")
    cls, spec = literal_fields[0]
    from xnat_sdk.fields import validate_fields

    with pytest.raises(XNATValidationError, match="is not one of"):
        validate_fields(cls, {spec.name: "definitely-not-allowed"})
    validate_fields(cls, {spec.name: spec.literals[0]})


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    label=st.one_of(
        st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True),
        st.text(max_size=20),
        st.sampled_from(["with space", "ümlaut", "a/b", "../x", "a.b", "", "tab\t"]),
    )
)
def test_labels_follow_xnat_characters(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog, label: str
) -> None:
    subjects = session.projects[seeded.project].subjects
    log.clear()
    if LABEL_PATTERN.match(label):
        unique_label = f"HL{next(_ids)}_{label}"  # still valid; unique across examples
        created = subjects.create(unique_label)
        assert created.label == unique_label
        row = server.store.one(
            "SELECT label FROM subjects WHERE project=? AND label=?",
            (seeded.project, unique_label),
        )
        assert row is not None
        return
    with pytest.raises(XNATValidationError, match="label"):
        subjects.create(label)
    assert len(log) == 0


def test_create_project_through_the_listing(session: XNATSession, server: LocalXNAT) -> None:
    pid = f"RT_LISTP{next(_ids)}"
    created = session.projects.create(pid, name=f"Listed {pid}", keywords="a b")
    assert isinstance(created, ProjectData)
    assert session.projects[pid].keywords == "a b"
    assert session.projects[f"Listed {pid}"].id == pid


def test_update_a_scan_read_from_the_session_document(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog
) -> None:
    scan = session.experiments[seeded.sessions["E1"]].scans["T2"]
    log.clear()
    scan.quality = "questionable"
    scan.set("frames", 176)
    assert [p.split("?")[0] for p in log.paths()] == [f"PUT {scan.uri}"] * 2
    with _fresh(server) as other:
        fresh = other.experiments[seeded.sessions["E1"]].scans["2"]
        assert isinstance(fresh, MrScanData)
        assert (fresh.quality, fresh.frames) == ("questionable", 176)


def test_whole_child_object_is_written_in_one_request(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog
) -> None:
    from xnat_sdk.models import InvestigatorData

    project = session.projects[seeded.project]
    subject = project.subjects.create("NEWDEMO")
    # no demographics on the server yet: an empty one stands in
    assert isinstance(subject.demographics, DemographicData)
    assert subject.demographics.gender is None
    log.clear()
    with pytest.raises(XNATValidationError, match="gender"):
        subject.demographics = DemographicData(gender="blue")  # type: ignore[arg-type]
    with pytest.raises(XNATValidationError, match="DemographicData"):
        subject.demographics = InvestigatorData(firstname="A", lastname="B")  # type: ignore[assignment]
    assert len(log) == 0, log.paths()
    subject.demographics = DemographicData(gender="female", handedness="right", yob=1980)
    assert len(log) == 1
    with _fresh(server) as other:
        fresh = other.projects[seeded.project].subjects["NEWDEMO"].demographics
        assert isinstance(fresh, DemographicData)
        assert (fresh.gender, fresh.handedness, fresh.yob) == ("female", "right", 1980)


def test_xpath_keys_are_percent_encoded(session: XNATSession) -> None:
    # Restlet splits a query pair at its first '=': an XPath predicate such as
    # ``[@xsi:type=...]`` or ``[name=...]`` must reach the server encoded, as xnatpy sends it.
    url = session._format_uri(
        "/data/projects/P/subjects/S",
        query={"xnat:subjectData/fields/field[name=visit]/field": "a=b"},
    )
    query = url.split("?", 1)[1]
    assert query == "xnat:subjectData/fields/field%5Bname%3Dvisit%5D/field=a%3Db"


def test_create_refuses_an_existing_object_and_changes_nothing(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog
) -> None:
    project = session.projects[seeded.project]
    subject = project.subjects.create("TWICE", group="control")
    log.clear()
    with pytest.raises(XNATConflictError, match="already exists") as info:
        project.subjects.create("TWICE", group="patient")
    assert info.value.status == 409
    assert [p.split(" ")[0] for p in log.paths()] == ["GET"]  # no PUT was sent
    experiment = subject.experiments.create("TWICE_MR", MrSessionData, note="first")
    with pytest.raises(XNATConflictError):
        subject.experiments.create("TWICE_MR", MrSessionData, note="second")
    with pytest.raises(XNATConflictError):
        ProjectData.create(session, id=seeded.project, description="overwritten?")
    with _fresh(server) as other:
        fresh = other.projects[seeded.project]
        assert fresh.subjects["TWICE"].group == "control"
        again = fresh.experiments[experiment.id]
        assert isinstance(again, MrSessionData) and again.note == "first"
        assert fresh.description != "overwritten?"


def test_a_write_refreshes_what_it_changed_and_keeps_the_rest(
    session: XNATSession, server: LocalXNAT, log: RequestLog
) -> None:
    """A write empties the written object (every handle of it) and the listing it came
    from; the rest of a loaded tree stays loaded: a loop of writes costs one request per
    write (it cost two, and emptied every object the session held each time), and a field
    write still refreshes the listings that may show it."""
    server.seed_project("WRITES")
    for number in range(4):
        server.seed_subject("WRITES", f"S{number}", fields={"fields/weight": f"{60 + number}"})
        server.seed_session("WRITES", f"S{number}", f"E{number}")
    weight = "xnat:subjectData/fields/field[name=weight]/field"
    subjects = session.projects["WRITES"].load_tree(["type"], subject_columns=[weight])
    log.clear()
    for subject in subjects.values():
        subject.fields["double"] = str(2 * int(subject.fields["weight"]))
    assert [p.split("?")[0].split(" ")[0] for p in log.paths()] == ["PUT"] * 4
    log.clear()
    assert sum(len(s.experiments) for s in subjects.values()) == 4  # still loaded
    assert len(log) == 0
    assert subjects["S1"].fields["double"] == "122"  # the written object reads again
    other = session.projects["WRITES"].subjects.filter(label="S1")["S1"]
    other.fields["note"] = "checked"
    assert subjects["S1"].fields["note"] == "checked"  # another handle of it
    subjects["S2"].label = "S2b"  # a field a listing shows: the listings read again
    assert session.projects["WRITES"].subjects["S2b"].fields["weight"] == "62"

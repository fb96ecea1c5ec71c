"""The typed search builder (``session.search``) and ``session.inspect``, over HTTP."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import RequestLog
from xnat_sdk.errors import XNATBadRequestError, XNATValidationError
from xnat_sdk.models import CtSessionData, MrScanData, MrSessionData, ProjectData, SubjectData
from xnat_sdk.search import Column, Criterion, SearchTable, col
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT
from xnat_sdk.testing.searchxml import CriteriaSet, parse_bundle
from xnat_sdk.testing.searchxml import Criterion as ServerCriterion

_counter = itertools.count(1)


@dataclass
class Data:
    project: str
    other: str
    sessions: dict[str, str]
    """label -> ID"""


@pytest.fixture
def data(server: LocalXNAT) -> Data:
    n = next(_counter)
    project, other = f"SRCH{n}", f"SRCH{n}_OTHER"
    server.seed_project(project)
    server.seed_project(other)
    server.seed_subject(project, "ALICE")
    server.seed_subject(project, "BOB")
    server.seed_subject(other, "CAROL")
    sessions = {}
    for subject, label, date, kind in (
        ("ALICE", "ALICE_MR1", "2021-03-04", "xnat:mrSessionData"),
        ("ALICE", "ALICE_MR2", "2022-07-01", "xnat:mrSessionData"),
        ("BOB", "BOB_MR1", "2020-01-15", "xnat:mrSessionData"),
        ("BOB", "BOB_CT1", "2021-05-05", "xnat:ctSessionData"),
    ):
        sessions[label] = server.seed_session(
            project, subject, label, xsi_type=kind, fields={"date": date}
        )
    sessions["CAROL_MR1"] = server.seed_session(
        other, "CAROL", "CAROL_MR1", fields={"date": "2021-03-04"}
    )
    server.seed_scan(
        sessions["ALICE_MR1"], "1", type="T1", fields={"series_description": "t1 mprage"}
    )
    server.seed_scan(sessions["ALICE_MR1"], "2", type="T2")
    server.seed_scan(sessions["BOB_MR1"], "1", type="T1")
    return Data(project, other, sessions)


def _labels(table: SearchTable) -> list[str]:
    return sorted(str(v) for v in table.column("label"))


def test_search_by_project_returns_rows_and_typed_objects(session: XNATSession, data: Data) -> None:
    query = (
        session.query(MrSessionData)
        .where(lambda s: col(s.project) == data.project)
        .columns(lambda s: [col(s.label), col(s.project)])
    )
    table = query.all()
    assert isinstance(table, SearchTable)
    assert table.root == "xnat:mrSessionData"
    assert table.columns[:2] == ("label", "project")
    assert _labels(table) == ["ALICE_MR1", "ALICE_MR2", "BOB_MR1"]
    assert {row["project"] for row in table} == {data.project}
    # rows are named tuples too: attributes, positions, unpacking
    assert {(row.label, row.project) for row in table} == {
        (label, data.project) for label in ("ALICE_MR1", "ALICE_MR2", "BOB_MR1")
    }
    assert sorted(row[0] for row in table) == _labels(table)
    assert len(table) == table.total == 3 == query.count()
    # the same rows as dicts, CSV and a DataFrame (xnatpy's names)
    assert sorted(d["label"] or "" for d in query.tabulate_dict()) == _labels(table)
    text = query.tabulate_csv()
    assert text.splitlines()[0].startswith("label,project")
    assert sorted(line.split(",")[0] for line in text.splitlines()[1:]) == _labels(table)
    frame = query.tabulate_pandas()
    assert sorted(frame["label"]) == _labels(table)
    assert list(frame.columns[:2]) == ["label", "project"]
    objects = query.objects()
    assert all(isinstance(o, MrSessionData) for o in objects)
    assert sorted(o.id for o in objects) == sorted(
        data.sessions[k] for k in ("ALICE_MR1", "ALICE_MR2", "BOB_MR1")
    )
    listed = session.projects[data.project].experiments
    for found in objects:
        assert found.label == listed[found.id].label


def test_comparisons(session: XNATSession, data: Data) -> None:
    base = session.query(MrSessionData).where(lambda s: col(s.project) == data.project)

    def labels(query: object) -> list[str]:
        assert hasattr(query, "all")
        return sorted(row["label"] for row in query.all())

    assert labels(base.where(lambda s: col(s.label).like("ALICE%"))) == ["ALICE_MR1", "ALICE_MR2"]
    assert labels(base.where(lambda s: col(s.label) != "BOB_MR1")) == ["ALICE_MR1", "ALICE_MR2"]
    assert labels(base.where(lambda s: col(s.label).one_of(["BOB_MR1", "ALICE_MR2", "NONE"]))) == [
        "ALICE_MR2",
        "BOB_MR1",
    ]
    assert labels(base.where(lambda s: col(s.date) >= datetime.date(2021, 3, 4))) == [
        "ALICE_MR1",
        "ALICE_MR2",
    ]
    assert labels(base.where(lambda s: col(s.date) < datetime.date(2021, 1, 1))) == ["BOB_MR1"]
    either = base.where(
        lambda s: (col(s.label) == "BOB_MR1") | (col(s.date) > datetime.date(2022, 1, 1))
    )
    assert labels(either) == ["ALICE_MR2", "BOB_MR1"]
    both = base.where(
        lambda s: col(s.label).like("ALICE%"), lambda s: col(s.date) < datetime.date(2022, 1, 1)
    )
    assert labels(both) == ["ALICE_MR1"]
    assert labels(base.where(lambda s: col(s.label) == "NOTHING")) == []
    across = session.query(MrSessionData).where(lambda s: col(s.date) == datetime.date(2021, 3, 4))
    found = {(row["project"], row["label"]) for row in across.all()}
    assert {(data.project, "ALICE_MR1"), (data.other, "CAROL_MR1")} <= found


def test_a_date_criterion_given_a_time_with_its_zone(session: XNATSession, data: Data) -> None:
    """A date compared with an aware datetime (sent as Python writes it: ``2021-03-04
    00:00:00+00:00``) or a ``Y/M/D`` date, which PostgreSQL reads as that day, failed the
    local server's search (500: taken for a value a date column refuses)."""
    base = session.query(MrSessionData).where(lambda s: col(s.project) == data.project)
    since = datetime.datetime(2021, 3, 4, tzinfo=datetime.timezone.utc)
    found = base.where(lambda s: col(s.date) >= since).all()
    assert sorted(row["label"] for row in found) == ["ALICE_MR1", "ALICE_MR2"]
    slashed = base.where(lambda s: col(s.date) == "2021/03/04").all()
    assert [row["label"] for row in slashed] == ["ALICE_MR1"]


def test_typed_values(session: XNATSession, data: Data) -> None:
    query = session.query(MrSessionData).where(
        lambda s: col(s.project) == data.project, lambda s: col(s.label).like("ALICE%")
    )
    dates = query.values(lambda s: col(s.date))
    assert sorted(d for d in dates if d is not None) == [
        datetime.date(2021, 3, 4),
        datetime.date(2022, 7, 1),
    ]
    assert sorted(v or "" for v in query.values(lambda s: col(s.label))) == [
        "ALICE_MR1",
        "ALICE_MR2",
    ]
    with pytest.raises(XNATValidationError, match="values"):
        query.values(lambda s: s.label)  # type: ignore[arg-type, return-value]


def test_other_root_types(session: XNATSession, data: Data) -> None:
    ct = session.query(CtSessionData).where(lambda s: col(s.project) == data.project).objects()
    assert [(type(o), o.label) for o in ct] == [(CtSessionData, "BOB_CT1")]
    subjects = session.query(SubjectData).where(lambda s: col(s.project) == data.project).objects()
    assert sorted(s.label or "" for s in subjects) == ["ALICE", "BOB"]
    assert all(isinstance(s, SubjectData) for s in subjects)
    scans = (
        session.query(MrScanData)
        .where(
            lambda s: col(s.type) == "T1",
            lambda s: col(s.image_session_id) == data.sessions["ALICE_MR1"],
        )
        .objects()
    )
    assert [(type(s), s.id, s.series_description) for s in scans] == [
        (MrScanData, "1", "t1 mprage")
    ]
    projects = session.query(ProjectData).where(lambda p: col(p.id) == data.other).objects()
    assert [p.id for p in projects] == [data.other]


def test_misuse_is_a_clear_error(session: XNATSession, data: Data) -> None:
    query = session.query(MrSessionData)
    with pytest.raises(XNATValidationError, match="labl") as caught:
        query.where(lambda s: col(s.labl) == "x")  # type: ignore[attr-defined]
    assert "label" in str(caught.value)  # the suggestion
    with pytest.raises(XNATValidationError, match=r"& and \|"):
        query.where(lambda s: (col(s.label) == "a") and (col(s.label) == "b"))
    with pytest.raises(XNATValidationError, match="col"):
        col("label")
    with pytest.raises(XNATValidationError, match="compare a column"):
        query.where(lambda s: s.label == "x")  # type: ignore[arg-type, return-value]
    with pytest.raises(XNATValidationError, match="is a list and cannot be searched"):
        query.where(lambda s: col(s.sharing) == [])  # type: ignore[arg-type]
    with pytest.raises(XNATValidationError, match="None"):
        query.where(lambda s: col(s.date) > None)  # type: ignore[operator]
    with pytest.raises(XNATValidationError, match="one_of"):
        query.where(lambda s: col(s.label).one_of([]))
    with pytest.raises(XNATValidationError, match="generated model class"):
        session.query(str)  # type: ignore[type-var]


def test_xml_is_an_xdat_bundle_the_server_parses(session: XNATSession) -> None:
    query = session.query(MrSessionData).where(
        lambda s: (col(s.label) == "A") | (col(s.note) == None),  # noqa: E711
        lambda s: col(s.date) <= datetime.date(2020, 2, 29),
    )
    bundle = parse_bundle(query.to_xml().encode())
    assert bundle.root_element == "xnat:mrSessionData"
    assert bundle.where == CriteriaSet(
        "AND",
        (
            CriteriaSet(
                "OR",
                (
                    ServerCriterion("xnat:mrSessionData/label", "=", "A"),
                    ServerCriterion("xnat:mrSessionData/note", "IS NULL", ""),
                ),
            ),
            ServerCriterion("xnat:mrSessionData/date", "<=", "2020-02-29"),
        ),
    )


@settings(max_examples=40, deadline=None)
@given(value=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30))
def test_any_text_value_survives_the_xml(value: str) -> None:
    from xnat_sdk.search import Query

    query = Query(None, MrSessionData).where(lambda s: col(s.label) == value)  # type: ignore[arg-type]
    bundle = parse_bundle(query.to_xml().encode())
    # the local server's bundle parser trims surrounding white space of element text
    expected = ServerCriterion("xnat:mrSessionData/label", "=", value.strip())
    assert bundle.where.children == (expected,)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(label=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_019<&'\" %", min_size=1, max_size=12))
def test_search_for_any_label_finds_only_exact_matches(
    session: XNATSession, data: Data, label: str
) -> None:
    table = (
        session.query(MrSessionData)
        .where(lambda s: col(s.project) == data.project, lambda s: col(s.label) == label)
        .all()
    )
    expected = [label] if label in {"ALICE_MR1", "ALICE_MR2", "BOB_MR1"} else []
    assert [row["label"] for row in table] == expected


def test_criteria_objects(session: XNATSession) -> None:
    made: list[Criterion] = []
    session.query(MrSessionData).where(lambda s: made.append(col(s.label) == "x") or made[0])
    assert made[0].field == "xnat:mrSessionData/label"
    column: list[Column[str]] = []
    session.query(MrSessionData).columns(lambda s: column.append(col(s.label)) or column[0])
    assert column[0].name == "label" and column[0].owner is MrSessionData


def test_listing_filter_simple_cases(session: XNATSession, data: Data) -> None:
    experiments = session.projects[data.project].experiments
    assert sorted(experiments.filter(label="ALICE*").keys()) == sorted(
        [data.sessions["ALICE_MR1"], data.sessions["ALICE_MR2"]]
    )
    assert sorted(e.label or "" for e in experiments.filter(label="BOB_MR1").values()) == [
        "BOB_MR1"
    ]
    assert len(session.projects[data.project].subjects.filter(label="NOBODY")) == 0


# -- inspect -----------------------------------------------------------------------------------


def test_inspect_datatypes_and_fields(session: XNATSession) -> None:
    types = session.inspect.datatypes()
    assert {"xnat:mrSessionData", "xnat:subjectData", "xnat:projectData"} <= set(types)
    assert session.inspect.datatypes("xnat:*SessionData") == sorted(
        t for t in types if t.endswith("SessionData")
    )
    assert session.inspect.datatypes("nothing:*") == []
    fields = session.inspect.datafields("xnat:subjectData")
    assert "xnat:subjectData/SUBJECT_LABEL" in fields
    assert all(f.startswith("xnat:subjectData/") and "=" not in f for f in fields)
    assert session.inspect.datafields(MrSessionData, "*LABEL", prepend_type=False) == [
        "LABEL",
        "SUBJECT_LABEL",
    ]
    combined = session.inspect.datatypes("xnat:subjectData", fields_pattern="SUBJECT_*")
    assert combined == [f for f in fields if f.startswith("xnat:subjectData/SUBJECT_")]
    with pytest.raises(XNATBadRequestError, match="xnat:nopeData"):
        session.inspect.datafields("xnat:nopeData")
    with pytest.raises(XNATValidationError, match="datatype"):
        session.inspect.datafields("mrSessionData")
    with pytest.raises(XNATValidationError, match="pattern"):
        session.inspect.datatypes("")


def test_objects_of_a_base_class_search_are_of_their_own_types(
    session: XNATSession, data: Data
) -> None:
    """An ``ImageSessionData`` search finds MR and CT sessions: each object is of its own
    type (they were all ``ImageSessionData``, so ``isinstance(o, MrSessionData)`` was
    False and their MR fields were out of reach), its type read with one listing request."""
    from xnat_sdk.models import ImageSessionData

    found = (
        session.query(ImageSessionData).where(lambda s: col(s.project) == data.project).objects()
    )
    kinds = {str(o.label): type(o) for o in found}
    assert kinds == {
        "ALICE_MR1": MrSessionData,
        "ALICE_MR2": MrSessionData,
        "BOB_MR1": MrSessionData,
        "BOB_CT1": CtSessionData,
    }


def test_scans_of_a_base_class_search_are_of_their_own_types(
    session: XNATSession, server: LocalXNAT, data: Data
) -> None:
    """An ``ImageScanData`` search finds MR and CT scans: each is of its own type, read
    with one joined listing request for all their sessions."""
    from xnat_sdk.models import CtScanData, ImageScanData

    server.seed_scan(data.sessions["BOB_CT1"], "7", type="HEAD", xsi_type="xnat:ctScanData")
    server.faults.start_recording()
    found = session.query(ImageScanData).where(lambda s: col(s.project) == data.project).objects()
    reads = [r.path for r in server.faults.recorded()]
    kinds = {(o.uri.split("/")[3], o.id): type(o) for o in found}
    assert kinds == {
        (data.sessions["ALICE_MR1"], "1"): MrScanData,
        (data.sessions["ALICE_MR1"], "2"): MrScanData,
        (data.sessions["BOB_MR1"], "1"): MrScanData,
        (data.sessions["BOB_CT1"], "7"): CtScanData,
    }
    assert reads.count("/data/experiments") == 1 and len(reads) == 2  # the search, the types
    assert [o.type for o in found if isinstance(o, CtScanData)] == ["HEAD"]


def test_a_search_s_objects_know_what_a_listing_would_tell(
    session: XNATSession, server: LocalXNAT, data: Data
) -> None:
    """Objects of a search read their label, date, type ... from their documents, one
    request each (50 sessions: 50 requests): the search asks them with the keys."""
    from xnat_sdk.models import ImageScanData

    sessions = session.query(MrSessionData).where(lambda s: col(s.project) == data.project)
    scans = session.query(ImageScanData).where(lambda s: col(s.project) == data.project)
    found, scanned = sessions.objects(), scans.objects()
    server.faults.start_recording()
    told = {(str(o.label), str(o.date), o.project, o.subject_id) for o in found}
    kinds = {(o.id, o.type, o.series_description) for o in scanned}
    assert server.faults.recorded() == []
    assert ("ALICE_MR1", "2021-03-04", data.project, o_subject(session, data, "ALICE")) in told
    assert kinds == {("1", "T1", "t1 mprage"), ("2", "T2", None), ("1", "T1", None)}


def o_subject(session: XNATSession, data: Data, label: str) -> str:
    return str(session.projects[data.project].subjects[label].id)


def test_a_search_is_sent_again_after_a_dropped_connection(
    session: XNATSession, server: LocalXNAT, data: Data
) -> None:
    """A search's POST only reads: like a GET, it is sent again when the connection drops
    after it went out (it raised XNATConnectionError)."""
    query = session.query(MrSessionData).where(lambda s: col(s.project) == data.project)
    expected = query.count()
    server.faults.drop_after(200, count=1, prefix="/data/search")
    server.faults.start_recording()
    assert query.count() == expected
    assert [r.method for r in server.faults.recorded()] == ["POST", "POST"]


def test_a_search_over_an_abstract_type_finds_the_types_derived_from_it(
    session: XNATSession, server: LocalXNAT, data: Data
) -> None:
    """The local server searches a type and those derived from it: a QC assessor is an
    image assessor and derived data, not a subject assessor (it counted among subject
    assessors, and derived data found nothing)."""
    from xnat_sdk.models import DerivedData, ImageAssessorData, SubjectAssessorData

    server.seed_session(data.project, "BOB", "BOB_QC", xsi_type="xnat:qcManualAssessorData")

    def labels(cls: type[Any]) -> list[str]:
        found = session.query(cls).where(lambda s: col(s.project) == data.project).all()
        return sorted(str(v) for v in found.column("label"))

    sessions = ["ALICE_MR1", "ALICE_MR2", "BOB_CT1", "BOB_MR1"]
    assert labels(SubjectAssessorData) == sessions
    assert labels(ImageAssessorData) == labels(DerivedData) == ["BOB_QC"]


def test_values_come_in_the_order_of_the_objects(session: XNATSession, data: Data) -> None:
    """``values`` of a column and ``objects`` zip (XNAT sorts a search by its first field:
    the dates came in date order, the objects in ID order)."""
    query = session.query(MrSessionData).where(lambda s: col(s.project) == data.project)
    dates = query.values(lambda s: col(s.date))
    labels = query.values(lambda s: col(s.label))
    assert [(str(o.label), o.date) for o in query.objects()] == list(
        zip(labels, dates, strict=True)
    )
    assert dates != sorted(dates, key=str)  # the objects' order is not the dates'
    # the objects' own key asked as the value: XNAT answers a field asked twice once, and
    # every value was the next column's (quarantine_status: 'active')
    assert query.values(lambda s: col(s.id)) == [o.id for o in query.objects()]
    scans = session.query(MrScanData).where(lambda s: col(s.project) == data.project)
    assert sorted(scans.values(lambda s: col(s.id))) == ["1", "1", "2"]


def test_a_parts_fields_are_conditions_and_typed_columns(
    session: XNATSession, server: LocalXNAT
) -> None:
    """``col(s.demographics.gender)``: a field of a subject's demographics, sent as XNAT
    names it (``demographics[@xsi:type=xnat:demographicData]/gender``: the declared type,
    ``xnat:abstractDemographicData``, has no such field), found by the server, and read
    back typed; a nested part's field (a scan's ``parameters/voxelRes/x``) too."""
    n = next(_counter)
    project = f"PARTS{n}"
    server.seed_project(project)
    for label, gender, yob in (("ANN", "female", "1980"), ("BEN", "male", "1975")):
        server.seed_subject(
            project, label, fields={"demographics/gender": gender, "demographics/yob": yob}
        )
    server.seed_subject(project, "CAT")
    query = (
        session.query(SubjectData)
        .where(lambda s: col(s.project) == project)
        .where(
            lambda s: (col(s.demographics.gender) == "female") | (col(s.demographics.yob) < 1976)
        )
        .columns(lambda s: [col(s.label), col(s.demographics.gender), col(s.demographics.yob)])
    )
    schema_fields = _schema_fields(parse_bundle(query.to_xml()).where)
    assert "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender" in schema_fields
    table = query.all()
    assert table.columns[:3] == ("label", "demographics.gender", "demographics.yob")
    assert sorted((r.label, r.demographics_gender, r["demographics.yob"]) for r in table) == [
        ("ANN", "female", "1980"),
        ("BEN", "male", "1975"),
    ]
    everyone = session.query(SubjectData).where(lambda s: col(s.project) == project)
    assert sorted(everyone.values(lambda s: col(s.demographics.yob)), key=str) == [1975, 1980, None]
    unknown = everyone.where(lambda s: col(s.demographics.gender).is_null())
    assert [s.label for s in unknown.objects()] == ["CAT"]

    session_id = server.seed_session(project, "ANN", f"PARTS{n}_MR")
    server.seed_scan(session_id, "1", type="T1", fields={"parameters/voxelRes/x": "1.5"})
    server.seed_scan(session_id, "2", type="T2", fields={"parameters/voxelRes/x": "0.9"})
    scans = session.query(MrScanData).where(
        lambda s: (col(s.image_session_id) == session_id) & (col(s.parameters.voxel_res.x) > 1.0)
    )
    assert "xnat:mrScanData/parameters/voxelRes/x" in query_fields(scans.to_xml())
    assert [s.id for s in scans.objects()] == ["1"]
    assert scans.values(lambda s: col(s.parameters.voxel_res.x)) == [1.5]


def test_a_parts_fields_at_class_level_are_xnatpys_spelling(
    session: XNATSession, server: LocalXNAT
) -> None:
    """``SubjectData.demographics.gender == "female"`` (xnatpy's spelling) was a bare
    AttributeError (the class's slot); it is the typed lambda's condition, a part's unknown
    field a typed error naming it."""
    n = next(_counter)
    project = f"CLSPARTS{n}"
    server.seed_project(project)
    for label, gender in (("ANN", "female"), ("BEN", "male")):
        server.seed_subject(project, label, fields={"demographics/gender": gender})
    classes = session.classes
    found = (
        classes.SubjectData.query()
        .filter(SubjectData.project == project)
        .filter(SubjectData.demographics.gender == "female")
    )
    gender: Any = SubjectData.demographics.gender  # type checkers see the instance's str
    assert isinstance(gender, Column) and gender.schema_field("xnat:subjectData") == (
        "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender"
    )
    assert [s.label for s in found.all()] == ["ANN"]
    assert (
        found.view(SubjectData.label, SubjectData.demographics.gender).tabulate_dict()[0][
            "demographics.gender"
        ]
        == "female"
    )
    assert str(MrScanData.parameters.voxel_res.x > 1.0) == str(
        session.query(MrScanData).where(lambda s: col(s.parameters.voxel_res.x) > 1.0)._criteria[0]
    )
    with pytest.raises(XNATValidationError, match=r"SubjectData.demographics.genderr.*gender\?"):
        _ = SubjectData.demographics.genderr
    with pytest.raises(XNATValidationError, match="compare one of its fields"):
        _ = SubjectData.demographics == "female"
    with pytest.raises(XNATValidationError, match=r"SubjectData\.sharing is a list"):
        _ = SubjectData.sharing.project  # type: ignore[attr-defined]


def query_fields(xml: str) -> list[str]:
    return _schema_fields(parse_bundle(xml).where)


def _schema_fields(where: CriteriaSet) -> list[str]:
    return where.schema_fields()


def test_a_list_or_a_part_is_no_column(session: XNATSession, log: Any) -> None:
    """A list (``s.sharing``) or a part itself (``s.demographics``) is refused before anything
    is sent (type checkers refuse both too: tests/typing/fail/services_search.py)."""
    sent = len(log.requests)
    with pytest.raises(XNATValidationError, match="is a list and cannot be searched"):
        session.query(MrSessionData).where(lambda s: col(s.sharing) == [])  # type: ignore[type-var]
    with pytest.raises(XNATValidationError, match="a part, not one of its fields"):
        session.query(SubjectData).columns(lambda s: col(s.demographics))  # type: ignore[type-var]
    assert len(log.requests) == sent


def test_an_equality_with_a_value_outside_the_fields_enumeration_is_refused(
    session: XNATSession, server: LocalXNAT
) -> None:
    """``gender == "mle"`` matched nothing (0 rows, no error: a typo lost silently); the
    schema enumerates the field's values, so the condition is refused, naming them, before
    a request; a value of the enumeration in another case is the server's to compare."""
    n = next(_counter)
    project = f"ENUM{n}"
    server.seed_project(project)
    server.seed_subject(project, "ANN", fields={"demographics/gender": "female"})
    log = RequestLog()
    session.interface.hooks["response"].append(log)
    try:
        with pytest.raises(XNATValidationError, match=r"'mle'.*'male'"):
            session.query(SubjectData).where(lambda s: col(s.demographics.gender) == "mle")
        with pytest.raises(XNATValidationError, match="'fmale'"):
            session.query(SubjectData).where(lambda s: col(s.demographics.gender) != "fmale")
        session.query(SubjectData).where(lambda s: col(s.label) == "mle")  # free text
        session.query(SubjectData).where(lambda s: col(s.demographics.gender) == "FEMALE")
        assert len(log) == 0
    finally:
        session.interface.hooks["response"].remove(log)
    found = session.query(SubjectData).where(
        lambda s: (col(s.project) == project) & (col(s.demographics.gender) == "female")
    )
    assert [s.label for s in found.objects()] == ["ANN"]

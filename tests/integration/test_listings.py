"""Typed listings: keys, iteration, filter, tabulate, one request per listing, caching."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xnat_sdk
from xnat_sdk.errors import XNATKeyError, XNATValidationError
from xnat_sdk.models import MrScanData, MrSessionData, ProjectData, SubjectData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded


def test_projects_by_id_and_name(session: XNATSession, seeded: Seeded, log: RequestLog) -> None:
    projects = session.projects
    project = projects[seeded.project]
    assert isinstance(project, ProjectData)
    assert projects[f"Project {seeded.project}"] is project
    assert project.id == seeded.project
    assert project.name == f"Project {seeded.project}"
    assert project.uri == f"/data/projects/{seeded.project}"
    assert seeded.project in projects
    assert len(log) == 1, "the listing row filled id and name: no per-object request"


def test_subjects_by_id_and_label_iteration_and_len(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    subjects = session.projects[seeded.project].subjects
    assert len(subjects) == 2
    labels = sorted(s.label or "" for s in subjects)
    assert labels == ["S1", "S2"]
    s1 = subjects["S1"]
    assert isinstance(s1, SubjectData)
    assert subjects[seeded.subjects["S1"]] is s1
    assert s1.id == seeded.subjects["S1"]
    assert subjects.keys() == [s.id for s in subjects.values()]
    assert dict(subjects.items()) == subjects.data
    assert set(subjects.key_map) == {"S1", "S2"}
    assert subjects.get("nope") is None
    assert "S2" in subjects and "nope" not in subjects and 42 not in subjects
    assert len(log) == 2, log.paths()


def test_missing_key_is_a_typed_key_error(session: XNATSession, seeded: Seeded) -> None:
    subjects = session.projects[seeded.project].subjects
    with pytest.raises(XNATKeyError, match="no subject with ID or label 'S9'") as info:
        subjects["S9"]
    assert isinstance(info.value, KeyError)
    with pytest.raises(XNATKeyError, match="no index 3"):  # ints index in order (xnatpy)
        subjects[3]
    with pytest.raises(XNATKeyError, match="indexed by ID or label"):
        subjects[3.0]


def test_experiments_are_instances_of_their_xsi_type(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    project = session.projects[seeded.project]
    experiments = project.experiments
    assert sorted(experiments.key_map) == ["E1", "E2"]
    e1 = experiments["E1"]
    assert isinstance(e1, MrSessionData)
    assert e1.xsi_type == "xnat:mrSessionData"
    sessions = project.experiments.of_type(MrSessionData)
    assert sessions["E1"] is e1
    assert len(log) == 2, log.paths()


def test_one_request_per_listing_and_per_object(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    subject = session.projects[seeded.project].subjects["S1"]
    experiment = subject.experiments["E1"]
    assert len(log) == 3
    scans = experiment.scans
    assert isinstance(scans["1"], MrScanData)
    assert len(log) == 4, "the scans came with the session's own document"
    assert experiment.field_strength == "3.0"
    assert [s.type for s in scans] == ["T1", "T2", "FLAIR"]
    assert [s.series_description for s in scans] == ["T1 s", "T2 s", "FLAIR s"]
    assert scans["T2"].id == "2"
    assert len(log) == 4, log.paths()
    assert subject.group is None
    assert len(log) == 5, "reading a subject field costs exactly one request"
    assert subject.src is None and subject.label == "S1"
    assert len(log) == 5


def test_listing_is_cached_until_clearcache(
    server: object, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    project = session.projects[seeded.project]
    assert len(project.subjects) == 2
    from xnat_sdk.testing.local import LocalXNAT

    assert isinstance(server, LocalXNAT)
    server.seed_subject(seeded.project, "S3")
    assert len(project.subjects) == 2
    assert len(log) == 2
    session.clearcache()
    assert len(project.subjects) == 3
    assert len(session.projects[seeded.project].subjects) == 3
    # after clearcache: old project's subjects, the projects, the new project's subjects
    assert len(log) == 5, log.paths()


def test_caching_switch_off_reads_again(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    project = session.projects[seeded.project]
    subjects = project.subjects
    len(subjects)
    len(subjects)
    assert len(log) == 2
    session.caching = False
    len(subjects)
    len(subjects)
    assert len(log) == 4


def test_filter_and_tabulate(session: XNATSession, seeded: Seeded, log: RequestLog) -> None:
    subjects = session.projects[seeded.project].subjects
    only = subjects.filter(label="S1")
    assert [s.label for s in only] == ["S1"]
    wildcard = subjects.filter(label="S*")
    assert len(wildcard) == 2
    table = subjects.tabulate(["ID", "label"])
    assert sorted(row["label"] for row in table) == ["S1", "S2"]
    assert table.columns == ("ID", "label")
    assert all(row._fields == ("ID", "label") and len(row) == 2 for row in table)
    assert sorted(label for _, label in table) == ["S1", "S2"]  # rows unpack like tuples
    rows = subjects.tabulate()
    assert {row["label"] for row in rows} == {"S1", "S2"}
    assert {row.label for row in rows} == {"S1", "S2"}
    assert [row.label for row in subjects.tabulate(["label"], filter={"label": "S2"})] == ["S2"]
    with pytest.raises(XNATValidationError, match="label"):
        only.filter(label="S2")


def test_filters_as_xnat_reads_them(server: LocalXNAT, session: XNATSession) -> None:
    """Values separated by commas are alternatives (exact, or with wildcards case aside),
    and ``xsiType`` names a type and those derived from it (the query's root): each of these
    filters found nothing, the server's rows being dropped by the local check."""
    server.seed_project("FILTERS")
    for label in ("S1", "S2", "S3"):
        server.seed_subject("FILTERS", label)
    server.seed_session("FILTERS", "S1", "MR1")
    server.seed_session("FILTERS", "S1", "PET1", xsi_type="xnat:petSessionData")
    server.seed_session("FILTERS", "S2", "VARS", xsi_type="xnat:subjectVariablesData")
    project = session.projects["FILTERS"]
    assert sorted(s.label for s in project.subjects.filter(label="S1,S3")) == ["S1", "S3"]
    # XNAT compares an exact value as it is (``col = 'value'``), a wildcard one case aside
    assert [s.label for s in project.subjects.filter(label="s2")] == []
    assert [s.label for s in project.subjects.filter(label="s2*")] == ["S2"]
    experiments = project.experiments
    images = experiments.filter(xsiType="xnat:imageSessionData")
    assert sorted(e.label for e in images) == ["MR1", "PET1"]
    either = experiments.filter(xsiType="xnat:mrSessionData,xnat:subjectVariablesData")
    assert sorted(e.label for e in either) == ["MR1", "VARS"]
    assert [e.label for e in experiments.filter(label="PET%")] == ["PET1"]
    # a shortcut the default columns do not show is the server's to filter on
    server.seed_subject("FILTERS", "S4", fields={"demographics/gender": "female"})
    session.clearcache()
    assert [s.label for s in project.subjects.filter(gender="female")] == ["S4"]
    with pytest.raises(XNATValidationError, match="no column 'gendr'"):
        list(project.subjects.filter(gendr="female"))


def test_tabulate_rows_have_attributes_under_sanitised_names(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    experiments = session.projects[seeded.project].experiments
    log.clear()
    column = "xnat:subjectassessordata/id"
    table = experiments.tabulate(["ID", column, "label"])
    assert len(log) == 1  # one listing request with columns=...
    assert "columns=ID,xnat:subjectassessordata/id,label" in log.paths()[0]
    ids = sorted(seeded.sessions.values())
    # the raw key, its sanitised attribute, and the position all reach the same value
    assert sorted(str(row[column]) for row in table) == ids
    assert sorted(str(row.xnat_subjectassessordata_id) for row in table) == ids
    assert sorted(str(row[1]) for row in table) == ids
    first = table[0]
    assert first._fields == ("ID", "xnat_subjectassessordata_id", "label")
    assert first.to_dict() == {"ID": first.ID, column: first[1], "label": first.label}
    with pytest.raises(AttributeError, match=r"no column 'lable'.*label"):
        first.lable  # noqa: B018 - a typo names the columns there are
    with pytest.raises(KeyError, match="no column"):
        first["nope"]
    assert getattr(first, "nope", "absent") == "absent"
    # CSV and pandas, same rows, header = the original column names
    text = experiments.tabulate_csv(["ID", "label"])
    lines = text.splitlines()
    assert lines[0] == "ID,label" and len(lines) == 1 + len(ids)
    assert sorted(line.split(",")[0] for line in lines[1:]) == ids
    assert experiments.tabulate_csv(["ID", "label"], header=False).splitlines() == lines[1:]
    frame = experiments.tabulate_pandas(["ID", "label"])
    assert list(frame.columns) == ["ID", "label"]
    assert sorted(frame["ID"]) == ids
    with pytest.raises(XNATValidationError, match="list of names"):
        experiments.tabulate("ID")


def test_scan_listing_filter_is_local(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    experiment = session.experiments[seeded.sessions["E1"]]
    scans = experiment.scans
    assert len(scans) == 3
    before = len(log)
    t_scans = scans.filter(type="T*")
    assert sorted(s.id for s in t_scans) == ["1", "2"]
    assert [row["type"] for row in scans.tabulate(["type"])] == ["T1", "T2", "FLAIR"]
    assert len(log) == before


def test_session_level_listings(session: XNATSession, seeded: Seeded, server: LocalXNAT) -> None:
    sid = seeded.subjects["S2"]
    subject = session.subjects[sid]
    assert isinstance(subject, SubjectData)
    assert subject.label == "S2"
    experiment = session.experiments[seeded.sessions["E2"]]
    assert isinstance(experiment, MrSessionData)
    assert [s.type for s in experiment.scans] == ["T1"]
    scanner = f"Scanner {seeded.project}"
    server.seed_session(seeded.project, "S2", "E_SCANNER", fields={"scanner": scanner})
    assert scanner in session.scanners
    types = {row["type"]: row["series_descriptions"] for row in session.scan_types}
    assert {"T1", "T2", "FLAIR"} <= set(types)
    assert "FLAIR s" in types["FLAIR"].split(",")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(label=st.one_of(st.sampled_from(["S1", "S2"]), st.text(min_size=1, max_size=12)))
def test_unknown_keys_always_raise_key_error(
    session: XNATSession, seeded: Seeded, label: str
) -> None:
    subjects = session.projects[seeded.project].subjects
    if label in ("S1", "S2") or label in seeded.subjects.values():
        assert subjects[label].label in ("S1", "S2")
    else:
        with pytest.raises(XNATKeyError) as info:
            subjects[label]
        assert info.value.key == label


@pytest.fixture
def six_subjects(server: LocalXNAT, session: XNATSession, seeded: Seeded) -> Seeded:
    """The seeded project with subjects S3..S6 added, one experiment E{n} each."""
    for n in range(3, 7):
        server.seed_subject(seeded.project, f"S{n}")
        server.seed_session(seeded.project, f"S{n}", f"E{n}")
    session.clearcache()
    return seeded


def test_walking_subjects_batches_their_experiment_listings(
    server: LocalXNAT, session: XNATSession, six_subjects: Seeded, log: RequestLog
) -> None:
    seeded = six_subjects
    log.clear()
    project = session.projects[seeded.project]
    walked = {s.label: sorted(e.label or "" for e in s.experiments) for s in project.subjects}
    assert walked == {f"S{n}": [f"E{n}"] for n in range(1, 7)}
    # projects, subjects, the first subject's own listing, then one project-wide listing
    assert len(log) == 4, log.paths()
    with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
        alone = other.subjects[seeded.subjects["S2"]].experiments
        assert [e.id for e in alone] == [e.id for e in project.subjects["S2"].experiments]
    e3 = project.subjects["S3"].experiments["E3"]
    assert isinstance(e3, MrSessionData)
    assert e3.uri == f"{project.subjects['S3'].uri}/experiments/{e3.id}"


def test_a_server_that_cannot_batch_is_asked_once(
    server: LocalXNAT, session: XNATSession, six_subjects: Seeded, log: RequestLog
) -> None:
    seeded = six_subjects
    project = session.projects[seeded.project]
    list(project.subjects)
    # a server that leaves out the subject_ID column: the walk cannot batch
    rows = [{"ID": "X", "label": "X", "xsiType": "xnat:mrSessionData"}]
    server.faults.answer_next(
        {"ResultSet": {"Result": rows, "totalRecords": "1"}},
        prefix=f"/data/projects/{seeded.project}/experiments",
        count=10,
    )
    log.clear()
    walked = {s.label: sorted(e.label or "" for e in s.experiments) for s in project.subjects}
    assert walked == {f"S{n}": [f"E{n}"] for n in range(1, 7)}
    # each subject's own listing, and the project-wide one tried once (not once a subject)
    assert len(log) == 7, log.paths()


def test_concurrent_readers_share_one_listing_request(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    import threading

    subjects = session.projects[seeded.project].subjects
    start = threading.Barrier(8)
    sizes: list[int] = []

    def read() -> None:
        start.wait()
        sizes.append(len(subjects))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sizes == [2] * 8
    assert len(log) == 2, log.paths()


def test_experiments_of_a_loaded_subject_still_carry_their_scans(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    subject = session.projects[seeded.project].subjects["S1"]
    assert subject.src is None  # loads the subject document (which nests its experiments)
    log.clear()
    experiment = subject.experiments["E1"]
    assert [s.series_description for s in experiment.scans] == ["T1 s", "T2 s", "FLAIR s"]
    assert len(log) == 2, log.paths()  # the experiments listing, the session document

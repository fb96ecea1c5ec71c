"""Listing columns: more than one request line holds, and the names XNAT answers them by.

A custom variable's XPath is about 50 characters; some 150 of them pass the 8 KB Tomcat (and
the local server) allows for the request line and headers, and the listing is refused with a
400. ``tabulate(columns)`` and ``load_tree(subject_columns=, experiment_columns=)`` ask for
the columns in several requests instead, each with the row key, and join the answers.
XNAT answers an XPath column in lower case, or under a shortcut's name when it is that
shortcut's path; ``tabulate`` keeps each column under the name asked for.
"""

from __future__ import annotations

import pickle
from datetime import date
from typing import TYPE_CHECKING

import pytest

import xnat_sdk
from xnat_sdk._values import MAX_TARGET
from xnat_sdk.errors import (
    XNATResponseError,
    XNATServerError,
    XNATValidationError,
    XNATValueError,
)
from xnat_sdk.models import MrSessionData, PetSessionData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog

WIDE = 150


def _column(root: str, number: int) -> str:
    return f"xnat:{root}/fields/field[name=measure_{number:03d}]/field"


def _wide_project(server: LocalXNAT, name: str) -> None:
    """Subjects S0..S4, each with custom variables measure_000.. of its own values (S0 none),
    and one MR session each."""
    server.seed_project(name)
    for number in range(5):
        every = range(0, WIDE, number) if number else ()  # Sn: every n-th measure, S0: none
        values = {f"fields/measure_{k:03d}": f"s{number}-{k}" for k in every}
        server.seed_subject(name, f"S{number}", fields=values)
        server.seed_session(name, f"S{number}", f"E{number}")


def _listing_gets(log: RequestLog, segment: str) -> list[str]:
    return [p for p in log.paths() if p.startswith("GET ") and p.split("?")[0].endswith(segment)]


def test_tabulate_with_150_custom_variable_columns(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    _wide_project(server, "WIDE1")
    columns = ["label", *(_column("subjectData", k) for k in range(WIDE))]
    log.clear()
    table = session.projects["WIDE1"].subjects.tabulate(columns)
    gets = _listing_gets(log, "/subjects")
    # one request would be a 400 (~9 KB of columns once encoded); each one fits
    assert 2 <= len(gets) <= 4
    assert all(len(path) <= MAX_TARGET for path in gets)
    assert table.columns == tuple(columns)
    by_label = {str(row.label): row for row in table}
    assert sorted(by_label) == [f"S{n}" for n in range(5)]
    for number in range(1, 5):
        row = by_label[f"S{number}"]
        for k in range(WIDE):
            expected = f"s{number}-{k}" if k % number == 0 else ""
            assert row[_column("subjectData", k)] == expected, (number, k)
    assert all(value in ("", None) for value in by_label["S0"][1:])
    # the values are those each subject's own document holds
    assert session.projects["WIDE1"].subjects["S3"].fields["measure_147"] == "s3-147"


def test_a_few_columns_stay_one_request_and_come_back_under_the_names_asked(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    _wide_project(server, "WIDE2")
    columns = ["label", _column("subjectData", 0), _column("subjectData", 2)]
    log.clear()
    table = session.projects["WIDE2"].subjects.tabulate(columns)
    assert len(_listing_gets(log, "/subjects")) == 1
    # XNAT names an XPath column in lower case; the table keeps the name asked for
    row = {r.label: r for r in table}["S2"]
    assert row[_column("subjectData", 0)] == "s2-0"
    assert row[_column("subjectData", 2)] == "s2-2"
    assert row.to_dict()[columns[1]] == "s2-0"


def test_load_tree_with_wide_subject_and_experiment_columns(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    _wide_project(server, "WIDE3")
    project = session.projects["WIDE3"]
    experiment = project.subjects["S2"].experiments["E2"]
    experiment.fields["site_note"] = "north"
    session.clearcache()
    subject_columns = [_column("subjectData", k) for k in range(WIDE)]
    experiment_columns = [
        *(_column("experimentData", k) for k in range(WIDE)),
        "xnat:experimentData/fields/field[name=site_note]/field",
    ]
    log.clear()
    subjects = session.projects["WIDE3"].load_tree(
        ["type"], subject_columns=subject_columns, experiment_columns=experiment_columns
    )
    # ~9 KB of columns once encoded: three requests or so each, and the scans join
    assert 2 <= len(_listing_gets(log, "/subjects")) <= 4
    assert 3 <= len(_listing_gets(log, "/experiments")) <= 5
    assert all(len(path) <= MAX_TARGET for path in log.paths())
    rows = {row["label"]: row for row in subjects.tabulate().dicts()}
    assert rows["S4"][_column("subjectData", 148).lower()] == "s4-148"
    assert rows["S4"][_column("subjectData", 149).lower()] == ""
    assert rows["S1"][_column("subjectData", 149).lower()] == "s1-149"
    # the experiments' rows hold the later answers' columns too, joined on the ID
    e2 = subjects["S2"].experiments["E2"]
    assert e2.label == "E2"
    listed = {r["label"]: r for r in subjects["S2"].experiments.tabulate().dicts()}
    assert listed["E2"]["xnat:experimentdata/fields/field[name=site_note]/field"] == "north"
    log.clear()
    assert [s.label for s in subjects.values()] == [f"S{n}" for n in range(5)]
    assert len(log) == 0


def test_one_column_longer_than_a_request_line_is_refused_before_sending(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    server.seed_project("WIDE4")
    subjects = session.projects["WIDE4"].subjects
    log.clear()
    with pytest.raises(XNATValidationError, match="does not fit in one request line"):
        subjects.tabulate(["label", "xnat:subjectData/" + "x" * 9000])
    assert len(log) == 0


def test_a_subject_deleted_between_the_requests_keeps_the_columns_it_got(
    server: LocalXNAT, session: XNATSession
) -> None:
    """The rows are the first answer's; a later answer without a row leaves its columns
    unknown (None), never another subject's values."""
    _wide_project(server, "WIDE5")
    columns = ["label", *(_column("subjectData", k) for k in range(WIDE))]
    done: list[str] = []

    def delete_s4_after_the_first_answer(response: object, *args: object, **kw: object) -> None:
        if not done and "/subjects?" in str(getattr(response, "url", "")):
            done.append("deleted")
            with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
                other.projects["WIDE5"].subjects["S4"].delete()

    session.interface.hooks["response"].append(delete_s4_after_the_first_answer)
    table = session.projects["WIDE5"].subjects.tabulate(columns)
    assert done == ["deleted"]
    rows = {str(row.label): row for row in table}
    assert sorted(rows) == [f"S{n}" for n in range(5)]
    assert rows["S4"][_column("subjectData", 0)] == "s4-0"  # from the first answer
    assert rows["S4"][_column("subjectData", 148)] is None  # its later answer had no S4
    assert rows["S3"][_column("subjectData", 147)] == "s3-147"


def test_columns_asked_by_a_shortcuts_xml_path_come_back_under_that_path(
    server: LocalXNAT, session: XNATSession
) -> None:
    """XNAT names a column whose XML path is a shortcut's by the shortcut (``label``); the
    table still has it under the path asked for, as for any other column."""
    server.seed_project("SHORTP")
    server.seed_subject(
        "SHORTP", "S1", fields={"fields/cohort": "a", "demographics/gender": "female"}
    )
    server.seed_session("SHORTP", "S1", "E1", fields={"date": "2024-05-06"})
    subject_columns = [
        "xnat:subjectData/label",
        "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender",
        "xnat:subjectData/fields/field[name=cohort]/field",
    ]
    (row,) = session.projects["SHORTP"].subjects.tabulate(subject_columns)
    assert row.to_dict() == dict(zip(subject_columns, ["S1", "female", "a"], strict=True))
    experiment_columns = ["xnat:experimentData/label", "xnat:experimentData/date", "ID"]
    (row,) = session.projects["SHORTP"].experiments.tabulate(experiment_columns)
    assert row[0] == "E1" and row[1] == "2024-05-06" and str(row[2]).startswith("XNAT_E")


def test_load_tree_custom_variable_columns_answer_fields_without_a_request(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """``subject.fields[name]`` after ``load_tree(subject_columns=[its XPath])`` comes from
    the listing; a variable the listing shows empty is not there (KeyError, ``get`` None),
    with no request either; a variable not listed is read from the object's document."""
    _wide_project(server, "WIDE6")
    server.seed_session("WIDE6", "S2", "E2b", fields={"fields/site": "north"})
    subject_columns = [_column("subjectData", 0), _column("subjectData", 2)]
    experiment_columns = ["xnat:experimentData/fields/field[name=site]/field"]
    subjects = session.projects["WIDE6"].load_tree(
        ["type"], subject_columns=subject_columns, experiment_columns=experiment_columns
    )
    log.clear()
    assert subjects["S2"].fields["measure_000"] == "s2-0"
    assert subjects["S2"].fields["MEASURE_002"] == "s2-2"  # XNAT lower-cases the names
    assert subjects["S4"].fields["measure_000"] == "s4-0"
    experiment = subjects["S2"].experiments["E2b"]
    assert experiment.fields["site"] == "north"
    assert len(log) == 0
    with pytest.raises(KeyError, match="shows it empty"):  # S3: every 3rd measure only
        subjects["S3"].fields["measure_002"]
    assert subjects["S0"].fields.get("measure_000") is None
    assert "measure_002" not in subjects["S3"].fields
    assert len(log) == 0
    assert subjects["S1"].fields["measure_005"] == "s1-5"  # not a listed column: document
    assert len(log) == 1
    # an object held past clearcache reads its document again
    held = subjects["S2"]
    session.clearcache()
    assert held.fields["measure_000"] == "s2-0"
    assert len(log) == 2


def test_a_derived_types_path_and_a_joined_subjects_path_on_the_experiments_listing(
    server: LocalXNAT, session: XNATSession
) -> None:
    """XNAT answers ``xnat:mrSessionData/date`` under that path in lower case (it is not the
    ``date`` shortcut's path, ``xnat:experimentData/date``), and ``xnat:subjectData/label``
    as ``subject_label``: the subject's label, never the experiment's. The table has each
    under the name asked for."""
    server.seed_project("SHORTJ")
    server.seed_subject("SHORTJ", "SUBJ")
    server.seed_session("SHORTJ", "SUBJ", "EXP", fields={"date": "2023-01-02"})
    columns = ["xnat:mrSessionData/date", "xnat:subjectData/label", "xnat:experimentData/label"]
    (row,) = session.projects["SHORTJ"].experiments.tabulate(columns)
    assert tuple(row) == ("2023-01-02", "SUBJ", "EXP")


def test_load_tree_fills_typed_fields_from_xml_path_columns(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """A column asked by XML path (XNAT answers it in lower case) fills the typed field of
    that path when the path is under the object's own type or a base of it; a joined
    element's column (the subject's label) never fills the experiment's field."""
    server.seed_project("XPF")
    server.seed_subject("XPF", "SUBJ")
    server.seed_session("XPF", "SUBJ", "EXP", fields={"study_id": "ST7", "duration": "PT12M"})
    subjects = session.projects["XPF"].load_tree(
        ["type"],
        experiment_columns=[
            "xnat:mrSessionData/study_id",
            "xnat:imageSessionData/duration",
            "xnat:subjectData/label",
        ],
    )
    log.clear()
    experiment = subjects["SUBJ"].experiments["EXP"]
    assert (experiment.study_id, experiment.duration, experiment.label) == ("ST7", "PT12M", "EXP")
    assert len(log) == 0
    assert experiment.original is None  # not asked for: its document is read
    assert len(log) == 1


def test_a_part_filled_from_listing_columns_reads_the_rest_through_its_owner(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """``subject_columns=["gender", "age"]`` fill ``subject.demographics`` in part: those two
    come with no request; another of its fields reads the subject's document (one request),
    never a silent None; the part writes through the subject as any part does."""
    server.seed_project("PARTS")
    server.seed_subject(
        "PARTS",
        "S1",
        fields={
            "demographics/gender": "female",
            "demographics/age": "40",
            "demographics/handedness": "left",
        },
    )
    server.seed_subject("PARTS", "S2")
    subjects = session.projects["PARTS"].load_tree(["type"], subject_columns=["gender", "age"])
    log.clear()
    s1 = subjects["S1"]
    demographics = s1.demographics
    assert (demographics.gender, demographics.age) == ("female", 40)
    assert len(log) == 0
    assert demographics.handedness == "left"  # not listed: the subject's document tells
    assert len(log) == 1
    assert s1.demographics.handedness == "left" and s1.demographics.gender == "female"
    assert len(log) == 1
    # a subject with no demographics: the columns shown empty say so, with no request
    assert subjects["S2"].demographics.gender is None
    assert subjects["S2"].demographics.age is None
    assert len(log) == 1
    # writing through a part filled from the listing
    again = session.projects["PARTS"].load_tree(["type"], subject_columns=["gender"])["S1"]
    again.demographics.gender = "male"
    session.clearcache()
    assert session.projects["PARTS"].subjects["S1"].demographics.gender == "male"


def test_a_project_listings_pi_columns_answer_project_pi(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """The projects listing has the PI's names (``pi_firstname``, ``pi_lastname``):
    ``project.pi.lastname`` needs no request; the PI's other fields read the document."""
    server.seed_project(
        "PIPRJ",
        fields={"PI/firstname": "Ada", "PI/lastname": "Lovelace", "PI/institution": "AE"},
    )
    log.clear()
    project = session.projects["PIPRJ"]
    assert (project.pi.firstname, project.pi.lastname) == ("Ada", "Lovelace")
    assert len(log) == 1  # the listing
    assert project.pi.institution == "AE"
    assert len(log) == 2


def test_a_pickled_object_with_a_listed_part_reads_it_whole_where_it_lands(
    server: LocalXNAT, session: XNATSession
) -> None:
    server.seed_project("PARTP")
    server.seed_subject(
        "PARTP", "S1", fields={"demographics/gender": "female", "demographics/handedness": "right"}
    )
    subject = session.projects["PARTP"].load_tree(["type"], subject_columns=["gender"])["S1"]
    assert subject.demographics.gender == "female"
    landed = session.unpickle(pickle.dumps(subject))
    assert landed.demographics.handedness == "right"
    assert landed.demographics.gender == "female"


def test_a_listed_part_whose_owner_cannot_be_read_raises_and_tries_again(
    server: LocalXNAT, session: XNATSession
) -> None:
    """A failed read through the owner raises (no silent None), and the next read tries
    again."""
    server.seed_project("PARTF")
    server.seed_subject(
        "PARTF", "S1", fields={"demographics/gender": "male", "demographics/handedness": "left"}
    )
    subject = session.projects["PARTF"].load_tree(["type"], subject_columns=["gender"])["S1"]
    demographics = subject.demographics
    server.faults.fail_next(status=500, prefix="/data/projects/PARTF/subjects/")
    with pytest.raises(XNATServerError):
        _ = demographics.handedness
    assert demographics.handedness == "left"


def test_columns_xnat_cannot_use_raise_errors_that_say_why(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """A column XNAT drops (a shortcut in the wrong case, an unknown data type) would read
    None in every row: it raises, naming the column. A path to a field its type lacks fails
    on the server (a 500, or an empty 200 from a project's experiments listing): the error
    says which columns to check."""
    server.seed_project("BADCOL")
    server.seed_project("EMPTYCOL")
    server.seed_subject("BADCOL", "S1", fields={"demographics/gender": "female"})
    server.seed_session("BADCOL", "S1", "E1")
    project = session.projects["BADCOL"]
    with pytest.raises(XNATValueError, match=r"'Gender'.*'Gender' is 'gender'"):
        project.subjects.tabulate(["label", "Gender"])
    with pytest.raises(XNATValueError, match="does not know the data type of 'bogus:x/label'"):
        project.subjects.tabulate(["bogus:x/label"])
    with pytest.raises(XNATValueError, match="'labl'"):
        project.load_tree(["type"], experiment_columns=["labl"])
    with pytest.raises(XNATServerError, match=r"the XML paths asked: xnat:subjectData/nope"):
        project.subjects.tabulate(["label", "xnat:subjectData/nope"])
    with pytest.raises(XNATResponseError, match=r"body is empty.*xnat:mrSessionData/nope") as e:
        project.experiments.tabulate(["xnat:mrSessionData/nope"])
    assert e.value.status == 200
    # the same names spelt right
    (row,) = project.subjects.tabulate(["label", "gender"])
    assert tuple(row) == ("S1", "female")
    # no rows: nothing tells a column was left out (XNAT's JSON has no header)
    assert list(session.projects["EMPTYCOL"].subjects.tabulate(["Gender"])) == []


def test_a_server_s_bad_moment_is_not_blamed_on_the_columns(
    server: LocalXNAT, session: XNATSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One 500 on a listing with XML-path columns raised, blaming the columns (the hint cut
    short: "... (1 more characters)"): it is asked once more; two in a row name the columns,
    the hint whole. A column the answer lacks though the listing has it is told as an
    incomplete answer (it read "'gender' is 'gender' (shortcuts are case-sensitive)")."""
    from xnat_sdk import _columns

    monkeypatch.setattr(_columns, "_AGAIN_AFTER", 0.01)
    server.seed_project("MOMENT")
    server.seed_subject("MOMENT", "S1", fields={"demographics/gender": "female"})
    subjects = session.projects["MOMENT"].subjects
    server.faults.fail_next(1, status=500, prefix="/data/projects/MOMENT/subjects")
    (row,) = subjects.tabulate(
        ["label", "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender"]
    )
    assert tuple(row) == ("S1", "female")
    server.faults.fail_next(2, status=500, prefix="/data/projects/MOMENT/subjects")
    with pytest.raises(XNATServerError) as failed:
        subjects.tabulate(["label", "xnat:subjectData/label"])
    assert str(failed.value).endswith("the XML paths asked: xnat:subjectData/label)")
    assert "twice" in str(failed.value)
    with pytest.raises(XNATValueError, match="'gender' is one of the listing's: the answer"):
        _columns.check_answered([{"label": "S1"}], ["gender"], "subjects", subjects.uri)


def test_columns_of_a_derived_type_keep_every_row(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """XNAT narrows a listing to the type of a column that extends its root (an MR field on
    a project's experiments lists only MR sessions): such columns are asked with that type
    as ``xsiType=`` and joined, so every experiment stays, empty where the type is not its
    own; ``load_tree`` keeps the PET and CT sessions too."""
    server.seed_project("NARROW")
    server.seed_subject("NARROW", "S1")
    server.seed_session("NARROW", "S1", "MR1", fields={"fieldStrength": "3.0", "study_id": "A"})
    server.seed_session("NARROW", "S1", "PET1", xsi_type="xnat:petSessionData")
    server.seed_session(
        "NARROW", "S1", "CT1", xsi_type="xnat:ctSessionData", fields={"scanner": "CTX"}
    )
    server.seed_session("NARROW", "S1", "QC", xsi_type="xnat:subjectVariablesData")
    project = session.projects["NARROW"]
    columns = ["label", "fieldStrength", "xnat:mrSessionData/study_id", "scanner"]
    log.clear()
    table = project.experiments.tabulate(columns)
    rows = {row["label"]: tuple(row) for row in table}
    assert rows == {
        "MR1": ("MR1", "3.0", "A", ""),
        "PET1": ("PET1", "", "", ""),
        "CT1": ("CT1", "", "", "CTX"),
        "QC": ("QC", "", "", ""),
    }
    gets = _listing_gets(log, "/experiments")
    assert len(gets) == 3  # the listing, then one per type: MR sessions, image sessions
    assert sorted(g.split("xsiType=")[1].split("&")[0] for g in gets[1:]) == [
        "xnat:imageSessionData",
        "xnat:mrSessionData",
    ]
    # one type asked for: nothing to narrow, one request
    log.clear()
    only_mr = project.experiments.filter({"xsiType": "xnat:mrSessionData"}).tabulate(columns)
    assert [row["fieldStrength"] for row in only_mr] == ["3.0"]
    assert len(_listing_gets(log, "/experiments")) == 1
    subjects = project.load_tree(["type"], experiment_columns=["xnat:mrSessionData/study_id"])
    log.clear()
    experiments = subjects["S1"].experiments
    assert sorted(e.label for e in experiments.values()) == ["CT1", "MR1", "PET1", "QC"]
    assert experiments["MR1"].study_id == "A"
    assert len(log) == 0


def test_columns_a_listing_shows_empty_are_known_empty(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """A field asked for and shown empty is empty: reading it after ``load_tree`` sends no
    request (it was one per object), as for a default column (a session's ``date``)."""
    server.seed_project("SPARSE")
    for number in range(4):
        demographics = {"demographics/gender": "female"} if number == 0 else {}
        server.seed_subject("SPARSE", f"S{number}", fields=demographics)
        dated = {"date": "2020-01-02", "study_id": "A"} if number == 0 else {}
        server.seed_session("SPARSE", f"S{number}", f"E{number}", fields=dated)
    subjects = session.projects["SPARSE"].load_tree(
        ["type"],
        subject_columns=["gender"],
        experiment_columns=["xnat:mrSessionData/study_id"],
    )
    log.clear()
    found = [
        (s.demographics.gender, e.date, e.study_id)
        for s in subjects.values()
        for e in s.experiments.values()
    ]
    assert found[0] == ("female", date(2020, 1, 2), "A")
    assert found[1:] == [(None, None, None)] * 3
    assert len(log) == 0
    assert subjects["S1"].experiments["E1"].note is None  # not listed: its document tells
    assert len(log) == 1


def test_a_type_view_and_a_document_listing_tabulate_the_columns_asked(
    server: LocalXNAT, session: XNATSession
) -> None:
    """``listing[Cls].tabulate(columns)`` asks the server for the columns and keeps the
    view's rows (it read None for a column the base rows lacked); a listing read from a
    document answers a column asked by the item type's XML path."""
    server.seed_project("VIEWS")
    server.seed_subject("VIEWS", "S1")
    mr = server.seed_session("VIEWS", "S1", "MR1", fields={"fieldStrength": "3.0"})
    server.seed_session("VIEWS", "S1", "PET1", xsi_type="xnat:petSessionData")
    server.seed_scan(mr, "1", type="T1", fields={"parameters/tr": "2.1"})
    experiments = session.projects["VIEWS"].experiments
    columns = ["label", "subject_ID", "xnat:mrSessionData/fieldStrength"]
    everything = {row.label: tuple(row) for row in experiments.tabulate(columns)}
    assert set(everything) == {"MR1", "PET1"}
    (row,) = experiments[MrSessionData].tabulate(columns)
    assert tuple(row) == everything["MR1"] == ("MR1", everything["MR1"][1], "3.0")
    assert str(row[1]).startswith("XNAT_S")
    scans = experiments["MR1", MrSessionData].scans
    columns = ["type", "xnat:mrScanData/parameters/tr", "xnat:petScanData/parameters/orientation"]
    (scan,) = scans.tabulate(columns)
    assert tuple(scan) == ("T1", 2.1, None)  # a PET scan's field: empty on an MR scan
    # a name or path no item type has would read None in every row: refused, named
    for wrong in ("labl", "Type", "xnat:mrScanData/nonexistent", "bogus:x/y"):
        with pytest.raises(XNATValueError, match=f"no column '{wrong}'"):
            scans.tabulate(["ID", wrong])


def test_a_nested_parts_columns_fill_it_with_no_request(
    server: LocalXNAT, session: XNATSession, log: RequestLog
) -> None:
    """A column of a nested part's field (``xnat:petSessionData/tracer/name``) fills
    ``experiment.tracer`` as a child part's fills it: no request for it, the rest through
    the owner's document."""
    server.seed_project("NESTED")
    server.seed_subject("NESTED", "S1")
    fields = {"tracer/name": "FDG", "tracer/isotope": "F18"}
    server.seed_session("NESTED", "S1", "PET1", xsi_type="xnat:petSessionData", fields=fields)
    server.seed_session("NESTED", "S1", "PET2", xsi_type="xnat:petSessionData")
    subjects = session.projects["NESTED"].load_tree(
        ["type"], experiment_columns=["xnat:petSessionData/tracer/name"]
    )
    log.clear()
    experiments = subjects["S1"].experiments
    first, second = experiments["PET1", PetSessionData], experiments["PET2", PetSessionData]
    assert (first.tracer.name, second.tracer.name) == ("FDG", None)
    assert len(log) == 0
    assert first.tracer.isotope.isotope == "F18"  # not listed: the session's document
    assert len(log) == 1 and first.tracer.name == "FDG"
    with pytest.raises(XNATValidationError, match=r"'file' .* \(it is a list\)"):
        session.projects["NESTED"].load_tree(["file"])
    # an element with a value of its own, by shortcut and by XML path (its part's field)
    server.seed_session("NESTED", "S1", "MR1", fields={"scanner": "Prisma"})
    for column in ("scanner", "xnat:imageSessionData/scanner"):
        session.clearcache()
        subjects = session.projects["NESTED"].load_tree(["type"], experiment_columns=[column])
        log.clear()
        found = {e.label: e.scanner.scanner for e in subjects["S1"].experiments.values()}
        assert found == {"PET1": None, "PET2": None, "MR1": "Prisma"}
        assert len(log) == 0


def test_read_only_and_meta_shortcuts_asked_by_their_paths(
    server: LocalXNAT, session: XNATSession
) -> None:
    """XNAT names ``xnat:imageSessionData/ID`` ``session_ID`` (a read-only shortcut's path),
    a scan's ``validation/date`` ``validation_date`` (a shortcut the local server does not
    serve): the table has each under the name asked for."""
    server.seed_project("SHORTR")
    server.seed_subject("SHORTR", "SUBJ")
    eid = server.seed_session("SHORTR", "SUBJ", "EXP")
    server.seed_scan(eid, "1", type="T1")
    columns = ["xnat:imageSessionData/ID", "xnat:imageSessionData/label"]
    (row,) = session.projects["SHORTR"].experiments.tabulate(columns)
    assert tuple(row) == (eid, "EXP")
    scan_columns = ["ID", "xnat:imageScanData/type", "xnat:imageScanData/validation/date"]
    (row,) = session.experiments[eid].scans.tabulate(scan_columns)
    assert tuple(row) == ("1", "T1", None)  # empty: no value

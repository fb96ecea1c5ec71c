"""A new user's first hour at archive scale: mistakes in map, map_over, mapping_iter,
load_tree and download_files give a typed error naming the problem before anything is
sent or called (found by following the guide; see docs/guide/scale.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from xnat_sdk.errors import XNATLocalFileError, XNATNotConnectedError, XNATValidationError
from xnat_sdk.session import XNATSession

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded


def _label(obj: Any, *extra: Any) -> str:
    return f"{obj.label}{extra}"


def _no_calls(calls: list[Any]) -> Any:
    def function(obj: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(obj)

    return function


@pytest.mark.parametrize(
    ("keywords", "named", "says"),
    [
        ({"function": "not a function"}, "function", "expected a function to call, got str"),
        ({"args": "ab"}, "args", "filter_function=... and logfile=... by name"),
        ({"args": 3}, "args", "got int"),
        ({"kwargs": [("a", 1)]}, "kwargs", "expected a dict"),
        ({"executor": 4}, "executor", "got int"),
        ({"filter_function": lambda obj: True}, "filter_function", "create_filter_funcs"),
        ({"filter_function": "T1"}, "filter_function", "got str"),
    ],
)
def test_map_refuses_bad_arguments_before_the_walk(
    session: XNATSession,
    seeded: Seeded,
    log: RequestLog,
    keywords: dict[str, Any],
    named: str,
    says: str,
) -> None:
    project = session.projects[seeded.project]
    project.subjects.values()  # listed now: the map must send nothing more
    calls: list[Any] = []
    given = {"function": _no_calls(calls), **keywords}
    sent = len(log.requests)
    with pytest.raises(XNATValidationError, match=named) as raised:
        project.map(level="experiment", **given)
    assert says in str(raised.value)
    assert raised.value.field == named
    assert len(log.requests) == sent, "a request was sent before the argument was refused"
    assert calls == []


def test_a_bad_executor_is_refused_where_nothing_is_to_be_called(
    session: XNATSession, server: Any
) -> None:
    """An empty project (or a rerun whose log has every object) used to return {} with any
    executor at all: the same script then failed on the next project."""
    server.seed_project("TRIAL_EMPTY_MAP")
    project = session.projects["TRIAL_EMPTY_MAP"]
    with pytest.raises(XNATValidationError, match="executor"):
        project.map(_label, "experiment", executor=4)
    with pytest.raises(XNATValidationError, match="executor"):
        session.map_over(_label, [], executor=object())
    assert project.map(_label, "experiment") == {}


def test_a_logfile_that_cannot_be_written_is_refused_before_any_call(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    """The log is written a second into the run and at its end: a folder (or a missing one)
    named as the log used to fail there, after the calls, their results lost."""
    project = session.projects[seeded.project]
    calls: list[Any] = []
    with pytest.raises(XNATValidationError, match="is a folder"):
        project.map(_no_calls(calls), "scan", logfile=tmp_path)
    with pytest.raises(XNATLocalFileError, match="no folder"):
        project.map(_no_calls(calls), "scan", logfile=tmp_path / "no" / "map.json")
    with pytest.raises(XNATValidationError, match="is a folder"):
        session.map_over(_no_calls(calls), list(project.subjects.values()), logfile=tmp_path)
    assert calls == []
    assert list(tmp_path.iterdir()) == []


def test_map_over_args_are_checked_too(session: XNATSession, seeded: Seeded) -> None:
    subjects = list(session.projects[seeded.project].subjects.values())
    with pytest.raises(XNATValidationError, match="args"):
        session.map_over(_label, subjects, "ab")
    assert session.map_over(_label, subjects, ["!"]) == {
        s.uri: f"{s.label}('!',)" for s in subjects
    }


def test_mapping_iter_and_search_refuse_a_bare_function_as_filter(
    session: XNATSession, seeded: Seeded
) -> None:
    project = session.projects[seeded.project]
    with pytest.raises(XNATValidationError, match="filter_function"):
        list(project.mapping_iter("scan", lambda scan: True))


def test_map_over_on_a_closed_session_says_so(server: Any) -> None:
    import xnat_sdk

    session = xnat_sdk.connect(server.url, user="admin", password="admin")
    session.disconnect()
    with pytest.raises(XNATNotConnectedError):
        session.map_over(_label, [])


@pytest.mark.parametrize(
    ("keywords", "named"),
    [
        ({"scan_fields": None}, "scan_fields"),
        ({"scan_fields": [1]}, "scan_fields"),
        ({"subject_columns": None}, "subject_columns"),
        ({"experiment_columns": 7}, "experiment_columns"),
        ({"assessor_columns": ["rater", None]}, "assessor_columns"),
    ],
)
def test_load_tree_refuses_names_that_are_no_list_of_str(
    session: XNATSession, seeded: Seeded, log: RequestLog, keywords: dict[str, Any], named: str
) -> None:
    """None, numbers and sets used to fail deep inside with a bare TypeError."""
    project = session.projects[seeded.project]
    sent = len(log.requests)
    with pytest.raises(XNATValidationError, match="expects a list of names") as raised:
        project.load_tree(**keywords)
    assert raised.value.field == named
    assert len(log.requests) == sent


@pytest.mark.parametrize("columns", [[1, 2], {"ID", "label"}, ("ID", None)])
def test_tabulate_refuses_columns_that_are_no_list_of_str(
    session: XNATSession, seeded: Seeded, columns: Any
) -> None:
    """A set has no order for the table's columns; numbers used to raise a bare TypeError."""
    with pytest.raises(XNATValidationError, match="columns: expects a list of names"):
        session.projects[seeded.project].subjects.tabulate(columns)


@pytest.mark.parametrize(
    ("keywords", "named", "says"),
    [
        ({"scan_filter": ["T1", "T2"]}, "scan_filter", 'write "T1,T2"'),
        ({"scan_filter": None}, "scan_filter", "got NoneType"),
        ({"workers": 0}, "workers", "got 0"),
    ],
)
def test_download_files_refuses_bad_arguments_before_reading_the_tree(
    session: XNATSession,
    seeded: Seeded,
    log: RequestLog,
    tmp_path: Path,
    keywords: dict[str, Any],
    named: str,
    says: str,
) -> None:
    """A list of scan types used to fail with AttributeError, after the project's tree was
    read; workers=0 was refused only after it too."""
    project = session.projects[seeded.project]
    sent = len(log.requests)
    with pytest.raises(XNATValidationError, match=named) as raised:
        project.download_files(tmp_path, verbose=False, **keywords)
    assert says in str(raised.value)
    with pytest.raises(XNATValidationError, match=named):
        session.download_files(project.experiments.values(), tmp_path, **keywords)
    assert len(log.requests) <= sent + 1  # the experiments listing of the second call only
    assert list(tmp_path.iterdir()) == []


def test_session_download_files_refuses_an_object_for_its_sessions(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    """``session.download_files(project, folder)`` used to raise a bare TypeError."""
    project = session.projects[seeded.project]
    with pytest.raises(XNATValidationError, match="its download_files") as raised:
        session.download_files(project, tmp_path)
    assert raised.value.field == "sessions"


def test_load_tree_without_the_cache_says_so_instead_of_forgetting_the_tree(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    """With ``session.caching = False`` load_tree read the whole tree (three requests) and
    returned it, then every walk read each object again: its point silently lost."""
    from xnat_sdk.errors import XNATValueError

    project = session.projects[seeded.project]
    session.caching = False
    sent = len(log.requests)
    with pytest.raises(XNATValueError, match=r"session.caching = False"):
        project.load_tree()
    assert len(log.requests) == sent
    calls: list[Any] = []
    assert len(project.map(_no_calls(calls), "scan")) == 4  # map walks without the tree
    session.caching = True
    assert len(project.load_tree()) == 2


def test_a_table_out_of_range_or_by_name_raises_a_typed_error(
    session: XNATSession, seeded: Seeded
) -> None:
    """``table[5]`` of two rows, ``row[9]`` and ``table["label"]`` raised bare IndexError and
    TypeError from the tuples underneath."""
    from xnat_sdk.errors import XNATIndexError, XNATKeyError

    table = session.projects[seeded.project].subjects.tabulate(["ID", "label"])
    assert [row.label for row in table] == ["S1", "S2"] and table[-1][1] == "S2"
    with pytest.raises(XNATIndexError, match="no row 5 in a table of 2"):
        table[5]
    with pytest.raises(XNATIndexError, match=r"no column 9 in a row of 2 \(columns: ID, label\)"):
        table[0][9]
    with pytest.raises(XNATKeyError, match=r"table.column\('label'\)"):
        table["label"]  # type: ignore[call-overload]
    assert table.column("label") == ["S1", "S2"]


def test_listing_filter_refuses_a_non_mapping(session: XNATSession, seeded: Seeded) -> None:
    """``subjects.filter("label")`` raised a bare TypeError ("'str' object is not a
    mapping")."""
    subjects = session.projects[seeded.project].subjects
    with pytest.raises(XNATValidationError, match="expected a dict of column -> pattern"):
        subjects.filter("label")  # type: ignore[arg-type]
    with pytest.raises(XNATValidationError, match="filters"):
        subjects.tabulate(["ID"], filter=["label"])  # type: ignore[arg-type]
    assert [s.label for s in subjects.filter({"label": "S1"})] == ["S1"]


def test_a_search_on_a_parts_field_is_sent_as_xnat_names_it(
    session: XNATSession, log: RequestLog
) -> None:
    """``col(s.demographics.gender)`` type-checks, and is now searched (it was refused at
    run time): by XNAT's path through the part's xsi:type, one request."""
    from xnat_sdk.models import SubjectData
    from xnat_sdk.search import col

    query = session.query(SubjectData).where(lambda s: col(s.demographics.gender) == "female")
    assert "demographics[@xsi:type=xnat:demographicData]/gender" in query.to_xml()
    sent = len(log.requests)
    query.all()
    assert len(log.requests) == sent + 1

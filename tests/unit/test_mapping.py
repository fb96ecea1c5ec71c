"""xnat_sdk.mapping without a server: levels, filters and the failure value."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from xnat_sdk.errors import XNATValidationError
from xnat_sdk.mapping import (
    FilterFunctions,
    MappedFunctionFailed,
    MappingLevel,
    apply_all,
    create_filter_funcs,
)


def test_levels_have_xnatpys_values() -> None:
    assert MappingLevel("scan_resource") is MappingLevel.SCAN_RESOURCE
    assert [m.value for m in MappingLevel][:3] == ["connection", "project", "project_resource"]


def test_patterns_match_each_levels_key() -> None:
    filters = create_filter_funcs(project="Study*", subject="S0?", scan="T1*")
    assert filters.project(SimpleNamespace(name="Study A", id="X"))
    assert not filters.project(SimpleNamespace(name="Other", id="Study"))  # names, not IDs
    assert filters.subject(SimpleNamespace(label="S01"))
    assert not filters.subject(SimpleNamespace(label="S010"))
    assert filters.scan(SimpleNamespace(type="T1w")) and not filters.scan(
        SimpleNamespace(type=None)
    )
    assert filters.experiment(SimpleNamespace()) and filters.resource(SimpleNamespace())


def test_regex_and_predicates() -> None:
    filters = create_filter_funcs(experiment=r"E\d+", use_regex=True, resource=lambda r: r.x)
    assert filters.experiment(SimpleNamespace(label="E12"))
    assert not filters.experiment(SimpleNamespace(label="E12b"))  # the whole label
    assert filters.resource(SimpleNamespace(x=True)) and not filters.resource(SimpleNamespace(x=0))


def test_bad_filters_are_refused() -> None:
    with pytest.raises(XNATValidationError, match="bad regular expression"):
        create_filter_funcs(subject="S(", use_regex=True)
    with pytest.raises(XNATValidationError, match="pattern"):
        create_filter_funcs(scan=3)  # type: ignore[arg-type]
    assert isinstance(create_filter_funcs(), FilterFunctions)


def test_apply_all_turns_failures_into_values() -> None:
    items = [SimpleNamespace(uri="/a", v=1), SimpleNamespace(uri="/b", v=0)]
    heard: list[tuple[str, bool]] = []
    results = apply_all(
        iter(items),
        lambda item, k: k // item.v,
        args=(6,),
        record=lambda u, ok, _: heard.append((u, ok)),
    )
    assert results["/a"] == 6
    assert results["/b"] == MappedFunctionFailed("integer division or modulo by zero")
    assert heard == [("/a", True), ("/b", False)]

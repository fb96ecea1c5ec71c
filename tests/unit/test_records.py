"""The written-out value classes (xnat_sdk._record) behave as the dataclasses they replaced:
frozen ones refuse assignment, compare and hash by their fields, and survive pickle and copy
(objects and listings travel to worker processes with their listing specs)."""

from __future__ import annotations

import copy
import pickle

import pytest

from xnat_sdk._answers import Answer
from xnat_sdk._http import Origin
from xnat_sdk._objects.navigation import EXPERIMENTS, PROJECTS
from xnat_sdk.fields import FieldSpec, class_fields
from xnat_sdk.mapping import FilterFunctions
from xnat_sdk.models import MrSessionData


def test_frozen_records_round_trip_through_pickle_and_copy() -> None:
    spec = class_fields(MrSessionData).by_name["label"]
    for record in (PROJECTS, EXPERIMENTS, Origin("https", "x.org", 443), spec):
        for back in (pickle.loads(pickle.dumps(record)), copy.copy(record), copy.deepcopy(record)):
            assert back == record
            assert hash(back) == hash(record)
            assert repr(back) == repr(record)
    answer = Answer({"a": 1}, "GET", "http://x/data", 200)
    assert pickle.loads(pickle.dumps(answer)) == answer


def test_frozen_records_refuse_assignment() -> None:
    with pytest.raises(AttributeError, match="frozen ListingSpec"):
        PROJECTS.name = "other"
    with pytest.raises(AttributeError, match="frozen Origin"):
        del Origin("http", "x", 80).port


def test_equality_follows_the_compared_fields() -> None:
    one = FieldSpec("a", "a", "a", "element", False, "str", target_source=None)
    two = FieldSpec("a", "a", "a", "element", False, "str", target_source=(str, object, None))
    assert one == two  # target_source is not compared, as it was not in the dataclass
    assert one != FieldSpec("b", "a", "a", "element", False, "str")
    assert Origin("http", "x", 80) != ("http", "x", 80)
    assert Answer(1, "GET", "u", response=None) == Answer(1, "GET", "u")
    assert FilterFunctions() == FilterFunctions()
    assert "project=" in repr(FilterFunctions())
    with pytest.raises(TypeError):
        hash(FilterFunctions())  # mutable: unhashable, as a non-frozen dataclass

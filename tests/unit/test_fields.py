"""Field metadata, value encoding, conversion and input validation of :mod:`xnat_sdk.fields`,
checked against the real generated classes (no server)."""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk.errors import XNATValidationError, XNATValueError
from xnat_sdk.fields import (
    LABEL_PATTERN,
    VARIABLE_PATTERN,
    ClassFields,
    FieldSpec,
    class_fields,
    convert_scalar,
    encode_value,
    parse_date,
    parse_datetime,
    parse_time,
    texts_converted,
    validate_fields,
    validate_label,
)
from xnat_sdk.models import (
    DemographicData,
    MrScanData,
    MrSessionData,
    ProjectData,
    SubjectData,
)

LABEL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def spec(cls: type, name: str) -> FieldSpec:
    return class_fields(cls).by_name[name]


# -- field tables -------------------------------------------------------------------------------


def test_class_fields_is_cached_per_class() -> None:
    assert class_fields(MrSessionData) is class_fields(MrSessionData)
    assert class_fields(MrSessionData) is not class_fields(MrScanData)


def test_class_fields_of_a_non_attrs_class_is_empty() -> None:
    class Plain:
        x: int = 1

    table = class_fields(Plain)
    assert isinstance(table, ClassFields)
    assert table.by_name == {}
    assert table.data == [] and table.nested == [] and table.children == {}


def test_class_fields_covers_every_attrs_field() -> None:
    for cls in (MrSessionData, MrScanData, SubjectData, DemographicData, ProjectData):
        table = class_fields(cls)
        generated = {a.name for a in attrs.fields(cls) if not a.metadata.get("runtime")}
        assert set(table.by_name) == generated  # the runtime's parent= is no field
        # every field is in exactly one of data / nested / children
        groups = (
            {s.name for s in table.data}
            | {s.name for s in table.nested}
            | {s.name for s in table.children.values()}
        )
        assert groups == set(table.by_name)


def test_mr_session_field_metadata() -> None:
    table = class_fields(MrSessionData)
    field_strength = table.by_name["field_strength"]
    assert field_strength.xsd == "fieldStrength"
    assert field_strength.path == "fieldStrength"
    assert field_strength.kind == "element"
    assert field_strength.scalar == "str"
    assert field_strength.max_length == 255
    assert field_strength.xpath == "xnat:mrSessionData/fieldStrength"
    assert field_strength.is_data

    ident = table.by_name["id"]
    assert ident.required and ident.path == "ID" and ident.kind == "attribute"
    assert ident.missing == ""  # typed str: XNAT always fills it
    assert not table.by_name["label"].required

    # inherited fields keep the XPath of the type that declares them
    assert table.by_name["subject_id"].xpath == "xnat:subjectAssessorData/subject_ID"
    assert table.by_name["age"].scalar == "float"
    assert table.by_name["date"].scalar == "date"
    assert table.by_name["time"].scalar == "time"
    assert table.by_name["version"].scalar == "int"
    assert table.by_name["note"].max_length == 2500


def test_nested_and_child_fields_are_not_data() -> None:
    table = class_fields(MrSessionData)
    scanner = table.by_name["scanner"]
    assert scanner.kind == "nested" and scanner.scalar == "object" and not scanner.is_data
    assert scanner in table.nested
    assert scanner.target is not None and attrs.has(scanner.target)

    sharing = table.by_name["sharing"]
    assert sharing.is_list and not sharing.is_data
    assert table.children["sharing/share"] is sharing

    subject = class_fields(SubjectData)
    demographics = subject.by_name["demographics"]
    assert demographics.target is not None
    assert issubclass(DemographicData, demographics.target)


def test_lookup_path_is_exact_then_case_insensitive() -> None:
    table = class_fields(MrSessionData)
    assert table.lookup_path("fieldStrength") is table.by_name["field_strength"]
    assert table.lookup_path("FIELDSTRENGTH") is table.by_name["field_strength"]
    assert table.lookup_path("subject_id") is table.by_name["subject_id"]
    assert table.lookup_path("no_such_path") is None
    # children are not data paths
    assert table.lookup_path("sharing/share") is None


def test_literal_fields_record_their_values() -> None:
    gender = spec(DemographicData, "gender")
    assert gender.scalar == "str"
    assert gender.literals == ("male", "female", "other", "unknown", "M", "F")
    assert spec(DemographicData, "handedness").literals == (
        "left",
        "right",
        "ambidextrous",
        "unknown",
    )
    assert spec(DemographicData, "race").literals == ()


def test_suggest() -> None:
    table = class_fields(MrSessionData)
    assert "field_strength" in table.suggest("field_strenght")
    assert table.suggest("field_strenght").startswith(" (did you mean ")
    assert table.suggest("zzzzzzzzzzzz") == ""


# -- encode_value -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "NULL"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-42, "-42"),
        (1.5, "1.5"),
        (3.0, "3.0"),
        ("plain text", "plain text"),
        ("", ""),
        (datetime.date(2019, 3, 5), "2019-03-05"),
        (datetime.datetime(2019, 3, 5, 16, 46, 37), "2019-03-05 16:46:37"),
        (datetime.datetime(2019, 3, 5, 16, 46, 37, 103000), "2019-03-05 16:46:37.103000"),
        (
            datetime.datetime(2019, 3, 5, 1, 2, 3, tzinfo=datetime.timezone.utc),
            "2019-03-05 01:02:03+00:00",
        ),
        (datetime.time(7, 8, 9), "07:08:09"),
        ([1, 2, 3], "1,2,3"),
        ((True, None, "a"), "true,NULL,a"),
        ([], ""),
        ([datetime.date(2020, 1, 2), 2.5], "2020-01-02,2.5"),
    ],
)
def test_encode_value(value: Any, expected: str) -> None:
    assert encode_value(value) == expected


def test_encode_value_bool_is_not_encoded_as_int() -> None:
    # bool is a subclass of int: it must still come out as true/false, not 1/0
    assert encode_value([True, 1]) == "true,1"


# -- conversion from the server -----------------------------------------------------------------


def test_convert_examples() -> None:
    assert spec(MrScanData, "frames").convert("176") == 176
    assert spec(MrScanData, "frames").convert("176.0") == 176
    assert spec(MrScanData, "frames").convert(12) == 12
    assert spec(MrSessionData, "age").convert("42.5") == 42.5
    assert spec(ProjectData, "active").convert("true") is True
    assert spec(ProjectData, "active").convert("0") is False
    assert spec(ProjectData, "active").convert(1) is True
    assert spec(MrSessionData, "date").convert("2019-03-05") == datetime.date(2019, 3, 5)
    assert spec(MrSessionData, "date").convert("03/05/2019") == datetime.date(2019, 3, 5)
    assert spec(MrSessionData, "date").convert("2019-03-05 10:00:00") == datetime.date(2019, 3, 5)
    assert spec(MrSessionData, "time").convert("16:46:37.103") == datetime.time(16, 46, 37, 103000)
    assert spec(MrSessionData, "label").convert(True) == "true"
    assert spec(MrSessionData, "label").convert(7) == "7"


@pytest.mark.parametrize("empty", ["", None])
def test_convert_empty_is_none(empty: object) -> None:
    for name in ("frames", "start_date", "start_time", "series_description"):
        assert spec(MrScanData, name).convert(empty) is None


def test_convert_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        spec(MrScanData, "frames").convert("many")
    with pytest.raises(ValueError):
        spec(ProjectData, "active").convert("maybe")
    with pytest.raises(ValueError):
        spec(MrSessionData, "date").convert("yesterday")


def test_convert_list_field() -> None:
    list_spec = FieldSpec(
        name="values", xsd="values", path="values", kind="element", is_list=True, scalar="int"
    )
    assert list_spec.convert(["1", "", None, "3"]) == [1, 3]
    assert list_spec.convert("5") == [5]
    assert list_spec.convert("") == []


def test_parse_datetime_spellings() -> None:
    assert parse_datetime("2019-03-05 16:46:37.103") == datetime.datetime(
        2019, 3, 5, 16, 46, 37, 103000
    )
    assert parse_datetime("2019-03-05T16:46") == datetime.datetime(2019, 3, 5, 16, 46)
    assert parse_datetime("2019-03-05T16:46:37Z").tzinfo == datetime.timezone.utc
    aware = parse_datetime("2019-03-05T16:46:37-0130")
    assert aware.utcoffset() == -datetime.timedelta(hours=1, minutes=30)
    assert parse_datetime("Tue Mar 05 16:46:37 UTC 2019") == datetime.datetime(
        2019, 3, 5, 16, 46, 37
    )
    with pytest.raises(ValueError):
        parse_datetime("not a date")
    assert parse_date("1/2/2003") == datetime.date(2003, 1, 2)
    assert parse_time("08:09") == datetime.time(8, 9)


# round trips: what encode_value writes, convert reads back as the same value

_ints = st.integers(min_value=-(2**63), max_value=2**63)
_floats = st.floats(allow_nan=False)
_dates = st.dates()
_naive_datetimes = st.datetimes()
_offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)


@given(_ints)
def test_int_round_trip(value: int) -> None:
    for field_spec in (spec(MrScanData, "frames"), spec(DemographicData, "yob")):
        assert field_spec.scalar == "int"
        assert field_spec.convert(encode_value(value)) == value


@given(_floats)
def test_float_round_trip(value: float) -> None:
    field_spec = spec(MrSessionData, "age")
    assert field_spec.scalar == "float"
    back = field_spec.convert(encode_value(value))
    assert back == value
    assert math.copysign(1.0, back) == math.copysign(1.0, value)


@given(st.booleans())
def test_bool_round_trip(value: bool) -> None:
    field_spec = spec(ProjectData, "active")
    assert field_spec.scalar == "bool"
    assert field_spec.convert(encode_value(value)) is value


@given(_dates)
def test_date_round_trip(value: datetime.date) -> None:
    for field_spec in (spec(MrSessionData, "date"), spec(DemographicData, "dob")):
        assert field_spec.scalar == "date"
        assert field_spec.convert(encode_value(value)) == value


@given(st.times())
def test_time_round_trip(value: datetime.time) -> None:
    field_spec = spec(MrScanData, "start_time")
    assert field_spec.scalar == "time"
    assert field_spec.convert(encode_value(value)) == value


@given(_naive_datetimes, st.none() | _offsets)
def test_datetime_round_trip(value: datetime.datetime, zone: datetime.timezone | None) -> None:
    value = value.replace(tzinfo=zone)
    back = convert_scalar("datetime", encode_value(value))
    assert back == value
    assert back.utcoffset() == value.utcoffset()


@given(st.text())
def test_str_round_trip(value: str) -> None:
    # encode_value leaves strings alone; an empty string reads back as "no value"
    assert encode_value(value) == value
    back = spec(MrSessionData, "label").convert(encode_value(value))
    assert back == (value if value else None)


# -- validate_fields ----------------------------------------------------------------------------


def test_validate_fields_returns_the_specs() -> None:
    values = {
        "field_strength": "3.0T",
        "age": 41,
        "date": datetime.date(2020, 1, 2),
        "time": datetime.time(10, 0),
        "note": None,
    }
    specs = validate_fields(MrSessionData, values)
    assert set(specs) == set(values)
    assert specs["field_strength"] is spec(MrSessionData, "field_strength")


def test_validate_fields_accepts_nothing() -> None:
    assert validate_fields(MrSessionData, {}) == {}


def test_unknown_field_is_refused_with_a_suggestion() -> None:
    with pytest.raises(XNATValidationError) as info:
        validate_fields(MrSessionData, {"field_strenght": "3T"})
    assert info.value.field == "field_strenght"
    assert "MrSessionData has no field 'field_strenght'" in str(info.value)
    assert "did you mean field_strength" in str(info.value)
    assert isinstance(info.value, XNATValueError)


def test_unknown_field_without_a_close_match_has_no_suggestion() -> None:
    with pytest.raises(XNATValidationError) as info:
        validate_fields(ProjectData, {"qqqqqqqqqq": 1})
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize(
    ("cls", "name"),
    [(MrSessionData, "scanner"), (MrSessionData, "sharing"), (SubjectData, "demographics")],
)
def test_nested_fields_cannot_be_set(cls: type, name: str) -> None:
    with pytest.raises(XNATValidationError, match="nested element") as info:
        validate_fields(cls, {name: "x"})
    assert info.value.field == name


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (MrScanData, "frames", "12.5"),  # text that is no whole number
        (MrScanData, "frames", "many"),
        (MrScanData, "frames", 12.0),  # a float for an int
        (MrScanData, "frames", True),  # bool is not accepted as int
        (MrSessionData, "age", "41 years"),
        (MrSessionData, "age", False),
        (ProjectData, "active", 2),
        (ProjectData, "active", "True"),  # XML Schema spells it in lower case
        (ProjectData, "active", "yes"),
        (MrSessionData, "label", 5),
        (MrSessionData, "date", "02/01/2020"),  # text, but not ISO
        (MrSessionData, "date", "2020-01-02 10:00"),  # a date and time for a date
        (MrSessionData, "date", datetime.datetime(2020, 1, 2, 3, 4)),  # datetime for a date
        (MrSessionData, "time", "10 o'clock"),
        (DemographicData, "dob", datetime.datetime(2000, 1, 1)),
    ],
)
def test_wrong_types_are_refused(cls: type, name: str, value: object) -> None:
    with pytest.raises(XNATValidationError, match="expects") as info:
        validate_fields(cls, {name: value})
    assert info.value.field == name


@pytest.mark.parametrize(
    ("cls", "name", "text", "value"),
    [
        (MrScanData, "frames", "166", 166),
        (MrSessionData, "age", "84.9", 84.9),
        (MrSessionData, "age", "41", 41.0),
        (ProjectData, "active", "true", True),
        (ProjectData, "active", "0", False),
        (MrSessionData, "date", "2006-04-18", datetime.date(2006, 4, 18)),
        (MrSessionData, "time", "10:00:00", datetime.time(10, 0)),
    ],
)
def test_text_of_a_typed_field_is_converted(cls: type, name: str, text: str, value: object) -> None:
    """Text that spells the field's type exactly (read from CSV, as xnatpy sends it) is
    accepted and becomes the typed value (:func:`from_text`)."""
    assert name in validate_fields(cls, {name: text})
    converted = texts_converted(cls, {name: text})[name]
    assert converted == value and type(converted) is type(value)


def test_text_that_does_not_convert_names_the_form() -> None:
    with pytest.raises(XNATValidationError, match="ISO date such as '2006-04-18'") as info:
        validate_fields(MrSessionData, {"date": "18/04/2006"})
    assert info.value.field == "date"
    with pytest.raises(XNATValidationError, match="no valid date"):
        validate_fields(MrSessionData, {"date": "2006-02-31"})
    with pytest.raises(XNATValidationError, match="a whole number"):
        texts_converted(MrScanData, {"frames": "1e3"})


def test_int_is_accepted_for_a_float_field() -> None:
    assert "age" in validate_fields(MrSessionData, {"age": 41})


@pytest.mark.parametrize("value", ["male", "female", "other", "unknown", "M", "F"])
def test_enumeration_values_are_accepted(value: str) -> None:
    assert "gender" in validate_fields(DemographicData, {"gender": value})


@pytest.mark.parametrize("value", ["Male", "MALE", "m", "f", "x", "", " male"])
def test_enumeration_is_case_sensitive_and_exact(value: str) -> None:
    with pytest.raises(XNATValidationError, match="is not one of") as info:
        validate_fields(DemographicData, {"gender": value})
    assert info.value.field == "gender"
    assert "'male'" in str(info.value)


@given(st.text())
def test_enumeration_accepts_exactly_the_literals(value: str) -> None:
    literals = spec(DemographicData, "handedness").literals
    if value in literals:
        assert validate_fields(DemographicData, {"handedness": value})
    else:
        with pytest.raises(XNATValidationError):
            validate_fields(DemographicData, {"handedness": value})


def test_max_length_facet() -> None:
    assert validate_fields(MrSessionData, {"field_strength": "x" * 255})
    with pytest.raises(XNATValidationError, match="at most 255") as info:
        validate_fields(MrSessionData, {"field_strength": "x" * 256})
    assert info.value.field == "field_strength"
    assert "256 characters" in str(info.value)
    assert validate_fields(ProjectData, {"description": "d" * 10000})
    with pytest.raises(XNATValidationError, match="at most 10000"):
        validate_fields(ProjectData, {"description": "d" * 10001})


@given(st.text(max_size=600))
def test_max_length_property(value: str) -> None:
    field_spec = spec(MrSessionData, "operator")
    assert field_spec.max_length == 255
    if len(value) <= 255:
        assert validate_fields(MrSessionData, {"operator": value})
    else:
        with pytest.raises(XNATValidationError):
            validate_fields(MrSessionData, {"operator": value})


def test_fields_without_a_facet_take_long_strings() -> None:
    assert spec(MrSessionData, "dcm_patient_name").max_length is None
    assert validate_fields(MrSessionData, {"dcm_patient_name": "n" * 100_000})


def test_none_and_allow_none() -> None:
    assert validate_fields(MrSessionData, {"age": None})
    with pytest.raises(XNATValidationError, match="must not be None") as info:
        validate_fields(MrSessionData, {"age": None}, allow_none=False)
    assert info.value.field == "age"


def test_required_fields() -> None:
    with pytest.raises(XNATValidationError, match="required to create a MrSessionData") as info:
        validate_fields(MrSessionData, {"label": "S1"}, required=["subject_id"])
    assert info.value.field == "subject_id"
    with pytest.raises(XNATValidationError, match="required"):
        validate_fields(MrSessionData, {"subject_id": None}, required=["subject_id"])
    assert validate_fields(MrSessionData, {"subject_id": "XNAT_S1"}, required=["subject_id"])


def test_first_bad_field_is_named() -> None:
    with pytest.raises(XNATValidationError) as info:
        validate_fields(MrScanData, {"frames": 3, "quality": 4, "bogus": 5})
    assert info.value.field == "quality"


def test_list_fields_are_checked_item_by_item() -> None:
    from xnat_sdk.models import ReconstructedImageData

    table = class_fields(ReconstructedImageData)
    in_scans = table.by_name["in_scans"]
    assert in_scans.is_list and in_scans.is_data and in_scans.scalar == "str"
    assert validate_fields(ReconstructedImageData, {"in_scans": ["1", "2"]})
    assert validate_fields(ReconstructedImageData, {"in_scans": ("1",)})
    with pytest.raises(XNATValidationError, match="expects a list"):
        validate_fields(ReconstructedImageData, {"in_scans": "1"})
    with pytest.raises(XNATValidationError, match="expects str"):
        validate_fields(ReconstructedImageData, {"in_scans": ["1", 2]})
    assert encode_value(["1", "2"]) == "1,2"


# -- validate_label and VARIABLE_PATTERN --------------------------------------------------------


@pytest.mark.parametrize("label", ["a", "Z", "0", "_", "-", "Sub_01-baseline", "XNAT_E00001"])
def test_validate_label_accepts(label: str) -> None:
    assert validate_label(label) == label


@pytest.mark.parametrize(
    "label",
    [
        "with space",
        "dot.ted",
        "slash/ed",
        "ünïcode",
        "tab\t",
        "trailing\n",
        "a+b",
        "\u0663",
        "\uff41",
    ],
)
def test_validate_label_refuses(label: str) -> None:
    with pytest.raises(XNATValidationError, match="does not allow") as info:
        validate_label(label, "subject label")
    assert info.value.field == "subject label"


def test_validate_label_names_the_bad_characters() -> None:
    with pytest.raises(XNATValidationError) as info:
        validate_label("a b.c b")
    assert "' .'" in str(info.value)
    assert info.value.field == "label"


def test_validate_label_refuses_empty_and_non_strings() -> None:
    with pytest.raises(XNATValidationError, match="must not be empty"):
        validate_label("")
    with pytest.raises(XNATValidationError, match="must be a string, got int"):
        validate_label(12, "project")
    with pytest.raises(XNATValidationError, match="must be a string, got NoneType"):
        validate_label(None)


@given(st.text(alphabet=LABEL_CHARS, min_size=1))
def test_label_from_allowed_characters_is_accepted(label: str) -> None:
    assert validate_label(label) == label
    assert LABEL_PATTERN.match(label)


@given(
    st.text(alphabet=LABEL_CHARS),
    st.characters().filter(lambda c: c not in LABEL_CHARS),
    st.text(alphabet=LABEL_CHARS),
)
def test_label_with_any_other_character_is_refused(before: str, bad: str, after: str) -> None:
    label = before + bad + after
    with pytest.raises(XNATValidationError) as info:
        validate_label(label)
    assert repr(bad)[1:-1] in str(info.value)


@given(st.text(min_size=1))
def test_validate_label_agrees_with_ascii_rule(label: str) -> None:
    allowed = all(c in LABEL_CHARS for c in label)
    if allowed:
        assert validate_label(label) == label
    else:
        with pytest.raises(XNATValidationError):
            validate_label(label)


@pytest.mark.parametrize("name", ["a", "weight", "Field_2", "x_"])
def test_variable_pattern_accepts(name: str) -> None:
    assert VARIABLE_PATTERN.match(name)


@pytest.mark.parametrize("name", ["", "1abc", "_x", "with-dash", "sp ace", "x\n", "é"])
def test_variable_pattern_refuses(name: str) -> None:
    assert VARIABLE_PATTERN.match(name) is None


@given(st.text())
def test_variable_pattern_property(name: str) -> None:
    expected = re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name, flags=re.ASCII) is not None
    assert (VARIABLE_PATTERN.match(name) is not None) == expected

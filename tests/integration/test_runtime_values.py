"""Value conversion, encoding, label rules and URL redaction (no server needed)."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk.errors import XNATValidationError, error_for_response, server_message
from xnat_sdk.fields import (
    class_fields,
    convert_scalar,
    encode_value,
    parse_date,
    parse_datetime,
    validate_fields,
    validate_label,
)
from xnat_sdk.models import MrScanData, ProjectData
from xnat_sdk.session import redact_url


@given(st.datetimes(min_value=datetime.datetime(1900, 1, 1)))
def test_datetimes_round_trip_through_the_query_encoding(value: datetime.datetime) -> None:
    assert parse_datetime(encode_value(value)) == value


@given(st.dates(min_value=datetime.date(1900, 1, 1)))
def test_dates_round_trip(value: datetime.date) -> None:
    assert parse_date(encode_value(value)) == value
    assert convert_scalar("date", value.strftime("%m/%d/%Y")) == value


def test_xnat_spellings_are_parsed() -> None:
    assert parse_datetime("2019-03-05 16:46:37.103") == datetime.datetime(
        2019, 3, 5, 16, 46, 37, 103000
    )
    assert parse_datetime("2022-01-18 16:41:25.0").second == 25
    assert parse_datetime("Thu Apr 08 19:28:45 UTC 2021") == datetime.datetime(
        2021, 4, 8, 19, 28, 45
    )
    assert convert_scalar("time", "09:42:54") == datetime.time(9, 42, 54)
    assert convert_scalar("int", "3") == 3
    assert convert_scalar("float", 83.91) == 83.91
    assert convert_scalar("bool", "false") is False
    assert convert_scalar("bool", 1) is True
    assert convert_scalar("str", "") is None
    assert encode_value(None) == "NULL"
    assert encode_value(True) == "true"
    assert encode_value(["a", 2, False]) == "a,2,false"  # a list field's items, comma-joined


@given(st.integers(), st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_convert_from_their_string_form(number: int, real: float) -> None:
    assert convert_scalar("int", str(number)) == number
    assert convert_scalar("float", repr(real)) == real


@given(
    st.one_of(
        st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True), st.text(min_size=1, max_size=30)
    )
)
def test_labels(label: str) -> None:
    allowed = all(c.isascii() and (c.isalnum() or c in "_-") for c in label)
    if allowed:
        assert validate_label(label) == label
    else:
        with pytest.raises(XNATValidationError, match="label"):
            validate_label(label)


def test_field_validation_names_the_field() -> None:
    with pytest.raises(XNATValidationError, match="frames: expects int") as info:
        validate_fields(MrScanData, {"frames": 2.5})
    assert info.value.field == "frames"
    with pytest.raises(XNATValidationError, match="did you mean series_description"):
        validate_fields(MrScanData, {"series_descripton": "x"})
    with pytest.raises(XNATValidationError, match="active: expects bool"):
        validate_fields(ProjectData, {"active": 2})
    assert validate_fields(MrScanData, {"frames": 3, "type": "T1"}).keys() == {"frames", "type"}
    assert class_fields(MrScanData).by_name["frames"].scalar == "int"


def test_urls_are_redacted() -> None:
    url = "https://me:pw@xnat.org/data/JSESSION?password=a&alias=b&format=json"
    redacted = redact_url(url)
    assert "pw" not in redacted and "password=a" not in redacted and "alias=b" not in redacted
    assert "format=json" in redacted and redacted.startswith("https://***@xnat.org/data/")


def test_server_messages() -> None:
    page = "<html><body><h3>Unable to find the specified subject.</h3><p>x</p></body></html>"
    assert server_message(page) == "Unable to find the specified subject."
    error = error_for_response("PUT", "http://x/data/projects/P", 409, "Already exists")
    assert type(error).__name__ == "XNATConflictError"
    assert (error.method, error.status, error.message) == ("PUT", 409, "Already exists")
    assert str(error) == "PUT http://x/data/projects/P -> 409: Already exists"
    assert type(error_for_response("GET", "u", 502, "")).__name__ == "XNATServerError"
    assert server_message("") == "(empty body)"

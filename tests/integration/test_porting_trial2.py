"""xnatpy calls a second trial of ported scripts needed (xnatpy 0.8.1 scripts run with the
import line changed): ``mset`` with xnatpy's signature and XML-path keys, XML Schema's
lexical forms for typed fields, custom variables set to dates and numbers, listings' key
errors naming the keys. Each outcome is checked over HTTP against the local server."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import requests

from tests.integration.conftest import Seeded
from xnat_sdk import errors
from xnat_sdk.models import MrSessionData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT


def _data_fields(server: LocalXNAT, uri: str) -> dict[str, object]:
    resp = requests.get(
        server.url + uri, params={"format": "json"}, auth=("admin", "admin"), timeout=30
    )
    assert resp.status_code == 200, resp.text[:200]
    fields: dict[str, object] = resp.json()["items"][0]["data_fields"]
    return fields


def _listed_active(server: LocalXNAT, project: str) -> object:
    resp = requests.get(
        f"{server.url}/data/projects/{project}",
        params={"format": "json"},
        auth=("admin", "admin"),
        timeout=30,
    )
    return resp.json()["items"][0]["data_fields"].get("active")


def _writes(server: LocalXNAT) -> list[str]:
    return [r.method for r in server.faults.recorded() if r.method != "GET"]


# -- 1. mset as xnatpy calls it -------------------------------------------------------------


def test_mset_takes_keywords_and_xml_paths_in_one_request(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    exp = session.experiments[seeded.sessions["E1"], MrSessionData]
    server.faults.start_recording()
    values = {"fieldStrength": "1.5", "scanner/manufacturer": "ACME"}
    exp.mset(values, date="2006-04-18", AGE="84.9")
    assert _writes(server) == ["PUT"]
    fields = _data_fields(server, exp.uri)
    assert fields["fieldStrength"] == "1.5" and fields["scanner/manufacturer"] == "ACME"
    assert (fields["date"], float(str(fields["age"]))) == ("2006-04-18", 84.9)
    assert (exp.field_strength, exp.scanner.manufacturer, exp.date) == (
        "1.5",
        "ACME",
        datetime.date(2006, 4, 18),
    )
    subject = session.projects[seeded.project].subjects["S2"]
    subject.mset({"demographics[@xsi:type=xnat:demographicData]/gender": "female"})
    subject.mset({"demographics/handedness": "left"}, timeout=30)
    resp = requests.get(
        server.url + subject.uri, params={"format": "json"}, auth=("admin", "admin"), timeout=30
    )
    children = resp.json()["items"][0]["children"]
    (child,) = [c for c in children if c["field"] == "demographics"]
    assert child["items"][0]["data_fields"] == {"gender": "female", "handedness": "left"}


def test_mset_checks_every_key_before_sending(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    exp = session.experiments[seeded.sessions["E1"]]
    server.faults.start_recording()
    cases: list[tuple[dict[str, str], dict[str, Any], str]] = [
        ({"fieldStrength": "2"}, {"scanner/nope": "x"}, "scanner/nope"),
        ({"age": "1"}, {"age": "2"}, "age"),
        ({"scanner/manufacturer": "B"}, {"date": "18/04/2006"}, "date"),
    ]
    for values, keywords, field in cases:
        with pytest.raises(errors.XNATValidationError) as info:
            exp.mset(values, **keywords)
        assert info.value.field == field
    assert _writes(server) == []
    assert _data_fields(server, exp.uri)["fieldStrength"] == "3.0"


# -- 2. XML Schema's lexical forms for typed fields -----------------------------------------


def test_a_time_takes_a_zone_as_xml_schema_does(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    exp = session.experiments[seeded.sessions["E1"], MrSessionData]
    exp.time = "10:11:12+02:00"  # type: ignore[assignment]
    assert _data_fields(server, exp.uri)["time"] == "10:11:12+02:00"
    exp.mset(time=" 10:11:12Z\n")  # XML Schema collapses the whitespace around it
    assert _data_fields(server, exp.uri)["time"] == "10:11:12+00:00"
    session.clearcache()
    again = session.experiments[exp.id, MrSessionData]
    assert again.time == datetime.time(10, 11, 12, tzinfo=datetime.timezone.utc)
    server.faults.start_recording()
    for text in ("10:11", "10:11:12+0200", "10:11:12 +02:00"):
        with pytest.raises(errors.XNATValidationError, match="ISO time") as info:
            exp.time = text  # type: ignore[assignment]
        assert info.value.field == "time"
    assert _writes(server) == []


def test_a_boolean_takes_xml_schemas_spellings_and_0_or_1(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    project = session.projects[seeded.project]
    for value, stored in ((0, False), ("1", True), (" false ", False), (1, True)):
        project.mset(active=value)
        assert project.active is stored
        assert _listed_active(server, seeded.project) == str(stored).lower()
    server.faults.start_recording()
    for text in ("True", "FALSE", "yes", 2):
        with pytest.raises(errors.XNATValidationError, match="expects bool") as info:
            project.active = text  # type: ignore[assignment]
        assert info.value.field == "active"
    assert _writes(server) == []


def test_a_float_takes_xml_schemas_spellings_in_ascii_digits(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    exp = session.experiments[seeded.sessions["E1"], MrSessionData]
    for value, sent in (
        ("NaN", "NaN"),
        ("-INF", "-INF"),
        (float("inf"), "INF"),
        ("\t84.9\n", "84.9"),
    ):
        exp.age = value  # type: ignore[assignment]
        assert str(_data_fields(server, exp.uri)["age"]) == sent
    server.faults.start_recording()
    for text in ("\u0668\u0664.\u0669", "\uff11\uff16\uff16", "nan", "Infinity", "+INF"):
        with pytest.raises(errors.XNATValidationError, match="decimal number") as info:
            exp.age = text  # type: ignore[assignment]
        assert info.value.field == "age"
    scan = session.experiments[exp.id, MrSessionData].scans["1"]
    with pytest.raises(errors.XNATValidationError, match="whole number"):
        scan.frames = "\uff11\uff16\uff16"  # type: ignore[assignment]
    assert _writes(server) == []


# -- 3. custom variables set to typed values --------------------------------------------------


def test_a_custom_variable_takes_dates_numbers_and_bools_as_their_text(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    exp = session.experiments[seeded.sessions["E1"]]
    for value, text in (
        (datetime.date(2020, 1, 2), "2020-01-02"),
        (datetime.datetime(2020, 1, 2, 3, 4, 5), "2020-01-02 03:04:05"),
        (datetime.time(3, 4, 5), "03:04:05"),
        (True, "true"),
        (False, "false"),
        (7, "7"),
        (2.5, "2.5"),
    ):
        exp.fields["visit_value"] = value
        resp = requests.get(
            f"{server.url}{exp.uri}", params={"format": "json"}, auth=("admin", "admin"), timeout=30
        )
        children = resp.json()["items"][0]["children"]
        (group,) = [c for c in children if c["field"] == "fields/field"]
        stored = {i["data_fields"]["name"]: i["data_fields"]["field"] for i in group["items"]}
        assert stored["visit_value"] == text
        assert session.experiments[exp.id].fields["visit_value"] == text
    server.faults.start_recording()
    for bad in (None, [1], {"a": 1}):
        with pytest.raises(errors.XNATValidationError, match="value must be text"):
            exp.fields["visit_value"] = bad  # type: ignore[assignment]
    assert _writes(server) == []


# -- 4. key errors name the keys there are ----------------------------------------------------


def test_a_listing_key_error_lists_the_keys_there_are(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    project = session.projects[seeded.project]
    with pytest.raises(KeyError) as info:
        project.subjects["S03"]
    ids = f"{seeded.subjects['S1']}, {seeded.subjects['S2']}"
    assert f"(2 entries; IDs: {ids}; labels: S1, S2)" in str(info.value)
    scans = session.experiments[seeded.sessions["E1"], MrSessionData].scans
    with pytest.raises(errors.XNATKeyError, match=r"IDs: 1, 2, 3; types: T1, T2, FLAIR\)"):
        scans["9"]
    for number in range(12):
        server.seed_subject(seeded.project, f"M{number:02d}")
    session.clearcache()
    with pytest.raises(errors.XNATKeyError) as info:
        session.projects[seeded.project].subjects["nope"]
    message = str(info.value)
    assert "14 entries" in message and message.endswith(
        "S1, S2, M00, M01, M02, M03, M04, M05, M06, M07 and 4 more)"
    )
    subject = session.projects[seeded.project].subjects["S1"]
    subject.fields["visit_no"] = "1"
    subject.fields["arm"] = "b"
    # S1 has the custom variable visit from the fixture
    with pytest.raises(errors.XNATKeyError, match=r"\(known: arm, visit, visit_no\)"):
        subject.fields["nope"]


# -- 5. what the docs say of filters ----------------------------------------------------------


def test_several_xsi_types_are_one_comma_separated_string(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    server.seed_session(seeded.project, "S1", "CT1", xsi_type="xnat:ctSessionData")
    server.seed_session(seeded.project, "S1", "PET1", xsi_type="xnat:petSessionData")
    experiments = session.projects[seeded.project].experiments
    both = experiments.filter(xsiType="xnat:mrSessionData,xnat:ctSessionData")
    assert sorted(str(e.label) for e in both.values()) == ["CT1", "E1", "E2"]
    types = ["xnat:mrSessionData", "xnat:ctSessionData"]
    with pytest.raises(errors.XNATValidationError, match="filter values are str, got list"):
        experiments.filter(xsiType=types)  # type: ignore[arg-type]

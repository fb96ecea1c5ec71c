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

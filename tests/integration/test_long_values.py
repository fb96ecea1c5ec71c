"""Long values reach XNAT: past 4 KB of request target they go in a form body.

Tomcat (and the local server) answers 400 "Request header is too large" to a request line
and headers past 8 KB. A project description may hold 10,000 characters and an
experiment's note 2,500 (15,000 in the query string once percent-encoded, for accented
text); a custom variable has no limit. XNAT reads XPath values from a form body too.
"""

from __future__ import annotations

import pytest

import xnat_sdk
from xnat_sdk._values import MAX_TARGET
from xnat_sdk.errors import XNATBadRequestError
from xnat_sdk.models import MrSessionData
from xnat_sdk.testing.local import LocalXNAT


def _puts(server: LocalXNAT) -> list[str]:
    """The query strings of the PUTs recorded so far."""
    return [r.query for r in server.faults.recorded() if r.method == "PUT"]


def test_a_long_custom_variable_is_written_and_read_back(
    server: LocalXNAT, session: xnat_sdk.XNATSession
) -> None:
    server.seed_project("LONGV")
    server.seed_subject("LONGV", "S1")
    text = "line one\nline two & more = é " * 400  # 12,000 characters
    server.faults.start_recording()
    session.projects["LONGV"].subjects["S1"].fields["notes"] = text
    queries = _puts(server)
    assert len(queries) == 1 and len(queries[0]) < MAX_TARGET  # the value went in the body
    session.clearcache()
    assert session.projects["LONGV"].subjects["S1"].fields["notes"] == text


def test_a_long_description_and_other_fields_in_one_write(
    server: LocalXNAT, session: xnat_sdk.XNATSession
) -> None:
    server.seed_project("LONGD")
    project = session.projects["LONGD"]
    description = "Études à long terme; " * 450  # 9,450 characters, under its 10,000
    project.mset({"description": description, "keywords": "long short"})
    session.clearcache()
    again = session.projects["LONGD"]
    assert again.description == description
    assert again.keywords == "long short"


def test_an_experiment_created_with_a_long_accented_note(
    server: LocalXNAT, session: xnat_sdk.XNATSession
) -> None:
    server.seed_project("LONGN")
    server.seed_subject("LONGN", "S1")
    note = "é" * 2500  # its maximum length; 15,000 characters once percent-encoded
    server.faults.start_recording()
    subject = session.projects["LONGN"].subjects["S1"]
    subject.experiments.create("LONGN_E1", MrSessionData, note=note)
    assert all(len(query) < MAX_TARGET for query in _puts(server))
    session.clearcache()
    assert session.projects["LONGN"].subjects["S1"].experiments["LONGN_E1"].note == note


def test_short_values_stay_in_the_query_string(
    server: LocalXNAT, session: xnat_sdk.XNATSession
) -> None:
    server.seed_project("SHORTV")
    server.seed_subject("SHORTV", "S1")
    server.faults.start_recording()
    session.projects["SHORTV"].subjects["S1"].fields["cohort"] = "pilot"
    (query,) = _puts(server)
    assert "pilot" in query  # as xnatpy sends it: nothing changes for usual writes


def test_a_request_line_past_8_kb_is_refused_with_a_short_message(
    session: xnat_sdk.XNATSession,
) -> None:
    """A long query the SDK cannot move (not a write of values) gets Tomcat's 400; the
    error names the request without repeating the 9,000-character value."""
    with pytest.raises(XNATBadRequestError) as caught:
        session.get("/data/projects", query={"note": "n" * 9000})
    message = str(caught.value)
    assert "Request header is too large" in message
    assert "[9000 characters]" in message
    assert len(message) < 1000

"""The request-line limit of XNAT's Tomcat and the form bodies XNAT's writes read.

Tomcat answers 400 "Request header is too large" past 8 KB of request line and headers
(``maxHttpHeaderSize``) and closes the connection. XNAT's ``SecureResource.loadItem`` reads
XPath values from an ``application/x-www-form-urlencoded`` body as well as from the query
string, which wins for a name in both; shortcut names work in the query string only.
"""

from __future__ import annotations

import pytest
import requests

from tests.server.conftest import raw_exchange, rows
from xnat_sdk.testing._server.server import MAX_HEADER_SIZE
from xnat_sdk.testing.local import LocalXNAT


def test_a_request_past_the_header_limit_gets_tomcats_400(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    url = f"{xnat_server.url}/data/projects"
    fits = admin.get(url, params={"format": "json", "pad": "p" * (MAX_HEADER_SIZE - 1000)})
    assert fits.status_code == 200
    refused = admin.get(url, params={"format": "json", "pad": "p" * MAX_HEADER_SIZE})
    assert refused.status_code == 400
    assert "Request header is too large" in refused.text
    assert refused.headers["Connection"] == "close"
    # the headers count too
    padded = admin.get(url, params={"format": "json"}, headers={"X-Pad": "h" * MAX_HEADER_SIZE})
    assert padded.status_code == 400


def test_xpath_values_are_read_from_a_form_body(
    xnat_server: LocalXNAT, admin: requests.Session, xnat_project: str
) -> None:
    subject = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/FORM1"
    notes = "from the body & with = signs\n" * 400  # far past the header limit
    answer = admin.put(
        subject,
        params={"xsiType": "xnat:subjectData"},
        data={
            "xnat:subjectData/fields/field[name=notes]/field": notes,
            "xnat:subjectData/fields/field[name=cohort]/field": "body",
        },
    )
    assert answer.status_code in (200, 201), answer.text
    fields = _custom_fields(admin, subject)
    assert fields == {"notes": notes, "cohort": "body"}


def test_the_query_string_wins_over_the_body(
    xnat_server: LocalXNAT, admin: requests.Session, xnat_project: str
) -> None:
    subject = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/FORM2"
    key = "xnat:subjectData/fields/field[name=cohort]/field"
    answer = admin.put(
        subject, params={"xsiType": "xnat:subjectData", key: "query"}, data={key: "body"}
    )
    assert answer.status_code in (200, 201), answer.text
    assert _custom_fields(admin, subject) == {"cohort": "query"}


def test_shortcut_names_count_in_the_query_string_only(
    xnat_server: LocalXNAT, admin: requests.Session, xnat_project: str
) -> None:
    project = f"{xnat_server.url}/data/projects/{xnat_project}"
    admin.put(project, data={"description": "shortcut in the body"}).raise_for_status()
    assert _description(xnat_server, admin, xnat_project) != "shortcut in the body"
    admin.put(
        project, data={"xnat:projectData/description": "an XPath in the body"}
    ).raise_for_status()
    assert _description(xnat_server, admin, xnat_project) == "an XPath in the body"


def _description(server: LocalXNAT, admin: requests.Session, project: str) -> str:
    listing = admin.get(
        f"{server.url}/data/projects", params={"format": "json", "columns": "ID,description"}
    )
    (row,) = [r for r in rows(listing) if r["ID"] == project]
    return row.get("description", "")


def _custom_fields(admin: requests.Session, uri: str) -> dict[str, str]:
    item = admin.get(uri, params={"format": "json"}).json()["items"][0]
    out: dict[str, str] = {}
    for child in item.get("children", []):
        if child["field"] == "fields/field":
            for entry in child["items"]:
                data = entry["data_fields"]
                out[data["name"]] = data.get("field", "")
    return out


@pytest.mark.parametrize(
    "request_head",
    [
        b"GET /data/projects?pad=" + b"p" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /data/projects HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"h" * 70_000 + b"\r\n\r\n",
        b"GET /data/projects HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 1\r\n" * 120 + b"\r\n",
    ],
    ids=["line-past-64k", "header-past-64k", "too-many-headers"],
)
def test_what_http_server_refuses_itself_gets_the_same_400(
    xnat_server: LocalXNAT, request_head: bytes
) -> None:
    answer = raw_exchange(xnat_server, request_head)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Request header is too large" in answer

"""Malformed server answers raise XNATResponseError naming the method, the URL and the fault."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from xnat_sdk.errors import XNATResponseError, XNATServerError
from xnat_sdk.models import MrSessionData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import Seeded


def _raises(fault: str, url: str) -> Any:
    """``pytest.raises`` for an XNATResponseError whose message names ``url`` and ``fault``."""
    return pytest.raises(XNATResponseError, match=rf"^GET {re.escape(url)}\?.*{fault}")


# -- listings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fault"),
    [
        ({"ResultSet": {"Result": {"ID": "P1"}}}, r"ResultSet\.Result is a dict, expected a list"),
        ({"ResultSet": {"Result": ["P1", "P2"]}}, r"ResultSet\.Result\[0\] is a string"),
        ({"ResultSet": {"Result": [{"ID": {"x": 1}}]}}, r"Result\[0\]\['ID'\] is a dict"),
        ({"ResultSet": {"Result": [{"ID": "P", "name": ["n"]}]}}, r"\['name'\] is a list"),
        ({"ResultSet": {"Rows": []}}, "ResultSet has no Result"),
        ({"ResultSet": "none"}, "ResultSet is a string"),
        ({"items": []}, "has no ResultSet"),
        (["P1"], "the answer is a list"),
    ],
)
def test_a_malformed_listing_is_a_response_error(
    server: LocalXNAT, session: XNATSession, body: Any, fault: str
) -> None:
    server.faults.answer_next(body, prefix="/data/projects")
    with _raises(fault, f"{server.url}/data/projects"):
        session.projects.keys()


def test_deeply_nested_json_is_refused_before_decoding(
    server: LocalXNAT, session: XNATSession
) -> None:
    body = "[" * 100_000 + "]" * 100_000
    server.faults.answer_next(body, content_type="application/json", prefix="/data/projects")
    with _raises("nests deeper than 256 levels", f"{server.url}/data/projects"):
        session.projects.keys()


def test_deeply_nested_json_hidden_behind_brackets_in_strings_is_refused(
    server: LocalXNAT, session: XNATSession
) -> None:
    # the closing brackets inside the string hide the depth from a plain bracket count
    body = '["' + "]" * 200_000 + '", ' + "[" * 100_000 + "]" * 100_001
    server.faults.answer_next(body, content_type="application/json", prefix="/data/projects")
    with _raises("nests too deeply to decode", f"{server.url}/data/projects"):
        session.projects.keys()


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, "{not json", b"\xff\xfe\x00"])
def test_raw_get_json_refuses_what_cannot_be_decoded(
    server: LocalXNAT, session: XNATSession, body: str | bytes
) -> None:
    server.faults.answer_next(body, content_type="application/json", prefix="/data/anything")
    with _raises("", f"{server.url}/data/anything"):
        session.get_json("/data/anything")


@pytest.mark.parametrize("size", ["abc", "9" * 5000, "\u00b2", "-5", -5, 1.5])
def test_a_file_row_with_a_bad_size_is_a_response_error(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, size: object
) -> None:
    uri = f"/data/experiments/{seeded.sessions['E1']}/resources/R"
    row = {"Name": "a.dcm", "Size": size, "URI": f"{uri}/files/a.dcm", "collection": "R"}
    server.faults.answer_next({"ResultSet": {"Result": [row]}}, prefix=f"{uri}/files")
    resource = session.create_object(uri, type_="xnat:resourceCatalog")
    with _raises(
        r"Result\[0\]\['Size'\] is .*, expected a whole number", f"{server.url}{uri}/files"
    ):
        resource.files.keys()  # type: ignore[attr-defined]


def test_a_resource_listing_of_the_wrong_shape_is_a_response_error(
    server: LocalXNAT, session: XNATSession, seeded: Seeded
) -> None:
    parent = f"/data/experiments/{seeded.sessions['E1']}"
    server.faults.answer_next({"ResultSet": "rows"}, prefix=f"{parent}/resources")
    resource = session.create_object(f"{parent}/resources/R", type_="xnat:resourceCatalog")
    with _raises("ResultSet is a string", f"{server.url}{parent}/resources"):
        resource.label  # noqa: B018


# -- object documents ----------------------------------------------------------------------

_MR = {"xsi:type": "xnat:mrSessionData", "isHistory": False}


def _nested_children(levels: int) -> dict[str, Any]:
    item: dict[str, Any] = {"meta": dict(_MR), "data_fields": {}}
    for _ in range(levels):
        item = {"meta": dict(_MR), "data_fields": {}, "children": [{"field": "x", "items": [item]}]}
    return {"items": [item]}


@pytest.mark.parametrize(
    ("document", "fault"),
    [
        ([], "the object document is a list"),
        ({"items": {"0": {}}}, "items is a dict, expected a list"),
        ({"items": []}, "the object document has no items"),
        ({"items": ["x"]}, r"items\[0\] is a string"),
        ({"items": [{"meta": "x", "data_fields": {}}]}, r"items\[0\]\.meta is a string"),
        ({"items": [{"meta": _MR, "data_fields": [1, 2]}]}, r"\.data_fields is a list"),
        (
            {"items": [{"meta": _MR, "data_fields": {"label": {"x": 1}}}]},
            r"items\[0\]\.data_fields\['label'\] is a dict",
        ),
        ({"items": [{"meta": {"xsi:type": 5}}]}, r"\['xsi:type'\] is a number"),
        ({"items": [{"meta": {"isHistory": "false"}}]}, "isHistory is 'false'"),
        (
            {"items": [{"meta": _MR, "data_fields": {}, "children": {"scans/scan": []}}]},
            r"items\[0\]\.children is a dict",
        ),
        (
            {"items": [{"meta": _MR, "data_fields": {}, "children": [{"items": []}]}]},
            r"children\[0\]\.field is null",
        ),
        (
            {"items": [{"meta": _MR, "children": [{"field": "scans/scan", "items": "x"}]}]},
            r"children\[0\]\.items is a string",
        ),
        (
            {"items": [{"meta": _MR, "children": [{"field": "scans/scan", "items": [7]}]}]},
            r"children\[0\]\.items\[0\] is a number",
        ),
        (_nested_children(40), "children nest deeper than 32 levels"),
    ],
)
def test_a_malformed_object_document_is_a_response_error(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, document: Any, fault: str
) -> None:
    uri = f"/data/experiments/{seeded.sessions['E1']}"
    server.faults.answer_next(document, prefix=uri)
    with _raises(fault, f"{server.url}{uri}"):
        experiment = session.create_object(uri)
        experiment.label  # noqa: B018


def test_a_malformed_document_of_a_typed_object_is_a_response_error(
    server: LocalXNAT, session: XNATSession, seeded: Seeded
) -> None:
    uri = f"/data/experiments/{seeded.sessions['E1']}"
    experiment = session.create_object(uri, type_="xnat:mrSessionData")
    server.faults.answer_next({"items": [{"meta": _MR, "data_fields": "x"}]}, prefix=uri)
    with _raises(r"items\[0\]\.data_fields is a string", f"{server.url}{uri}"):
        experiment.label  # noqa: B018


# -- services ------------------------------------------------------------------------------


def test_search_with_nonsense_total_records_is_a_response_error(
    server: LocalXNAT, session: XNATSession
) -> None:
    for total in ("\u00b2", {"n": 1}, "-3"):
        body = {"ResultSet": {"Result": [], "totalRecords": total}}
        server.faults.answer_next(body, prefix="/data/search", method="POST")
        with pytest.raises(XNATResponseError, match=r"totalRecords is .*, expected a count") as e:
            session.query(MrSessionData).all()
        assert f"POST {server.url}/data/search" in str(e.value)


def test_search_rows_of_the_wrong_shape_are_a_response_error(
    server: LocalXNAT, session: XNATSession
) -> None:
    body = {"ResultSet": {"Result": [{"label": {"x": 1}}], "Columns": []}}
    server.faults.answer_next(body, prefix="/data/search", method="POST")
    with pytest.raises(XNATResponseError, match=r"Result\[0\]\['label'\] is a dict") as caught:
        session.query(MrSessionData).all()
    assert f"POST {server.url}/data/search" in str(caught.value)


def test_a_token_answer_of_the_wrong_shape_is_a_response_error(
    server: LocalXNAT, session: XNATSession
) -> None:
    path = "/data/services/tokens/issue"
    server.faults.answer_next({"alias": {"a": 1}, "secret": "s"}, prefix=path)
    with _raises("'alias' is a dict, expected a string", f"{server.url}{path}"):
        session.services.issue_token()


def test_a_users_listing_with_a_bad_id_is_a_response_error(
    server: LocalXNAT, session: XNATSession
) -> None:
    row = {"login": "admin", "xdat_user_id": "\u00b2", "email": "a@b"}
    server.faults.answer_next({"ResultSet": {"Result": [row]}}, prefix="/data/users")
    with _raises(
        r"\['xdat_user_id'\] is '\u00b2', expected a whole number", f"{server.url}/data/users"
    ):
        session.users["admin"]


def test_inspect_rows_of_strings_are_a_response_error(
    server: LocalXNAT, session: XNATSession
) -> None:
    server.faults.answer_next(
        {"ResultSet": {"Result": ["xnat:mrSessionData"]}}, prefix="/data/search/elements"
    )
    with _raises(r"Result\[0\] is a string", f"{server.url}/data/search/elements"):
        session.inspect.datatypes()


def test_a_prearchive_listing_of_the_wrong_shape_is_a_response_error(
    server: LocalXNAT, session: XNATSession
) -> None:
    path = "/data/prearchive/projects"
    server.faults.answer_next({"ResultSet": {"Result": {"P": "x"}}}, prefix=path)
    with _raises(r"ResultSet\.Result is a dict", f"{server.url}{path}"):
        session.prearchive.sessions()


def test_a_dicom_dump_of_the_wrong_shape_is_a_response_error(
    server: LocalXNAT, session: XNATSession, seeded: Seeded
) -> None:
    path = "/data/services/dicomdump"
    server.faults.answer_next({"ResultSet": {"Result": [1, 2]}}, prefix=path)
    with _raises(r"Result\[0\] is a number", f"{server.url}{path}"):
        session.services.dicom_dump(f"/archive/experiments/{seeded.sessions['E1']}")


# -- error messages ------------------------------------------------------------------------


def test_a_huge_server_message_is_cut_in_the_exception_text_and_kept_whole(
    server: LocalXNAT, session: XNATSession
) -> None:
    message = "boom " * 20_000
    page = f"<html><body><h3>{message}</h3><p>Restlet</p></body></html>"
    server.faults.answer_next(page, status=500, content_type="text/html", prefix="/data/projects")
    with pytest.raises(XNATServerError) as caught:
        session.get("/data/projects")
    text = str(caught.value)
    assert len(text) < 1000
    assert text.startswith(f"GET {server.url}/data/projects")
    assert f"({len(message.strip()) - 300} more characters)" in text
    assert caught.value.message == message.strip()

"""Search criteria and listing filters compared as XNAT's SQL compares them: by the field's
type (a boolean is an INTEGER 0/1 column, a number a number, a text field text), and through
a repeated child (a session's scans, custom fields) by joining its items (xdat
``DisplaySearch.getSQLQuery``, ``SearchCriteria.getSQLClause``, ``DBAction.ValueParser``;
xnat-web ``QueryOrganizerResource.processBooleanQuery``)."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
import requests

from xnat_sdk.testing.local import LocalXNAT

ADMIN = ("admin", "admin")


def _crit(field: str, op: str, value: str) -> str:
    return (
        f"<xdat:criteria><xdat:schema_field>{field}</xdat:schema_field>"
        f"<xdat:comparison_type>{escape(op)}</xdat:comparison_type>"
        f"<xdat:value>{escape(value)}</xdat:value></xdat:criteria>"
    )


def _search(server: LocalXNAT, root: str, project: str, where: str, method: str = "AND") -> int:
    """POST a search of ``root`` in ``project`` (AND the ``where`` set); the status."""
    return _searched(server, root, project, where, method)[0]


def _searched(
    server: LocalXNAT, root: str, project: str, where: str, method: str = "AND"
) -> tuple[int, list[str]]:
    body = (
        '<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security">'
        f"<xdat:root_element_name>{root}</xdat:root_element_name>"
        f"<xdat:search_field><xdat:element_name>{root}</xdat:element_name>"
        "<xdat:field_ID>xnat:imageScanData/ID</xdat:field_ID><xdat:sequence>0</xdat:sequence>"
        "</xdat:search_field>"
        f'<xdat:search_where method="AND">{_crit(f"{root}/project", "=", project)}'
        f'<xdat:child_set method="{method}">{where}</xdat:child_set></xdat:search_where>'
        "</xdat:bundle>"
    )
    if root != "xnat:mrScanData":
        body = body.replace("xnat:imageScanData/ID", "LABEL")
    resp = requests.post(
        f"{server.url}/data/search", params={"format": "json"}, data=body, auth=ADMIN
    )
    if resp.status_code != 200:
        return resp.status_code, []
    result = resp.json()["ResultSet"]["Result"]
    return 200, sorted(next(v for k, v in r.items() if k != "quarantine_status") for r in result)


@pytest.fixture
def sessions(xnat_server: LocalXNAT, xnat_project: str) -> str:
    """E1 (scans 1: T1, 10 frames, valid; 2: T2, 9 frames, invalid; custom field weight=80),
    E2 (scan 1: LOC, 100 frames, valid "1", type "010"), E3 (no scan)."""
    x, p = xnat_server, xnat_project
    x.seed_subject(p, "S")
    e1 = x.seed_session(p, "S", "E1")
    x.seed_scan(e1, "1", type="T1", fields={"frames": "10", "dcmValidation/status": "true"})
    x.seed_scan(e1, "2", type="T2", fields={"frames": "9", "dcmValidation/status": "false"})
    e2 = x.seed_session(p, "S", "E2")
    x.seed_scan(e2, "1", type="010", fields={"frames": "100", "dcmValidation/status": "1"})
    x.seed_session(p, "S", "E3")
    put = requests.put(
        f"{x.url}/data/experiments/{e1}",
        params={"xnat:mrSessionData/fields/field[name=weight]/field": "80"},
        auth=ADMIN,
    )
    assert put.status_code == 200, put.text
    return p


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", ["1", "1"]), ("TRUE", ["1", "1"]), ("false", ["2"]), ("0", ["2"]), ("no", ["2"])],
)
def test_a_boolean_criterion_compares_zero_and_one(
    xnat_server: LocalXNAT, sessions: str, value: str, expected: list[str]
) -> None:
    """``xs:boolean`` is an INTEGER column: ``true``/``1`` is 1, anything else 0."""
    where = _crit("xnat:mrScanData/dcmValidation/status", "=", value)
    assert _searched(xnat_server, "xnat:mrScanData", sessions, where) == (200, expected)


def test_numbers_compare_as_numbers_and_text_as_text(xnat_server: LocalXNAT, sessions: str) -> None:
    """A number field compares by value and a value that is no number fails the query
    (written unquoted: 500, rows or none); a text field compares text even when both look
    like numbers."""
    frames = "xnat:mrScanData/frames"
    assert _searched(xnat_server, "xnat:mrScanData", sessions, _crit(frames, "<", "10")) == (
        200,
        ["2"],
    )
    assert _search(xnat_server, "xnat:mrScanData", sessions, _crit(frames, "=", "ten")) == 500
    # the SQL fails whatever the rows: here the project criterion alone excludes them all
    assert _search(xnat_server, "xnat:mrScanData", "NONE", _crit(frames, "=", "ten")) == 500
    text = _crit("xnat:mrScanData/type", "=", "10")
    assert _searched(xnat_server, "xnat:mrScanData", sessions, text) == (200, [])


def test_a_like_on_an_xml_path_matches_anywhere(xnat_server: LocalXNAT, sessions: str) -> None:
    """``LIKE`` of an XML path is ``LIKE '%value%'`` (its own ``%`` stripped first); of a
    display field (``DisplayCriteria``) the pattern as given, case aside."""
    where = _crit("xnat:mrSessionData/label", "LIKE", "1%")  # not "starts with 1"
    assert _searched(xnat_server, "xnat:mrSessionData", sessions, where) == (200, ["E1"])
    shown = "xnat:mrSessionData.LABEL"
    assert _searched(xnat_server, "xnat:mrSessionData", sessions, _crit(shown, "LIKE", "e")) == (
        200,
        [],
    )
    assert _searched(xnat_server, "xnat:mrSessionData", sessions, _crit(shown, "LIKE", "e_")) == (
        200,
        ["E1", "E2", "E3"],
    )
    where = _crit("xnat:mrSessionData/label", "LIKE", "*e_")
    assert _searched(xnat_server, "xnat:mrSessionData", sessions, where) == (
        200,
        ["E1", "E2", "E3"],
    )


def test_a_criterion_through_the_scans_holds_when_one_scan_does(
    xnat_server: LocalXNAT, sessions: str
) -> None:
    """The scans are joined (one row per scan, ``SELECT DISTINCT`` of the session): a
    criterion on a scan's field holds when one scan's does, and two criteria ANDed on the
    scans must hold for the same scan; a session without scans is a row of NULLs."""
    root = "xnat:mrSessionData"
    scan_type = "xnat:mrSessionData/scans/scan/type"
    assert _searched(xnat_server, root, sessions, _crit(scan_type, "=", "T2")) == (200, ["E1"])
    status = "xnat:mrSessionData/scans/scan/dcmValidation/status"
    valid = _crit(status, "=", "1")
    assert _searched(xnat_server, root, sessions, valid) == (200, ["E1", "E2"])
    same_scan = valid + _crit(scan_type, "=", "T2")
    assert _searched(xnat_server, root, sessions, same_scan) == (200, [])
    frames = _crit("xnat:mrSessionData/scans/scan/frames", ">", "50")
    assert _searched(xnat_server, root, sessions, frames) == (200, ["E2"])
    none = _crit(scan_type, "IS NULL", "")
    assert _searched(xnat_server, root, sessions, none) == (200, ["E3"])


def test_a_criterion_on_a_custom_field(xnat_server: LocalXNAT, sessions: str) -> None:
    """``fields/field`` items are joined too: ``name`` and the value ``field``."""
    root = "xnat:mrSessionData"
    where = _crit(f"{root}/fields/field/name", "=", "weight") + _crit(
        f"{root}/fields/field/field", "=", "80"
    )
    assert _searched(xnat_server, root, sessions, where) == (200, ["E1"])


def test_criteria_on_two_repeated_children_do_not_try_every_pair_of_items(
    xnat_server: LocalXNAT, xnat_project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join of a session's scans and custom fields was tried row by row, every pair:
    300 scans and 300 fields, 90,000 rows, ~0.7 s for one session (minutes for a project of
    such sessions). A child's items with the same outcome of the criteria on them are one
    row now; the answers are the same (the same item must hold a child's criteria)."""
    from xnat_sdk.testing._areas.search_service import query

    x, p, root, n = xnat_server, xnat_project, "xnat:mrSessionData", 300
    x.seed_bulk(p, 1, scans_per_session=n)
    (session,) = requests.get(f"{x.url}/data/projects/{p}/experiments", auth=ADMIN).json()[
        "ResultSet"
    ]["Result"]
    url = f"{x.url}/data/experiments/{session['ID']}"
    for first in range(1, n + 1, 100):  # (a URL within Tomcat's header size)
        fields = {
            f"{root}/fields/field[name=f{k}]/field": str(k) for k in range(first, first + 100)
        }
        assert requests.put(url, params=fields, auth=ADMIN).ok
    reads: list[int] = []
    real = query._Records.item_value

    def counted(self: query._Records, *args: object) -> object:
        reads.append(1)
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(query._Records, "item_value", counted)
    scan = _crit(f"{root}/scans/scan/type", "=", f"T{n}")
    field = _crit(f"{root}/fields/field/name", "=", "f7")
    assert _searched(x, root, p, scan + field + _crit(f"{root}/fields/field/field", "=", "7"))[
        1
    ] == ["SUBJ_00001_MR1"]
    assert _searched(x, root, p, scan + field + _crit(f"{root}/fields/field/field", "=", "8")) == (
        200,
        [],
    )  # f7's value is 7: name and value must hold for the same field
    assert len(reads) < 20 * n  # (each pair tried: over 2 x 90,000)


def test_a_listing_filter_on_a_boolean_field(xnat_server: LocalXNAT, xnat_project: str) -> None:
    """``processBooleanQuery``: each comma-separated value ``true``/``1`` is 1, any other 0,
    compared with the 0/1 the stored value was made into, which the column shows."""
    url = f"{xnat_server.url}/data/projects/{xnat_project}"
    other = f"{xnat_project}_B"
    xnat_server.seed_project(other)
    for project, active in ((xnat_project, "1"), (other, "false")):
        resp = requests.put(
            f"{xnat_server.url}/data/projects/{project}",
            params={"xnat:projectData/active": active},
            auth=ADMIN,
        )
        assert resp.status_code == 200, (url, resp.text)

    def listed(value: str) -> list[str]:
        resp = requests.get(
            f"{xnat_server.url}/data/projects",
            params={"format": "json", "xnat:projectData/active": value},
            auth=ADMIN,
        )
        assert resp.status_code == 200
        ids = {r["ID"] for r in resp.json()["ResultSet"]["Result"]}
        return sorted(ids & {xnat_project, other})

    assert listed("true") == listed("TRUE") == [xnat_project]
    assert listed("0") == listed("no") == [other]
    assert listed("true,0") == sorted([xnat_project, other])
    resp = requests.get(
        f"{xnat_server.url}/data/projects",
        params={"format": "json", "columns": "ID,xnat:projectData/active"},
        auth=ADMIN,
    )
    values = {r["ID"]: r["xnat:projectdata/active"] for r in resp.json()["ResultSet"]["Result"]}
    assert (values[xnat_project], values[other]) == ("1", "0")  # an INTEGER column


def test_a_listing_filter_xnat_adds_no_clause_for(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    """``processQueryCriteria`` switches on the field's Java type: ``xs:long`` (a
    ``java.lang.Long``: a resource's ``file_size``) has no case, so the filter is an empty
    criteria collection, as one on an unknown field is. Alone it sets no WHERE (all rows);
    next to a real filter it is written ``()`` and the query fails (500)."""
    for label in ("S1", "S2"):
        xnat_server.seed_subject(xnat_project, label)
    url = f"{xnat_server.url}/data/projects/{xnat_project}/subjects"
    size = {"xnat:subjectData/resources/resource/file_size": "10"}

    def listed(params: dict[str, str]) -> int | list[str]:
        resp = requests.get(url, params={"format": "json", **params}, auth=ADMIN)
        if resp.status_code != 200:
            return resp.status_code
        return sorted(r["label"] for r in resp.json()["ResultSet"]["Result"])

    assert listed(size) == ["S1", "S2"]
    assert listed({**size, "label": "S1"}) == 500
    assert listed({"xnat:subjectData/noSuchField": "x", "label": "S1"}) == 500
    assert listed({"label": "S1"}) == ["S1"]


def test_a_boolean_search_column_shows_zero_and_one(xnat_server: LocalXNAT, sessions: str) -> None:
    """A search field given as an XML path is a display field made for it, of its schema
    field's XML type (``SchemaElement.createDisplayFieldForXMLPath``: ``boolean``); the
    column holds the 0/1 of the INTEGER column."""
    status = "xnat:mrScanData/dcmValidation/status"
    body = (
        '<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security">'
        "<xdat:root_element_name>xnat:mrScanData</xdat:root_element_name>"
        "<xdat:search_field><xdat:element_name>xnat:mrScanData</xdat:element_name>"
        "<xdat:field_ID>xnat:mrScanData/type</xdat:field_ID><xdat:sequence>0</xdat:sequence>"
        "</xdat:search_field><xdat:search_field><xdat:element_name>xnat:mrScanData"
        f"</xdat:element_name><xdat:field_ID>{status}</xdat:field_ID>"
        "<xdat:sequence>1</xdat:sequence></xdat:search_field>"
        f'<xdat:search_where method="AND">{_crit("xnat:mrScanData/project", "=", sessions)}'
        "</xdat:search_where></xdat:bundle>"
    )
    resp = requests.post(
        f"{xnat_server.url}/data/search", params={"format": "json"}, data=body, auth=ADMIN
    )
    result_set = resp.json()["ResultSet"]
    key = "xnat_col_mrscandatadcmvalidationstatus"
    assert next(c for c in result_set["Columns"] if c["key"] == key)["type"] == "boolean"
    got = sorted((r["type"], r[key]) for r in result_set["Result"])
    assert got == [("010", "1"), ("T1", "1"), ("T2", "0")]

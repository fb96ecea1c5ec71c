"""Search elements, search fields and ``POST /data/search`` checked against seeded data."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from xml.sax.saxutils import escape

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk.testing._areas.search_service.bundle import (
    CriteriaSet,
    Criterion,
    SearchBundleError,
    compare,
    parse_bundle,
)
from xnat_sdk.testing.local import LocalXNAT

# (project, subject, gender, session label, xsi type, date)
SESSIONS = [
    ("SA", "A01", "male", "A01_MR1", "xnat:mrSessionData", "2020-01-05"),
    ("SA", "A01", "male", "A01_MR2", "xnat:mrSessionData", "2021-06-30"),
    ("SA", "A02", "female", "A02_MR1", "xnat:mrSessionData", "2022-03-01"),
    ("SA", "A02", "female", "A02_CT1", "xnat:ctSessionData", "2022-03-02"),
    ("SB", "B01", "female", "B01_MR1", "xnat:mrSessionData", "2019-12-31"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    with LocalXNAT() as xnat:
        xnat.seed_project("SA")
        xnat.seed_project("SB")
        xnat.add_member("SA", "user", "member")
        subjects: dict[tuple[str, str], str] = {}
        for project, subject, gender, label, xsi, date in SESSIONS:
            if (project, subject) not in subjects:
                subjects[project, subject] = xnat.seed_subject(
                    project, subject, fields={"demographics/gender": gender}
                )
            eid = xnat.seed_session(project, subject, label, xsi_type=xsi, fields={"date": date})
            scan_type = "xnat:ctScanData" if "ct" in xsi else "xnat:mrScanData"
            xnat.seed_scan(eid, "1", type="LOC", xsi_type=scan_type)
        yield xnat


@pytest.fixture()
def admin() -> requests.Session:
    s = requests.Session()
    s.auth = ("admin", "admin")
    return s


def bundle(root: str, fields: list[tuple[str, str]], where: str, method: str = "AND") -> str:
    parts = [
        '<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security">',
        f"<xdat:root_element_name>{root}</xdat:root_element_name>",
    ]
    for i, (element, field) in enumerate(fields):
        parts.append(
            f"<xdat:search_field><xdat:element_name>{element}</xdat:element_name>"
            f"<xdat:field_ID>{field}</xdat:field_ID><xdat:sequence>{i}</xdat:sequence>"
            "<xdat:type>string</xdat:type><xdat:header>h</xdat:header></xdat:search_field>"
        )
    parts.append(f'<xdat:search_where method="{method}">{where}</xdat:search_where></xdat:bundle>')
    return "".join(parts)


def crit(field: str, op: str, value: str) -> str:
    return (
        '<xdat:criteria override_value_formatting="0">'
        f"<xdat:schema_field>{field}</xdat:schema_field>"
        f"<xdat:comparison_type>{escape(op)}</xdat:comparison_type>"
        f"<xdat:value>{escape(value)}</xdat:value></xdat:criteria>"
    )


def test_elements_list_every_type_with_counts(server: LocalXNAT, admin: requests.Session) -> None:
    resp = admin.get(server.url + "/data/search/elements")
    assert resp.status_code == 200
    result_set = resp.json()["ResultSet"]
    assert result_set["title"] == "Data-Types" and "totalRecords" not in result_set
    rows = {r["ELEMENT_NAME"]: r for r in result_set["Result"]}
    assert rows["xnat:projectData"]["COUNT"] == "2"
    assert rows["xnat:subjectData"]["COUNT"] == "3"
    assert rows["xnat:mrSessionData"]["COUNT"] == "4"
    assert rows["xnat:ctSessionData"]["COUNT"] == "1"
    assert rows["xnat:mrScanData"]["COUNT"] == "4"
    assert rows["xnat:ctSessionData"]["SINGULAR"] == "CT Session"
    assert rows["xnat:mrSessionData"]["SECURED"] == "true"
    assert all(
        set(r) == {"ELEMENT_NAME", "SINGULAR", "PLURAL", "SECURED", "COUNT"} for r in rows.values()
    )
    used = admin.get(server.url + "/data/search/elements", params={"used": "true"}).json()
    assert "xnat:petSessionData" not in {r["ELEMENT_NAME"] for r in used["ResultSet"]["Result"]}


def test_element_counts_are_the_sites_unless_readable_is_asked(server: LocalXNAT) -> None:
    """XNAT's ``SearchElementListResource`` counts the site's records for every user
    (``getTotalCounts``); ``?readable`` counts those the user can read (member of SA only:
    SA's 2 subjects, 4 sessions, 4 scans; SB's are not)."""
    user = requests.Session()
    user.auth = ("user", "user")

    def counts(**params: str) -> dict[str, str]:
        answer = user.get(server.url + "/data/search/elements", params=params)
        assert answer.status_code == 200
        return {r["ELEMENT_NAME"]: r["COUNT"] for r in answer.json()["ResultSet"]["Result"]}

    site = counts()
    assert (site["xnat:projectData"], site["xnat:subjectData"], site["xnat:mrSessionData"]) == (
        "2",
        "3",
        "4",
    )
    mine = counts(readable="true")
    assert mine["xnat:projectData"] == "1" and mine["xnat:subjectData"] == "2"
    assert mine["xnat:mrSessionData"] == "3" and mine["xnat:ctSessionData"] == "1"
    assert mine["xnat:mrScanData"] == "3" and mine["xnat:ctScanData"] == "1"


def test_search_fields(server: LocalXNAT, admin: requests.Session) -> None:
    url = server.url + "/data/search/elements/xnat:mrSessionData"
    resp = admin.get(url, params={"format": "json"})
    rows = resp.json()["ResultSet"]["Result"]
    ids = {r["FIELD_ID"] for r in rows}
    assert {"SESSION_ID", "LABEL", "SUBJECT_ID", "PROJECT", "DATE"} <= ids
    assert {r["ELEMENT_NAME"] for r in rows} == {"xnat:mrSessionData"}
    assert admin.get(url).headers["Content-Type"].startswith("text/xml")
    bad = admin.get(
        server.url + "/data/search/elements/xnat:nothingHere", params={"format": "json"}
    )
    assert bad.status_code == 400


def _search(admin: requests.Session, url: str, body: str, fmt: str = "json") -> requests.Response:
    return admin.post(url + "/data/search", params={"format": fmt}, data=body)


@pytest.mark.parametrize(
    ("where", "method", "expected"),
    [
        (crit("xnat:mrSessionData/project", "=", "SA"), "AND", {"A01_MR1", "A01_MR2", "A02_MR1"}),
        (crit("xnat:mrSessionData.PROJECT", "=", "SB"), "AND", {"B01_MR1"}),
        (
            crit("xnat:mrSessionData/date", ">=", "01/01/2021")
            + crit("xnat:mrSessionData/label", "LIKE", "%MR%"),
            "AND",
            {"A01_MR2", "A02_MR1"},
        ),
        (
            crit("xnat:mrSessionData/label", "=", "B01_MR1")
            + crit("xnat:mrSessionData/label", "=", "A01_MR1"),
            "OR",
            {"B01_MR1", "A01_MR1"},
        ),
        (
            crit(
                "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender",
                "=",
                "female",
            )
            + '<xdat:child_set method="OR">'
            + crit("xnat:mrSessionData/project", "=", "SA")
            + crit("xnat:mrSessionData/date", "<", "2020-01-01")
            + "</xdat:child_set>",
            "AND",
            {"A02_MR1", "B01_MR1"},
        ),
        ("", "AND", {"A01_MR1", "A01_MR2", "A02_MR1", "B01_MR1"}),
    ],
)
def test_posted_search_matches_seeded_data(
    server: LocalXNAT, admin: requests.Session, where: str, method: str, expected: set[str]
) -> None:
    body = bundle(
        "xnat:mrSessionData",
        [("xnat:mrSessionData", "LABEL"), ("xnat:subjectData", "SUBJECT_LABEL")],
        where,
        method,
    )
    resp = _search(admin, server.url, body)
    assert resp.status_code == 200, resp.text
    rs = resp.json()["ResultSet"]
    assert rs["rootElementName"] == "xnat:mrSessionData"
    assert rs["totalRecords"] == str(len(expected))
    assert {r["label"] for r in rs["Result"]} == expected
    keys = [c["key"] for c in rs["Columns"]]
    # only the fields asked for, then the root's quarantine status (SearchResource)
    assert keys == ["label", "xnat_subjectdata_subject_label", "quarantine_status"]
    expected_subjects = {label: subj for _, subj, _, label, _, _ in SESSIONS}
    for row in rs["Result"]:
        assert row["xnat_subjectdata_subject_label"] == expected_subjects[row["label"]]
        assert row["quarantine_status"] == "active"


def test_sort_by_a_result_column(server: LocalXNAT, admin: requests.Session) -> None:
    """``sortBy``/``sortOrder`` sort a search's rows by a result column's key, as every table
    ``SecureResource.representTable`` answers (the default: the first column)."""
    body = bundle("xnat:mrSessionData", [("xnat:mrSessionData", "LABEL")], "")
    by_default = _search(admin, server.url, body).json()["ResultSet"]["Result"]
    labels = [r["label"] for r in by_default]
    assert labels == sorted(labels) and len(labels) == 4
    url = f"{server.url}/data/search"
    params = {"format": "json", "sortBy": "label", "sortOrder": "DESC"}
    down = admin.post(url, params=params, data=body).json()["ResultSet"]["Result"]
    assert [r["label"] for r in down] == labels[::-1]


def test_csv_xml_formats_and_xnatpy_style_fields(
    server: LocalXNAT, admin: requests.Session
) -> None:
    # xnatpy sends XML paths as field IDs and reads CSV rows by key
    body = bundle(
        "xnat:ctSessionData",
        [
            ("xnat:ctSessionData", "xnat:ctSessionData/ID"),
            ("xnat:ctSessionData", "xnat:ctSessionData/project"),
            ("xnat:ctSessionData", "xnat:ctSessionData/subject_ID"),
        ],
        crit("xnat:ctSessionData/project", "=", "SA"),
    )
    resp = _search(admin, server.url, body, "csv")
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == 1
    assert rows[0]["project"] == "SA" and rows[0]["session_id"].startswith("XNAT_E")
    assert rows[0]["subject_id"].startswith("XNAT_S")
    resp = _search(admin, server.url, body, "xml")
    assert resp.text.startswith('<ResultSet totalRecords="1"')


def test_subject_and_scan_roots(server: LocalXNAT, admin: requests.Session) -> None:
    body = bundle(
        "xnat:subjectData",
        [("xnat:subjectData", "SUBJECT_LABEL")],
        crit("xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender", "=", "female"),
    )
    rows = _search(admin, server.url, body).json()["ResultSet"]["Result"]
    assert {r["subject_label"] for r in rows} == {"A02", "B01"}
    body = bundle("xnat:ctScanData", [], crit("xnat:ctScanData/type", "=", "LOC"))
    rows = _search(admin, server.url, body).json()["ResultSet"]["Result"]
    assert len(rows) == 1 and rows[0]["project"] == "SA"


def test_rows_limited_to_readable_projects(server: LocalXNAT) -> None:
    user = requests.Session()
    user.auth = ("user", "user")
    body = bundle(
        "xnat:mrSessionData",
        [("xnat:mrSessionData", "LABEL"), ("xnat:mrSessionData", "PROJECT")],
        "",
    )
    rows = _search(user, server.url, body).json()["ResultSet"]["Result"]
    assert {r["project"] for r in rows} == {"SA"}


@pytest.mark.parametrize(
    "body",
    ["<not xml", "<x/>", '<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security"/>'],
)
def test_bad_documents_are_422(server: LocalXNAT, admin: requests.Session, body: str) -> None:
    assert _search(admin, server.url, body).status_code == 422


# -- searchxml units ------------------------------------------------------------------------


def test_parse_bundle_structure() -> None:
    parsed = parse_bundle(
        bundle(
            "xnat:subjectData",
            [("xnat:subjectData", "B"), ("xnat:subjectData", "A")],
            crit("xnat:subjectData/label", "=", "x")
            + '<xdat:child_set method="OR">'
            + crit("a/b", "LIKE", "%y")
            + "</xdat:child_set>",
        )
    )
    assert parsed.root_element == "xnat:subjectData"
    assert [f.field_id for f in parsed.fields] == ["B", "A"]
    assert parsed.where == CriteriaSet(
        "AND",
        (
            Criterion("xnat:subjectData/label", "=", "x"),
            CriteriaSet("OR", (Criterion("a/b", "LIKE", "%y"),)),
        ),
    )
    with pytest.raises(SearchBundleError, match="comparison_type"):
        parse_bundle(bundle("xnat:subjectData", [], crit("a", "~~", "b")))


@given(a=st.integers(-1000, 1000), b=st.integers(-1000, 1000))
def test_compare_numbers_by_value(a: int, b: int) -> None:
    assert compare(str(a), "<", str(b)) == (a < b)
    assert compare(str(a), ">=", str(b)) == (a >= b)
    assert compare(str(a), "=", f"{b}.0") == (a == b)


@given(a=st.dates(dt.date(1900, 1, 1)), b=st.dates(dt.date(1900, 1, 1)))
def test_compare_dates_in_both_notations(a: dt.date, b: dt.date) -> None:
    assert compare(a.isoformat(), "<=", b.strftime("%m/%d/%Y")) == (a <= b)
    assert compare(a.isoformat(), "!=", b.isoformat()) == (a != b)


@given(text=st.text(alphabet="abcXYZ_%", max_size=8), needle=st.text(alphabet="abc", max_size=3))
def test_like_is_case_insensitive_substring(text: str, needle: str) -> None:
    assert compare(text, "LIKE", f"%{needle}%") == (needle.lower() in text.lower())
    assert compare(text.upper(), "LIKE", f"%{needle}%") == (needle.lower() in text.lower())
    assert compare(None, "IS NULL", "") and not compare("x", "IS NULL", "")


def test_stored_searches(server: LocalXNAT, admin: requests.Session) -> None:
    body = bundle(
        "xnat:mrSessionData",
        [("xnat:mrSessionData", "LABEL")],
        crit("xnat:mrSessionData/project", "=", "SB"),
    ).replace("<xdat:bundle ", '<xdat:bundle brief-description="sb_sessions" ', 1)
    url = server.url + "/data/search/saved"
    assert admin.put(url + "/sb1", data=body).status_code == 200
    assert admin.put(url + "/bad", data="<nope/>").status_code == 422
    listing = admin.get(url, params={"format": "json"}).json()["ResultSet"]["Result"]
    assert {
        "id": "sb1",
        "brief_description": "sb_sessions",
        "description": "",
        "root_element_name": "xnat:mrSessionData",
    } in listing
    assert admin.get(url + "/sb1").text == body
    results = admin.get(url + "/sb1/results", params={"format": "json"}).json()
    assert [r["label"] for r in results["ResultSet"]["Result"]] == ["B01_MR1"]
    user = requests.Session()
    user.auth = ("user", "user")
    assert user.delete(url + "/sb1").status_code == 403
    assert admin.delete(url + "/sb1").status_code == 200
    assert admin.get(url + "/sb1").status_code == 404


def test_pyxnat_saved_search_round_trip(server: LocalXNAT) -> None:
    pyxnat = pytest.importorskip("pyxnat")
    interface = pyxnat.Interface(server=server.url, user="admin", password="admin")
    search = interface.manage.search
    search.save(
        "female_subjects",
        "xnat:subjectData",
        ["xnat:subjectData/SUBJECT_LABEL"],
        [
            ("xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender", "=", "female"),
            "AND",
        ],
    )
    assert "female_subjects" in search.saved()
    table = search.get("female_subjects")
    assert {row["subject_label"] for row in table} == {"A02", "B01"}
    search.delete("female_subjects")
    assert "female_subjects" not in search.saved()


def test_readable_counts_include_what_is_shared_into_a_readable_project() -> None:
    import xnat_sdk

    with LocalXNAT() as xnat:
        xnat.seed_project("OWN")
        xnat.seed_project("OTHER")
        xnat.add_member("OWN", "user", "member")
        xnat.seed_subject("OTHER", "X1")
        xnat.seed_session("OTHER", "X1", "X1_MR")
        with xnat_sdk.connect(xnat.url, user="admin", password="admin") as session:
            other = session.projects["OTHER"].subjects["X1"]
            other.share("OWN")
            other.experiments["X1_MR"].share("OWN")
        user = requests.Session()
        user.auth = ("user", "user")
        answer = user.get(xnat.url + "/data/search/elements", params={"readable": "1"})
        counts = {r["ELEMENT_NAME"]: r["COUNT"] for r in answer.json()["ResultSet"]["Result"]}
        assert counts["xnat:projectData"] == "1"
        assert (counts["xnat:subjectData"], counts["xnat:mrSessionData"]) == ("1", "1")


def test_a_child_elements_field_is_read_through_its_xsi_type(
    server: LocalXNAT, admin: requests.Session
) -> None:
    """A field of a single child element of a named type (a subject's demographics) is a
    criterion and a column by its XML path with ``[@xsi:type=...]`` (XFT's
    ``getTableAndFieldGrandSQLForXMLPath``); without it the path names a field of the
    declared ``xnat:abstractDemographicData``, which has none: XNAT's criterion is null and
    the query fails (500). A column through a repeated element (``scans/scan``) is dropped
    (``createDisplayFieldForXMLPath`` makes none: ``IsMultipleReference``)."""
    gender = "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender"
    body = bundle(
        "xnat:subjectData",
        [("xnat:subjectData", "xnat:subjectData/label"), ("xnat:subjectData", gender)],
        crit(gender, "=", "female"),
    )
    resp = _search(admin, server.url, body)
    assert resp.status_code == 200, resp.text
    rows = resp.json()["ResultSet"]["Result"]
    key = "xnat_col_subjectdatademographicsxsi_col_type_xnat_col_demographicdatagender"
    assert sorted((r["xnat_col_subjectdatalabel"], r[key]) for r in rows) == [
        ("A02", "female"),
        ("B01", "female"),
    ]
    plain = bundle("xnat:subjectData", [], crit("xnat:subjectData/demographics/gender", "=", "f"))
    assert _search(admin, server.url, plain).status_code == 500
    wrong = crit(gender.replace("demographicData]", "bogusData]"), "=", "female")
    assert _search(admin, server.url, bundle("xnat:subjectData", [], wrong)).status_code == 500
    listed = bundle(
        "xnat:mrSessionData",
        [
            ("xnat:mrSessionData", "LABEL"),
            ("xnat:mrSessionData", "xnat:mrSessionData/scans/scan/type"),
        ],
        crit("xnat:mrSessionData/label", "=", "A01_MR1"),
    )
    answer = _search(admin, server.url, listed).json()["ResultSet"]
    assert [c["key"] for c in answer["Columns"]] == ["label", "quarantine_status"]


def test_the_projects_field_lists_the_primary_project_and_the_shares() -> None:
    """XNAT's ``PROJECTS`` display field: an experiment's ``<A>,<B>,<C>`` (its type's
    ``{TYPE}_PROJECTS`` view: ``mrSessionData_display.xml``), a subject's ``,<A>,<B>``
    (``SUB_PROJECTS`` of ``subjectData_display.xml``); labels left out; a criterion on it
    matches the text."""
    with LocalXNAT() as xnat:
        for project in ("PA", "PB", "PC"):
            xnat.seed_project(project)
        xnat.seed_subject("PA", "S1")
        xnat.seed_session("PA", "S1", "E1")
        xnat.seed_subject("PA", "S2")
        admin = requests.Session()
        admin.auth = ("admin", "admin")
        base = f"{xnat.url}/data/projects/PA/subjects/S1"
        for url, target in ((f"{base}/experiments/E1", "PB"), (f"{base}/experiments/E1", "PC")):
            assert admin.put(f"{url}/projects/{target}", params={"label": f"E1_{target}"}).ok
        assert admin.put(f"{base}/projects/PB").ok
        root = "xnat:mrSessionData"
        answer = _search(admin, xnat.url, bundle(root, [(root, "LABEL"), (root, "PROJECTS")], ""))
        assert answer.json()["ResultSet"]["Result"] == [
            {"label": "E1", "projects": "<PA>,<PB>,<PC>", "quarantine_status": "active"}
        ]
        root = "xnat:subjectData"
        fields = [(root, "SUBJECT_LABEL"), (root, "PROJECTS")]
        answer = _search(admin, xnat.url, bundle(root, fields, ""))
        rows = answer.json()["ResultSet"]["Result"]
        assert [(r["subject_label"], r["projects"]) for r in rows] == [
            ("S1", ",<PA>,<PB>"),
            ("S2", ",<PA>"),
        ]
        shared = crit(f"{root}.PROJECTS", "LIKE", "%<PB>%")
        answer = _search(admin, xnat.url, bundle(root, fields, shared))
        assert [r["subject_label"] for r in answer.json()["ResultSet"]["Result"]] == ["S1"]

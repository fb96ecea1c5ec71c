"""The archive listings archive-scale loading rests on, checked against xnat-web's source:
paging (``SecureResource.buildOffsetFromParams``), the columns a query with an unsecured
root always selects (``ExperimentListResource``, ``ProjSubExptList``), and the root a column
or a filter narrows ``/data/experiments`` to (``QueryOrganizerResource.getRootElementName``).
"""

from __future__ import annotations

import csv
import io

import requests

from tests.server.conftest import rows
from xnat_sdk.testing.local import LocalXNAT


def _meta(resp: requests.Response) -> dict[str, object]:
    assert resp.status_code == 200, (resp.status_code, resp.text[:300])
    result: dict[str, object] = resp.json()["ResultSet"]
    return result


def _mixed(server: LocalXNAT, project: str) -> dict[str, str]:
    """A subject with an MR, a PET and a CT session (two scans each); the session IDs."""
    server.seed_subject(project, "S1")
    ids = {}
    for label, xsi in (
        ("MR", "xnat:mrSessionData"),
        ("PET", "xnat:petSessionData"),
        ("CT", "xnat:ctSessionData"),
    ):
        ids[label] = server.seed_session(project, "S1", f"S1_{label}", xsi_type=xsi)
        for scan in ("1", "2"):
            server.seed_scan(ids[label], scan, type=f"T{scan}", xsi_type=xsi[:-11] + "ScanData")
    return ids


# -- paging: SecureResource.buildOffsetFromParams ---------------------------------------------


def test_offset_alone_pages_by_the_default_page_size(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``offset`` without ``limit`` takes ``DEFAULT_PAGE_SIZE`` (100) rows; a paged answer
    has no ``totalRecords``."""
    xnat_server.seed_bulk(xnat_project, 130, scans_per_session=0)
    base = f"{xnat_server.url}/data/projects/{xnat_project}"
    for listing in ("subjects", "experiments"):
        got = _meta(admin.get(f"{base}/{listing}", params={"columns": "ID", "offset": "5"}))
        assert len(got["Result"]) == 100  # type: ignore[arg-type]
        assert "totalRecords" not in got
    got = _meta(admin.get(f"{xnat_server.url}/data/experiments", params={"offset": "5"}))
    assert len(got["Result"]) == 100  # type: ignore[arg-type]


def test_paging_turned_off_and_to_nothing(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``*`` for ``limit`` or ``offset`` turns paging off (every row, ``totalRecords``), as
    does ``limit=0&offset=0``; ``limit=0`` with an offset is ``LIMIT 0``: no rows."""
    for i in range(4):
        xnat_server.seed_subject(xnat_project, f"S{i}")
    url = f"{xnat_server.url}/data/projects/{xnat_project}/subjects"
    for params in ({"limit": "*", "offset": "2"}, {"offset": "*"}, {"limit": "0", "offset": "0"}):
        got = _meta(admin.get(url, params={"columns": "ID", **params}))
        assert (len(got["Result"]), got["totalRecords"]) == (4, "4"), params  # type: ignore[arg-type]
    got = _meta(admin.get(url, params={"limit": "0", "offset": "1"}))
    assert got["Result"] == [] and "totalRecords" not in got
    got = _meta(admin.get(url, params={"limit": "2", "offset": "1"}))
    assert [r["label"] for r in got["Result"]] == ["S1", "S2"]  # type: ignore[attr-defined]


def test_a_limit_that_is_not_a_number_fails_the_query(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``Long.valueOf`` throws inside the listing's try: the subject listings and
    ``/data/experiments`` answer 500, a project's experiments (``ProjSubExptList`` logs
    and renders no table) a 200 with an empty body."""
    xnat_server.seed_subject(xnat_project, "S1")
    url = xnat_server.url
    for path in (f"/data/projects/{xnat_project}/subjects", "/data/subjects", "/data/experiments"):
        assert admin.get(url + path, params={"limit": "ten"}).status_code == 500, path
    resp = admin.get(f"{url}/data/projects/{xnat_project}/experiments", params={"offset": "x"})
    assert (resp.status_code, resp.content) == (200, b"")


# -- the columns an unsecured root adds -------------------------------------------------------


def test_project_experiments_with_an_unsecured_root_carry_xsitype_and_project(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``ProjSubExptList`` adds ``xnat:experimentData/extension_item/element_name`` and
    ``xnat:experimentData/project`` when the root (default ``xnat:subjectAssessorData``, or
    ``xsiType=xnat:imageSessionData``) is not a secured element, to check access row by row:
    they come whatever ``columns=`` says. A secured root (``xnat:ctSessionData``) adds
    neither."""
    _mixed(xnat_server, xnat_project)
    url = f"{xnat_server.url}/data/projects/{xnat_project}/experiments"
    got = rows(admin.get(url, params={"columns": "ID,label", "format": "json"}))
    assert {(r["xsiType"], r["project"]) for r in got} == {
        (x, xnat_project)
        for x in ("xnat:mrSessionData", "xnat:petSessionData", "xnat:ctSessionData")
    }
    # the scans joined in as the archive-scale tree load asks for them
    resp = admin.get(
        url,
        params={
            "xsiType": "xnat:imageSessionData",
            "columns": "ID,xnat:imageScanData/ID",
            "format": "csv",
        },
    )
    table = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(table) == 6
    assert set(table[0]) == {
        "ID",
        "xnat:imagescandata/id",
        "session_ID",  # the root's key, named by the shortcut of its path (formatHeaders)
        "xsiType",
        "project",
        "URI",
    }
    (ct,) = rows(admin.get(url, params={"columns": "ID,label", "xsiType": "xnat:ctSessionData"}))
    assert set(ct) == {"ID", "label", "xnat:ctsessiondata/id", "URI"}


def test_a_column_narrows_data_experiments_to_a_secured_root(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """A column or filter of a type extending ``xnat:experimentData`` makes that type the
    root: its rows only, keyed by its own ID column (``QueryOrganizer.setPKField``), no
    ``xsiType``/``project`` added (the type is secured), and the defaults of a subject
    assessor root (``subject_ID``, ``subject_label``: ``ExperimentListResource
    .getDefaultFields``)."""
    ids = _mixed(xnat_server, xnat_project)
    url = f"{xnat_server.url}/data/experiments"
    (mr,) = rows(
        admin.get(
            url,
            params={"project": xnat_project, "columns": "ID,xnat:mrSessionData/fieldStrength"},
        )
    )
    assert set(mr) == {"ID", "fieldStrength", "xnat:mrsessiondata/id", "URI"}
    assert mr["xnat:mrsessiondata/id"] == ids["MR"]
    (pet,) = rows(
        admin.get(url, params={"project": xnat_project, "xnat:petSessionData/label": "S1_*"})
    )
    assert pet["ID"] == ids["PET"] and pet["subject_label"] == "S1"
    assert {"subject_ID", "xnat:petsessiondata/id", "xsiType", "project"} <= set(pet)
    # not narrowed: every experiment, with the xsiType and project the query adds
    plain = rows(admin.get(url, params={"project": xnat_project, "columns": "ID"}))
    assert {r["xsiType"] for r in plain} == {
        "xnat:mrSessionData",
        "xnat:petSessionData",
        "xnat:ctSessionData",
    }


# -- filters: QueryOrganizerResource.processStringQuery, SearchCriteria.getSQLClause ----------


def test_listing_filters_compare_as_xnats_sql(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """An exact value is ``col = 'value'`` (case kept); one with ``*``/``%`` is
    ``LOWER(col) LIKE LOWER('%value%')``: anywhere in the value, case aside, ``_`` any one
    character, never a missing value. Alternatives between commas are not trimmed."""
    for label in ("AB1", "XAB2", "A_B3", "AXB4"):
        xnat_server.seed_subject(xnat_project, label)
    url = f"{xnat_server.url}/data/projects/{xnat_project}/subjects"

    def labels(**params: str) -> list[str]:
        got = rows(admin.get(url, params={"columns": "ID,label", **params}))
        return sorted(r["label"] for r in got)

    assert labels(label="ab1") == []
    assert labels(label="AB1") == ["AB1"]
    assert labels(label="ab*") == ["AB1", "XAB2"]
    assert labels(label="a_b%") == ["AXB4", "A_B3"]
    assert labels(label="AB1, XAB2") == ["AB1"]
    assert labels(label="*", src="*") == []  # no subject has a src


# -- resources: XNATTemplate.loadCatalogs --------------------------------------------------------


def test_all_true_lists_an_experiments_resources_with_its_childrens(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``all=true`` on an experiment's resources is a UNION of its own (``cat_id`` empty,
    ``cat_desc`` "") and its scans' (``scans``, the scan's ID and type), reconstructions'
    and assessors'; without it, its own only (``cat_id`` its ID, ``cat_desc`` " ")."""
    xnat_server.seed_subject(xnat_project, "S1")
    eid = xnat_server.seed_session(xnat_project, "S1", "MR1")
    scan = xnat_server.seed_scan(eid, "7", type="T1w")
    xnat_server.seed_resource("scan", scan, "DICOM")
    xnat_server.seed_resource("experiment", eid, "SNAP")
    url = f"{xnat_server.url}/data/experiments/{eid}/resources"
    (own,) = rows(admin.get(url))
    assert (own["label"], own["cat_id"], own["cat_desc"]) == ("SNAP", eid, " ")
    got = _meta(admin.get(url, params={"all": "true"}))
    assert got["totalRecords"] == "2"
    assert [(r["label"], r["category"], r["cat_id"], r["cat_desc"]) for r in got["Result"]] == [  # type: ignore[attr-defined]
        ("SNAP", "resources", "", ""),
        ("DICOM", "scans", "7", "T1w"),
    ]


# -- search: SearchResource.handlePost --------------------------------------------------------


def test_a_search_of_an_unknown_data_type_is_forbidden(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """``Permissions.canQuery`` answers no when the root element is unknown
    (``GenericWrapperElement.GetElement`` throws inside it): 403, even for an admin."""
    bundle = (
        '<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security">'
        "<xdat:root_element_name>{}</xdat:root_element_name></xdat:bundle>"
    )
    url = f"{xnat_server.url}/data/search"
    resp = admin.post(url, data=bundle.format("xnat:noSuchSessionData"), params={"format": "json"})
    assert resp.status_code == 403
    resp = admin.post(url, data=bundle.format("xnat:ctSessionData"), params={"format": "json"})
    assert _meta(resp)["rootElementName"] == "xnat:ctSessionData"


# -- sortBy: SecureResource.representTable, XFTTable.sort(List) ---------------------------------


def test_sort_by_compares_as_java_and_puts_missing_values_last(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """Text sorts as ``String.compareTo`` (``10`` before ``9``, ``B`` before ``a``), number
    columns as numbers, a missing value (null) after every other; ``DESC`` reverses."""
    xnat_server.seed_subject(xnat_project, "S1")
    eid = xnat_server.seed_session(xnat_project, "S1", "b")
    for scan in ("9", "10", "1"):
        xnat_server.seed_scan(eid, scan, type="T")
    scans = f"{xnat_server.url}/data/experiments/{eid}/scans"
    got = rows(admin.get(scans, params={"sortBy": "ID"}))
    assert [r["ID"] for r in got] == ["1", "10", "9"]
    got = rows(admin.get(scans, params={"sortBy": "xnat_imagescandata_id", "sortOrder": "DESC"}))
    assert [r["ID"] for r in got] == ["1", "10", "9"]
    xnat_server.seed_session(xnat_project, "S1", "A", fields={"date": "2020-01-01"})
    xnat_server.seed_session(xnat_project, "S1", "C", fields={"date": "2019-01-01"})
    url = f"{xnat_server.url}/data/projects/{xnat_project}/experiments"
    assert [r["label"] for r in rows(admin.get(url, params={"sortBy": "label"}))] == [
        "A",
        "C",
        "b",
    ]
    assert [r["label"] for r in rows(admin.get(url, params={"sortBy": "date"}))] == [
        "C",
        "A",
        "b",
    ]


def test_scan_columns_without_the_id_fail_the_listing(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``ScanList`` builds each row's ``URI`` from ``xnat:imageScanData/ID``, which is not the
    scan's primary key: without it in ``columns=`` its index is null and the listing fails
    (``formatHeaders``: ``int idIndex = table.getColumnIndex(null)``)."""
    xnat_server.seed_subject(xnat_project, "S1")
    eid = xnat_server.seed_session(xnat_project, "S1", "MR1")
    xnat_server.seed_scan(eid, "1", type="T1")
    url = f"{xnat_server.url}/data/experiments/{eid}/scans"
    assert admin.get(url, params={"columns": "type"}).status_code == 500
    assert admin.get(url, params={"columns": "xnat_imagescandata_id,id"}).status_code == 500
    for columns in ("ID,type", "xnat:imagescandata/id", "DEFAULT"):
        (scan,) = rows(admin.get(url, params={"columns": columns}))
        assert scan["URI"] == f"/data/experiments/{eid}/scans/1"


def test_a_filter_on_an_xml_path_xnat_cannot_resolve_is_ignored(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``processQueryCriteria`` catches the ``ElementNotFoundException`` or
    ``FieldNotFoundException`` of an XML path it cannot resolve and adds no criterion."""
    for label in ("S1", "S2"):
        xnat_server.seed_subject(xnat_project, label)
    url = f"{xnat_server.url}/data/projects/{xnat_project}/subjects"
    for key in ("xnat:noSuchData/label", "xnat:subjectData/noSuchField"):
        assert len(rows(admin.get(url, params={key: "x"}))) == 2, key
    assert rows(admin.get(url, params={"xnat:subjectData/label": "x"})) == []


def test_all_subjects_of_a_user_who_reads_no_project_fail(own_server: LocalXNAT) -> None:
    """``SubjectListResource`` throws ``IllegalAccessException`` (caught: 500) when the
    user reads no project that is not protected and has a role in no protected one."""
    own_server.add_user("loner", "loner")
    own_server.seed_project("OTHERS_P")
    url = f"{own_server.url}/data/subjects"
    assert requests.get(url, auth=("loner", "loner"), timeout=30).status_code == 500
    own_server.seed_project("LONER_P", accessibility="protected")
    own_server.add_member("LONER_P", "loner", "collaborator")
    assert requests.get(url, auth=("loner", "loner"), timeout=30).status_code == 200


def test_a_column_given_by_a_shortcuts_path_is_named_by_the_shortcut(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``formatHeaders`` names a column by the field-mapping key whose path is the column's
    XML path, case aside (``getLabelForFieldMapping``; the read-only keys too:
    ``XMLPathShortcuts`` maps ``session_ID`` to ``xnat:imagesessiondata/id``), in the
    experiment, subject and scan listings; a path no key has keeps its own name."""
    ids = _mixed(xnat_server, xnat_project)
    base = f"{xnat_server.url}/data"

    def header(url: str, columns: str) -> list[str]:
        resp = admin.get(url, params={"columns": columns, "format": "csv"})
        assert resp.status_code == 200, resp.text[:300]
        return resp.text.splitlines()[0].split(",")

    experiments = f"{base}/projects/{xnat_project}/experiments"
    got = header(experiments, "ID,xnat:imageSessionData/ID,xnat:imageSessionData/label")
    assert got[:3] == ["ID", "session_ID", "session_label"]
    assert "xnat:imagesessiondata/id" not in got
    meta = "xnat:experimentData/meta/insert_user/login,xnat:experimentData/extension_item/"
    got = header(f"{base}/experiments", f"ID,{meta}element_name,xnat:subjectData/label")
    assert got[:4] == ["ID", "insert_user", "xsiType", "subject_label"]
    subjects = f"{base}/projects/{xnat_project}/subjects"
    got = header(subjects, "xnat:subjectData/ID,xnat:subjectData/meta/insert_user/login")
    assert got == ["ID", "insert_user", "URI"]
    scans = f"{base}/experiments/{ids['MR']}/scans"
    paths = "ID,xnat:imageScanData/extension_item/element_name,xnat:imageScanData/validation/date"
    got = header(scans, paths + ",xnat:mrScanData/ID")
    assert got[:4] == ["ID", "xsiType", "validation_date", "xnat:mrscandata/id"]

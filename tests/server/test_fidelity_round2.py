"""XNAT behaviours a second fidelity round modelled (each test names the xnat-web source it
follows), and the seed API's typed errors."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest
import requests

from xnat_sdk.errors import XNATError
from xnat_sdk.testing import XNATSeedError
from xnat_sdk.testing.local import LocalXNAT

# -- seeding: typed errors naming what is allowed -------------------------------------------


def test_seed_refuses_unknown_types_and_fields_naming_what_is_allowed(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    server = xnat_server
    server.seed_subject(xnat_project, "S1")
    with pytest.raises(XNATSeedError, match=r"'xnat:mrSesionData' is not a data type") as info:
        server.seed_session(xnat_project, "S1", "E1", xsi_type="xnat:mrSesionData")
    assert info.value.what == "xsi_type"
    assert "xnat:mrSessionData" in info.value.allowed
    assert "xnat:mrSessionData" in str(info.value)  # the close match comes first
    assert isinstance(info.value, XNATError) and isinstance(info.value, ValueError)
    with pytest.raises(XNATSeedError, match=r"'xnat:mrScanData' is not a xnat:experimentData"):
        server.seed_session(xnat_project, "S1", "E1", xsi_type="xnat:mrScanData")
    with pytest.raises(XNATSeedError, match=r"xnat:subjectData has no field 'gendre'") as info:
        server.seed_subject(xnat_project, "S2", fields={"gendre": "male"})
    assert info.value.what == "fields" and info.value.value == "gendre"
    assert "demographics/gender" in info.value.allowed
    assert "fields/<name>" in str(info.value)  # how to set a custom variable instead
    with pytest.raises(XNATSeedError, match="has no custom variables"):
        eid = server.seed_session(xnat_project, "S1", "E1")
        server.seed_scan(eid, "1", fields={"fields/x": "1"})
    with pytest.raises(XNATSeedError, match=r"Must Be A Valid Date"):
        server.seed_session(xnat_project, "S1", "E2", fields={"date": "yesterday"})
    with pytest.raises(XNATSeedError, match="has a scan '1' already"):
        server.seed_scan(eid, "1")
        server.seed_scan(eid, "1")
    with pytest.raises(XNATSeedError, match="parent_kind must be one of project"):
        server.seed_resource("session", eid, "R")
    with pytest.raises(XNATSeedError, match="no scan '999999' to hold resource 'R'"):
        server.seed_resource("scan", 999999, "R")
    with pytest.raises(XNATSeedError, match="level must be owner") as info:
        server.add_member(xnat_project, "user", "reader")
    assert info.value.allowed == ("owner", "member", "collaborator")
    with pytest.raises(XNATSeedError, match="unknown user 'amdin'") as info:
        server.seed_project(f"{xnat_project}_O", owner="amdin")  # was a project nobody owned
    assert info.value.what == "owner"
    projects = requests.get(
        f"{server.url}/data/projects",
        params={"format": "json"},
        auth=("admin", "admin"),
        timeout=10,
    ).json()["ResultSet"]["Result"]
    assert f"{xnat_project}_O" not in [r["ID"] for r in projects]
    with pytest.raises(XNATSeedError, match="invalid project ID 'B P'"):
        server.seed_bulk("B P", 1)  # it made a project of that ID
    with pytest.raises(XNATSeedError, match="n_subjects must be a whole number >= 0, got -1"):
        server.seed_bulk(xnat_project, -1)  # it seeded nothing, silently
    # nothing of a refused call was stored: S2 and E2 do not exist
    labels = requests.get(
        f"{server.url}/data/projects/{xnat_project}/subjects",
        params={"format": "json"},
        auth=("admin", "admin"),
        timeout=10,
    ).json()["ResultSet"]["Result"]
    assert [r["label"] for r in labels] == ["S1"]


def test_seed_maps_shortcuts_to_paths_as_a_put_does(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    """``gender`` is the shortcut of ``demographics/gender``: stored where a PUT stores it,
    so the listing shows it (it was kept under its shortcut and listed empty)."""
    xnat_server.seed_subject(xnat_project, "G1", fields={"gender": "female"})
    answer = requests.get(
        f"{xnat_server.url}/data/projects/{xnat_project}/subjects",
        params={"format": "json", "columns": "label,gender"},
        auth=("admin", "admin"),
        timeout=10,
    )
    assert [(r["label"], r["gender"]) for r in answer.json()["ResultSet"]["Result"]] == [
        ("G1", "female")
    ]


# -- empty experiment/assessor listings: no formatHeaders ------------------------------------


def test_empty_experiment_and_assessor_listings_keep_raw_headers(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    """``ExperimentListResource``, ``ProjSubExptList`` and ``ProjSubExptAsstList``
    (xnat-web ``org/nrg/xnat/restlet/resources``) call ``formatHeaders`` only when
    ``table.size()>0``: an empty CSV/XML answer has the query's SQL aliases as columns and no
    ``URI``; a listing with rows has shortcut names and ``URI``."""
    server = xnat_server
    server.seed_subject(xnat_project, "S1")
    eid = server.seed_session(xnat_project, "S1", "E1")
    auth = ("admin", "admin")
    empty = {"label": "NOPE"}
    for path in (
        f"/data/projects/{xnat_project}/experiments",
        f"/data/projects/{xnat_project}/subjects/S1/experiments",
        f"/data/experiments/{eid}/assessors",
    ):
        answer = requests.get(
            f"{server.url}{path}", params={"format": "csv", **empty}, auth=auth, timeout=10
        )
        header = next(csv.reader(io.StringIO(answer.text)))
        assert answer.status_code == 200 and "URI" not in header, (path, header)
        assert "label" not in header and "xnat_experimentdata_label" in header
        answer = requests.get(
            f"{server.url}{path}", params={"format": "xml", **empty}, auth=auth, timeout=10
        )
        columns = [c.text for c in ET.fromstring(answer.text).iter("column")]
        assert "URI" not in columns and "xnat_experimentdata_id" in columns
        answer = requests.get(
            f"{server.url}{path}", params={"format": "json", **empty}, auth=auth, timeout=10
        )
        assert answer.json()["ResultSet"]["Result"] == []
    full = requests.get(
        f"{server.url}/data/projects/{xnat_project}/experiments",
        params={"format": "csv"},
        auth=auth,
        timeout=10,
    )
    header = next(csv.reader(io.StringIO(full.text)))
    assert header[-1] == "URI" and "label" in header


# -- writes into a project the user may not see ---------------------------------------------


def test_writes_into_a_hidden_project_answer_as_for_a_missing_one(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    """XNAT's project lookup (``DefaultUserProjectCache.get``) finds no project the user may
    not read, and each write handler answers as it does for a missing project:
    ``SubjectResource`` 422 "Submitted subject record must include the project attribute.",
    ``SubjAssessmentResource`` a bare 404 (its constructor's ``setGuestDataResponse``),
    ``XNATTemplate`` (files) 404 "Unable to identify project" / "... experiment". The SDK
    raises an XNATNotFoundError naming the project."""
    import xnat_sdk
    from xnat_sdk.errors import XNATNotFoundError, XNATUploadError

    server = xnat_server
    p = xnat_project
    server.seed_subject(p, "S1")
    eid = server.seed_session(p, "S1", "E1")
    base = f"{server.url}/data/projects/{p}"
    with requests.Session() as user:
        user.auth = ("user", "user")
        answer = user.put(f"{base}/subjects/S2")
        assert answer.status_code == 422
        assert "Submitted subject record must include the project attribute." in answer.text
        answer = user.put(f"{base}/subjects/S1/experiments/E2?xsiType=xnat:mrSessionData")
        assert answer.status_code == 404 and "Unable to identify" not in answer.text
        answer = user.put(f"{base}/experiments/{eid}/resources/R/files/a.txt", data=b"x")
        assert answer.status_code == 404 and "Unable to identify project<" in answer.text
        answer = user.post(f"{server.url}/data/experiments/{eid}/resources/R/files/a.txt")
        assert answer.status_code == 404 and "Unable to identify experiment" in answer.text
    # nothing was written
    assert server.store.one("SELECT 1 FROM subjects WHERE project=? AND label='S2'", (p,)) is None
    assert server.store.one("SELECT 1 FROM resources WHERE parent_id=?", (eid,)) is None
    with xnat_sdk.connect(server.url, user="user", password="user") as session:
        with pytest.raises(XNATNotFoundError, match=f"project '{xnat_project}' does not exist"):
            session.put(f"/data/projects/{xnat_project}/subjects/S2")
        with pytest.raises(XNATNotFoundError, match=f"project '{xnat_project}' does not"):
            session.put(f"/data/projects/{xnat_project}/subjects/S1/experiments/E2")
        with pytest.raises(XNATUploadError, match=f"project '{xnat_project}' does not") as info:
            session.upload_string(
                f"/data/projects/{xnat_project}/experiments/{eid}/resources/R/files/a.txt", "x"
            )
        assert isinstance(info.value, XNATNotFoundError)
        with pytest.raises(XNATNotFoundError, match=f"experiment '{eid}' does not exist"):
            session.upload_string(f"/data/experiments/{eid}/resources/R/files/a.txt", "x")
        # ProjectResource.handleDelete: no project -> a bare 400; SubjectResource's: 404
        with pytest.raises(XNATNotFoundError, match=f"project '{p}' does not exist") as info:
            session.delete(f"/data/projects/{p}")
        assert info.value.status == 400
    answer = requests.delete(f"{base}/subjects/S1", auth=("user", "user"), timeout=10)
    assert answer.status_code == 404 and "Unable to find the specified subject." in answer.text
    assert server.store.one("SELECT 1 FROM projects WHERE id=?", (p,)) is not None


# -- date and number filters ------------------------------------------------------------------


def _labels(server: LocalXNAT, path: str, **query: str) -> list[str] | int | str:
    answer = requests.get(
        f"{server.url}{path}",
        params={"format": "json", **query},
        auth=("admin", "admin"),
        timeout=10,
    )
    if answer.status_code != 200 or not answer.text:
        return answer.status_code if answer.status_code != 200 else ""
    return sorted(r["label"] for r in answer.json()["ResultSet"]["Result"])


def test_date_and_number_filters_follow_query_organizer_resource(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    """``QueryOrganizerResource.processDateQuery``: alternatives between commas, a ``-``
    makes a range cut at its first ``-``, each end read by ``DateUtils.parseDate``
    (``MM/dd/yyyy`` ...): an ISO date is the range '2020'..'01-05', which PostgreSQL refuses
    (``ExperimentListResource`` 500, ``ProjSubExptList`` an empty 200).
    ``processNumericQuery``: ``a-b`` is ``>= a AND <= b``; a non-number fails the query."""
    server = xnat_server
    p = xnat_project
    server.seed_subject(p, "S1", fields={"yob": "1980", "weight": "70.5"})
    server.seed_subject(p, "S2", fields={"yob": "1995"})
    server.seed_session(p, "S1", "A", fields={"date": "2020-01-05"})
    server.seed_session(p, "S1", "B", fields={"date": "2021-06-30"})
    server.seed_session(p, "S2", "C")
    listing = f"/data/projects/{p}/experiments"
    assert _labels(server, listing, date="01/05/2020") == ["A"]
    assert _labels(server, listing, date="01/01/2020-12/31/2021") == ["A", "B"]
    assert _labels(server, listing, date="01/05/2020,06/30/2021") == ["A", "B"]
    assert _labels(server, listing, date="13/05/2019") == ["A"]  # lenient: month 13 rolls over
    assert _labels(server, listing, date="2020-01-05") == ""  # ProjSubExptList: empty 200
    assert _labels(server, "/data/experiments", date="2020-01-05", project=p) == 500
    subjects = f"/data/projects/{p}/subjects"
    assert _labels(server, subjects, yob="1970-1990") == ["S1"]
    assert _labels(server, subjects, yob="1970-1990,1995") == ["S1", "S2"]
    assert _labels(server, subjects, yob="-1990") == []  # an empty bound is NULL
    assert _labels(server, subjects, weight="70-71") == ["S1"]
    assert _labels(server, subjects, yob="abc") == 500
    assert _labels(server, subjects, label="S1") == ["S1"]  # text: equality as before


def test_sdk_date_filters_mean_what_xnat_reads(xnat_server: LocalXNAT, xnat_project: str) -> None:
    """The SDK sends ISO dates and ranges in the ``MM/DD/YYYY`` forms XNAT parses, and
    matches the rows it gets back as dates (an ``MM/DD/YYYY`` filter kept no row: the
    rows' dates are ISO)."""
    import xnat_sdk

    server = xnat_server
    p = xnat_project
    server.seed_subject(p, "S1", fields={"yob": "1980"})
    server.seed_session(p, "S1", "A", fields={"date": "2020-01-05"})
    server.seed_session(p, "S1", "B", fields={"date": "2021-06-30"})
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        experiments = session.projects[p].experiments
        for wanted, labels in (
            ("2020-01-05", ["A"]),
            ("01/05/2020", ["A"]),
            ("2020-01-01..2020-12-31", ["A"]),
            ("01/01/2020-12/31/2021", ["A", "B"]),
            ("2020-01-05,2021-06-30", ["A", "B"]),
        ):
            assert sorted(e.label for e in experiments.filter(date=wanted)) == labels, wanted
        assert [s.label for s in session.projects[p].subjects.filter(yob="1970-1990")] == ["S1"]


# -- the scans of an experiment that is no image session --------------------------------------


def test_scans_of_a_non_image_experiment_are_a_bare_404(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    """``ScanList`` looks the session up as an ``xnat:imageSessionData`` only: a subject
    assessor (``xnat:subjectVariablesData``) is not found, and its constructor either sets a
    bare 404 or fails, which Restlet's ``Finder`` answers with a bare 404 too."""
    server = xnat_server
    p = xnat_project
    server.seed_subject(p, "S1")
    other = server.seed_session(p, "S1", "V1", xsi_type="xnat:subjectVariablesData")
    image = server.seed_session(p, "S1", "M1")
    auth = ("admin", "admin")
    for path in (
        f"/data/experiments/{other}/scans",
        f"/data/projects/{p}/subjects/S1/experiments/V1/scans",
        "/data/experiments/NOPE/scans",
    ):
        answer = requests.get(f"{server.url}{path}?format=json", auth=auth, timeout=10)
        assert answer.status_code == 404, path
        assert "The server has not found anything matching the request URI" in answer.text
    answer = requests.get(f"{server.url}/data/experiments/{image}/scans?format=json", auth=auth)
    assert answer.status_code == 200 and answer.json()["ResultSet"]["Result"] == []


# -- site admins and the all-data-admin group ---------------------------------------------------


def test_project_listing_of_a_site_admin_outside_all_data_admin(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    """``ProjectListResource``'s default handler lists every project (and applies the
    request's filters) only to a member of ``ALL_DATA_ADMIN`` (``init_security_000.sql``
    puts the installation's ``admin`` in it) or to a site admin asking
    ``allDataOverride=true``; another site admin gets the projects their groups allow, the
    filters replaced (``qo.setWhere``). Direct lookups stay open to every site admin
    (``DefaultUserProjectCache.hasAccess``). The SDK asks with ``allDataOverride=true``."""
    import xnat_sdk

    server = xnat_server
    login = "fid2_siteadmin"
    if server.store.get_user(login) is None:
        server.add_user(login, "pw", admin=True)
    url = f"{server.url}/data/projects"

    def ids(auth: tuple[str, str], **query: str) -> set[str]:
        answer = requests.get(url, params={"format": "json", **query}, auth=auth, timeout=10)
        return {row["ID"] for row in answer.json()["ResultSet"]["Result"]}

    assert xnat_project in ids(("admin", "admin"))
    assert ids(("admin", "admin"), ID=xnat_project) == {xnat_project}  # filters apply
    assert xnat_project not in ids((login, "pw"))  # private, no group of theirs
    assert ids((login, "pw"), allDataOverride="true", ID=xnat_project) == {xnat_project}
    assert xnat_project not in ids(("user", "user"), allDataOverride="true")  # admins only
    direct = requests.get(f"{url}/{xnat_project}?format=json", auth=(login, "pw"), timeout=10)
    assert direct.status_code == 200
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        assert session.projects[xnat_project].id == xnat_project

"""Reading objects shared into a project whose primary project the user cannot read.

XNAT gives each project's groups read access to what is *shared* into the project as well
(``XdatUsergroup.init``: besides ``{type}/project``, a field mapping on
``{type}/sharing/share/project`` with read only), so the object answers its accession-ID
URLs, the site listings and the search for such a user, once, under its primary project.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.server.conftest import rows
from xnat_sdk.testing.local import LocalXNAT

_logins = itertools.count(1)
_XNAT = "{http://nrg.wustl.edu/xnat}"

_SEARCH = (
    '<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security">'
    "<xdat:root_element_name>xnat:mrSessionData</xdat:root_element_name>"
    "<xdat:search_field><xdat:element_name>xnat:mrSessionData</xdat:element_name>"
    "<xdat:field_ID>SESSION_ID</xdat:field_ID><xdat:sequence>0</xdat:sequence>"
    "<xdat:type>string</xdat:type><xdat:header>h</xdat:header></xdat:search_field>"
    '<xdat:search_where method="AND"></xdat:search_where></xdat:bundle>'
)


@dataclass
class Shared:
    reader: requests.Session
    subject: str  # in the closed project, shared into the open one
    session: str  # in the closed project, shared into the open one (its subject is not)
    hidden: str  # in the closed project, not shared


@pytest.fixture
def shared(xnat_server: LocalXNAT, xnat_project: str) -> Iterator[Shared]:
    closed, open_ = f"{xnat_project}_C", f"{xnat_project}_O"
    xnat_server.seed_project(closed)
    xnat_server.seed_project(open_)
    login = f"sharer{next(_logins)}"
    xnat_server.add_user(login, "pw")
    xnat_server.add_member(open_, login, "collaborator")
    subject = xnat_server.seed_subject(closed, "SUBJ")
    other = xnat_server.seed_subject(closed, "OTHER")
    session = xnat_server.seed_session(closed, "OTHER", "SESS")
    hidden = xnat_server.seed_session(closed, "OTHER", "HIDDEN")
    scan = xnat_server.seed_scan(session, "1", type="T1")
    xnat_server.seed_file(xnat_server.seed_resource("scan", scan, "DICOM"), "a.dcm", b"abc")
    with requests.Session() as admin, requests.Session() as reader:
        admin.auth = ("admin", "admin")
        base = f"{xnat_server.url}/data/projects/{closed}"
        for url in (
            f"{base}/subjects/SUBJ/projects/{open_}?label=SUBJ_O",
            f"{base}/subjects/OTHER/experiments/SESS/projects/{open_}?label=SESS_O",
        ):
            assert admin.put(url).status_code == 200
        assert other
        reader.auth = (login, "pw")
        yield Shared(reader, subject, session, hidden)


def test_a_shared_object_reads_by_its_accession_id(xnat_server: LocalXNAT, shared: Shared) -> None:
    url = xnat_server.url
    got = shared.reader.get(f"{url}/data/experiments/{shared.session}?format=json")
    assert got.status_code == 200, got.text[:200]
    got = shared.reader.get(f"{url}/data/subjects/{shared.subject}?format=json")
    assert got.status_code == 200, got.text[:200]
    files = rows(shared.reader.get(f"{url}/data/experiments/{shared.session}/scans/ALL/files"))
    assert [f["Name"] for f in files] == ["a.dcm"]
    # what is not shared stays closed
    got = shared.reader.get(f"{url}/data/experiments/{shared.hidden}?format=json")
    assert got.status_code == 404


def test_site_listings_and_search_hold_shared_objects_once(
    xnat_server: LocalXNAT, shared: Shared
) -> None:
    url = xnat_server.url
    experiments = rows(shared.reader.get(f"{url}/data/experiments", params={"format": "json"}))
    assert [r["ID"] for r in experiments] == [shared.session]
    subjects = rows(shared.reader.get(f"{url}/data/subjects", params={"format": "json"}))
    assert [r["ID"] for r in subjects] == [shared.subject]
    found = shared.reader.post(
        f"{url}/data/search",
        params={"format": "json"},
        data=_SEARCH,
        headers={"Content-Type": "text/xml"},
    )
    assert [r["session_id"] for r in rows(found)] == [shared.session]


def test_a_new_label_for_an_existing_share(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """A subject's share is relabelled (200, after a label check); an experiment's is
    relabelled without one and answered "Already assigned" (409) all the same
    (``SubjectResource`` / ``SubjAssessmentResource.handlePut``); no label, no change."""
    other = f"{xnat_project}_B"
    xnat_server.seed_project(other)
    xnat_server.seed_subject(xnat_project, "SUBJ")
    xnat_server.seed_session(xnat_project, "SUBJ", "SESS")
    base = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/SUBJ"
    subject_share, experiment_share = f"{base}/projects/{other}", f"{base}/experiments/SESS"
    experiment_share += f"/projects/{other}"
    for url in (subject_share, experiment_share):
        assert admin.put(url, params={"label": "FIRST"}).status_code == 200
    assert admin.put(subject_share, params={"label": "SECOND"}).status_code == 200
    answer = admin.put(experiment_share, params={"label": "SECOND"})
    assert answer.status_code == 409 and "Already assigned to project" in answer.text
    for url in (subject_share, experiment_share):
        assert admin.put(url).status_code == 409  # no label: nothing to change
    listed = f"{xnat_server.url}/data/projects/{other}"
    assert [r["label"] for r in rows(admin.get(f"{listed}/subjects"))] == ["SECOND"]
    assert [r["label"] for r in rows(admin.get(f"{listed}/experiments"))] == ["SECOND"]


def test_a_share_made_without_a_label_has_none(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """XNAT stores no label for a share made without ``label=`` and checks no label then
    (``SecureResource.shareExperimentToProject``, ``SubjectResource.handlePut``): the
    sharing project may hold an object of the same label. Its listings show the primary
    label (a share's label replaces the row's only when not empty), its ``.../projects``
    table the accession ID (``getProjectDatas``), its document a share without ``label``;
    through the sharing project it is found by accession ID, not by the primary label
    (``Get{Expt,Subject}ByProjectIdentifier`` match the share's own label)."""
    other = f"{xnat_project}_N"
    xnat_server.seed_project(other)
    sid = xnat_server.seed_subject(xnat_project, "SUBJ")
    eid = xnat_server.seed_session(xnat_project, "SUBJ", "SESS")
    xnat_server.seed_subject(other, "SUBJ")  # same labels in the sharing project
    own = xnat_server.seed_session(other, "SUBJ", "SESS")
    base = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/SUBJ"
    assert admin.put(f"{base}/projects/{other}").status_code == 200
    assert admin.put(f"{base}/experiments/SESS/projects/{other}").status_code == 200
    data = f"{xnat_server.url}/data"
    doc = admin.get(f"{data}/experiments/{eid}", params={"format": "json"}).json()
    item = doc["items"][0]
    (share,) = next(c["items"] for c in item["children"] if c["field"] == "sharing/share")
    assert share["data_fields"]["project"] == other and "label" not in share["data_fields"]
    xml = ET.fromstring(admin.get(f"{data}/experiments/{eid}", params={"format": "xml"}).content)
    (element,) = xml.iter(f"{_XNAT}share")
    assert element.get("label") is None and element.find(f"{_XNAT}label") is None
    assert element.get("project") == other  # an attribute, as the schema declares it
    listed = rows(admin.get(f"{data}/projects/{other}/experiments"))
    assert sorted((r["ID"], r["label"], r["project"]) for r in listed) == sorted(
        [(eid, "SESS", other), (own, "SESS", other)]
    )
    assert [r["label"] for r in rows(admin.get(f"{data}/projects/{other}/subjects"))] == [
        "SUBJ",
        "SUBJ",
    ]
    projects = rows(admin.get(f"{data}/experiments/{eid}/projects"))
    assert [(r["ID"], r["label"]) for r in projects] == [(xnat_project, "SESS"), (other, eid)]
    projects = rows(admin.get(f"{data}/subjects/{sid}/projects"))
    assert [(r["ID"], r["label"]) for r in projects] == [(xnat_project, "SUBJ"), (other, sid)]
    by_label = admin.get(f"{data}/projects/{other}/experiments/SESS", params={"format": "json"})
    assert by_label.json()["items"][0]["data_fields"]["ID"] == own  # its own, not the share
    by_id = admin.get(f"{data}/projects/{other}/experiments/{eid}", params={"format": "json"})
    assert by_id.status_code == 200


def test_a_share_without_a_label_is_not_found_by_the_primary_label(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """Through the sharing project, only the accession ID names it; a new label is checked
    and given to a subject's share (200), while an experiment's fails as in XNAT (500:
    ``pp.getLabel().equals(newLabel)`` on a share without a label)."""
    other = f"{xnat_project}_M"
    xnat_server.seed_project(other)
    sid = xnat_server.seed_subject(xnat_project, "ALONE")
    eid = xnat_server.seed_session(xnat_project, "ALONE", "ALONE_MR")
    xnat_server.seed_subject(other, "TAKEN")
    base = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/ALONE"
    for url in (f"{base}/projects/{other}", f"{base}/experiments/ALONE_MR/projects/{other}"):
        assert admin.put(url).status_code == 200
    there = f"{xnat_server.url}/data/projects/{other}"
    for path in ("subjects/ALONE", "experiments/ALONE_MR", "subjects/ALONE/experiments/ALONE_MR"):
        assert admin.get(f"{there}/{path}", params={"format": "json"}).status_code == 404, path
    for path in (f"subjects/{sid}", f"experiments/{eid}", f"subjects/{sid}/experiments/{eid}"):
        assert admin.get(f"{there}/{path}", params={"format": "json"}).status_code == 200, path
    taken = admin.put(f"{base}/projects/{other}", params={"label": "TAKEN"})
    assert taken.status_code == 409 and "Label already in use" in taken.text
    assert admin.put(f"{base}/projects/{other}", params={"label": "NEW"}).status_code == 200
    assert admin.get(f"{there}/subjects/NEW", params={"format": "json"}).status_code == 200
    answer = admin.put(f"{base}/experiments/ALONE_MR/projects/{other}", params={"label": "X"})
    assert answer.status_code == 500
    assert admin.get(f"{there}/experiments/X", params={"format": "json"}).status_code == 404


def test_the_filtered_project_listing_keeps_protected_projects_out_of_readable(
    xnat_server: LocalXNAT, xnat_project: str
) -> None:
    """``ProjectListResource``'s filtered handler: ``data=readable`` keeps the projects the
    user is a user of and the public ones, not a protected one (listed by the default
    handler: its description is open, its data is not); ``accessible=true`` lists it;
    another ``data`` value is refused (the handler's ``ResourceException`` is caught as
    any exception: a 500); a site admin reads every project."""
    guarded, mine = f"{xnat_project}_G", f"{xnat_project}_M"
    xnat_server.seed_project(guarded, accessibility="protected")
    xnat_server.seed_project(mine)
    login = f"sharer{next(_logins)}"
    xnat_server.add_user(login, "pw")
    xnat_server.add_member(mine, login, "member")
    url = f"{xnat_server.url}/data/projects"
    with requests.Session() as reader, requests.Session() as admin:
        reader.auth, admin.auth = (login, "pw"), ("admin", "admin")
        listed = {r["ID"] for r in rows(reader.get(url, params={"format": "json"}))}
        readable = rows(reader.get(url, params={"format": "json", "data": "readable"}))
        seen = rows(reader.get(url, params={"format": "json", "accessible": "true"}))
        bad = reader.get(url, params={"format": "json", "data": "all"})
        everything = rows(admin.get(url, params={"format": "json", "data": "readable"}))
    assert {guarded, mine} <= listed
    assert {r["id"] for r in readable} >= {mine} and guarded not in {r["id"] for r in readable}
    role = next(k for k in readable[0] if k.startswith("user_role_"))  # user_role_{xdat id}
    assert {r["id"]: r[role] for r in readable}[mine] == "Members"
    assert {r["id"]: r["project_access"] for r in seen}[guarded] == "protected"
    assert bad.status_code == 500
    assert {guarded, mine} <= {r["id"] for r in everything}


def test_share_labels_in_a_project_listing_follow_its_root(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``ProjSubExptList`` puts a shared experiment's share label, the sharing project and
    its subject's share label in the rows only when it finds the root's ID column after
    ``formatHeaders`` (``{root}/ID``): for the root ``xnat:imageSessionData`` (its
    ``xsiType=``, or a column or filter of that type such as ``modality``) that column is
    renamed ``session_ID`` (its shortcut), so the rows keep the primary label and project."""
    other = f"{xnat_project}_R"
    xnat_server.seed_project(other)
    xnat_server.seed_subject(xnat_project, "SUBJ")
    eid = xnat_server.seed_session(xnat_project, "SUBJ", "SESS", fields={"modality": "MR"})
    base = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/SUBJ"
    assert admin.put(f"{base}/projects/{other}", params={"label": "SUBJ_R"}).status_code == 200
    share = f"{base}/experiments/SESS/projects/{other}"
    assert admin.put(share, params={"label": "SESS_R"}).status_code == 200
    listing = f"{xnat_server.url}/data/projects/{other}/experiments"
    shared = {"label": "SESS_R", "project": other, "subject_label": "SUBJ_R"}
    primary = {"label": "SESS", "project": xnat_project, "subject_label": "SUBJ"}
    with_subject = "ID,label,project,subject_label,"
    cases = [
        ({}, shared, "xnat:subjectassessordata/id"),
        ({"xsiType": "xnat:mrSessionData"}, shared, "xnat:mrsessiondata/id"),
        (
            {"columns": with_subject + "xnat:mrSessionData/fieldStrength"},
            shared,
            "xnat:mrsessiondata/id",
        ),
        ({"xsiType": "xnat:imageSessionData"}, primary, "session_ID"),
        ({"modality": "MR"}, primary, "session_ID"),
        ({"columns": with_subject + "scanner"}, primary, "session_ID"),
    ]
    for params, expected, key in cases:
        (row,) = rows(admin.get(listing, params={"format": "json", **params}))
        assert {k: row[k] for k in expected if k in row} == {
            k: v for k, v in expected.items() if k in row
        }, params
        assert "label" in row and "project" in row
        assert row[key] == eid, (params, sorted(row))
        csv = admin.get(listing, params={"format": "csv", **params}).text
        assert key in csv.splitlines()[0].split(","), params


def test_listing_filters_compare_primary_values_before_the_share_swap(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``ProjSubExptList`` and ``ProjectSubjectList`` filter in SQL (``populateQuery`` sets
    the query's WHERE on ``xnat:experimentData/label``, ``xnat:subjectData/label`` ...), on
    the primary values, and put the share's label (project, subject label) into the rows
    only afterwards in Java, and only when the answer has a ``label`` column: a shared object
    is found by its primary label and shown under its share label, not found by that."""
    other = f"{xnat_project}_F"
    xnat_server.seed_project(other)
    xnat_server.seed_subject(xnat_project, "SUBJ")
    eid = xnat_server.seed_session(xnat_project, "SUBJ", "SESS")
    base = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/SUBJ"
    assert admin.put(f"{base}/projects/{other}", params={"label": "SUBJ_F"}).status_code == 200
    share = f"{base}/experiments/SESS/projects/{other}"
    assert admin.put(share, params={"label": "SESS_F"}).status_code == 200
    listing = f"{xnat_server.url}/data/projects/{other}/experiments"

    def found(url: str, **params: str) -> list[dict[str, str]]:
        return rows(admin.get(url, params={"format": "json", **params}))

    assert found(listing, label="SESS_F") == []
    (row,) = found(listing, label="SESS")
    assert (row["ID"], row["label"], row["project"]) == (eid, "SESS_F", other)
    assert found(listing, subject_label="SUBJ_F", columns="ID,label,subject_label") == []
    (row,) = found(listing, subject_label="SUBJ", columns="ID,label,subject_label")
    assert row["subject_label"] == "SUBJ_F"
    assert found(listing, project=other) == []
    assert [r["project"] for r in found(listing, project=xnat_project)] == [other]
    # no label column: nothing is swapped in (the project stays the primary one)
    (row,) = found(listing, columns="ID,project")
    assert row["project"] == xnat_project
    subjects = f"{xnat_server.url}/data/projects/{other}/subjects"
    assert found(subjects, label="SUBJ_F") == []
    assert [r["label"] for r in found(subjects, label="SUBJ")] == ["SUBJ_F"]
    # the site listing shows and filters the primary values
    top = f"{xnat_server.url}/data/experiments"
    assert eid not in {r["ID"] for r in found(top, label="SESS_F")}
    assert {r["ID"]: r["label"] for r in found(top, label="SESS")}[eid] == "SESS"


def test_an_assessor_listing_shows_share_labels_of_the_urls_or_the_sessions_project(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``ProjSubExptAsstList.represent`` puts the label of each assessor's share in the URL's
    project, or without one in the session's primary project (``assessed.getProject()``),
    into the rows (only the label, only with a ``label`` column)."""
    other, third = f"{xnat_project}_A", f"{xnat_project}_T"
    xnat_server.seed_project(other)
    xnat_server.seed_project(third)
    xnat_server.seed_subject(xnat_project, "SUBJ")
    eid = xnat_server.seed_session(xnat_project, "SUBJ", "SESS")
    base = f"{xnat_server.url}/data/projects/{xnat_project}/subjects/SUBJ"
    assert admin.put(f"{base}/projects/{other}", params={"label": "SUBJ_A"}).ok
    assert admin.put(f"{base}/experiments/SESS/projects/{other}", params={"label": "SESS_A"}).ok
    qc = f"{base}/experiments/SESS/assessors/QC1"
    assert admin.put(qc, params={"xsiType": "xnat:qcAssessmentData"}).ok
    assert admin.put(f"{qc}/projects/{other}", params={"label": "QC_A"}).status_code == 200
    # an assessor of another project on this session, shared into the session's project
    assert admin.put(f"{base}/projects/{third}", params={"label": "SUBJ_T"}).ok
    assert admin.put(f"{base}/experiments/SESS/projects/{third}", params={"label": "SESS_T"}).ok
    in_third = f"{xnat_server.url}/data/projects/{third}/subjects/SUBJ_T/experiments/SESS_T"
    made = admin.put(f"{in_third}/assessors/QC3", params={"xsiType": "xnat:qcAssessmentData"})
    assert made.ok, made.text[:300]
    qc3 = f"{xnat_server.url}/data/experiments/{eid}/assessors/{made.text.strip()}"
    assert admin.put(f"{qc3}/projects/{xnat_project}", params={"label": "QC3_HOME"}).ok

    def labels(url: str, **params: str) -> list[tuple[str, str]]:
        got = rows(admin.get(url, params={"format": "json", **params}))
        return sorted((r["label"], r.get("project", "")) for r in got)

    shared = f"{xnat_server.url}/data/projects/{other}/subjects/SUBJ_A/experiments/SESS_A"
    # the URL's project: its share labels; the project stays the assessor's
    assert labels(f"{shared}/assessors") == [("QC3", third), ("QC_A", xnat_project)]
    # no project in the URL: the share labels of the session's primary project
    listing = f"{xnat_server.url}/data/experiments/{eid}/assessors"
    assert labels(listing) == [("QC1", xnat_project), ("QC3_HOME", third)]
    # no label column: nothing is swapped in
    got = rows(admin.get(listing, params={"format": "json", "columns": "ID,project"}))
    assert "label" not in got[0]

"""Reading objects shared into a project whose primary project the user cannot read.

XNAT gives each project's groups read access to what is *shared* into the project as well
(``XdatUsergroup.init``: besides ``{type}/project``, a field mapping on
``{type}/sharing/share/project`` with read only), so the object answers its accession-ID
URLs, the site listings and the search for such a user, once, under its primary project.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.server.conftest import rows
from xnat_sdk.testing.local import LocalXNAT

_logins = itertools.count(1)

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

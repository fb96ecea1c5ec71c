"""Behaviours checked against XNAT's own source (``NrgXnat/xnat-web``): client-given IDs on
create, the prearchive code of new projects, and resource listings under missing objects."""

from __future__ import annotations

import re

import requests

from tests.server.conftest import rows
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT


def _project(admin: requests.Session, url: str, pid: str) -> str:
    resp = admin.put(f"{url}/data/projects/{pid}")
    assert resp.status_code == 200, resp.text
    return f"{url}/data/projects/{pid}"


# -- 1. client-supplied IDs --------------------------------------------------------------


def test_subject_and_session_keep_the_ids_the_client_gives(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """XNAT keeps a given ID and generates one only when none is given:
    ``SubjectResource.handlePut`` (``if (StringUtils.isBlank(sub.getId()))
    sub.setId(XnatSubjectdata.CreateNewID())``) and ``SubjAssessmentResource.handlePut``
    (``if (expt.getId() == null || expt.getId().equals("")) expt.setId(
    XnatExperimentdata.CreateNewID())``); the ID comes from the ``<type>/ID`` query field or
    the XML document's ``ID`` attribute (``loadItem``). The answer is the ID, 201."""
    p = _project(admin, xnat_server.url, "FIDID1")
    s = admin.put(f"{p}/subjects/SUBJ_A", params={"xnat:subjectData/ID": "MY_SUBJ_A"})
    assert (s.status_code, s.text) == (201, "MY_SUBJ_A")
    subject = admin.get(f"{xnat_server.url}/data/subjects/MY_SUBJ_A?format=json")
    assert subject.json()["items"][0]["data_fields"]["label"] == "SUBJ_A"
    e = admin.put(
        f"{p}/subjects/SUBJ_A/experiments/MR_A",
        params={"xsiType": "xnat:mrSessionData", "xnat:mrSessionData/ID": "MY_MR_A"},
    )
    assert (e.status_code, e.text) == (201, "MY_MR_A")
    listed = rows(admin.get(f"{p}/experiments?format=json"))
    assert [(r["ID"], r["label"]) for r in listed] == [("MY_MR_A", "MR_A")]
    doc = (
        '<xnat:Subject xmlns:xnat="http://nrg.wustl.edu/xnat" ID="MY_SUBJ_B" '
        'project="FIDID1" label="SUBJ_B"/>'
    )
    b = admin.put(f"{p}/subjects/SUBJ_B", data=doc, headers={"Content-Type": "text/xml"})
    assert (b.status_code, b.text) == (201, "MY_SUBJ_B")
    # without an ID one is generated, as before
    g = admin.put(f"{p}/subjects/SUBJ_C")
    assert g.status_code == 201 and re.fullmatch(r"XNAT_S\d{5}", g.text)


def test_generated_ids_skip_ids_clients_took(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """XNAT's ``CreateNewID`` (used by ``SubjectResource.handlePut`` and
    ``SubjAssessmentResource.handlePut``) hands out an accession number no object has, so a
    client that took the next ``XNAT_S…``/``XNAT_E…`` number does not cause a clash."""
    p = _project(admin, xnat_server.url, "FIDID2")
    first = admin.put(f"{p}/subjects/G1").text
    prefix, number = first[:-5], int(first[-5:])
    taken = f"{prefix}{number + 1:05d}"
    t = admin.put(f"{p}/subjects/G2", params={"xnat:subjectData/ID": taken})
    assert (t.status_code, t.text) == (201, taken)
    nxt = admin.put(f"{p}/subjects/G3")
    assert nxt.status_code == 201 and nxt.text not in (first, taken)
    e1 = admin.put(f"{p}/subjects/G1/experiments/E1?xsiType=xnat:mrSessionData").text
    etaken = f"{e1[:-5]}{int(e1[-5:]) + 1:05d}"
    assert (
        admin.put(
            f"{p}/subjects/G1/experiments/E2",
            params={"xsiType": "xnat:mrSessionData", "xnat:experimentData/ID": etaken},
        ).text
        == etaken
    )
    e3 = admin.put(f"{p}/subjects/G1/experiments/E3?xsiType=xnat:mrSessionData")
    assert e3.status_code == 201 and e3.text not in (e1, etaken)


def test_a_taken_id_is_looked_up_site_wide(xnat_server: LocalXNAT, admin: requests.Session) -> None:
    """A given ID that is already used is looked up site-wide and the PUT then acts on that
    object. ``SubjectResource.handlePut``: ``existing =
    XnatSubjectdata.getXnatSubjectdatasById(sub.getId(), ...)``; in another project -> 409
    "Project must be modified through separate URI."; in the same project the PUT updates
    it (label from the URL, 200). ``SubjAssessmentResource.handlePut`` (via
    ``getExistingExperiment``): another project -> 409 (same message); same project with a
    different label and no ``label=`` -> 400 "Label must be modified through separate URI."
    An ID that differs from the existing object's -> 400 "ID cannot be modified"."""
    url = xnat_server.url
    p1 = _project(admin, url, "FIDID3")
    p2 = _project(admin, url, "FIDID4")
    assert admin.put(f"{p1}/subjects/T1", params={"xnat:subjectData/ID": "TAKEN_S"}).ok
    clash = admin.put(f"{p2}/subjects/T1", params={"xnat:subjectData/ID": "TAKEN_S"})
    assert clash.status_code == 409
    assert "Project must be modified through separate URI." in clash.text
    same = admin.put(f"{p1}/subjects/T1_NEW", params={"xnat:subjectData/ID": "TAKEN_S"})
    assert (same.status_code, same.text) == (200, "TAKEN_S")
    assert [r["label"] for r in rows(admin.get(f"{p1}/subjects?format=json"))] == ["T1_NEW"]
    moved = admin.put(f"{p1}/subjects/T1_NEW", params={"xnat:subjectData/ID": "OTHER_S"})
    assert moved.status_code == 400 and "ID cannot be modified" in moved.text

    mr = {"xsiType": "xnat:mrSessionData", "xnat:mrSessionData/ID": "TAKEN_E"}
    assert admin.put(f"{p1}/subjects/T1_NEW/experiments/MR1", params=mr).status_code == 201
    assert admin.put(f"{p2}/subjects/X/experiments/MR1", params=mr).status_code == 409
    relabel = admin.put(f"{p1}/subjects/T1_NEW/experiments/MR2", params=mr)
    assert relabel.status_code == 400
    assert "Label must be modified through separate URI." in relabel.text


def test_an_id_with_invalid_characters_is_refused(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """``SubjAssessmentResource.handlePut``: ``!XftStringUtils.isValidId(expt.getId())`` ->
    417 "Invalid character in experiment label." (XNAT's wording). Subjects get the same 417
    here ("Invalid character in subject ID.")."""
    p = _project(admin, xnat_server.url, "FIDID5")
    bad = admin.put(f"{p}/subjects/S1", params={"xnat:subjectData/ID": "bad id!"})
    assert bad.status_code == 417
    assert admin.put(f"{p}/subjects/S1").status_code == 201
    e = admin.put(
        f"{p}/subjects/S1/experiments/MR1",
        params={"xsiType": "xnat:mrSessionData", "xnat:mrSessionData/ID": "bad id!"},
    )
    assert e.status_code == 417 and "Invalid character in experiment label." in e.text


# -- 3. prearchive code of new projects --------------------------------------------------


def test_new_projects_auto_archive(xnat_server: LocalXNAT, admin: requests.Session) -> None:
    """A project created over REST gets prearchive code 4: ``BaseXnatProjectdata.quickSave``
    (``ProjectListResource``/``ProjectResource``) -> ``initArcProjectImpl`` ->
    ``setPrearchiveCode(XDAT.getIntSiteConfigurationProperty("defaultPrearchiveCode", 4))``.
    An import without ``dest`` then lands in the archive (``SessionImporter.call`` ->
    ``FinishImageUpload.isAutoArchive``), while ``dest=/prearchive`` keeps the session in
    the prearchive (``SessionImporter.call`` returns before archiving for a PrearchiveURI).
    The code lives in ``arc:project``, not in the project's document."""
    url = xnat_server.url
    p = _project(admin, url, "FIDARC")
    assert admin.post(f"{url}/data/projects", params={"ID": "FIDARC2"}).status_code == 200
    for pid in ("FIDARC", "FIDARC2"):
        assert admin.get(f"{url}/data/projects/{pid}/prearchive_code").text == "4"
    fields = admin.get(f"{p}?format=json").json()["items"][0]["data_fields"]
    assert "prearchive_code" not in fields
    data = make_dicom_zip(None, patient="ARC1", study_label="ARC1_MR", instances_per_series=1)
    resp = admin.post(f"{url}/data/services/import", params={"project": "FIDARC"}, data=data)
    assert resp.status_code == 200, resp.text
    assert resp.text.strip() == "/data/archive/projects/FIDARC/subjects/ARC1/experiments/ARC1_MR"
    data = make_dicom_zip(None, patient="ARC2", study_label="ARC2_MR", instances_per_series=1)
    pre = admin.post(
        f"{url}/data/services/import",
        params={"project": "FIDARC", "dest": "/prearchive"},
        data=data,
    )
    assert pre.status_code == 200, pre.text
    assert pre.text.strip().startswith("/data/prearchive/projects/FIDARC/")
    # seeded projects stand for existing ones and keep their stored code (0 by default)
    xnat_server.seed_project("FIDSEED")
    assert admin.get(f"{url}/data/projects/FIDSEED/prearchive_code").text == "0"


# -- 4. resource listings under missing objects ------------------------------------------


def test_resource_listing_under_a_missing_object(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """GET ``.../resources`` under a missing experiment, scan, reconstruction or assessor is
    not refused: ``XNATTemplate``'s constructor raises "Unable to identify experiment/scan"
    only ``if (... && !isGetCall)``, and ``CatalogResourceList`` answers 404 only when no
    reconstruction, scan, experiment, subject or project resolved. ``loadCatalogs`` then
    lists the nearest object that did resolve, in its order reconstructions -> scans ->
    experiments -> subject -> project: under a subject URL the subject's resources, under a
    project URL the project's, 200. A missing project or subject stays 404 (``XNATTemplate``
    throws for any method), and writes still answer 404."""
    url = xnat_server.url
    p = _project(admin, url, "FIDRES")
    assert admin.put(f"{p}/subjects/S1").status_code == 201
    assert admin.put(f"{p}/subjects/S1/experiments/MR1?xsiType=xnat:mrSessionData").ok
    assert admin.put(f"{p}/subjects/S1/experiments/MR1/scans/1?xsiType=xnat:mrScanData").ok
    assert admin.put(f"{p}/subjects/S1/resources/SUBJ_RES").ok
    assert admin.put(f"{p}/resources/PROJ_RES").ok
    eid = admin.get(f"{p}/experiments/MR1?format=json").json()["items"][0]["data_fields"]["ID"]

    def labels(path: str) -> list[str]:
        return [r["label"] for r in rows(admin.get(f"{url}{path}?format=json"))]

    sub = "/data/projects/FIDRES/subjects/S1"
    assert labels(f"{sub}/experiments/MR1/scans/99/resources") == ["SUBJ_RES"]
    assert labels(f"{sub}/experiments/NOPE/resources") == ["SUBJ_RES"]
    assert labels(f"{sub}/experiments/NOPE/scans/1/resources") == ["SUBJ_RES"]
    assert labels("/data/projects/FIDRES/experiments/MR1/scans/99/resources") == ["PROJ_RES"]
    assert labels("/data/projects/FIDRES/experiments/MR1/assessors/NOPE/resources") == ["PROJ_RES"]
    # the scan that exists still lists its own (empty) resources
    assert labels(f"{sub}/experiments/MR1/scans/1/resources") == []
    # nothing in the path resolved: 404
    assert admin.get(f"{url}/data/experiments/{eid}/scans/99/resources").status_code == 404
    assert admin.get(f"{url}/data/experiments/NOPE/resources").status_code == 404
    # a missing subject or project is refused whatever the method
    assert admin.get(f"{p}/subjects/NOPE/experiments/MR1/scans/1/resources").status_code == 404
    assert admin.get(f"{url}/data/projects/NOPE/resources").status_code == 404
    # writes under a missing scan are still refused
    put = admin.put(f"{url}{sub}/experiments/MR1/scans/99/resources/NEW")
    assert put.status_code == 404

"""Behaviours checked against XNAT's own source (``NrgXnat/xnat-web``, ``NrgXnat/xnat``,
``dicom-xnat``): client-given IDs on create, the site ID and ``/xapi/siteConfig``, the
prearchive code of new projects, resource listings under missing objects, scan
``parameters/addParam``, the text of float fields, search criteria and result keys,
``last_modified``, a project's study protocols, the DICOM session builder's fields, listing
order, a fresh install's accounts and anonymous access, and what XNAT routes under
``/data/projects/{P}/experiments/{E}``."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import requests

from tests.server.conftest import rows
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT

XNAT_NS = "{http://nrg.wustl.edu/xnat}"


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


def test_bulk_seeding_skips_ids_clients_took() -> None:
    """``LocalXNAT.seed_bulk`` generates IDs as the REST handlers do (``CreateNewID``): one a
    client took is skipped, not a primary-key clash."""
    with LocalXNAT() as server, requests.Session() as admin:
        admin.auth = ("admin", "admin")
        p = _project(admin, server.url, "FIDID3")
        first = admin.put(f"{p}/subjects/B1").text
        taken = f"{first[:-5]}{int(first[-5:]) + 1:05d}"
        assert admin.put(f"{p}/subjects/B2", params={"xnat:subjectData/ID": taken}).text == taken
        server.seed_bulk("FIDID3", 2, sessions_per_subject=1, scans_per_session=1)
        ids = [r["ID"] for r in rows(admin.get(f"{p}/subjects", params={"format": "json"}))]
        assert len(ids) == len(set(ids)) == 4


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
    experiments -> subject -> project: under a subject URL the subject's resources, 200.
    (An earlier version of this test had ``/data/projects/{P}/experiments/{E}/scans/99/
    resources`` list the project's resources; ``XNATApplication.addRoutes`` routes no scans
    there, so XNAT's prefix matching answers the experiment itself.) A missing project or
    subject stays 404 (``XNATTemplate`` throws for any method), and writes still answer
    404."""
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
    # XNAT routes no scans/assessors under /projects/{P}/experiments/{E} (XNATApplication):
    # Restlet's prefix matching gives those paths to ExperimentResource, the experiment
    for tail in ("scans/99/resources", "assessors/NOPE/resources"):
        doc = admin.get(f"{url}/data/projects/FIDRES/experiments/MR1/{tail}?format=json")
        assert doc.json()["items"][0]["data_fields"]["ID"] == eid
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


# -- 5. scan parameters/addParam ---------------------------------------------------------


def test_scan_add_params_are_stored_and_returned(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """``parameters/addParam`` of a scan is a list of ``xnat:addField`` items (xnat.xsd:
    ``<xs:element name="addParam" type="xnat:addField" maxOccurs="unbounded">``; the type is
    simple content ``addField`` with a ``name`` attribute, ``AutoXnatAddfield``). A PUT
    ``.../parameters/addParam[name=X]/addField=V`` stores one; the JSON document has them as
    the child collection ``parameters/addParam`` (``FlattenedItem.renderChildren`` keys
    child collections by the field's XML path; ``ItemJSONBuilder.convert`` writes
    ``meta``/``data_fields``), the XML as ``<xnat:addParam name="X">V</xnat:addParam>``
    inside ``<xnat:parameters>``. ``NULL`` removes one."""
    p = _project(admin, xnat_server.url, "FIDADD")
    assert admin.put(f"{p}/subjects/S1").status_code == 201
    assert admin.put(f"{p}/subjects/S1/experiments/MR1?xsiType=xnat:mrSessionData").ok
    scan = f"{p}/subjects/S1/experiments/MR1/scans/1"
    assert admin.put(f"{scan}?xsiType=xnat:mrScanData&xnat:mrScanData/parameters/tr=2.3").ok
    put = admin.put(
        f"{scan}?xnat:mrScanData/parameters/addParam[name=foo]/addField=bar"
        "&xnat:mrScanData/parameters/addParam[name=Echo Spacing]/addField=0.69"
    )
    assert put.status_code == 200, put.text
    item = admin.get(f"{scan}?format=json").json()["items"][0]
    assert item["data_fields"]["parameters/tr"] == 2.3
    assert not any("addParam" in k for k in item["data_fields"])
    (params,) = [c for c in item["children"] if c["field"] == "parameters/addParam"]
    got = {i["data_fields"]["name"]: i["data_fields"]["addField"] for i in params["items"]}
    assert got == {"foo": "bar", "Echo Spacing": "0.69"}
    assert {i["meta"]["xsi:type"] for i in params["items"]} == {"xnat:addField"}
    xml = ET.fromstring(admin.get(f"{scan}?format=xml").content)
    found = {e.get("name"): e.text for e in xml.findall(f"{XNAT_NS}parameters/{XNAT_NS}addParam")}
    assert found == {"foo": "bar", "Echo Spacing": "0.69"}
    # a second PUT changes one, NULL removes one
    assert admin.put(f"{scan}?xnat:mrScanData/parameters/addParam[name=foo]/addField=baz").ok
    assert admin.put(
        f"{scan}?xnat:mrScanData/parameters/addParam[name=Echo Spacing]/addField=NULL"
    ).ok
    item = admin.get(f"{scan}?format=json").json()["items"][0]
    (params,) = [c for c in item["children"] if c["field"] == "parameters/addParam"]
    assert [(i["data_fields"]["name"], i["data_fields"]["addField"]) for i in params["items"]] == [
        ("foo", "baz")
    ]


def test_scan_add_params_from_an_xml_document(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """The XML form (``<xnat:parameters><xnat:addParam name="X">V</xnat:addParam>``, what
    XNAT's own XML writer gives back) is read the same way, in a session document's scans
    and in a scan document."""
    p = _project(admin, xnat_server.url, "FIDADX")
    assert admin.put(f"{p}/subjects/S1").status_code == 201
    doc = (
        '<xnat:MRSession xmlns:xnat="http://nrg.wustl.edu/xnat" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" label="MR1">'
        '<xnat:scans><xnat:scan ID="1" xsi:type="xnat:mrScanData"><xnat:parameters>'
        '<xnat:addParam name="a">1</xnat:addParam><xnat:addParam name="b">two</xnat:addParam>'
        "</xnat:parameters></xnat:scan></xnat:scans></xnat:MRSession>"
    )
    put = admin.put(
        f"{p}/subjects/S1/experiments/MR1", data=doc, headers={"Content-Type": "text/xml"}
    )
    assert put.status_code in (200, 201), put.text
    scan = f"{p}/subjects/S1/experiments/MR1/scans/1"
    xml = ET.fromstring(admin.get(f"{scan}?format=xml").content)
    found = {e.get("name"): e.text for e in xml.findall(f"{XNAT_NS}parameters/{XNAT_NS}addParam")}
    assert found == {"a": "1", "b": "two"}
    scan_doc = (
        '<xnat:MRScan xmlns:xnat="http://nrg.wustl.edu/xnat" ID="2"><xnat:parameters>'
        '<xnat:addParam name="c">3</xnat:addParam></xnat:parameters></xnat:MRScan>'
    )
    put = admin.put(
        f"{p}/subjects/S1/experiments/MR1/scans/2?xsiType=xnat:mrScanData",
        data=scan_doc,
        headers={"Content-Type": "text/xml"},
    )
    assert put.ok, put.text
    item = admin.get(f"{p}/subjects/S1/experiments/MR1/scans/2?format=json").json()["items"][0]
    (params,) = [c for c in item["children"] if c["field"] == "parameters/addParam"]
    assert [(i["data_fields"]["name"], i["data_fields"]["addField"]) for i in params["items"]] == [
        ("c", "3")
    ]


# -- 6. float fields -----------------------------------------------------------------------


def test_float_fields_render_as_java_doubles(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """XFT keeps ``xs:float``/``xs:double`` in ``FLOAT`` columns (``PGSQLMapping``; decimal
    is ``NUMERIC``) read back as ``java.lang.Double`` (``JavaMapping``). The XML writer puts
    ``o.toString()`` (``XMLWriter.ValueParser``: ``42.0``, ``1.0E-4``; ``INF`` for an
    infinity) and a listing the same (``XFTTable.toJSON`` -> ``ValueParser`` ->
    ``toString()``), while ``?format=json`` hands the ``Double`` to org.json
    (``ItemJSONBuilder.convert``), whose ``JSONObject.numberToString`` drops a trailing
    ``.0``: the JSON number ``42``; a fraction or an exponent stays (``2.5``, ``1.0E-4``)."""
    p = _project(admin, xnat_server.url, "FIDFLT")
    assert admin.put(f"{p}/subjects/S1").status_code == 201
    assert admin.put(f"{p}/subjects/S1/experiments/MR1?xsiType=xnat:mrSessionData").ok
    scan = f"{p}/subjects/S1/experiments/MR1/scans/1"
    put = admin.put(
        scan,
        params={
            "xsiType": "xnat:mrScanData",
            "xnat:mrScanData/parameters/tr": "42",
            "xnat:mrScanData/parameters/te": "0.0001",
            "xnat:mrScanData/parameters/ti": "2.50",
            "xnat:mrScanData/parameters/flip": "12",  # xs:int: stays as written
        },
    )
    assert put.ok, put.text
    sdf = admin.get(f"{scan}?format=json").json()["items"][0]["data_fields"]
    assert (sdf["parameters/tr"], sdf["parameters/te"], sdf["parameters/ti"]) == (42, 0.0001, 2.5)
    assert isinstance(sdf["parameters/tr"], int)
    xml = ET.fromstring(admin.get(f"{scan}?format=xml").content)
    par = f"{XNAT_NS}parameters/{XNAT_NS}"
    assert [xml.findtext(f"{par}{n}") for n in ("tr", "te", "ti", "flip")] == [
        "42.0",
        "1.0E-4",
        "2.5",
        "12.0",
    ]
    listed = rows(
        admin.get(
            f"{p}/subjects/S1/experiments/MR1/scans?format=json"
            "&columns=ID,xnat:mrScanData/parameters/tr,xnat:mrScanData/parameters/te"
        )
    )
    assert (
        listed[0]["xnat:mrscandata/parameters/tr"],
        listed[0]["xnat:mrscandata/parameters/te"],
    ) == (
        "42.0",
        "1.0E-4",
    )
    # a subject's demographics height (xs:float) in the subject listing
    assert admin.put(f"{p}/subjects/S1?height=70").ok
    (subj,) = rows(admin.get(f"{p}/subjects?format=json&columns=ID,height"))
    assert subj["height"] == "70.0"


def test_java_double_text() -> None:
    """``Double.toString``: positional from 10^-3 up to 10^7, else computerized scientific
    notation with at least one fraction digit."""
    from xnat_sdk.testing._areas.archive.documents import java_double

    cases = {
        "42": "42.0",
        "2.30": "2.3",
        "0.001": "0.001",
        "0.0005": "5.0E-4",
        "9999999": "9999999.0",
        "1e7": "1.0E7",
        "-12345678": "-1.2345678E7",
        "0": "0.0",
        "INF": "Infinity",
        "abc": "abc",
    }
    assert {k: java_double(k) for k in cases} == cases


# -- 9. last_modified ----------------------------------------------------------------------


def test_last_modified_follows_changes(xnat_server: LocalXNAT, admin: requests.Session) -> None:
    """``DBAction.UpdateItem`` runs ``StoreHistoryAndMeta`` for a changed item, which sets
    ``meta.last_modified`` (and ``row_last_modified``) to the change's time; a new item's
    meta starts with the insert time (``XFTItem.NewMetaDataElement``). Listings show it as
    ``last_modified`` (``ScanList`` maps it to ``xnat:imageScanData/meta/last_modified``;
    ``<type>/meta/last_modified`` is what pyxnat's ``attrs.get`` asks for). A PUT that
    changes nothing leaves it. (``ItemJSONBuilder`` writes no ``last_modified`` in a
    document's ``meta``: only ``isHistory``, event IDs, ``start_date``/``end_date``,
    ``xsi:type``.)"""
    p = _project(admin, xnat_server.url, "FIDLMD")
    assert admin.put(f"{p}/subjects/S1").status_code == 201
    assert admin.put(f"{p}/subjects/S1/experiments/MR1?xsiType=xnat:mrSessionData").ok
    assert admin.put(f"{p}/subjects/S1/experiments/MR1/scans/1?xsiType=xnat:mrScanData").ok

    def subject() -> str:
        (r,) = rows(admin.get(f"{p}/subjects?format=json&columns=ID,last_modified,insert_date"))
        return r["last_modified"]

    def session() -> str:
        (r,) = rows(
            admin.get(
                f"{p}/experiments?format=json&columns=ID,xnat:mrSessionData/meta/last_modified"
            )
        )
        # not the shortcut's path (xnat:experimentData/meta/last_modified): answered under
        # its own, lower-cased (formatHeaders compares the path as text)
        return r["xnat:mrsessiondata/meta/last_modified"]

    def scan() -> str:
        (r,) = rows(
            admin.get(f"{p}/subjects/S1/experiments/MR1/scans?format=json&columns=ID,last_modified")
        )
        return r["last_modified"]

    before = (subject(), session(), scan())
    (first,) = rows(admin.get(f"{p}/subjects?format=json&columns=ID,insert_date"))
    assert before[0] == first["insert_date"]
    time.sleep(0.01)
    assert admin.put(f"{p}/subjects/S1?gender=female").ok
    assert admin.put(f"{p}/subjects/S1/experiments/MR1?xnat:mrSessionData/note=changed").ok
    assert admin.put(f"{p}/subjects/S1/experiments/MR1/scans/1?quality=usable").ok
    after = (subject(), session(), scan())
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)
    # a custom variable is a child item of the subject: its change counts
    time.sleep(0.01)
    assert admin.put(f"{p}/subjects/S1?xnat:subjectData/fields/field[name=site]/field=A").ok
    assert subject() > after[0]
    # nothing changed: nothing updated
    kept = subject()
    time.sleep(0.01)
    assert admin.put(f"{p}/subjects/S1?gender=female").ok
    assert subject() == kept


# -- 2. site ID and /xapi/siteConfig ---------------------------------------------------------


def test_accession_ids_follow_the_site_id(tmp_path: Path) -> None:
    """``IDGenerator`` (``org.nrg.xnat.turbine.utils``): the ID template is ``siteId`` with
    spaces, ``"``, ``'`` and ``^`` removed and ``-`` made ``_`` (constructor), plus
    ``"_" + code`` (``S`` for ``xnat_subjectdata``, ``E`` for ``xnat_experimentdata``,
    ``getDefaultCode``), formatted ``%s%05d`` (``IDGeneratorFactory.DEFAULT_DIGITS`` 5); the
    number starts after the count of IDs that already have the template
    (``generateIdentifier``: ``new AtomicInteger(offLimits.size())``). The generator reads
    the site ID once, when ``XnatServicesConfig`` builds it: a ``siteId`` set over
    ``/xapi/siteConfig`` is used by new IDs after the next start."""
    with LocalXNAT(tmp_path, site_id="MY-SITE 1") as xnat:
        s = requests.Session()
        s.auth = ("admin", "admin")
        p = _project(s, xnat.url, "SITEP")
        assert s.put(f"{p}/subjects/A").text == "MY_SITE1_S00001"
        e = s.put(f"{p}/subjects/A/experiments/MR1?xsiType=xnat:mrSessionData")
        assert e.text == "MY_SITE1_E00001"
        assert s.get(f"{xnat.url}/xapi/siteConfig/siteId").text == "MY-SITE 1"
        assert s.post(f"{xnat.url}/xapi/siteConfig/siteId", data="OTHER").status_code == 200
        assert s.get(f"{xnat.url}/xapi/siteConfig/siteId").text == "OTHER"
        assert s.put(f"{p}/subjects/B").text == "MY_SITE1_S00002"  # until the next start
    with LocalXNAT(tmp_path) as xnat:  # no site_id: the stored one
        s = requests.Session()
        s.auth = ("admin", "admin")
        p = f"{xnat.url}/data/projects/SITEP"
        assert s.put(f"{p}/subjects/C").text == "OTHER_S00001"
        assert s.get(f"{xnat.url}/xapi/siteConfig").json()["siteId"] == "OTHER"
    with LocalXNAT(tmp_path, site_id="MY-SITE 1") as xnat:
        s = requests.Session()
        s.auth = ("admin", "admin")
        # two IDs have the template: the count is the start, numbers never repeat
        assert s.put(f"{xnat.url}/data/projects/SITEP/subjects/D").text == "MY_SITE1_S00003"


def test_site_config_api(xnat_server: LocalXNAT, admin: requests.Session) -> None:
    """``SiteConfigApi`` (``org.nrg.xapi.rest.settings``): ``GET /xapi/siteConfig``
    (``getSiteConfigProperties``) is the map of the preferences the user may read
    (``SiteConfigAccess.canRead``: ``site-config-access.yaml`` lists ``public`` ones, e.g.
    ``siteId``/``siteUrl``, ``authenticated`` ones, and admin-only ones like
    ``archivePath``), typed (``requireLogin`` true, ``sessionXmlRebuilderRepeat`` 60000);
    ``GET /xapi/siteConfig/{property}`` (``getSpecifiedSiteConfigProperty``,
    ``SiteConfigPreferenceXapiAuthorization``, ``considerGuests``) lets guests read the
    public ones, refuses others (guest 401, user 403, ``AbstractXapiAuthorization.check``)
    and answers 404 "No site configuration property named X"; a single value is set with
    ``POST /xapi/siteConfig/{property}`` (``setSiteConfigProperty``, text body, admin) and
    several with ``POST /xapi/siteConfig`` (``setSiteConfigProperties``, JSON map): XNAT maps
    no PUT there (the issue's "GET/PUT siteId" is POST in the source)."""
    url = f"{xnat_server.url}/xapi/siteConfig"
    full = admin.get(url).json()
    assert full["siteId"] == "XNAT" and full["requireLogin"] is True
    assert full["archivePath"] == "/data/xnat/archive"
    assert full["sessionXmlRebuilderRepeat"] == 60000
    mine = requests.get(url, auth=("user", "user")).json()
    assert mine["siteId"] == "XNAT" and "archivePath" not in mine and "zipExtensions" in mine
    assert requests.get(url).status_code == 401
    assert requests.get(f"{url}/siteId").text == "XNAT"  # public
    assert requests.get(f"{url}/archivePath").status_code == 401
    assert requests.get(f"{url}/archivePath", auth=("user", "user")).status_code == 403
    assert admin.get(f"{url}/archivePath").text == "/data/xnat/archive"
    missing = admin.get(f"{url}/noSuchPreference")
    assert missing.status_code == 404 and "No site configuration property named" in missing.text
    assert admin.put(f"{url}/siteId", data="X").status_code == 405
    assert requests.post(f"{url}/siteUrl", data="x", auth=("user", "user")).status_code == 403
    sent = admin.post(url, json={"siteUrl": "http://xnat.example", "requireLogin": False})
    assert sent.status_code == 200
    assert admin.get(f"{url}/values/siteUrl,requireLogin").json() == {
        "siteUrl": "http://xnat.example",
        "requireLogin": False,
    }
    assert admin.post(url, json={"requireLogin": True}).ok


def test_serve_site_id_option(tmp_path: Path) -> None:
    """``xnat-sdk serve --site-id S`` starts the server with ``siteId`` S (what XNAT's setup
    page stores): accession IDs ``S_S00001``; ``--no-require-login`` turns XNAT's
    ``requireLogin`` off."""
    from serve_process import MAIN, start_serve, stop

    proc, url = start_serve(
        tmp_path, [MAIN, "serve", "--site-id", "CLI_SITE", "--no-require-login"]
    )
    try:
        auth = ("admin", "admin")
        assert requests.put(f"{url}/data/projects/CLIP", auth=auth).ok
        assert requests.put(f"{url}/data/projects/CLIP/subjects/A", auth=auth).text == (
            "CLI_SITE_S00001"
        )
        assert requests.get(f"{url}/xapi/siteConfig/siteId").text == "CLI_SITE"
        # --no-require-login: anonymous requests run as the guest
        assert requests.get(f"{url}/data/projects").status_code == 200
    finally:
        stop(proc)


# -- 7 and 8. search criteria and result keys -------------------------------------------------

_BUNDLE = (
    '<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security">'
    "<xdat:root_element_name>{root}</xdat:root_element_name>{fields}"
    '<xdat:search_where method="AND">{where}</xdat:search_where></xdat:bundle>'
)


def _search_fields(*fields: tuple[str, str]) -> str:
    return "".join(
        f"<xdat:search_field><xdat:element_name>{e}</xdat:element_name>"
        f"<xdat:field_ID>{f}</xdat:field_ID><xdat:sequence>{i}</xdat:sequence>"
        "<xdat:type>string</xdat:type><xdat:header>url</xdat:header></xdat:search_field>"
        for i, (e, f) in enumerate(fields)
    )


def _criterion(field: str, value: str) -> str:
    return (
        f"<xdat:criteria><xdat:schema_field>{field}</xdat:schema_field>"
        f"<xdat:comparison_type>=</xdat:comparison_type><xdat:value>{value}</xdat:value>"
        "</xdat:criteria>"
    )


def _seed_two_projects(xnat: LocalXNAT, a: str, b: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for pid in (a, b):
        xnat.seed_project(pid)
        for n in ("1", "2"):
            ids[f"{pid}_S{n}"] = xnat.seed_subject(pid, f"{pid}_S{n}")
            eid = xnat.seed_session(pid, f"{pid}_S{n}", f"{pid}_MR{n}")
            ids[f"{pid}_MR{n}"] = eid
            xnat.seed_scan(eid, "1")
    return ids


def test_search_result_keys_are_xnats_display_field_keys(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """``SearchResource.setColumnProperties`` keys a column by the display field's row ID
    lower-cased, prefixed by ``{element SQL name}_`` when the field's element is not the
    root; ``DisplaySearch.getSQLQuery`` selects the same aliases and always adds the root's
    ``meta/status AS QUARANTINE_STATUS`` (its ``Columns`` entry carries only the key). A
    search field is a display field ID, else an XML path (``DisplaySearch.addDisplayField``;
    a bare name is taken under the element) for which ``SchemaElement.
    getDisplayFieldForXMLPath`` finds the display field made of that one schema field
    (``xnat:mrSessionData/ID`` -> SESSION_ID, ``/project`` -> PROJECT, ``/subject_ID`` ->
    SUBJECT_ID) or ``createDisplayFieldForXMLPath`` makes one named
    ``XftStringUtils.cleanColumnName(path)`` upper-cased (``xnat:mrSessionData/label`` ->
    ``XNAT_COL_MRSESSIONDATALABEL``). Recorded: xnatpy's ``test_querying`` (a real XNAT's
    answer: ``{"project": "sandbox", "quarantine_status": "active",
    "xnat_col_mrsessiondatalabel": "test"}``). No other (key) column is added."""
    ids = _seed_two_projects(xnat_server, "FIDK1", "FIDK2")
    url = f"{xnat_server.url}/data/search?format=json"
    body = _BUNDLE.format(
        root="xnat:mrSessionData",
        fields=_search_fields(
            ("xnat:mrSessionData", "PROJECT"),
            ("xnat:mrSessionData", "xnat:mrSessionData/label"),
            ("xnat:mrSessionData", "xnat:mrSessionData/ID"),
            ("xnat:subjectData", "xnat:subjectData/label"),
            ("xnat:subjectData", "SUBJECT_ID"),
        ),
        where=_criterion("xnat:mrSessionData/label", "FIDK1_MR2"),
    )
    rs = admin.post(url, data=body).json()["ResultSet"]
    assert [c["key"] for c in rs["Columns"]] == [
        "project",
        "xnat_col_mrsessiondatalabel",
        "session_id",
        "xnat_subjectdata_xnat_col_subjectdatalabel",
        "xnat_subjectdata_subject_id",
        "quarantine_status",
    ]
    assert rs["Columns"][1]["id"] == "XNAT_COL_MRSESSIONDATALABEL"
    assert rs["Columns"][1]["xPATH"] == "xnat:mrSessionData.XNAT_COL_MRSESSIONDATALABEL"
    assert rs["Columns"][-1] == {"key": "quarantine_status"}
    assert rs["Result"] == [
        {
            "project": "FIDK1",
            "xnat_col_mrsessiondatalabel": "FIDK1_MR2",
            "session_id": ids["FIDK1_MR2"],
            "xnat_subjectdata_xnat_col_subjectdatalabel": "FIDK1_S2",
            "xnat_subjectdata_subject_id": ids["FIDK1_S2"],
            "quarantine_status": "active",
        }
    ]
    # scans: generated display fields per schema field (ID, IMAGE_SESSION_ID)
    body = _BUNDLE.format(
        root="xnat:mrScanData",
        fields=_search_fields(
            ("xnat:mrScanData", "xnat:mrScanData/ID"),
            ("xnat:mrScanData", "xnat:mrScanData/image_session_ID"),
        ),
        where=_criterion("xnat:mrScanData/image_session_ID", ids["FIDK2_MR1"]),
    )
    (row,) = admin.post(url, data=body).json()["ResultSet"]["Result"]
    assert row == {"id": "1", "image_session_id": ids["FIDK2_MR1"], "quarantine_status": "active"}


def test_search_criterion_on_the_subjects_project_constrains(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """``xnat:subjectData/PROJECT`` in ``search_where`` is the subject display's PROJECT
    field (``xnat:subjectData/project``, "Subject's primary project" in
    ``/data/search/elements/xnat:subjectData``); ``DisplayCriteria`` joins it from any root
    that reaches the subject (sessions, scans through their session), so only that
    project's rows come back, in each spelling (``/PROJECT``, ``.PROJECT``, ``/project``)."""
    ids = _seed_two_projects(xnat_server, "FIDC1", "FIDC2")
    url = f"{xnat_server.url}/data/search?format=json"
    cases = (
        ("xnat:subjectData", "xnat:subjectData/ID", {ids["FIDC1_S1"], ids["FIDC1_S2"]}),
        ("xnat:mrSessionData", "xnat:mrSessionData/ID", {ids["FIDC1_MR1"], ids["FIDC1_MR2"]}),
        (
            "xnat:mrScanData",
            "xnat:mrScanData/image_session_ID",
            {ids["FIDC1_MR1"], ids["FIDC1_MR2"]},
        ),
    )
    for root, field, expected in cases:
        for spelling in (
            "xnat:subjectData/PROJECT",
            "xnat:subjectData.PROJECT",
            "xnat:subjectData/project",
        ):
            body = _BUNDLE.format(
                root=root,
                fields=_search_fields((root, field)),
                where=_criterion(spelling, "FIDC1"),
            )
            result = admin.post(url, data=body).json()["ResultSet"]["Result"]
            assert {next(iter(r.values())) for r in result} == expected, (root, spelling)


# -- 11. the DICOM session builder ---------------------------------------------------------------


def test_dicom_import_fills_what_xnats_session_builder_fills(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """XNAT's DICOM session builder (``dicom-xnat``, ``org.nrg.dcm.xnat``) fills, per
    ``ImageSessionAttributes``: date, time, acquisition_site (InstitutionName), UID,
    session_type (StudyDescription), modality, scanner (StationName, values joined with
    ``,``), scanner/manufacturer, scanner/model, operator (OperatorsName), study_id,
    dcmAccessionNumber, dcmPatientId, dcmPatientName, dcmPatientBirthDate (a date),
    dcmPatientWeight; per ``MRSessionAttributes`` fieldStrength
    (``MagneticFieldStrengthAttribute``: Gauss to Tesla, rounded to 0.5); per
    ``ImageScanAttributes`` UID, series_description, modality, scanner (+ manufacturer,
    model), startTime, start_date, protocolName, bodyPartExamined; per ``MRScanAttributes``
    coil (ReceiveCoilName), fieldStrength, parameters/tr, te (``MREchoTimeAttribute``), ti,
    flip (``XnatAttrDef.Real``: ``String.valueOf(double)``), sequence, imageType,
    scanSequence, seqVariant, scanOptions, acqType, pixelBandwidth, voxelRes
    (``VoxelResAttribute``: PixelSpacing x, y and SliceThickness z), orientation
    (``OrientationAttribute``: Sag/Cor/Tra from ImageOrientationPatient) and fov
    (``ImageFOVAttribute``: x = Columns, y = Rows)."""
    url = xnat_server.url
    _project(admin, url, "FIDDCM")
    data = make_dicom_zip(
        None,
        patient="DCM1",
        study_label="DCM1_MR",
        project="FIDDCM",
        series=[(1, "T1"), (2, "T2")],
        instances_per_series=2,
    )
    resp = admin.post(f"{url}/data/services/import", params={"project": "FIDDCM"}, data=data)
    assert resp.status_code == 200, resp.text
    session = f"{url}{resp.text.strip()}"
    fields = admin.get(f"{session}?format=json").json()["items"][0]["data_fields"]
    assert {k: fields.get(k) for k in _SESSION_EXPECTED} == _SESSION_EXPECTED
    scan = admin.get(f"{session}/scans/2?format=json").json()["items"][0]["data_fields"]
    assert {k: scan.get(k) for k in _SCAN_EXPECTED} == {**_SCAN_EXPECTED, "parameters/tr": 2200}
    xml = ET.fromstring(admin.get(f"{session}/scans/1?format=xml").content)
    par = xml.find(f"{XNAT_NS}parameters")
    assert par is not None
    assert [par.findtext(f"{XNAT_NS}{n}") for n in ("tr", "te", "ti", "flip")] == [
        "2100.0",
        "2.98",
        "900.0",
        "9.0",
    ]
    voxel = par.find(f"{XNAT_NS}voxelRes")
    assert voxel is not None and (voxel.get("x"), voxel.get("z")) == ("1.0", "1.0")
    assert xml.findtext(f"{XNAT_NS}fieldStrength") == "3.0"


_SESSION_EXPECTED = {
    "date": "2024-01-15",
    "time": "10:30:00",
    "acquisition_site": "Local Imaging Centre",
    "session_type": "FIDDCM",
    "modality": "MR",
    "scanner": "LOCALSCAN1",
    "scanner/manufacturer": "SIEMENS",
    "scanner/model": "Prisma",
    "operator": "Operator^Test",
    "study_id": "1",
    "dcmPatientId": "DCM1_MR",
    "dcmPatientName": "DCM1",
    "dcmPatientBirthDate": "1980-01-01",
    "dcmPatientWeight": 70,
    "fieldStrength": "3.0",
}

_SCAN_EXPECTED = {
    "series_description": "T2",
    "modality": "MR",
    "scanner": "LOCALSCAN1",
    "scanner/manufacturer": "SIEMENS",
    "startTime": "10:30:00",
    "start_date": "2024-01-15",
    "protocolName": "T2",
    "bodyPartExamined": "BRAIN",
    "coil": "HeadNeck_64",
    "fieldStrength": "3.0",
    "parameters/tr": 2200,
    "parameters/te": 2.98,
    "parameters/ti": 900,
    "parameters/flip": 9,
    "parameters/sequence": "*tfl3d1_16ns",
    "parameters/imageType": "ORIGINAL\\PRIMARY\\M\\ND",
    "parameters/scanSequence": "GR\\IR",
    "parameters/seqVariant": "SK\\SP\\MP",
    "parameters/scanOptions": "IR",
    "parameters/acqType": "3D",
    "parameters/pixelBandwidth": 240,
    "parameters/voxelRes/x": 1,
    "parameters/voxelRes/y": 1,
    "parameters/voxelRes/z": 1,
    "parameters/orientation": "Sag",
    "parameters/fov/x": 64,
    "parameters/fov/y": 64,
}


def test_session_builder_attribute_rules() -> None:
    """The conversions of ``dicom-xnat``'s attribute definitions: ``MagneticFieldStrength
    Attribute`` (15000 Gauss -> ``1.5``, 2.89 T -> ``3.0``), ``OrientationAttribute``
    (axial ``1\\0\\0\\0\\1\\0`` -> ``Tra``, coronal -> ``Cor``), ``MREchoTimeAttribute`` (two
    echoes -> ``parameters/addParam`` ``MultiEcho_TE1``/``MultiEcho_TE2``, no
    ``parameters/te``), and a value the files disagree on is left out
    (``NoUniqueValueException``)."""
    from pydicom.dataset import Dataset

    from xnat_sdk.testing._areas.prearchive.dicom_fields import scan_fields, session_fields

    def mr(**values: object) -> Dataset:
        ds = Dataset()
        for keyword, value in values.items():
            setattr(ds, keyword, value)
        return ds

    assert session_fields([mr(MagneticFieldStrength="15000")], "xnat:mrSessionData") == {
        "fieldStrength": "1.5"
    }
    assert scan_fields([mr(MagneticFieldStrength="2.89")], "MR") == {"fieldStrength": "3.0"}
    axial = mr(ImageOrientationPatient=["1", "0", "0", "0", "1", "0"])
    coronal = mr(ImageOrientationPatient=["1", "0", "0", "0", "0", "-1"])
    assert scan_fields([axial], "MR")["parameters/orientation"] == "Tra"
    assert scan_fields([coronal], "MR")["parameters/orientation"] == "Cor"
    echoes = [mr(EchoTime="4.92", EchoNumbers="1"), mr(EchoTime="7.38", EchoNumbers="2")]
    assert scan_fields(echoes, "MR") == {
        "parameters/addParam[name=MultiEcho_TE1]": "4.92",
        "parameters/addParam[name=MultiEcho_TE2]": "7.38",
    }
    split = [mr(RepetitionTime="2000", Manufacturer="A"), mr(RepetitionTime="2500")]
    assert scan_fields(split, "MR") == {"scanner/manufacturer": "A"}
    stations = [mr(StationName="ONE"), mr(StationName="TWO")]
    assert session_fields(stations, "xnat:ctSessionData") == {"scanner": "ONE,TWO"}


# -- 13. a fresh install: the admin account and anonymous access ---------------------------------


def test_fresh_install_admin_account_and_anonymous_access(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """``META-INF/xnat/init_security_000.sql`` creates user 1 ``admin`` (first and last name
    ``Admin``) and user 2 ``guest`` (``XNAT`` ``Guest``). ``requireLogin`` is on by default
    (``SiteConfigPreferences.getRequireLogin``, ``defaultValue = "true"``), so
    ``UpdateSecurityFilterHandlerMethod.updateSecurityFilter`` makes every URL but the open
    ones (``configured-urls.yaml``: ``/data/JSESSION``, ``/data/services/auth``,
    ``/xapi/siteConfig/buildInfo``, ``/xapi/siteConfig/siteId`` ...) ``isAuthenticated()``:
    an anonymous ``GET /data/search/elements`` (or ``/data/projects``) is 401. With
    ``requireLogin`` off the request runs as the guest (``SearchElementsResource`` lists the
    elements, 200)."""
    url = xnat_server.url
    users = {r["login"]: r for r in rows(admin.get(f"{url}/data/users?format=json"))}
    assert (users["admin"]["firstname"], users["admin"]["lastname"]) == ("Admin", "Admin")
    assert users["admin"]["xdat_user_id"] in (1, "1")
    for path in (
        "/data/search/elements",
        "/data/projects",
        "/data/search/elements/xnat:subjectData",
    ):
        assert requests.get(f"{url}{path}").status_code == 401, path
    assert requests.get(f"{url}/xapi/siteConfig/buildInfo").status_code == 200
    assert requests.get(f"{url}/xapi/siteConfig/siteId").status_code == 200
    with LocalXNAT(require_login=False) as open_site:
        guest = requests.get(f"{open_site.url}/data/search/elements?format=json")
        assert guest.status_code == 200
        assert "xnat:subjectData" in {r["ELEMENT_NAME"] for r in rows(guest)}
    # the preference switches at once (XNAT's handler rebuilds the filter)
    assert admin.post(f"{url}/xapi/siteConfig/requireLogin", data="false").ok
    try:
        assert requests.get(f"{url}/data/search/elements").status_code == 200
    finally:
        assert admin.post(f"{url}/xapi/siteConfig/requireLogin", data="true").ok
    assert requests.get(f"{url}/data/search/elements").status_code == 401


# -- 12. listing order -------------------------------------------------------------------------


def test_listings_keep_the_databases_order_not_a_sorted_one(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """XNAT's listings put no ORDER BY in their query: ``ProjectListResource.
    DefaultProjectHandler`` (``QueryOrganizer.buildFullQuery``), ``ProjectSubjectList``,
    ``ProjSubExptList``/``ExperimentListResource`` and ``ScanList`` (``qo.buildQuery()``)
    run the query as built and ``SecureResource.representTable`` sorts only when ``sortBy``
    is given (``table.sort``). The rows come in the database's own order, for rows written
    once their insertion order; the local server answers that order (creation order), not
    IDs sorted, and still sorts on ``sortBy``/``sortOrder``."""
    url = xnat_server.url
    made = ["FIDORD_Z", "FIDORD_A", "FIDORD_M"]
    for pid in made:
        _project(admin, url, pid)
    listed = [r["ID"] for r in rows(admin.get(f"{url}/data/projects?format=json"))]
    assert [p for p in listed if p.startswith("FIDORD_")] == made
    p = f"{url}/data/projects/FIDORD_Z"
    for label in ("S_B", "S_C", "S_A"):
        assert admin.put(f"{p}/subjects/{label}", params={"xnat:subjectData/ID": label}).ok
    labels = [r["label"] for r in rows(admin.get(f"{p}/subjects?format=json"))]
    assert labels == ["S_B", "S_C", "S_A"]
    for label, eid in (("E_2", "FIDORD_E2"), ("E_1", "FIDORD_E1")):
        params = {"xsiType": "xnat:mrSessionData", "xnat:mrSessionData/ID": eid}
        assert admin.put(f"{p}/subjects/S_B/experiments/{label}", params=params).ok
    assert [r["label"] for r in rows(admin.get(f"{p}/experiments?format=json"))] == ["E_2", "E_1"]
    for scan in ("10", "2", "1"):
        assert admin.put(
            f"{p}/subjects/S_B/experiments/E_1/scans/{scan}?xsiType=xnat:mrScanData"
        ).ok
    scans = rows(admin.get(f"{p}/subjects/S_B/experiments/E_1/scans?format=json"))
    assert [r["ID"] for r in scans] == ["10", "2", "1"]
    by_label = rows(admin.get(f"{p}/subjects?format=json&sortBy=label"))
    assert [r["label"] for r in by_label] == ["S_A", "S_B", "S_C"]


# -- 10. a project's study protocols ------------------------------------------------------------

_PROTOCOL_PROJECT = (
    '<xnat:Project xmlns:xnat="http://nrg.wustl.edu/xnat" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{pid}" secondary_ID="{pid}">'
    "<xnat:name>Protocol project</xnat:name>"
    '<xnat:studyProtocol ID="{pid}_mr" name="MR protocol" data-type="xnat:mrSessionData" '
    'xsi:type="xnat:datatypeProtocol"><xnat:definitions><xnat:definition ID="default">'
    '<xnat:fields><xnat:field name="protofield" type="custom" datatype="string" '
    'required="false"/></xnat:fields></xnat:definition></xnat:definitions>'
    "</xnat:studyProtocol>"
    '<xnat:fields><xnat:field name="own">mine</xnat:field></xnat:fields>'
    "</xnat:Project>"
)


def test_a_projects_study_protocol_keeps_its_own_fields(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """``xnat:projectData/studyProtocol`` is a list of ``xnat:abstractProtocol`` items
    (xnat.xsd: ``maxOccurs="unbounded"``; ``xnat:datatypeProtocol`` holds
    ``definitions/definition`` (``xnat:fieldDefinitionGroup``) with their own
    ``fields/field``). XFT reads each as a child item of the project (``SAXReader``/
    ``XFTItem``: the element's children belong to it), so the protocol's field definitions
    are not the project's custom fields (``xnat:projectData/fields/field``). The JSON has
    the child collection ``studyProtocol`` (``FlattenedItem.renderChildren``), the XML the
    ``xnat:studyProtocol`` element with what it holds."""
    url = xnat_server.url
    doc = _PROTOCOL_PROJECT.format(pid="FIDPROT")
    put = admin.put(f"{url}/data/projects/FIDPROT", data=doc, headers={"Content-Type": "text/xml"})
    assert put.status_code in (200, 201), put.text
    item = admin.get(f"{url}/data/projects/FIDPROT?format=json").json()["items"][0]
    children = {c["field"]: c["items"] for c in item["children"]}
    assert [i["data_fields"] for i in children["fields/field"]] == [
        {"name": "own", "field": "mine"}
    ]
    (protocol,) = children["studyProtocol"]
    assert protocol["meta"]["xsi:type"] == "xnat:datatypeProtocol"
    assert protocol["data_fields"] == {
        "ID": "FIDPROT_mr",
        "name": "MR protocol",
        "data-type": "xnat:mrSessionData",
    }
    assert not any(k.startswith("studyProtocol") for k in item["data_fields"])
    xml = ET.fromstring(admin.get(f"{url}/data/projects/FIDPROT?format=xml").content)
    (element,) = xml.findall(f"{XNAT_NS}studyProtocol")
    field = element.find(f"{XNAT_NS}definitions/{XNAT_NS}definition/{XNAT_NS}fields/{XNAT_NS}field")
    assert field is not None and field.get("name") == "protofield"
    own = xml.findall(f"{XNAT_NS}fields/{XNAT_NS}field")
    assert [(f.get("name"), f.text) for f in own] == [("own", "mine")]


# -- the experiment tree under /data/projects/{P}/experiments/{E} --------------------------------


def test_project_experiment_paths_xnat_does_not_route(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    """``XNATApplication.addRoutes`` attaches under ``/projects/{PROJECT_ID}/experiments/
    {EXPT_ID}`` only the experiment (``ExperimentResource``), ``resources``,
    ``resources/{RESOURCE_ID}`` (+ ``/files``), ``DIR`` and ``XAR``; ``/files``, ``scans``,
    ``assessors`` and ``reconstructions`` are attached under ``/projects/{P}/subjects/{S}/
    experiments/{E}`` and ``/experiments/{E}`` only. Restlet's routes match by prefix, so a
    GET of ``.../experiments/{E}/files`` or ``.../scans/1`` reaches ``ExperimentResource``,
    whose ``represent`` answers the experiment itself (its ``filepath`` is not ``status``,
    ``history`` or ``projects``). Writes there would reach ``handlePut``/``handleDelete`` of
    the experiment (a DELETE would delete it); the local server refuses them (400) instead of
    imitating that. The same tree through ``/data/experiments/{E}`` works."""
    url = xnat_server.url
    p = _project(admin, url, "FIDTREE")
    assert admin.put(f"{p}/subjects/S1").ok
    eid = admin.put(f"{p}/subjects/S1/experiments/MR1?xsiType=xnat:mrSessionData").text
    assert admin.put(f"{url}/data/experiments/{eid}/scans/1?xsiType=xnat:mrScanData").ok
    assert admin.put(f"{url}/data/experiments/{eid}/resources/R1/files/a.txt", data=b"x").ok
    for tail in ("files", "scans", "scans/1", "scans/1/resources"):
        got = admin.get(f"{p}/experiments/MR1/{tail}?format=json")
        assert got.status_code == 200, tail
        assert got.json()["items"][0]["data_fields"]["ID"] == eid, tail
    # what XNAT does route there still works
    assert [r["label"] for r in rows(admin.get(f"{p}/experiments/MR1/resources"))] == ["R1"]
    listed = rows(admin.get(f"{p}/experiments/MR1/resources/R1/files?format=json"))
    assert [r["Name"] for r in listed] == ["a.txt"]
    assert [r["Name"] for r in rows(admin.get(f"{url}/data/experiments/{eid}/files"))] == ["a.txt"]
    assert [r["ID"] for r in rows(admin.get(f"{url}/data/experiments/{eid}/scans"))] == ["1"]
    # writes there are refused, and nothing is lost
    assert admin.delete(f"{p}/experiments/MR1/scans/1").status_code == 400
    assert admin.put(f"{p}/experiments/MR1/scans/2?xsiType=xnat:mrScanData").status_code == 400
    assert [r["ID"] for r in rows(admin.get(f"{url}/data/experiments/{eid}/scans"))] == ["1"]

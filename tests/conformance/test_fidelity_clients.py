"""xnatpy and pyxnat meeting behaviours checked against XNAT's source (see
``tests/server/test_xnat_fidelity.py``): client-given IDs, the site ID, the prearchive code
of new projects, resource listings under a missing scan, scan ``parameters/addParam``, the
text of float fields, ``last_modified``, search keys and criteria, the DICOM session
builder's fields, study protocols, listing order, a fresh install, and the experiment tree
under a project."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.conformance.conftest import Rest, unique
from xnat_sdk.testing.dicomgen import make_study, zip_study
from xnat_sdk.testing.local import LocalXNAT


def test_pyxnat_create_keeps_the_ids_it_passes(pyx: Any, rest: Rest) -> None:
    """pyxnat's ``create(**params)`` sends ``<type>/ID`` as a query field; XNAT
    (``SubjectResource.handlePut``, ``SubjAssessmentResource.handlePut``) keeps it."""
    pid = unique("PFID")
    project = pyx.select.project(pid)
    project.create()
    subject = project.subject("FSUB1")
    subject.create(**{"xnat:subjectData/ID": f"{pid}_S1"})
    assert subject.id() == f"{pid}_S1"
    session = subject.experiment("FMR1")
    session.create(**{"experiments": "xnat:mrSessionData", "xnat:mrSessionData/ID": f"{pid}_E1"})
    assert session.id() == f"{pid}_E1"
    assert rest.fields(f"/data/experiments/{pid}_E1")["label"] == "FMR1"
    assert rest.fields(f"/data/subjects/{pid}_S1")["label"] == "FSUB1"


def test_pyxnat_sees_prearchive_code_4_on_a_new_project(pyx: Any, rest: Rest) -> None:
    """``BaseXnatProjectdata.initArcProjectImpl`` sets ``defaultPrearchiveCode`` (4) on a
    project created over REST."""
    pid = unique("PFARC")
    project = pyx.select.project(pid)
    project.create()
    assert project.prearchive_code() == 4
    assert rest.content(f"/data/projects/{pid}/prearchive_code") == b"4"


def test_xnatpy_import_without_destination_archives_in_a_new_project(
    xnatpy: Any, rest: Rest, tmp_path: Path
) -> None:
    """In a project created over REST (code 4) ``SessionImporter.call`` archives an upload
    that names no destination (``FinishImageUpload.isAutoArchive``): xnatpy hands back the
    archived session, not a prearchive one; ``destination="/prearchive"`` still stops in the
    prearchive."""
    pid = unique("XFARC")
    xnatpy.put(f"/data/projects/{pid}")
    study = make_study(patient="FARC01", study_label="FARC01_MR1", instances_per_series=1)
    experiment = xnatpy.services.import_(
        data=zip_study(study), project=pid, content_type="application/zip"
    )
    assert type(experiment).__name__ == "MrSessionData"
    assert experiment.label == "FARC01_MR1"
    assert rest.rows(f"/data/prearchive/projects/{pid}") == []
    other = make_study(patient="FARC02", study_label="FARC02_MR1", instances_per_series=1)
    prearc = xnatpy.services.import_(data=zip_study(other), project=pid, destination="/prearchive")
    assert type(prearc).__name__ == "PrearchiveSession"


def test_pyxnat_resources_of_a_missing_scan(pyx: Any, rest: Rest) -> None:
    """``GET .../scans/{missing}/resources`` is not refused (``XNATTemplate`` raises "Unable
    to identify scan" only for non-GET calls) and ``CatalogResourceList.loadCatalogs``
    falls through to the subject of the URL: pyxnat lists the subject's resources."""
    pid = unique("PFRES")
    project = pyx.select.project(pid)
    project.create()
    subject = project.subject("RSUB1")
    subject.create()
    subject.experiment("RMR1").create(experiments="xnat:mrSessionData")
    subject.resource("SUBJ_RES").create()
    ids = subject.resources().get()
    assert len(ids) == 1
    missing = pyx.select.project(pid).subject("RSUB1").experiment("RMR1").scan("99")
    assert missing.resources().get() == ids
    assert not missing.exists()


def _mr_scan(rest: Rest, pid: str) -> str:
    """A project, subject ``S1``, session ``MR1`` and MR scan ``1``; the scan's path."""
    for path, params in (
        (f"/data/projects/{pid}", {}),
        (f"/data/projects/{pid}/subjects/S1", {}),
        (f"/data/projects/{pid}/subjects/S1/experiments/MR1", {"xsiType": "xnat:mrSessionData"}),
        (
            f"/data/projects/{pid}/subjects/S1/experiments/MR1/scans/1",
            {"xsiType": "xnat:mrScanData", "xnat:mrScanData/parameters/tr": "42"},
        ),
    ):
        resp = rest.http.put(rest.base + path, params=params, timeout=30)
        assert resp.ok, (path, resp.status_code, resp.text[:300])
    return f"/data/projects/{pid}/subjects/S1/experiments/MR1/scans/1"


def test_xnatpy_scan_fields_are_the_add_params(xnatpy: Any, rest: Rest) -> None:
    """xnatpy's ``scan.fields`` is ``scan.parameters.add_param``, read from the JSON child
    collection ``parameters/addParam`` (``xnat:addField`` items, ``addField`` value by
    ``name``) and written as ``.../parameters/addParam[name=X]/addField=V``: both ways
    work, as XNAT stores and returns those items."""
    pid = unique("XFADD")
    path = _mr_scan(rest, pid)
    put = rest.http.put(
        rest.base + path + "?xnat:mrScanData/parameters/addParam[name=foo]/addField=bar",
        timeout=30,
    )
    assert put.ok, put.text
    xnatpy.projects.clearcache()
    scan = xnatpy.projects[pid].subjects["S1"].experiments["MR1"].scans["1"]
    assert dict(scan.fields) == {"foo": "bar"}
    scan.fields["Echo Spacing"] = "0.69"
    items = rest.child(path, "parameters/addParam")
    assert {i["name"]: i["addField"] for i in items} == {
        "foo": "bar",
        "Echo Spacing": "0.69",
    }


def test_pyxnat_reads_float_fields_as_xnat_writes_them(pyx: Any, xnatpy: Any, rest: Rest) -> None:
    """pyxnat's ``attrs.get`` reads a listing column, whose text for an ``xs:float`` is
    ``Double.toString`` (``XFTTable.toJSON`` -> ``ValueParser``): ``'42.0'`` for a ``42``
    written; xnatpy converts the JSON number to the float ``42.0``."""
    pid = unique("PFFLT")
    _mr_scan(rest, pid)
    scan = pyx.select.project(pid).subject("S1").experiment("MR1").scan("1")
    assert scan.attrs.get("xnat:mrScanData/parameters/tr") == "42.0"
    xnatpy.projects.clearcache()
    xscan = xnatpy.projects[pid].subjects["S1"].experiments["MR1"].scans["1"]
    assert xscan.parameters.tr == 42.0


def test_pyxnat_sees_last_modified_change(pyx: Any, rest: Rest) -> None:
    """``<type>/meta/last_modified`` (what pyxnat's ``attrs.get`` asks the listing for) is
    the insert time at first and the change's time after a PUT that changed the object
    (``DBAction.StoreHistoryAndMeta``)."""
    pid = unique("PFLMD")
    _mr_scan(rest, pid)
    subject = pyx.select.project(pid).subject("S1")
    session = subject.experiment("MR1")
    s0 = subject.attrs.get("xnat:subjectData/meta/last_modified")
    e0 = session.attrs.get("xnat:mrSessionData/meta/last_modified")
    assert s0 and e0
    time.sleep(0.01)
    subject.attrs.set(
        "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender", "male"
    )
    session.attrs.set("xnat:mrSessionData/note", "changed")
    assert subject.attrs.get("xnat:subjectData/meta/last_modified") > s0
    assert session.attrs.get("xnat:mrSessionData/meta/last_modified") > e0


def test_pyxnat_site_setup_and_accession_ids(tmp_path: Path) -> None:
    """pyxnat's own test setup POSTs a JSON map to ``/xapi/siteConfig`` (``siteId``,
    ``siteUrl``, ``adminEmail``, ``requireLogin`` ...: ``SiteConfigApi.setSiteConfigProperties``)
    and reads ``/xapi/siteConfig/buildInfo``; the IDs of subjects and sessions it creates
    follow the site ID as ``IDGenerator`` makes them (``{siteId}_S00001``), and xnatpy sees
    the same IDs. The site ID set here is used by the ID generator after a restart."""
    import pyxnat
    import xnat

    with LocalXNAT(tmp_path, site_id="PYSITE") as srv:
        intf = pyxnat.Interface(server=srv.url, user="admin", password="admin")
        try:
            body = '{"siteUrl": "http://localhost", "adminEmail": "fake@fake.fake"}'
            intf._exec(
                "/xapi/siteConfig", "POST", body, headers={"Content-Type": "application/json"}
            )
            config = json.loads(intf._exec("/xapi/siteConfig"))
            assert (config["siteId"], config["adminEmail"]) == ("PYSITE", "fake@fake.fake")
            project = intf.select.project("SITEPROJ")
            project.create()
            subject = project.subject("SUB1")
            subject.create()
            assert subject.id() == "PYSITE_S00001"
            session = subject.experiment("MR1")
            session.create(experiments="xnat:mrSessionData")
            assert session.id() == "PYSITE_E00001"
        finally:
            intf.disconnect()
        with xnat.connect(srv.url, user="admin", password="admin", loglevel="WARNING") as xs:
            xsubject = xs.projects["SITEPROJ"].subjects["SUB1"]
            assert xsubject.id == "PYSITE_S00001"
            assert xsubject.experiments["MR1"].id == "PYSITE_E00001"


def test_xnatpy_query_rows_carry_xnats_keys(xnatpy: Any, rest: Rest, new_project: Any) -> None:
    """xnatpy's own ``test_querying`` (recorded against a real XNAT): a query viewing
    ``PROJECT`` and ``label`` tabulates as ``{"project", "xnat_col_mrsessiondatalabel",
    "quarantine_status"}`` (``SearchResource.setColumnProperties``, ``SchemaElement.
    createDisplayFieldForXMLPath``, ``DisplaySearch``'s ``QUARANTINE_STATUS``); its
    ``DEFAULT_SEARCH_FIELDS`` (``ID``, ``project``, ``subject_ID``) come back as
    ``session_id``/``project``/``subject_id``, which ``FROM_SEARCH_URI`` builds objects from."""
    pid = new_project("XQK")
    new_project_other = new_project("XQO")
    for p in (pid, new_project_other):
        rest.http.put(f"{rest.base}/data/projects/{p}/subjects/S1", timeout=30)
        rest.http.put(
            f"{rest.base}/data/projects/{p}/subjects/S1/experiments/{p}_MR1",
            params={"xsiType": "xnat:mrSessionData"},
            timeout=30,
        )
    mr = xnatpy.classes.MrSessionData
    query = mr.query().filter(mr.label == f"{pid}_MR1").view(mr.PROJECT, mr.label)
    assert query.tabulate_dict() == [
        {"project": pid, "quarantine_status": "active", "xnat_col_mrsessiondatalabel": f"{pid}_MR1"}
    ]
    assert query.tabulate_csv().splitlines()[0] == (
        "project,xnat_col_mrsessiondatalabel,quarantine_status"
    )
    found = mr.query().filter(mr.PROJECT == pid).all()  # noqa: SIM300
    assert [(type(e).__name__, e.label) for e in found] == [("MrSessionData", f"{pid}_MR1")]
    assert found[0].id == rest.fields(f"/data/projects/{pid}/experiments/{pid}_MR1")["ID"]


def test_pyxnat_search_columns_and_project_constraint(pyx: Any, new_project: Any) -> None:
    """pyxnat's ``select(type, columns).where(...)`` sends ``element/FIELD`` as the field ID:
    display field IDs (``SESSION_ID``, or ``XNAT_COL_MRSESSIONDATALABEL``, the field XNAT
    makes for ``label``, as pyxnat users spell it) come back under XNAT's keys; the
    constraint ``xnat:subjectData/PROJECT`` (pyxnat's own ``test_search_access``) limits the
    rows to that project, and ``//subjects`` built on it lists that project's subjects."""
    pid = new_project("PQK")
    other = new_project("PQO")
    project = pyx.select.project(pid)
    for p in (pid, other):
        for s in ("S1", "S2"):
            pyx.select.project(p).subject(s).create()
            pyx.select.project(p).subject(s).experiment(f"{p}_{s}_MR").create(
                experiments="xnat:mrSessionData"
            )
    columns = ["xnat:mrSessionData/SESSION_ID", "xnat:mrSessionData/XNAT_COL_MRSESSIONDATALABEL"]
    table = pyx.select("xnat:mrSessionData", columns).where(
        [("xnat:subjectData/PROJECT", "=", pid), "AND"]
    )
    assert list(table.headers()) == ["session_id", "xnat_col_mrsessiondatalabel"]
    assert sorted(table["xnat_col_mrsessiondatalabel"]) == [f"{pid}_S1_MR", f"{pid}_S2_MR"]
    # pyxnat matches a bare ``label`` to the answer's headers by similarity: XNAT's key
    # ``xnat_col_mrsessiondatalabel`` is not close enough, so pyxnat drops that column
    plain = pyx.select("xnat:mrSessionData", ["xnat:mrSessionData/label"]).where(
        [("xnat:mrSessionData/PROJECT", "=", pid), "AND"]
    )
    assert len(plain) == 2 and "xnat_col_mrsessiondatalabel" not in plain.headers()
    subjects = pyx.select("//subjects").where([("xnat:subjectData/PROJECT", "=", pid), "AND"])
    assert sorted(s._uri.split("/")[3] for s in subjects) == [pid, pid]
    assert sorted(s.label() for s in subjects) == ["S1", "S2"]
    assert project.exists()


def test_xnatpy_and_pyxnat_read_what_the_session_builder_fills(
    xnatpy: Any, pyx: Any, rest: Rest
) -> None:
    """An import through xnatpy's ``services.import_`` is built as XNAT's DICOM session
    builder builds it (``dicom-xnat``: ``ImageSessionAttributes``, ``MRSessionAttributes``,
    ``ImageScanAttributes``, ``MRScanAttributes``): xnatpy's typed attributes
    (``field_strength``, ``scanner``, ``operator``, ``acquisition_site``, ``coil``,
    ``parameters.tr`` ...) and pyxnat's ``attrs.get`` both read them."""
    pid = unique("XFDCM")
    xnatpy.put(f"/data/projects/{pid}")
    study = make_study(
        patient="BLD01", study_label="BLD01_MR1", project=pid, instances_per_series=1
    )
    experiment = xnatpy.services.import_(
        data=zip_study(study), project=pid, content_type="application/zip"
    )
    assert experiment.field_strength == "3.0"
    assert experiment.operator == "Operator^Test"
    assert (experiment.scanner.manufacturer, experiment.scanner.model) == ("SIEMENS", "Prisma")
    assert experiment.acquisition_site == "Local Imaging Centre"
    assert experiment.dcm_patient_name == "BLD01"
    scan = experiment.scans["1"]
    assert (scan.coil, scan.field_strength) == ("HeadNeck_64", "3.0")
    assert (scan.parameters.tr, scan.parameters.te, scan.parameters.flip) == (2100.0, 2.98, 9.0)
    assert scan.parameters.orientation == "Sag"
    assert (scan.parameters.voxel_res.x, scan.parameters.fov.x) == (1.0, 64)
    session = pyx.select.project(pid).subject("BLD01").experiment("BLD01_MR1")
    assert session.attrs.get("xnat:mrSessionData/fieldStrength") == "3.0"
    assert session.attrs.get("xnat:mrSessionData/scanner") == "LOCALSCAN1"
    pscan = session.scan("2")
    assert pscan.attrs.get("xnat:mrScanData/parameters/tr") == "2200.0"
    assert pscan.attrs.get("xnat:mrScanData/coil") == "HeadNeck_64"


def test_clients_on_a_fresh_install(xnatpy: Any, pyx: Any, server: LocalXNAT) -> None:
    """A fresh XNAT (``init_security_000.sql``): the admin account is ``admin``, first and
    last name ``Admin``, which xnatpy's ``users`` and pyxnat's ``manage.users`` read;
    ``requireLogin`` is on, so pyxnat's anonymous interface (its ``test_anonymous_access``)
    gets a guest session from the open ``/data/JSESSION`` (``UserSession``) but is refused
    (401) where XNAT's security filter wants a login (``/data/search/elements``); with
    ``requireLogin`` off the same calls run as the guest."""
    import pyxnat

    assert (xnatpy.users["admin"].first_name, xnatpy.users["admin"].last_name) == (
        "Admin",
        "Admin",
    )
    assert (pyx.manage.users.firstname("admin"), pyx.manage.users.lastname("admin")) == (
        "Admin",
        "Admin",
    )
    anonymous = pyxnat.Interface(server=server.url, anonymous=True)
    try:
        assert "401" in str(anonymous._exec("/data/search/elements?format=json"))
    except Exception as exc:  # pyxnat raises on an error page in some versions
        assert "401" in str(exc) or "Authentication" in str(exc)
    finally:
        anonymous.disconnect()
    with LocalXNAT(require_login=False) as open_site:
        open_site.seed_project("PUBPROJ", accessibility="public")
        guest = pyxnat.Interface(server=open_site.url, anonymous=True)
        try:
            assert "xnat:subjectData" in guest.inspect.datatypes()
            assert guest.select.projects().get() == ["PUBPROJ"]
        finally:
            guest.disconnect()


def test_pyxnat_and_xnatpy_list_in_creation_order(pyx: Any, xnatpy: Any) -> None:
    """XNAT's listings have no ORDER BY (``ProjectSubjectList``, ``ScanList``): rows come
    in the database's order, for rows written once the order they were made in. pyxnat's
    ``get()`` and xnatpy's listings keep the answer's order."""
    pid = unique("PFORD")
    project = pyx.select.project(pid)
    project.create()
    for label in ("ZED", "ALPHA", "MID"):
        project.subject(label).create()
    assert [s.label() for s in project.subjects()] == ["ZED", "ALPHA", "MID"]
    xnatpy.projects.clearcache()
    assert [s.label for s in xnatpy.projects[pid].subjects.values()] == ["ZED", "ALPHA", "MID"]


def test_xnatpy_sees_a_projects_own_fields_beside_its_protocol(xnatpy: Any, rest: Rest) -> None:
    """A project document with a ``xnat:studyProtocol`` (a ``xnat:datatypeProtocol`` whose
    field definitions have their own ``fields/field``): xnatpy's ``project.fields`` are only
    the project's custom variables, and ``study_protocol`` lists the protocol (XFT keeps it
    as a child item of the project)."""
    pid = unique("XFPROT")
    doc = (
        '<xnat:Project xmlns:xnat="http://nrg.wustl.edu/xnat" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'ID="{pid}" secondary_ID="{pid}"><xnat:name>{pid}</xnat:name>'
        f'<xnat:studyProtocol ID="{pid}_mr" name="MR" data-type="xnat:mrSessionData" '
        'xsi:type="xnat:datatypeProtocol"><xnat:definitions><xnat:definition ID="d">'
        '<xnat:fields><xnat:field name="protofield" type="custom" datatype="string"/>'
        "</xnat:fields></xnat:definition></xnat:definitions></xnat:studyProtocol>"
        '<xnat:fields><xnat:field name="own">mine</xnat:field></xnat:fields></xnat:Project>'
    )
    put = rest.http.put(
        f"{rest.base}/data/projects/{pid}",
        data=doc,
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )
    assert put.ok, put.text
    xnatpy.projects.clearcache()
    project = xnatpy.projects[pid]
    assert dict(project.fields) == {"own": "mine"}
    assert [p.id for p in project.study_protocol] == [f"{pid}_mr"]


def test_clients_reach_a_project_experiments_tree_where_xnat_routes_it(
    xnatpy: Any, pyx: Any, rest: Rest
) -> None:
    """XNAT routes no ``scans``/``files`` under ``/data/projects/{P}/experiments/{E}``
    (``XNATApplication.addRoutes``; such a GET answers the experiment itself). xnatpy and
    pyxnat, reaching an experiment through its project, still list its scans and files (they
    address them through ``/subjects/{S}/experiments/{E}`` or ``/experiments/{E}``), while a
    client asking the unrouted path gets the experiment document back."""
    pid = _mr_scan(rest, unique("XFTREE"))
    pid = pid.split("/")[3]
    eid = rest.fields(f"/data/projects/{pid}/subjects/S1/experiments/MR1")["ID"]
    put = rest.http.put(
        f"{rest.base}/data/experiments/{eid}/resources/R1/files/a.txt", data=b"x", timeout=30
    )
    assert put.ok, put.text
    xnatpy.projects.clearcache()
    experiment = xnatpy.projects[pid].experiments["MR1"]
    assert [scan.id for scan in experiment.scans.values()] == ["1"]
    assert [f.id for f in experiment.files.values()] == ["a.txt"]
    assert pyx.select.project(pid).experiment("MR1").scans().get() == ["1"]
    misrouted = rest.item(f"/data/projects/{pid}/experiments/MR1/scans")
    assert misrouted["data_fields"]["ID"] == eid


def test_xnatpy_creates_with_its_own_ids_and_deletes_a_scan(xnatpy: Any, rest: Rest) -> None:
    """xnatpy's object creation (``SubjectData(parent=..., label=..., id=...)``) sends the ID
    it is given and XNAT keeps it (``SubjectResource.handlePut``, ``SubjAssessmentResource.
    handlePut``); ``scan.delete()`` reads the scan's resources, then deletes it — the GET of
    the resources of a scan being deleted is not refused (``XNATTemplate`` refuses a missing
    scan only for non-GET calls), so the delete goes through."""
    pid = unique("XFIDS")
    xnatpy.put(f"/data/projects/{pid}")
    xnatpy.projects.clearcache()
    project = xnatpy.projects[pid]
    subject = xnatpy.classes.SubjectData(parent=project, label="S1", id=f"{pid}_SUBJ")
    assert subject.id == f"{pid}_SUBJ"
    session = xnatpy.classes.MrSessionData(parent=subject, label="MR1", id=f"{pid}_MR")
    assert session.id == f"{pid}_MR"
    assert rest.fields(f"/data/experiments/{pid}_MR")["label"] == "MR1"
    xnatpy.classes.MrScanData(parent=session, id="5", type="T1")
    xnatpy.classes.MrScanData(parent=session, id="6", type="T2")
    xnatpy.clearcache()
    scan = xnatpy.experiments[f"{pid}_MR"].scans["5"]
    assert list(scan.resources) == []
    scan.delete()
    assert [r["ID"] for r in rest.rows(f"/data/experiments/{pid}_MR/scans")] == ["6"]
    missing = rest.get(f"/data/projects/{pid}/subjects/S1/experiments/MR1/scans/5/resources")
    assert missing.status_code == 200

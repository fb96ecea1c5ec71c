"""Archive listings, single objects, writes, sharing and deletes over HTTP."""

from __future__ import annotations

import csv
import io
import itertools
import re
import xml.etree.ElementTree as ET

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.conftest import rows
from xnat_sdk.testing.local import LocalXNAT

XNAT_NS = "{http://nrg.wustl.edu/xnat}"
_label_projects = itertools.count(1)


def _tree(admin: requests.Session, url: str, project: str) -> tuple[str, str]:
    p = f"{url}/data/projects/{project}"
    s = admin.put(f"{p}/subjects/S1?gender=female")
    assert s.status_code == 201
    e = admin.put(
        f"{p}/subjects/S1/experiments/MR1?xsiType=xnat:mrSessionData&date=2021-03-04"
        "&xnat:mrSessionData/fieldStrength=3.0&xnat:mrSessionData/scanner=SCANNER_A"
    )
    assert e.status_code == 201
    r = admin.put(
        f"{p}/subjects/S1/experiments/MR1/scans/1?xsiType=xnat:mrScanData&type=T1w"
        "&quality=usable&series_description=t1_mprage&xnat:mrScanData/parameters/tr=2.3"
    )
    assert r.status_code == 200
    assert r.text == ""
    return s.text, e.text


def test_create_statuses_and_ids(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    sid, eid = _tree(admin, url, xnat_project)
    assert sid.startswith("XNAT_S") and len(sid) == len("XNAT_S00001")
    assert eid.startswith("XNAT_E")
    # updating an existing subject: 200 + ID; rename: 200 empty
    p = f"{url}/data/projects/{xnat_project}"
    r = admin.put(f"{p}/subjects/S1?group=control")
    assert (r.status_code, r.text) == (200, sid)
    r = admin.put(f"{p}/subjects/{sid}?label=S1b")
    assert (r.status_code, r.text) == (200, "")
    assert admin.get(f"{p}/subjects/S1b?format=json").status_code == 200
    # a new project is 200 with an empty body
    r = admin.put(f"{url}/data/projects/{xnat_project}X?name=Other%20{xnat_project}")
    assert (r.status_code, r.text) == (200, "")


def test_listing_default_columns_and_shapes(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    sid, eid = _tree(admin, url, xnat_project)
    p = f"{url}/data/projects/{xnat_project}"
    projects = admin.get(f"{url}/data/projects").json()["ResultSet"]
    assert projects["totalRecords"] == str(len(projects["Result"]))
    row = next(r for r in projects["Result"] if r["ID"] == xnat_project)
    assert set(row) == {
        "ID",
        "secondary_ID",
        "name",
        "description",
        "pi_firstname",
        "pi_lastname",
        "URI",
    }
    assert row["URI"] == f"/data/projects/{xnat_project}"

    (subj,) = rows(admin.get(f"{p}/subjects"))
    assert set(subj) == {"ID", "project", "label", "insert_date", "insert_user", "URI"}
    assert subj["URI"] == f"/data/subjects/{sid}"
    assert subj["insert_user"] == "admin"

    (exp,) = rows(admin.get(f"{p}/subjects/S1/experiments"))
    assert set(exp) == {
        "ID",
        "project",
        "date",
        "xsiType",
        "label",
        "insert_date",
        "xnat:subjectassessordata/id",
        "URI",
    }
    assert exp["xsiType"] == "xnat:mrSessionData"
    assert exp["date"] == "2021-03-04"

    (scan,) = rows(admin.get(f"{url}/data/experiments/{eid}/scans"))
    assert set(scan) == {
        "xnat_imagescandata_id",
        "ID",
        "type",
        "quality",
        "xsiType",
        "note",
        "series_description",
        "URI",
    }
    assert scan["URI"] == f"/data/experiments/{eid}/scans/1"
    assert scan["xnat_imagescandata_id"].isdigit()

    top = admin.get(f"{url}/data/experiments?xsiType=xnat:mrSessionData&project={xnat_project}")
    result = top.json()["ResultSet"]
    assert result["title"] == "Matching experiments"
    assert result["Result"][0]["xnat:mrsessiondata/id"] == eid
    assert result["Result"][0]["subject_label"] == "S1"

    admin.put(f"{p}/subjects/S1/experiments/CT1?xsiType=xnat:ctSessionData")
    both = rows(admin.get(f"{p}/experiments?xsiType=xnat:mrSessionData,xnat:ctSessionData"))
    assert sorted(x["label"] for x in both) == ["CT1", "MR1"]
    only_ct = rows(admin.get(f"{p}/experiments?xsiType=xnat:ctSessionData"))
    assert [x["label"] for x in only_ct] == ["CT1"]
    scanners = rows(admin.get(f"{url}/data/archive/scanners"))
    assert {"scanner": "SCANNER_A"} in scanners
    types = rows(admin.get(f"{p}/scan_types"))
    assert types == [{"series_descriptions": "t1_mprage,", "type": "T1w"}]


def test_columns_and_filters(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    _tree(admin, url, xnat_project)
    p = f"{url}/data/archive/projects/{xnat_project}"
    admin.put(f"{p}/subjects/S2?gender=male")
    r = rows(admin.get(f"{p}/subjects?columns=ID,URI,label,gender"))
    assert all(set(x) == {"ID", "label", "gender", "URI"} for x in r)
    assert {(x["label"], x["gender"]) for x in r} == {("S1", "female"), ("S2", "male")}
    r = rows(admin.get(f"{p}/subjects?columns=ID,label&label=S2"))
    assert [x["label"] for x in r] == ["S2"]
    r = rows(admin.get(f"{p}/subjects?label=S*&columns=ID,label"))
    assert len(r) == 2
    xp = "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender"
    r = rows(admin.get(f"{p}/subjects", params={"columns": f"ID,{xp}"}))
    assert {x["gender"] for x in r} == {"female", "male"}
    r = rows(admin.get(f"{p}/experiments?columns=ID,URI,label,xsiType"))
    # the root (xnat:subjectAssessorData) is not secured: ProjSubExptList adds project
    assert set(r[0]) == {"ID", "label", "xsiType", "project", "xnat:subjectassessordata/id", "URI"}
    # a path that is another element's shortcut is named by it: the subject's label
    (joined,) = rows(admin.get(f"{p}/experiments?columns=ID,xnat:subjectData/label"))
    assert joined["subject_label"] == "S1" and "label" not in joined
    # a shortcut's own path is named by the shortcut; the same field through a derived type
    # keeps its path, lower-cased (formatHeaders compares the path as text)
    (dated,) = rows(
        admin.get(f"{p}/experiments?columns=ID,xnat:experimentData/date,xnat:mrSessionData/date")
    )
    assert dated["date"] == dated["xnat:mrsessiondata/date"] == "2021-03-04"
    shortcuts = {x["key"]: x["xpath"] for x in rows(admin.get(f"{p}/subjects?fields=true"))}
    assert shortcuts["gender"] == "xnat:subjectData/demographics/gender"
    r = rows(admin.get(f"{p}/subjects?sortBy=label&sortOrder=DESC"))
    assert [x["label"] for x in r] == ["S2", "S1"]


def test_listing_formats(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    _tree(admin, url, xnat_project)
    p = f"{url}/data/projects/{xnat_project}/subjects"
    r = admin.get(f"{p}?format=csv")
    assert r.headers["Content-Type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(r.text)))
    assert parsed[0]["label"] == "S1"
    r = admin.get(f"{p}?format=xml")
    root = ET.fromstring(r.text)
    assert root.tag == "ResultSet"
    assert root.get("totalRecords") == "1"
    assert [c.text for c in root.iter("column")][:3] == ["ID", "project", "label"]
    r = admin.get(f"{p}?format=html")
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<td>S1</td>" in r.text


def test_object_json_shape(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    sid, eid = _tree(admin, url, xnat_project)
    doc = admin.get(f"{url}/data/experiments/{eid}?format=json").json()
    (item,) = doc["items"]
    assert item["meta"]["xsi:type"] == "xnat:mrSessionData"
    assert item["meta"]["isHistory"] is False
    assert isinstance(item["meta"]["create_event_id"], int)
    assert item["meta"]["start_date"].endswith(" UTC " + item["meta"]["start_date"][-4:])
    df = item["data_fields"]
    assert df["ID"] == df["id"] == eid
    assert (df["label"], df["project"], df["subject_ID"]) == ("MR1", xnat_project, sid)
    assert df["fieldStrength"] == "3.0"  # xs:string stays a string
    scans = next(c for c in item["children"] if c["field"] == "scans/scan")["items"]
    sdf = scans[0]["data_fields"]
    assert scans[0]["meta"]["xsi:type"] == "xnat:mrScanData"
    assert sdf["parameters/tr"] == 2.3  # xs:float becomes a number
    assert sdf["image_session_ID"] == eid
    assert sdf["xnat_imagescandata_id"] == sdf["xnat_imageScanData_id"]
    subj = admin.get(f"{url}/data/subjects/{sid}?format=json").json()["items"][0]
    demo = next(c for c in subj["children"] if c["field"] == "demographics")["items"][0]
    assert demo["meta"]["xsi:type"] == "xnat:demographicData"
    assert demo["data_fields"]["gender"] == "female"


def test_object_xml_shape(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    sid, eid = _tree(admin, url, xnat_project)
    r = admin.get(f"{url}/data/projects/{xnat_project}/subjects/S1/experiments/MR1?format=xml")
    assert r.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(r.content)
    assert root.tag == XNAT_NS + "MRSession"
    assert root.get("ID") == eid and root.get("label") == "MR1"
    assert root.find(XNAT_NS + "date").text == "2021-03-04"  # type: ignore[union-attr]
    scan = root.find(f"{XNAT_NS}scans/{XNAT_NS}scan")
    assert scan is not None
    assert scan.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "xnat:mrScanData"
    assert scan.get("type") == "T1w"
    tr = scan.find(f"{XNAT_NS}parameters/{XNAT_NS}tr")
    assert tr is not None and tr.text == "2.3"
    subj = ET.fromstring(admin.get(f"{url}/data/subjects/{sid}?format=xml").content)
    assert subj.tag == XNAT_NS + "Subject"
    assert subj.find(f"{XNAT_NS}demographics/{XNAT_NS}gender").text == "female"  # type: ignore[union-attr]


def test_single_object_default_is_html(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    r = admin.get(f"{xnat_server.url}/data/projects/{xnat_project}")
    assert r.headers["Content-Type"].startswith("text/html")


def test_custom_variables_and_null(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    sid, _ = _tree(admin, url, xnat_project)
    key = "xnat:subjectData/fields/field[name=Visit]/field"
    assert (
        admin.put(
            f"{url}/data/subjects/{sid}", params={"xsiType": "xnat:subjectData", key: "baseline"}
        ).status_code
        == 200
    )
    item = admin.get(f"{url}/data/subjects/{sid}?format=json").json()["items"][0]
    fields = next(c for c in item["children"] if c["field"] == "fields/field")["items"]
    assert [f["data_fields"] for f in fields] == [{"name": "visit", "field": "baseline"}]
    admin.put(f"{url}/data/subjects/{sid}", params={key: "NULL"})
    item = admin.get(f"{url}/data/subjects/{sid}?format=json").json()["items"][0]
    assert all(c["field"] != "fields/field" for c in item["children"])
    # several XPaths sent unencoded (``=`` inside the predicate) in one request
    demo = "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]"
    r = admin.put(f"{url}/data/subjects/{sid}?{demo}/yob=1980&{demo}/handedness=left")
    assert r.status_code == 200
    item = admin.get(f"{url}/data/subjects/{sid}?format=json").json()["items"][0]
    got = next(c for c in item["children"] if c["field"] == "demographics")["items"][0]
    assert got["data_fields"] == {"gender": "female", "yob": 1980, "handedness": "left"}
    admin.put(f"{url}/data/subjects/{sid}?{demo}/yob=NULL&{demo}/handedness=NULL")
    # NULL clears a plain field too
    gender = "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender"
    admin.put(f"{url}/data/subjects/{sid}", params={gender: "NULL"})
    item = admin.get(f"{url}/data/subjects/{sid}?format=json").json()["items"][0]
    assert all(c["field"] != "demographics" for c in item["children"])


def test_write_errors(xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session) -> None:
    url = xnat_server.url
    p = f"{url}/data/projects/{xnat_project}"
    admin.put(f"{p}/subjects/S1")
    r = admin.put(f"{p}/subjects/S1/experiments/E1")
    assert r.status_code == 417 and "Need PUT Contents" in r.text
    assert admin.get(f"{p}/subjects/S1/experiments/E1?format=json").status_code == 404
    r = admin.put(f"{p}/subjects/S1/experiments/E1?xsiType=xnat:mrSessionData")
    assert r.status_code == 201
    r = admin.put(f"{p}/subjects/S1/experiments/E1/scans/1?xsiType=xnat:imageScanData")
    assert r.status_code == 400 and "Multiple scan modalities" in r.text
    r = admin.put(f"{p}/subjects/S1/experiments/E1/scans/1")
    assert r.status_code == 417
    assert rows(admin.get(f"{p}/subjects/S1/experiments/E1/scans?format=json")) == []
    assert admin.put(f"{url}/data/projects/bad%20id").status_code == 417
    assert "bad id" not in [r["ID"] for r in rows(admin.get(f"{url}/data/projects?format=json"))]
    r = admin.get(f"{p}/subjects/NOPE?format=json")
    assert r.status_code == 404 and "does not contain a subject" in r.text
    assert admin.get(f"{url}/data/experiments/XNAT_E99999?format=json").status_code == 404
    assert admin.get(f"{url}/data/subjects/S1?format=json").status_code == 404  # label at top level
    assert (
        admin.post(f"{url}/data/projects/{xnat_project}/subjects/S1/experiments/E1").status_code
        == 405
    )
    assert admin.get(f"{url}/data/no/such/thing").status_code == 404


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    label=st.one_of(
        st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
        st.text(
            alphabet=st.characters(exclude_characters="/\\?#%\x00", exclude_categories=("Cs",)),
            min_size=1,
            max_size=12,
        ),
    )
)
def test_label_validation(xnat_server: LocalXNAT, admin: requests.Session, label: str) -> None:
    url = xnat_server.url
    project = f"LBL{next(_label_projects)}"  # a fresh project per example: no label clashes
    xnat_server.seed_project(project)
    sid = xnat_server.seed_subject(project, "SX")
    r = admin.put(f"{url}/data/projects/{project}/subjects/SX", params={"label": label})
    stored = xnat_server.store.one("SELECT label FROM subjects WHERE id=?", (sid,))
    assert stored is not None
    if re.fullmatch(r"[A-Za-z0-9_-]+", label):
        assert r.status_code == 200, (label, r.status_code, r.text)
        assert stored["label"] == label
    else:
        assert r.status_code == 417, (label, r.status_code)
        assert stored["label"] == "SX"


def test_xml_body_put(xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session) -> None:
    url = xnat_server.url
    admin.put(f"{url}/data/projects/{xnat_project}/subjects/S1")
    doc = (
        '<xnat:MRSession xmlns:xnat="http://nrg.wustl.edu/xnat" label="XE1">'
        "<xnat:date>2020-05-06</xnat:date><xnat:fieldStrength>1.5</xnat:fieldStrength>"
        '<xnat:scans><xnat:scan xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:type="xnat:mrScanData" ID="7" type="FLAIR"><xnat:quality>questionable</xnat:quality>'
        "</xnat:scan></xnat:scans></xnat:MRSession>"
    )
    r = admin.put(
        f"{url}/data/projects/{xnat_project}/subjects/S1/experiments/XE1",
        data=doc,
        headers={"Content-Type": "text/xml"},
    )
    assert r.status_code == 201, r.text
    (scan,) = rows(admin.get(f"{url}/data/experiments/{r.text}/scans"))
    assert (scan["ID"], scan["type"], scan["quality"]) == ("7", "FLAIR", "questionable")
    bad = admin.put(
        f"{url}/data/projects/{xnat_project}/subjects/S1/experiments/XE2",
        data="<not xml",
        headers={"Content-Type": "text/xml"},
    )
    assert bad.status_code == 422


def test_share_and_unshare(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    sid, eid = _tree(admin, url, xnat_project)
    dest = f"{xnat_project}_D"
    xnat_server.seed_project(dest)
    r = admin.put(f"{url}/data/projects/{xnat_project}/subjects/S1/projects/{dest}?label=SHARED1")
    assert r.status_code == 200
    (s,) = rows(admin.get(f"{url}/data/projects/{dest}/subjects"))
    assert (s["ID"], s["label"], s["project"]) == (sid, "SHARED1", xnat_project)
    assert admin.get(f"{url}/data/projects/{dest}/subjects/SHARED1?format=json").status_code == 200
    again = admin.put(
        f"{url}/data/projects/{xnat_project}/subjects/S1/projects/{dest}?label=SHARED1"
    )
    assert again.status_code == 409
    r = admin.put(f"{url}/data/experiments/{eid}/projects/{dest}?label=MR1_SH")
    assert r.status_code == 200
    (e,) = rows(admin.get(f"{url}/data/projects/{dest}/experiments"))
    assert (e["label"], e["project"]) == ("MR1_SH", dest)
    projs = rows(admin.get(f"{url}/data/experiments/{eid}/projects"))
    assert [p["ID"] for p in projs] == [xnat_project, dest]
    # deleting through the sharing project only removes the share
    assert admin.delete(f"{url}/data/projects/{dest}/subjects/SHARED1").status_code == 200
    assert rows(admin.get(f"{url}/data/projects/{dest}/subjects")) == []
    assert admin.get(f"{url}/data/subjects/{sid}?format=json").status_code == 200
    # primary move
    r = admin.put(f"{url}/data/experiments/{eid}/projects/{dest}?primary=true&label=MOVED")
    assert r.status_code == 200
    (e,) = rows(admin.get(f"{url}/data/projects/{dest}/experiments"))
    assert e["label"] == "MOVED"


def test_delete_objects(xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session) -> None:
    url = xnat_server.url
    _, eid = _tree(admin, url, xnat_project)
    p = f"{url}/data/projects/{xnat_project}"
    assert (
        admin.delete(f"{p}/subjects/S1/experiments/MR1/scans/1?removeFiles=true").status_code == 200
    )
    assert rows(admin.get(f"{url}/data/experiments/{eid}/scans")) == []
    assert admin.delete(f"{p}/subjects/S1?removeFiles=true").status_code == 200
    assert admin.get(f"{url}/data/experiments/{eid}?format=json").status_code == 404
    assert rows(admin.get(f"{p}/subjects")) == []
    assert admin.delete(f"{p}?removeFiles=true").status_code == 200
    assert admin.get(f"{p}?format=json").status_code == 404


def test_assessors_and_reconstructions(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    _, eid = _tree(admin, url, xnat_project)
    e = f"{url}/data/experiments/{eid}"
    r = admin.put(
        f"{e}/assessors/QC1?xsiType=xnat:qcManualAssessorData&xnat:qcManualAssessorData/rater=me"
    )
    assert r.status_code == 201
    aid = r.text
    (a,) = rows(admin.get(f"{e}/assessors"))
    assert (a["ID"], a["label"], a["session_ID"], a["xnat:imageassessordata/id"]) == (
        aid,
        "QC1",
        eid,
        aid,
    )
    item = admin.get(f"{e}/assessors/QC1?format=json").json()["items"][0]
    assert item["data_fields"]["rater"] == "me"
    assert admin.put(f"{e}/reconstructions/R1?type=avg").status_code == 200
    (rc,) = rows(admin.get(f"{e}/reconstructions"))
    assert (rc["ID"], rc["type"], rc["URI"]) == (
        "R1",
        "avg",
        f"/data/experiments/{eid}/reconstructions/R1",
    )
    assert admin.get(f"{e}/status").text == "active"


def test_post_on_collections(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    p = f"{url}/data/projects/{xnat_project}"
    r = admin.post(f"{p}/subjects?label=PS1")
    assert r.status_code == 200
    assert r.text.startswith(f"{url}/data/projects/{xnat_project}/subjects/XNAT_S")
    assert r.headers["Location"] == r.text
    assert admin.post(f"{p}/subjects?label=PS1").status_code == 409
    r = admin.post(f"{p}/subjects/PS1/experiments?label=PE1&xsiType=xnat:ctSessionData")
    assert r.status_code == 200
    eid = r.text.rsplit("/", 1)[1]
    assert rows(admin.get(f"{p}/experiments"))[0]["xsiType"] == "xnat:ctSessionData"
    r = admin.post(f"{url}/data/experiments/{eid}/scans?ID=3&xsiType=xnat:ctScanData&type=CT")
    assert r.status_code == 200 and r.text.endswith(f"/data/experiments/{eid}/scans/3")
    r = admin.post(f"{url}/data/projects?ID={xnat_project}_NEW")
    assert (r.status_code, r.text) == (200, f"{url}/data/projects/{xnat_project}_NEW")
    assert admin.post(f"{url}/data/projects?ID={xnat_project}_NEW").status_code == 409


def test_a_projects_experiments_listing_answers_its_assessors_for_an_assessor_type(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``ProjSubExptList`` takes one ``xsiType`` as the query's root, checking nothing: an
    image assessor type lists the project's assessors of that type; ``session_ID`` (a
    read-only shortcut) tells each one's session. Without it: sessions only."""
    url = xnat_server.url
    _, eid = _tree(admin, url, xnat_project)
    p = f"{url}/data/projects/{xnat_project}"
    made = admin.put(
        f"{p}/subjects/S1/experiments/MR1/assessors/MR1_QC?xsiType=xnat:qcManualAssessorData"
    )
    assert made.status_code in (200, 201)
    plain = rows(admin.get(f"{p}/experiments"))
    assert [x["label"] for x in plain] == ["MR1"]
    listed = rows(
        admin.get(
            f"{p}/experiments",
            params={"xsiType": "xnat:imageAssessorData", "columns": "ID,label,session_ID"},
        )
    )
    assert [(x["label"], x["session_ID"]) for x in listed] == [("MR1_QC", eid)]
    typed = rows(admin.get(f"{p}/experiments", params={"xsiType": "xnat:qcManualAssessorData"}))
    assert [x["xsiType"] for x in typed] == ["xnat:qcManualAssessorData"]
    assert rows(admin.get(f"{p}/experiments", params={"xsiType": "xnat:petSessionData"})) == []


def test_columns_xnat_cannot_use_answer_as_their_resource_does(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """A ``columns=`` XML path to a field its data type lacks fails the query as it is built:
    the subject listings and ``/data/experiments`` answer 500, a project's experiments
    listing 200 with an empty body (``ProjSubExptList`` logs it and renders no table). A
    name that is not a shortcut (case-sensitive) and a path of an unknown data type are left
    out; the rest of the answer is as usual."""
    url = xnat_server.url
    _tree(admin, url, xnat_project)
    p = f"{url}/data/projects/{xnat_project}"
    bad = "xnat:subjectData/nonexistent"
    for listing in (f"{p}/subjects", f"{url}/data/subjects"):
        answer = admin.get(f"{listing}?columns=ID,{bad}&format=json")
        assert answer.status_code == 500 and "<h3>" in answer.text
    answer = admin.get(f"{url}/data/experiments?columns=ID,xnat:mrSessionData/nope&format=json")
    assert answer.status_code == 500
    answer = admin.get(f"{p}/experiments?columns=ID,xnat:mrSessionData/nope&format=json")
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["Content-Type"].startswith("application/json")
    # known first steps pass: parts, custom variables, XFT's meta fields, joined elements
    fine = (
        "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender,"
        "xnat:subjectData/fields/field[name=x]/field,xnat:subjectData/meta/insert_date"
    )
    assert admin.get(f"{p}/subjects?columns=ID,{fine}&format=json").status_code == 200
    (row,) = [r for r in rows(admin.get(f"{p}/subjects?columns=ID,Gender,gender")) if r]
    assert "Gender" not in row and "gender" in row
    dropped = rows(admin.get(f"{p}/subjects?columns=label,bogus:thingData/label"))
    assert set(dropped[0]) == {"label", "ID", "URI"}
    only_key = rows(admin.get(f"{p}/subjects?columns=Label"))
    assert set(only_key[0]) == {"ID", "URI"}  # what is left replaces the defaults


def test_a_column_of_a_derived_type_narrows_the_listing_to_that_type(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    """``getRootElementName``: unless ``xsiType=`` is one type, the query's root moves down
    to the type of each column (or filter) that extends it, and only rows of that type are
    answered, keyed by its ID column; a joined element's path or a base type's narrows
    nothing, and a comma-separated ``xsiType`` filters nothing."""
    url = xnat_server.url
    _tree(admin, url, xnat_project)
    p = f"{url}/data/projects/{xnat_project}"
    assert admin.put(f"{p}/subjects/S1/experiments/PET1?xsiType=xnat:petSessionData").ok
    assert admin.put(f"{p}/subjects/S1/experiments/CT1?xsiType=xnat:ctSessionData").ok

    def labels(query: str, listing: str = f"{p}/experiments") -> list[str]:
        return sorted(r["label"] for r in rows(admin.get(f"{listing}?{query}")))

    everything = ["CT1", "MR1", "PET1"]
    assert labels("columns=ID,label") == everything
    (mr,) = rows(admin.get(f"{p}/experiments?columns=ID,label,xnat:mrSessionData/fieldStrength"))
    assert mr["label"] == "MR1" and "xnat:mrsessiondata/id" in mr
    assert "xnat:subjectassessordata/id" not in mr
    assert labels("columns=ID,label,fieldStrength") == ["MR1"]  # a shortcut by its path
    assert labels("columns=ID,label,scanner") == everything  # image sessions: all three
    assert labels("columns=ID,label,xnat:subjectData/label") == everything
    assert labels("columns=ID,label,xnat:experimentData/date") == everything
    assert labels("columns=ID,label&xsiType=xnat:mrSessionData,xnat:ctSessionData") == everything
    assert labels("columns=ID,label,fieldStrength&xsiType=xnat:imageSessionData") == everything
    assert labels("xnat:mrSessionData/fieldStrength=*&columns=ID,label") == ["MR1"]
    top = f"{url}/data/experiments"
    assert labels(f"project={xnat_project}&columns=ID,label,fieldStrength", top) == ["MR1"]
    assert labels("columns=ID,label,xsiType", f"{p}/experiments") == everything

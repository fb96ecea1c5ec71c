"""pyxnat against the archive tree: select, create, attrs, listings, sharing, delete, users."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import Rest, unique
from xnat_sdk.testing.local import LocalXNAT

NewProject = Callable[..., str]
GENDER = "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender"


def _seed_ps01(server: LocalXNAT, new_project: NewProject, *, scans: bool = True) -> str:
    """A fresh project with subject PS01 and its MR (dated, scans 1 T1w / 2 T2w), CT, PET."""
    pid = new_project("PXA", name="pyxnat archive")
    server.seed_subject(pid, "PS01")
    mr = server.seed_session(pid, "PS01", "PS01_MR1", fields={"date": "2022-05-06"})
    if scans:
        server.seed_scan(mr, "1", type="T1w", fields={"quality": "usable"})
        server.seed_scan(mr, "2", type="T2w", fields={"quality": "usable"})
    server.seed_session(pid, "PS01", "PS01_CT1", xsi_type="xnat:ctSessionData")
    server.seed_session(pid, "PS01", "PS01_PET1", xsi_type="xnat:petSessionData")
    return pid


def test_projects_listing_and_create(pyx: Any, rest: Rest, new_project: NewProject) -> None:
    PP = new_project("PXA", name="pyxnat archive")
    PQ = new_project("PXB")
    assert {PP, PQ} <= set(pyx.select.projects().get())
    new = unique("PXNEW")
    project = pyx.select.project(new)
    assert not project.exists()
    project.create()
    assert project.exists()
    assert new in [r["ID"] for r in rest.rows("/data/projects")]
    assert new in pyx.select.projects().get()
    assert pyx.select.project(PP).attrs.get("name") == "pyxnat archive"
    assert pyx.select.project(PP).description() == ""


def test_project_settings(pyx: Any, rest: Rest, new_project: NewProject) -> None:
    PP = new_project("PXA")
    project = pyx.select.project(PP)
    assert project.accessibility() == b"private"  # pyxnat hands back the raw body
    project.set_accessibility("protected")
    assert rest.content(f"/data/projects/{PP}/accessibility").decode() == "protected"
    project.set_prearchive_code("4")
    assert project.prearchive_code() == 4
    project.set_prearchive_code("0")
    assert project.prearchive_code() == 0
    project.set_quarantine_code("1")
    assert project.quarantine_code() == 1
    assert rest.content(f"/data/projects/{PP}/quarantine_code") == b"1"
    assert project.current_arc() == b"arc001"


def test_project_users(pyx: Any, rest: Rest, new_project: NewProject) -> None:
    PP = new_project("PXA")
    project = pyx.select.project(PP)
    assert project.owners() == ["admin"]
    project.add_user("user", "collaborator")
    assert project.user_role("user") == "collaborator"
    assert "user" in project.collaborators()
    rows = rest.rows(f"/data/projects/{PP}/users")
    assert {(r["login"], r["displayname"]) for r in rows} >= {("user", "Collaborators")}
    project.remove_user("user")
    assert "user" not in project.users()


def test_subject_create_with_attributes(pyx: Any, rest: Rest, new_project: NewProject) -> None:
    PP = new_project("PXA")
    subject = pyx.select.project(PP).subject("PS01")
    assert not subject.exists()
    subject.create()
    assert subject.exists()
    sid = subject.id()
    assert sid.startswith("XNAT_S") and subject.label() == "PS01"
    subject.attrs.set(GENDER, "male")
    subject.attrs.mset(
        {
            "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/handedness": "right",
            "xnat:subjectData/group": "patients",
        }
    )
    demo = rest.child(f"/data/projects/{PP}/subjects/PS01", "demographics")
    assert demo[0]["gender"] == "male" and demo[0]["handedness"] == "right"
    assert rest.fields(f"/data/projects/{PP}/subjects/PS01")["group"] == "patients"
    assert subject.attrs.get(GENDER) == "male"
    assert subject.attrs.get("xnat:subjectData/group") == "patients"
    assert pyx.select.project(PP).subjects().get() == [sid]
    assert [s.label() for s in pyx.select.project(PP).subjects()] == ["PS01"]


def test_subject_custom_variable_via_xpath(
    pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject
) -> None:
    PP = new_project("PXA")
    server.seed_subject(PP, "PS01")
    subject = pyx.select.project(PP).subject("PS01")
    path = "xnat:subjectData/fields/field[name=cohort]/field"
    subject.attrs.set(path, "control")
    assert rest.custom_fields(f"/data/projects/{PP}/subjects/PS01") == {"cohort": "control"}
    assert subject.attrs.get(path) == "control"


@pytest.mark.parametrize(
    ("label", "xsi"),
    [
        ("PS01_MR1", "xnat:mrSessionData"),
        ("PS01_CT1", "xnat:ctSessionData"),
        ("PS01_PET1", "xnat:petSessionData"),
    ],
)
def test_experiment_create_types_and_attrs(
    pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject, label: str, xsi: str
) -> None:
    PP = new_project("PXA")
    server.seed_subject(PP, "PS01")
    experiment = pyx.select.project(PP).subject("PS01").experiment(label)
    experiment.create(experiments=xsi)
    assert experiment.exists()
    assert experiment.datatype() == xsi
    experiment.attrs.set(f"{xsi}/date", "2022-05-06")
    experiment.attrs.mset({f"{xsi}/operator": "op1", f"{xsi}/note": "first visit"})
    uri = f"/data/projects/{PP}/subjects/PS01/experiments/{label}"
    data = rest.fields(uri)
    assert data["ID"] == experiment.id()
    assert data["date"] == "2022-05-06" and data["operator"] == "op1"
    assert data["note"] == "first visit"
    assert rest.item(uri)["meta"]["xsi:type"] == xsi
    assert experiment.attrs.get(f"{xsi}/date") == "2022-05-06"
    assert experiment.attrs.mget([f"{xsi}/operator", f"{xsi}/note"]) == ["op1", "first visit"]


def test_create_whole_branch_in_one_call(pyx: Any, rest: Rest, new_project: NewProject) -> None:
    PP = new_project("PXA")
    scan = pyx.select(f"/project/{PP}/subject/PS02/experiment/PS02_MR1/scan/1")
    scan.create(experiments="xnat:mrSessionData", scans="xnat:mrScanData")
    assert scan.exists()
    eid = pyx.select.project(PP).subject("PS02").experiment("PS02_MR1").id()
    assert rest.item(f"/data/experiments/{eid}")["meta"]["xsi:type"] == "xnat:mrSessionData"
    rows = rest.rows(f"/data/experiments/{eid}/scans")
    assert [(r["ID"], r["xsiType"]) for r in rows] == [("1", "xnat:mrScanData")]


def test_scans_attrs_and_listings(
    pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject
) -> None:
    PP = _seed_ps01(server, new_project, scans=False)
    server.seed_subject(PP, "PS02")
    server.seed_scan(server.seed_session(PP, "PS02", "PS02_MR1"), "1")
    experiment = pyx.select.project(PP).subject("PS01").experiment("PS01_MR1")
    for sid, stype in (("1", "T1w"), ("2", "T2w")):
        scan = experiment.scan(sid)
        scan.create(scans="xnat:mrScanData")
        scan.attrs.mset({"xnat:mrScanData/type": stype, "xnat:mrScanData/quality": "usable"})
    rows = {r["ID"]: r for r in rest.rows(f"/data/experiments/{experiment.id()}/scans")}
    assert {k: (v["type"], v["quality"]) for k, v in rows.items()} == {
        "1": ("T1w", "usable"),
        "2": ("T2w", "usable"),
    }
    assert sorted(experiment.scans().get()) == ["1", "2"]
    assert experiment.scan("2").attrs.get("xnat:mrScanData/type") == "T2w"
    # path-style selection with wildcards across the tree
    found = pyx.select(f"/projects/{PP}/subjects/*/experiments/*/scans/*").get()
    assert sorted(found) == ["1", "1", "2"]
    exps = [e.label() for e in pyx.select.project(PP).subject("PS01").experiments()]
    assert sorted(exps) == ["PS01_CT1", "PS01_MR1", "PS01_PET1"]


def test_reprs_of_objects(pyx: Any, server: LocalXNAT, new_project: NewProject) -> None:
    PP = _seed_ps01(server, new_project)
    server.seed_subject(PP, "PS02")
    server.seed_session(PP, "PS02", "PS02_MR1")
    # pyxnat builds these from listings and searches: they must not raise
    subject = pyx.select.project(PP).subject("PS01")
    assert "PS01" in repr(subject)
    experiment = subject.experiment("PS01_MR1")
    assert "PS01_MR1" in repr(experiment)
    assert "T1w" in repr(experiment.scan("1")) or "1" in repr(experiment.scan("1"))
    text = repr(pyx.select.project(PP))
    assert PP in text and "(owner: admin)" in text
    assert "2 MR experiments" in text and "1 CT experiment" in text and "1 PET experiment" in text


def test_share_subject_and_experiment(
    pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject
) -> None:
    PP = _seed_ps01(server, new_project)
    PQ = new_project("PXB")
    subject = pyx.select.project(PP).subject("PS01")
    subject.share(PQ, label="PS01_IN_B")
    experiment = subject.experiment("PS01_CT1")
    experiment.share(PQ, label="PS01_CT1_IN_B")
    srow = next(r for r in rest.rows(f"/data/projects/{PQ}/subjects") if r["ID"] == subject.id())
    assert srow["label"] == "PS01_IN_B"
    erow = next(
        r for r in rest.rows(f"/data/projects/{PQ}/experiments") if r["ID"] == experiment.id()
    )
    assert erow["label"] == "PS01_CT1_IN_B"
    assert PQ in subject.shares().get()
    assert pyx.select.project(PQ).subject("PS01_IN_B").exists()
    experiment.unshare(PQ)
    assert all(r["ID"] != experiment.id() for r in rest.rows(f"/data/projects/{PQ}/experiments"))


def test_a_share_without_a_label(
    pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject
) -> None:
    """pyxnat's ``share`` sends the object's own label when given none (a labelled share);
    a share made without one (XNAT stores no label) pyxnat lists and reads through the
    sharing project by accession ID (XNAT finds it there by no label)."""
    PP = _seed_ps01(server, new_project, scans=False)
    PQ, PR = new_project("PXC"), new_project("PXD")
    subject = pyx.select.project(PP).subject("PS01")
    subject.share(PR)
    assert rest.status(f"/data/projects/{PR}/subjects/PS01") == 200
    experiment = subject.experiment("PS01_CT1")
    for path in ("", "/experiments/PS01_CT1"):
        url = f"{rest.base}/data/projects/{PP}/subjects/PS01{path}/projects/{PQ}"
        assert rest.http.put(url).status_code == 200
    assert rest.status(f"/data/projects/{PQ}/experiments/PS01_CT1") == 404  # by label: no
    assert PQ in subject.shares().get()
    shared = pyx.select.project(PQ)
    assert subject.id() in shared.subjects().get()
    assert experiment.id() in shared.experiments().get()
    assert shared.subject(subject.id()).label() == "PS01"
    assert shared.experiment(experiment.id()).label() == "PS01_CT1"
    experiment.unshare(PQ)
    assert all(r["ID"] != experiment.id() for r in rest.rows(f"/data/projects/{PQ}/experiments"))


def test_delete(pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject) -> None:
    PP = new_project("PXA")
    subject = pyx.select.project(PP).subject("PDEL")
    experiment = subject.experiment("PDEL_MR1")
    experiment.create(experiments="xnat:mrSessionData")
    experiment.scan("9").create(scans="xnat:mrScanData")
    eid, sid = experiment.id(), subject.id()
    experiment.scan("9").delete()
    assert rest.rows(f"/data/experiments/{eid}/scans") == []
    experiment.delete()
    assert not experiment.exists()
    assert rest.status(f"/data/experiments/{eid}", format="json") == 404
    subject.delete()
    assert not subject.exists()
    assert server.store.one("SELECT id FROM subjects WHERE id=?", (sid,)) is None


def test_search_and_inspect(
    pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject
) -> None:
    PP = _seed_ps01(server, new_project)
    other = new_project("PXB")  # another project's sessions are not found
    server.seed_subject(other, "O01")
    server.seed_session(other, "O01", "O01_MR1")
    server.seed_session(PP, "PS01", "PS01_MR2")
    assert {"xnat:mrSessionData", "xnat:subjectData"} <= set(pyx.inspect.datatypes())
    table = pyx.select(
        "xnat:mrSessionData", ["xnat:mrSessionData/SESSION_ID", "xnat:mrSessionData/PROJECT"]
    ).where([("xnat:mrSessionData/PROJECT", "=", PP), "AND"])
    got = sorted(row["session_id"] for row in table)
    expected = sorted(
        r["ID"]
        for r in rest.rows(f"/data/projects/{PP}/experiments")
        if r["xsiType"] == "xnat:mrSessionData"
    )
    assert expected and got == expected
    assert sorted(pyx.manage.users()) == ["admin", "user"]


def test_relabel_and_primary_share(
    pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject
) -> None:
    PP = new_project("PXA")
    PQ = new_project("PXB")
    sid = server.seed_subject(PP, "MOVEME")
    subject = pyx.select.project(PP).subject("MOVEME")
    subject.attrs.set("xnat:subjectData/label", "MOVED")
    assert rest.fields(f"/data/subjects/{sid}")["label"] == "MOVED"
    pyx.select.project(PP).subject("MOVED").share(PQ, primary=True)
    row = next(r for r in rest.rows(f"/data/projects/{PQ}/subjects") if r["ID"] == sid)
    assert row["project"] == PQ  # ownership moved to the other project
    assert rest.fields(f"/data/subjects/{sid}")["project"] == PQ


def test_create_experiment_from_an_xml_document(
    pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject, tmp_path: Path
) -> None:
    PP = _seed_ps01(server, new_project)
    source = pyx.select.project(PP).subject("PS01").experiment("PS01_MR1")
    xml = source.get()
    assert xml.startswith(b"<?xml")
    # pyxnat re-labels the document with lxml, which refuses str input with an encoding
    # declaration: hand it the document without one, and without the source's IDs
    body = xml.split(b"?>", 1)[1].replace(f'ID="{source.id()}"'.encode(), b"")
    body = re.sub(rb"<xnat:subject_ID>[^<]*</xnat:subject_ID>", b"", body)
    path = tmp_path / "session.xml"
    path.write_bytes(body)
    copy = pyx.select.project(PP).subject("PS01").experiment("PS01_MR1_COPY")
    copy.create(xml=str(path))
    assert copy.exists() and copy.id() != source.id()
    uri = f"/data/projects/{PP}/subjects/PS01/experiments/PS01_MR1_COPY"
    assert rest.item(uri)["meta"]["xsi:type"] == "xnat:mrSessionData"
    assert rest.fields(uri)["date"] == "2022-05-06"
    rows = rest.rows(f"/data/experiments/{copy.id()}/scans")
    assert sorted((r["ID"], r["type"]) for r in rows) == [("1", "T1w"), ("2", "T2w")]


def test_value_outside_the_schema_is_refused_and_not_stored(
    pyx: Any, rest: Rest, server: LocalXNAT, new_project: NewProject
) -> None:
    """pyxnat validates nothing itself: XNAT's validator answers 400, pyxnat raises, and the
    subject keeps its old value."""
    pid = new_project("PXV")
    server.seed_subject(pid, "PV01")
    subject = pyx.select.project(pid).subject("PV01")
    subject.attrs.set(GENDER, "female")
    from pyxnat.core.errors import DatabaseError

    with pytest.raises(DatabaseError, match="status code: 400"):
        subject.attrs.set(GENDER, "zzz")
    uri = f"/data/projects/{pid}/subjects/PV01"
    assert [d["gender"] for d in rest.child(uri, "demographics")] == ["female"]
    subject.attrs.set(GENDER, "MALE")  # XNAT compares the enumeration ignoring case
    assert [d["gender"] for d in rest.child(uri, "demographics")] == ["MALE"]

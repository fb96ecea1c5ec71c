"""pyxnat: the array API, XML documents, navigation, users, schemas, project bookkeeping."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.conftest import Rest
from xnat_sdk.testing.local import LocalXNAT

PP = "PEA"


@pytest.fixture(scope="module", autouse=True)
def tree(server: LocalXNAT) -> dict[str, str]:
    """The module's read-only data: no test here writes, so each runs alone or in any order."""
    server.seed_project(PP)
    ids = {}
    for subj, n_scans in (("A01", 2), ("A02", 0)):
        server.seed_subject(PP, subj)
        eid = server.seed_session(PP, subj, f"{subj}_MR", fields={"date": "2020-01-02"})
        ids[subj] = eid
        for k in range(1, n_scans + 1):
            server.seed_scan(eid, str(k), type=f"T{k}")
    ids["CT"] = server.seed_session(PP, "A01", "A01_CT", xsi_type="xnat:ctSessionData")
    server.seed_scan(ids["CT"], "5", type="HEAD", xsi_type="xnat:ctScanData")
    return ids


def test_array_experiments_and_sessions(pyx: Any, tree: dict[str, str]) -> None:
    rows = pyx.array.experiments(project_id=PP).data
    assert {(r["ID"], r["xsiType"]) for r in rows} == {
        (tree["A01"], "xnat:mrSessionData"),
        (tree["A02"], "xnat:mrSessionData"),
        (tree["CT"], "xnat:ctSessionData"),
    }
    one = pyx.array.experiments(experiment_id=tree["A02"]).data
    assert [r["subject_ID"] for r in one] == [pyx.select.project(PP).subject("A02").id()]
    mr = pyx.array.mrsessions(project_id=PP, columns=["xnat:mrSessionData/date"]).data
    # not the date shortcut's path (xnat:experimentData/date): XNAT answers it under its own
    assert {(r["ID"], r["xnat:mrsessiondata/date"]) for r in mr} == {
        (tree["A01"], "2020-01-02"),
        (tree["A02"], "2020-01-02"),
    }


def test_array_scans_join(pyx: Any, tree: dict[str, str]) -> None:
    scans = pyx.array.scans(project_id=PP).data
    assert sorted((r["ID"], r["xnat:imagescandata/id"]) for r in scans) == sorted(
        [(tree["A01"], "1"), (tree["A01"], "2"), (tree["CT"], "5")]
    )
    mr = pyx.array.mrscans(project_id=PP).data
    assert sorted(r["xnat:mrscandata/id"] for r in mr) == ["1", "2"]


def test_xml_document_xpath_and_navigation(pyx: Any, tree: dict[str, str]) -> None:
    experiment = pyx.select.project(PP).subject("A01").experiment("A01_MR")
    xml = experiment.get()
    assert b"xnat:MRSession" in xml and tree["A01"].encode() in xml
    scans = experiment.xpath("//xnat:scan")
    assert sorted(s.get("ID") for s in scans) == ["1", "2"]
    assert set(experiment.children()) >= {"scans", "resources", "assessors"}
    assert experiment.parent().label() == "A01"
    assert experiment.scan("2").parent().id() == tree["A01"]


def test_project_last_modified_and_users(pyx: Any, rest: Rest) -> None:
    modified = pyx.select.project(PP).last_modified()
    subjects = {r["ID"] for r in rest.rows(f"/data/projects/{PP}/subjects")}
    assert set(modified) == subjects and all(modified.values())
    users = pyx.manage.users
    assert sorted(users()) == ["admin", "user"]
    assert users.firstname("admin") == "Admin"
    assert "@" in users.email("admin")


def test_schema_download_and_field_inspection(pyx: Any) -> None:
    pyx.manage.schemas.add("/xapi/schemas/xnat")
    assert "xnat" in pyx.manage.schemas()
    fields = pyx.inspect.datatypes("xnat:mrSessionData", "*")
    assert "xnat:mrSessionData/SESSION_ID" in fields
    values = pyx.inspect.field_values("xnat:mrSessionData/SESSION_ID")
    assert set(values) >= {pyx.select.project(PP).subject("A01").experiment("A01_MR").id()}

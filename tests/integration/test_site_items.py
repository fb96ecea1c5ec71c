"""Issue 13 D8/D9: a site type's repeated anonymous child items (``scans/scan`` of a QC
assessor) and nested single elements are written by typed create and read back typed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from xnat_sdk_codegen.cli import main as generate

import xnat_sdk
from xnat_sdk._objects import registry
from xnat_sdk.errors import XNATValidationError
from xnat_sdk.models import InvestigatorData
from xnat_sdk.testing.local import LocalXNAT

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "tests" / "fixtures" / "plugins"
QC_XSD = PLUGINS / "qcplug" / "qcplug.xsd"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("items")
    out = root / "plugin_item_models"
    args = ["--schemas", str(PLUGINS), "--out", str(out), "--core-schemas", str(REPO / "schemas")]
    assert generate(args) == 0
    sys.path.insert(0, str(root))
    try:
        yield __import__(out.name)
    finally:
        sys.path.remove(str(root))
        registry._SITE_PACKAGES[:] = [
            m for m in registry._SITE_PACKAGES if not m.__name__.startswith(out.name)
        ]
        registry._LOOKUP.clear()
        for name in [m for m in sys.modules if m.startswith(out.name)]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    with LocalXNAT(extra_schemas=[QC_XSD]) as srv:
        srv.seed_project("QCP")
        yield srv


def _session_with_mr(server: LocalXNAT, site: Any, label: str) -> tuple[Any, Any]:
    from xnat_sdk.models import MrSessionData

    session = xnat_sdk.connect(
        server.url, user="admin", password="admin", extension_types=[site.__name__]
    )
    subject = session.projects["QCP"].subjects.create(f"S_{label}")
    return session, subject.experiments.create(label, MrSessionData)


def test_create_with_repeated_items_and_nested_parts_reads_back_typed(
    server: LocalXNAT, site: Any
) -> None:
    Review, Scan = site.QcpReviewData, site.QcpReviewDataScan
    session, mr = _session_with_mr(server, site, "MR_ITEMS")
    with session:
        created = mr.assessors.create(
            "QC_ITEMS",
            Review,
            verdict="usable",
            scans=[Scan(scan_id="1", motion=0.25, pass_=True), Scan(scan_id="2", pass_=False)],
            settings=site.QcpReviewDataSettings(set_="strict", data_="d", uri_="u"),
            snr=site.QcpReviewDataSnr(snr=21.5, units="dB"),
            position="head-first",
            grade=4,
            data_="top",
            checker=InvestigatorData(firstname="Ann", lastname="Lee"),
            flags=["motion", "a,b"],
        )
        session.clearcache()
        qc = session.experiments[mr.id].assessors["QC_ITEMS"]
        assert type(qc) is Review and qc.id == created.id
        assert [type(s) for s in qc.scans] == [Scan, Scan]
        assert [(s.scan_id, s.motion, s.pass_) for s in qc.scans] == [
            ("1", 0.25, True),
            ("2", None, False),
        ]
        assert (qc.settings.set_, qc.settings.data_, qc.settings.uri_) == ("strict", "d", "u")
        assert (qc.snr.snr, qc.snr.units) == (21.5, "dB")
        assert (qc.verdict, qc.position, qc.grade, qc.data_) == ("usable", "head-first", 4, "top")
        assert qc.flags == ["motion", "a,b"]  # each value an item: commas stay inside
        assert type(qc.checker) is InvestigatorData
        assert (qc.checker.firstname, qc.checker.lastname) == ("Ann", "Lee")
        # the XSD names are what the server stores
        raw = session.get_json(f"{qc.uri}?format=json")["items"][0]
        assert raw["data_fields"]["settings/set"] == "strict"
        assert raw["data_fields"]["data"] == "top"
        children = {c["field"]: c["items"] for c in raw["children"]}
        items = children["scans/scan"]
        assert [i["meta"]["xsi:type"] for i in items] == ["qcp:reviewData_scan"] * 2
        assert items[0]["data_fields"] == {"scan_id": "1", "motion": 0.25, "pass": "true"}
        (checker,) = children["checker"]
        assert checker["meta"]["xsi:type"] == "xnat:investigatorData"


def test_items_of_a_wrong_class_or_bound_writes_are_refused(server: LocalXNAT, site: Any) -> None:
    Review = site.QcpReviewData
    session, mr = _session_with_mr(server, site, "MR_REFUSED")
    with session:
        with pytest.raises(XNATValidationError, match="scans"):
            mr.assessors.create("QC_BAD", Review, scans=[site.QcpReviewDataSettings(set_="x")])
        with pytest.raises(XNATValidationError, match="list of objects"):
            mr.assessors.create("QC_BAD", Review, scans=site.QcpReviewDataScan(scan_id="1"))
        assert "QC_BAD" not in mr.assessors
        qc = mr.assessors.create("QC_OK", Review, verdict="v")
        with pytest.raises(XNATValidationError, match="give them when creating"):
            qc.scans = [site.QcpReviewDataScan(scan_id="1")]
        with pytest.raises(XNATValidationError, match="give them when creating"):
            qc.flags = ["late"]
        qc.settings = site.QcpReviewDataSettings(raw_="r")  # D9: the same rule as in create
        session.clearcache()
        assert session.experiments[mr.id].assessors["QC_OK"].settings.raw_ == "r"


def test_core_qc_assessor_items_and_items_inside_items_round_trip() -> None:
    from xnat_sdk.models import (
        MrSessionData,
        QcAssessmentData,
        QcAssessmentDataScan,
        QcAssessmentDataScanSlice,
    )

    with LocalXNAT() as server:
        server.seed_project("P")
        with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
            subject = session.projects["P"].subjects.create("S")
            mr = subject.experiments.create("E", MrSessionData)
            scans = [
                QcAssessmentDataScan(id="1", slice_qc=[QcAssessmentDataScanSlice(number="3")]),
                QcAssessmentDataScan(id="2"),
            ]
            mr.assessors.create("Q", QcAssessmentData, type="manual", scans=scans)
            session.clearcache()
            qc = session.experiments[mr.id].assessors["Q"]
            assert isinstance(qc, QcAssessmentData)
            got = [(s.id, [q.number for q in s.slice_qc]) for s in qc.scans]
            assert got == [("1", ["3"]), ("2", [])]

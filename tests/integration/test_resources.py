"""Resources, files, reconstructions; version caching; retries only for rewindable bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from xnat_sdk.errors import XNATServerError
from xnat_sdk.listings import RemoteFile
from xnat_sdk.models import (
    MrSessionData,
    QcAssessmentData,
    ReconstructedImageData,
    ResourceCatalog,
)
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded


def test_scan_and_session_resources_and_files(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    eid = seeded.sessions["E1"]
    scan_pk = server.store.one("SELECT pk FROM scans WHERE experiment_id=? AND id='1'", (eid,))
    assert scan_pk is not None
    dicom = server.seed_resource("scan", scan_pk[0], "DICOM", format="DICOM", content="RAW")
    server.seed_file(dicom, "a/1.dcm", b"x" * 10)
    server.seed_file(dicom, "2.dcm", b"y" * 20)
    notes = server.seed_resource("experiment", eid, "NOTES")
    server.seed_file(notes, "readme.txt", b"hello")

    experiment = session.experiments[eid]
    log.clear()
    scan = experiment.scans["1"]
    resource = scan.resources["DICOM"]
    assert isinstance(resource, ResourceCatalog)
    assert resource.label == "DICOM"
    assert resource.format == "DICOM"
    assert len(log) == 1, "the scan's resources came with the session document"
    files = resource.files
    assert sorted(files.keys()) == ["2.dcm", "a/1.dcm"]
    first = files["a/1.dcm"]
    assert isinstance(first, RemoteFile)
    assert (first.name, first.size) == ("1.dcm", 10)
    assert files["2.dcm"] is files.key_map["2.dcm"]
    assert len(log) == 2
    session_resources = experiment.resources
    assert list(session_resources.key_map) == ["NOTES"]
    assert [f.size for f in session_resources["NOTES"].files] == [5]
    assert experiment.scans["2"].resources.keys() == []


def test_reconstructions(session: XNATSession, seeded: Seeded) -> None:
    experiment = session.experiments[seeded.sessions["E1"]]
    assert isinstance(experiment, MrSessionData)
    assert len(experiment.reconstructions) == 0
    recon = experiment.reconstructions.create("R1", type="avg")
    assert isinstance(recon, ReconstructedImageData)
    assert [r.type for r in experiment.reconstructions] == ["avg"]


def test_xnat_version_is_read_once(session: XNATSession, log: RequestLog) -> None:
    version = session.xnat_version
    assert version.startswith("1.")
    assert session.xnat_version == version
    assert session.xnat_version_tuple[:1] == (1,)
    assert len(log) == 1


def _body() -> Iterator[bytes]:
    yield b"<xml/>"


def test_put_retries_only_rewindable_bodies(
    session: XNATSession, server: LocalXNAT, seeded: Seeded, log: RequestLog
) -> None:
    path = f"/data/projects/{seeded.project}/subjects/RETRY1"
    server.faults.fail_next(1, status=503, prefix=path)
    session.put(path, data=b"")
    assert [status for _, _, status in log.requests][-1] in (200, 201)
    server.faults.fail_next(1, status=503, prefix=path)
    log.clear()
    with pytest.raises(XNATServerError):
        session.put(path, data=_body(), headers={"Content-Type": "text/plain"})
    assert len(log) == 1


def test_create_resource(session: XNATSession, seeded: Seeded, server: LocalXNAT) -> None:
    experiment = session.experiments[seeded.sessions["E2"]]
    created = experiment.resources.create("EXTRA", format="TXT", content="notes")
    assert isinstance(created, ResourceCatalog)
    listing = experiment.resources
    assert "EXTRA" in listing
    assert listing["EXTRA"].format == "TXT"
    assert listing["EXTRA"].content == "notes"


def test_xnatpy_style_helpers(session: XNATSession, seeded: Seeded, log: RequestLog) -> None:
    experiment = session.experiments[seeded.sessions["E1"]]
    assert isinstance(experiment, MrSessionData)
    folder = experiment.create_resource("SNAPSHOTS", format="PNG")
    assert isinstance(folder, ResourceCatalog)
    assert experiment.resources["SNAPSHOTS"].format == "PNG"
    assessor = experiment.create_assessor("QC9", QcAssessmentData)
    assert isinstance(assessor, QcAssessmentData)
    assert "QC9" in experiment.assessors
    assert experiment.external_uri() == session.server + experiment.uri
    experiment.set("note", "to clear")
    experiment.del_("note")
    experiment.clearcache()
    assert experiment.note is None
    assert session.check_version("1.7")
    assert not session.check_version((99,), "time travel")
    assert session.xnat_build_info["version"] == session.xnat_version
    assert "seconds" in session.xnat_uptime


def test_created_resource_reads_its_fields_from_the_parent_listing(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    # XNAT answers GET .../resources/R with catalog XML even for format=json, so the
    # resource's own fields must come from the parent's resources listing.
    experiment = session.experiments[seeded.sessions["E1"]]
    resource = experiment.create_resource("QC_NOTES", format="TXT", content="REPORT")
    log.clear()
    assert (resource.label, resource.format, resource.content) == ("QC_NOTES", "TXT", "REPORT")
    assert resource.file_count == 0
    assert len(log) == 1, log.paths()
    assert log.paths()[0].split("?")[0].endswith("/resources")

    session.clearcache()
    by_id = session.get_json(f"{experiment.uri}/resources")["ResultSet"]["Result"]
    rid = next(r["xnat_abstractresource_id"] for r in by_id if r["label"] == "QC_NOTES")
    fresh = experiment.resources[str(rid)]
    assert fresh.content == "REPORT"

"""xnatpy: assessors, reconstructions, DICOM reading from the archive, tree downloads, misc."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import Rest, sha256, unique
from xnat_sdk.testing.dicomgen import make_study, zip_study
from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture(scope="module")
def study() -> Any:
    return make_study(
        patient="E01",
        study_label="E01_MR1",
        series=[(1, "T1w"), (2, "BOLD")],
        instances_per_series=2,
    )


@pytest.fixture
def experiment(server: LocalXNAT, xnatpy: Any, study: Any) -> Any:
    """The study imported into the archive of a fresh project of its own (``.project``)."""
    pid = unique("XEA")
    server.seed_project(pid)
    xnatpy.projects.clearcache()
    return xnatpy.services.import_(
        data=zip_study(study),
        project=pid,
        subject="E01",
        experiment="E01_MR1",
        destination="/archive",
        content_type="application/zip",
    )


def test_assessor_create_and_list(xnatpy: Any, rest: Rest, experiment: Any) -> None:
    qc = xnatpy.classes.QcManualAssessorData(parent=experiment, label="E01_QC")
    assert qc.id.startswith("XNAT_E")
    qc.rater = "alice"
    rows = rest.rows(f"/data/experiments/{experiment.id}/assessors")
    assert [(r["label"], r["xsiType"]) for r in rows] == [("E01_QC", "xnat:qcManualAssessorData")]
    assert rows[0]["session_ID"] == experiment.id
    assert rest.fields(f"/data/experiments/{experiment.id}/assessors/{qc.id}")["rater"] == "alice"
    experiment.clearcache()
    assert list(experiment.assessors.keys()) == [qc.id]
    assert experiment.assessors["E01_QC"].rater == "alice"


def test_reconstruction_create_and_list(xnatpy: Any, rest: Rest, experiment: Any) -> None:
    xnatpy.classes.ReconstructedImageData(parent=experiment, id="R1", type="MPR")
    rows = rest.rows(f"/data/experiments/{experiment.id}/reconstructions")
    assert [(r["ID"], r["type"]) for r in rows] == [("R1", "MPR")]
    experiment.clearcache()
    assert list(experiment.reconstructions.keys()) == ["R1"]


def test_read_dicom_and_dump_from_the_archive(experiment: Any, study: Any) -> None:
    scan = experiment.scans["2"]
    ds = scan.read_dicom()
    assert ds.SeriesDescription == "BOLD"
    assert ds.StudyInstanceUID == study.study_instance_uid
    dump = scan.dicom_dump(fields=["SeriesDescription"])
    assert dump[0]["value"] == "BOLD"


def test_subject_and_project_download_dir(
    xnatpy: Any, experiment: Any, study: Any, tmp_path: Path
) -> None:
    want = sorted(sha256(i.data) for i in study.instances)
    XP = experiment.project
    subject = xnatpy.projects[XP].subjects["E01"]
    (tmp_path / "subj").mkdir()
    (tmp_path / "proj").mkdir()
    subject.download_dir(tmp_path / "subj", verbose=False)
    got = sorted(sha256(p) for p in (tmp_path / "subj").rglob("*.dcm"))
    assert got == want
    xnatpy.projects[XP].download_dir(tmp_path / "proj", verbose=False)
    got = sorted(sha256(p) for p in (tmp_path / "proj").rglob("*.dcm"))
    assert got == want
    # project/subject/session folders in the layout xnatpy builds from the listings
    assert (tmp_path / "proj" / XP / "E01").is_dir()


def test_scan_type_change_and_listing_helpers(xnatpy: Any, rest: Rest, experiment: Any) -> None:
    experiment.scans["1"].type = "T1_MPRAGE"
    rows = {r["ID"]: r for r in rest.rows(f"/data/experiments/{experiment.id}/scans")}
    assert rows["1"]["type"] == "T1_MPRAGE"
    listing = xnatpy.projects[experiment.project].experiments
    listing.clearcache()
    table = listing.tabulate(columns=["ID", "label"])
    assert [(r.ID, r.label) for r in table] == [(experiment.id, "E01_MR1")]
    assert list(listing.filter(label="E01_MR1").keys()) == [experiment.id]
    assert xnatpy.create_object(f"/data/experiments/{experiment.id}").label == "E01_MR1"
    assert xnatpy.url_for(experiment).endswith(f"/experiments/{experiment.id}")


def test_project_level_fields_and_users(xnatpy: Any, rest: Rest, server: LocalXNAT) -> None:
    XP = unique("XEA")
    server.seed_project(XP)
    xnatpy.projects.clearcache()
    project = xnatpy.projects[XP]
    project.description = "conformance project"
    project.fields["site"] = "here"
    assert rest.fields(f"/data/projects/{XP}")["description"] == "conformance project"
    assert rest.custom_fields(f"/data/projects/{XP}") == {"site": "here"}
    project.clearcache()
    assert project.description == "conformance project"
    assert project.fields["site"] == "here"
    assert project.users["admin"].access_level == "Owners"
    assert xnatpy.users["admin"].first_name == "Admin"
    assert dict(xnatpy.plugins) == {}

"""xnatpy and pyxnat meeting behaviours checked against XNAT's source (see
``tests/server/test_xnat_fidelity.py``): client-given IDs, the prearchive code of new
projects, resource listings under a missing scan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conformance.conftest import Rest, unique
from xnat_sdk.testing.dicomgen import make_study, zip_study


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

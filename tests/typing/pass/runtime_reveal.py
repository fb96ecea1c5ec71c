"""mypy infers the model types through navigation (each ``# R:`` line above a
``reveal_type`` call names the exact type mypy must reveal)."""

# ruff: noqa: F821
# (reveal_type is a mypy builtin: this file is type-checked, never run)

from __future__ import annotations

import xnat_sdk
from xnat_sdk.models import MrSessionData


def navigate(server: str) -> None:
    with xnat_sdk.connect(server, user="admin", password="admin") as session:
        # R: xnat_sdk.session.XNATSession
        reveal_type(session)
        # R: xnat_sdk.listings.Listing[xnat_sdk.models.xnat_project_data.ProjectData]
        reveal_type(session.projects)
        project = session.projects["P"]
        # R: xnat_sdk.models.xnat_project_data.ProjectData
        reveal_type(project)
        # R: str | None
        reveal_type(project.name)
        subject = project.subjects["S"]
        # R: xnat_sdk.models.xnat_subject_data.SubjectData
        reveal_type(subject)
        # R: xnat_sdk.models.xnat_demographic_data.DemographicData
        reveal_type(subject.demographics)
        experiment = subject.experiments["E"]
        # R: xnat_sdk.models.xnat_subject_assessor_data.SubjectAssessorData
        reveal_type(experiment)
        mr = subject.experiments.of_type(MrSessionData)["E"]
        # R: xnat_sdk.models.xnat_mr_session_data.MrSessionData
        reveal_type(mr)
        # R: datetime.date | None
        reveal_type(mr.date)
        scan = mr.scans["1"]
        # R: xnat_sdk.models.xnat_image_scan_data.ImageScanData
        reveal_type(scan)
        resource = scan.resources["DICOM"]
        # R: xnat_sdk.models.xnat_abstract_resource.AbstractResource
        reveal_type(resource)
        # R: int | None
        reveal_type(resource.files["a.dcm"].size)
        # R: xnat_sdk.models.xnat_resource_catalog.ResourceCatalog
        reveal_type(scan.create_resource("NIFTI"))

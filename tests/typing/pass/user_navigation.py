"""A user's script: the README chain, narrowing, demographics, rows, files, search (each
``# R:`` line above a ``reveal_type`` call names the exact type the checkers must reveal)."""

# ruff: noqa: F821, E501
# (reveal_type is a checker builtin: this file is type-checked, never run)

from __future__ import annotations

import xnat_sdk
from xnat_sdk.models import (
    MrScanData,
    MrSessionData,
    PetSessionData,
    QcAssessmentData,
)
from xnat_sdk.search import col


def script(server: str) -> None:
    with xnat_sdk.connect(server, user="admin", password="admin") as session:
        chain = session.projects["P"].subjects["S"].experiments[MrSessionData]["E"]
        # R: xnat_sdk.models.xnat_mr_session_data.MrSessionData
        reveal_type(chain)
        # R: float | None
        reveal_type(chain.scans[MrScanData]["1"].parameters.tr)
        # the README chain in one expression
        tr = (
            session.projects["P"]
            .subjects["S"]
            .experiments[MrSessionData]["E"]
            .scans[MrScanData]["1"]
            .parameters.tr
        )
        # R: float | None
        reveal_type(tr)
        subject = session.projects["P"].subjects["S"]
        # R: xnat_sdk.listings.Listing[xnat_sdk.models.xnat_subject_assessor_data.SubjectAssessorData]
        reveal_type(subject.experiments)
        # R: xnat_sdk.listings.Listing[xnat_sdk.models.xnat_mr_session_data.MrSessionData]
        reveal_type(subject.experiments[MrSessionData])
        # R: xnat_sdk.models.xnat_subject_assessor_data.SubjectAssessorData
        reveal_type(subject.experiments["E"])
        # R: xnat_sdk.models.xnat_pet_session_data.PetSessionData
        reveal_type(subject.experiments["E", PetSessionData])
        # R: float | None
        reveal_type(subject.experiments["E", PetSessionData].tracer.isotope.half_life)
        mr = subject.experiments["E", MrSessionData]
        # R: xnat_sdk.listings.Listing[xnat_sdk.models.xnat_image_scan_data.ImageScanData]
        reveal_type(mr.scans)
        # R: xnat_sdk.models.xnat_image_scan_data.ImageScanData
        reveal_type(mr.scans["1"])
        # R: float | None
        reveal_type(mr.scans["1", MrScanData].parameters.voxel_res.x)
        # R: xnat_sdk.models.xnat_qc_assessment_data.QcAssessmentData
        reveal_type(mr.assessors["QC", QcAssessmentData])
        # R: xnat_sdk.models.xnat_subject_data.SubjectData
        reveal_type(mr.subject)
        # R: str | None
        reveal_type(mr.field_strength)
        # R: str
        reveal_type(mr.id)
        # R: xnat_sdk.models.xnat_demographic_data.DemographicData
        reveal_type(subject.demographics)
        gender: str | None = subject.demographics.gender
        # R: int | None
        reveal_type(subject.demographics.yob)
        subject.demographics.gender = "female"  # one PUT, creates the demographics if missing
        subject.demographics.yob = 1980
        # R: str | None
        reveal_type(subject.label)
        for scan in mr.scans[MrScanData]:
            # R: xnat_sdk.models.xnat_mr_scan_data.MrScanData
            reveal_type(scan)
            # R: xnat_sdk._objects.custom.CustomVariables
            reveal_type(scan.fields)
        # R: xnat_sdk.listings.Listing[xnat_sdk.listings.RemoteFile]
        reveal_type(mr.files)
        # R: str | None
        reveal_type(mr.files["NOTES/a.txt"].resource)
        # R: xnat_sdk.listings.Listing[xnat_sdk.listings.RemoteFile]
        reveal_type(session.projects["P"].files)
        table = subject.experiments.tabulate(["ID", "label"])
        # R: xnat_sdk.tables.Table
        reveal_type(table)
        for row in table:
            # R: xnat_sdk.tables.Row
            reveal_type(row)
            # R: str | int | float | None
            reveal_type(row.label)
            # R: str | int | float | None
            reveal_type(row["xnat:subjectassessordata/id"])
            # R: str | int | float | None
            reveal_type(row[0])
        # R: str
        reveal_type(subject.experiments.tabulate_csv())
        # R: pandas.core.frame.DataFrame
        reveal_type(subject.experiments.tabulate_pandas())
        found = session.query(MrSessionData).where(lambda s: col(s.project) == "P").all()
        # R: xnat_sdk.search.SearchTable
        reveal_type(found)
        for hit in found:
            # R: str | int | float | None
            reveal_type(hit.label)
        # R: list[dict[str, str | int | float | None]]
        reveal_type(session.query(MrSessionData).tabulate_dict())
        # R: list[xnat_sdk.models.xnat_mr_session_data.MrSessionData]
        reveal_type(session.query(MrSessionData).objects())
        del gender

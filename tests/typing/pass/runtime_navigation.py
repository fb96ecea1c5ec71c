"""Runtime: mypy infers the model types through connect() and navigation."""

from __future__ import annotations

import datetime

import requests

import xnat_sdk
from xnat_sdk import Listing, RemoteFile, Table, XNATSession
from xnat_sdk.bases import CustomVariables
from xnat_sdk.models import (
    AbstractResource,
    DemographicData,
    ImageAssessorData,
    ImageScanData,
    MrScanData,
    MrSessionData,
    ProjectData,
    ReconstructedImageData,
    SubjectAssessorData,
    SubjectData,
)


def walk(server: str) -> None:
    with xnat_sdk.connect(server, user="admin", password="admin") as session:
        s: XNATSession = session
        projects: Listing[ProjectData] = s.projects
        project: ProjectData = s.projects["P"]
        name: str | None = project.name
        subject: SubjectData = session.projects["P"].subjects["S"]
        label: str | None = subject.label
        experiments: Listing[SubjectAssessorData] = subject.experiments
        experiment: SubjectAssessorData = subject.experiments["E"]
        mr: MrSessionData = subject.experiments.of_type(MrSessionData)["E"]
        strength: str | None = mr.field_strength
        date: datetime.date | None = mr.date
        scan: ImageScanData = mr.scans["1"]
        scan_type: str | None = scan.type
        assessor: ImageAssessorData = mr.assessors["QC"]
        recon: ImageScanData | ReconstructedImageData = mr.reconstructions["R1"]
        resource: AbstractResource = scan.resources["DICOM"]
        files: Listing[RemoteFile] = resource.files
        size: int | None = files["a.dcm"].size
        variables: CustomVariables = subject.fields
        variables["visit"] = "baseline"
        variables["visit_date"] = datetime.date(2020, 1, 2)  # stored as its text
        variables["scanned"] = True
        visit: str = subject.fields["visit"]
        demographics: DemographicData = subject.demographics  # never None, no isinstance
        gender: str | None = demographics.gender
        del gender
        for each in project.subjects:
            same: SubjectData = each
            del same
        by_id: dict[str, SubjectData] = project.subjects.data
        found: SubjectData | None = project.subjects.get("S")
        rows: Table = project.subjects.tabulate(["ID", "label"])
        filtered: Listing[SubjectData] = project.subjects.filter(label="S*")
        created: SubjectData = project.subjects.create("S9", group="control")
        new_mr: MrSessionData = subject.experiments.create("E9", MrSessionData, note="n")
        new_scan: MrScanData = new_mr.scans.create("3", MrScanData, type="T1")
        typed: MrSessionData = subject.experiments.create(
            MrSessionData(id="", subject_id="", label="E10")
        )
        new_project: ProjectData = ProjectData.create(session, id="P2", name="two")
        subject.share("P2", label="S1b")
        mr.update(note="x")
        mr.delete()
        response: requests.Response = session.get("/data/projects", query={"x": "1"})
        document: object = session.get_json("/data/projects")
        version: str = session.xnat_version
        url: str = session.url_for(mr)
        session.clearcache()
        session.caching = False
        del projects, name, label, experiments, experiment, strength, date, scan_type
        del assessor, recon, size, visit, by_id, found, rows, filtered, created, new_scan
        del typed, new_project, response, document, version, url

"""xnatpy-style code (the porting surface): uses that must type-check, with the types the
objects really have."""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xnat_sdk
from xnat_sdk.mapping import MappedFunctionFailed, MappingLevel
from xnat_sdk.models import (
    ImageAssessorData,
    MrScanData,
    MrSessionData,
    QcAssessmentData,
    ResourceCatalog,
    SubjectData,
)
from xnat_sdk.prearchive import PrearchiveSession
from xnat_sdk.search import ClassQuery, Criterion, and_, col, or_
from xnat_sdk.session import default_update_func
from xnat_sdk.users import User, Users


def create(session: xnat_sdk.XNATSession) -> None:
    project = session.projects["P"]
    subject: SubjectData = session.classes.SubjectData(parent=project, label="S01")
    experiment: MrSessionData = session.classes.MrSessionData(
        parent=subject, label="S01_MR1", date=datetime.date(2021, 3, 4)
    )
    scan: MrScanData = session.classes.MrScanData(parent=experiment, id="1", type="T1w")
    resource = session.classes.ResourceCatalog(parent=scan, label="NIFTI", format="NIFTI")
    same: ResourceCatalog = resource
    in_listing: MrSessionData = MrSessionData(parent=subject.experiments, label="S01_MR2")
    unbound: MrSessionData = MrSessionData(label="S01_MR3")
    print(same, in_listing, unbound, isinstance(experiment, session.classes.MrSessionData))
    assessor: QcAssessmentData = experiment.create_assessor("QC1", QcAssessmentData)
    generic: ImageAssessorData = experiment.create_assessor("QC2", "xnat:qcAssessmentData")
    assessor.download("/tmp/qc.zip")
    print(generic)


def query(session: xnat_sdk.XNATSession) -> None:
    mr = session.classes.MrSessionData
    found: ClassQuery[MrSessionData] = mr.query().filter(mr.project == "P")
    objects: list[MrSessionData] = found.all()
    first: MrSessionData | None = found.first()
    one: MrSessionData = found.one()
    maybe: MrSessionData | None = found.one_or_none()
    rows: list[dict[str, Any]] = found.tabulate_dict()
    csv: str = found.tabulate_csv()
    either: Criterion = or_(mr.label == "E1", mr.label == "E2")
    both: Criterion = and_(either, mr.custom_variables["weight"] == "70")
    typed = found.where(lambda s: col(s.fields["weight"]) == "70").filter(both)
    print(objects, first, one, maybe, rows, csv, typed)


def label_of(experiment: MrSessionData) -> str | None:
    return experiment.label


def walk(session: xnat_sdk.XNATSession) -> None:
    results: dict[str, Any] = session.map(label_of, level=MappingLevel.EXPERIMENT)
    failed = [v for v in results.values() if isinstance(v, MappedFunctionFailed)]
    found: list[Any] = session.search(project="P*", experiment=lambda e: True, level="scan")
    items: Iterator[Any] = session.mapping_iter("subject")
    session.batch_download("/tmp/out", project="P", level="experiment")
    print(failed, found, items)


def listings_and_objects(session: xnat_sdk.XNATSession) -> None:
    project = session.projects["P"]
    first: SubjectData = project.subjects[0]
    some: list[SubjectData] = project.subjects[0:2]
    dupes: set[str] = project.subjects.non_unique_keys
    label: Any = first.get("label")
    members: Users = project.users
    member: User = members["user"]
    level: str | None = member.access_level
    raw: dict[str, User] = session.users.data
    project.set_access("user", "member")
    project.remove_access(member)
    mine: str = project.access_level
    levels: dict[str, str] = session.access_levels
    where: Path | None = first.experiments[MrSessionData]["E"].data_dir
    mount: Path | None = session.mount_data_dir
    print(some, dupes, label, level, raw, mine, levels, where, mount)


def transfers(session: xnat_sdk.XNATSession) -> None:
    response = session.head("/data/projects", None, False)
    session.upload_file("/data/x/files/a", "/tmp/a")
    session.upload_string("/data/x/files/b", "text")
    session.upload_stream("/data/x/files/c", io.BytesIO(b"bytes"))
    chunks: Iterator[bytes] = session.download_generator("/data/x/files/c")
    update = default_update_func(100)
    update(10, 100, False)
    made = session.services.import_(data=b"zip", project="P", timeout=30, direct_archive=True)
    pending: list[PrearchiveSession] = session.prearchive.find(project="P", session="E")
    kind: str = session.services.guess_content_type("a.zip")
    session.services.refresh_catalog("/data/experiments/E/resources/R", checksum=True)
    print(response, chunks, made, pending, kind)

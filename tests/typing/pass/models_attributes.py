"""Generated models: attribute types, inheritance, Literal enums, lists, nested types."""

from __future__ import annotations

import datetime
from typing import Literal

from xnat_sdk.bases import ImageSessionBase, ScanBase, XNATObject
from xnat_sdk.models import (
    XSI_TYPES,
    DemographicData,
    ExperimentData,
    ImageSessionData,
    MrScanData,
    MrScanDataParameters,
    MrScanDataParametersVoxelRes,
    MrSessionData,
    ProjectData,
    ProjectDataAlias,
    model_for,
)

session = MrSessionData(
    id="XNAT_E00001",
    subject_id="XNAT_S00001",
    label="MR1",
    project="P1",
    date=datetime.date(2024, 1, 2),
    time=datetime.time(9, 30),
    field_strength="3.0",
    dcm_patient_weight=70.5,
)
label: str | None = session.label
ident: str = session.id  # required attribute: never None
day: datetime.date | None = session.date
weight: float | None = session.dcm_patient_weight

# inheritance: XSD bases first, then the runtime base
as_image_session: ImageSessionData = session
as_experiment: ExperimentData = session
as_runtime: ImageSessionBase = session
as_root: XNATObject = session

scan = MrScanData(
    id="1",
    type="T1",
    frames=176,
    parameters=MrScanDataParameters(
        tr=2.3, voxel_res=MrScanDataParametersVoxelRes(x=1.0, y=1.0, z=1.2, units="mm")
    ),
)
frames: int | None = scan.frames
scan_base: ScanBase = scan
x: float | None = scan.parameters.voxel_res.x  # nested parts are never None

Gender = Literal["male", "female", "other", "unknown", "M", "F"]
demographics = DemographicData(gender="male", yob=1980, dob=None)
gender: Gender | None = demographics.gender

project = ProjectData(id="P1", name="Project one", active=True)
aliases: list[ProjectDataAlias] = project.aliases
aliases.append(ProjectDataAlias(alias="P_one", source="legacy"))
active: bool | None = project.active

found: type[XNATObject] | None = model_for("xnat:mrSessionData")
registry: str = XSI_TYPES["xnat:projectData"]

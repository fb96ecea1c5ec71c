"""Generated models: mistakes the type checker must catch."""

from __future__ import annotations

from xnat_sdk.models import (
    DemographicData,
    MrScanData,
    MrScanDataParametersVoxelRes,
    MrSessionData,
    ProjectData,
)

MrScanDataParametersVoxelRes(x="1.0")  # E: Argument "x" to "MrScanDataParametersVoxelRes" has incompatible type "str"
MrSessionData(id="E1", subject_id="S1", colour="red")  # E: Unexpected keyword argument "colour"
DemographicData(gender="mail")  # E: Argument "gender" to "DemographicData" has incompatible type

session = MrSessionData(id="E1", subject_id="S1")
session.field_strenght  # E: "MrSessionData" has no attribute "field_strenght"
session.dcm_patient_weight = "heavy"  # E: Incompatible types in assignment
weight: str = session.dcm_patient_weight  # E: Incompatible types in assignment

scan = MrScanData(id="1", frames=1.5)  # E: Argument "frames" to "MrScanData" has incompatible type "float"
project = ProjectData(id="P1", aliases=["P_one"])  # E: List item 0 has incompatible type "str"

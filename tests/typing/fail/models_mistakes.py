"""Generated models: mistakes the type checkers must catch."""

from __future__ import annotations

from xnat_sdk.models import (
    DemographicData,
    MrScanData,
    MrScanDataParametersVoxelRes,
    MrSessionData,
    ProjectData,
)

MrScanDataParametersVoxelRes(x="1.0")  # E: Argument "x" to "MrScanDataParametersVoxelRes" has incompatible type "str" # P: Argument of type "Literal['1.0']" cannot be assigned to parameter "x"
MrSessionData(id="E1", subject_id="S1", colour="red")  # E: Unexpected keyword argument "colour" # P: No parameter named "colour"
DemographicData(gender="mail")  # E: Argument "gender" to "DemographicData" has incompatible type # P: Argument of type "Literal['mail']" cannot be assigned to parameter "gender"

session = MrSessionData(id="E1", subject_id="S1")
session.field_strenght  # E: "MrSessionData" has no attribute "field_strenght" # P: Cannot access attribute "field_strenght" for class "MrSessionData"
session.dcm_patient_weight = "heavy"  # E: Incompatible types in assignment # P: Cannot assign to attribute "dcm_patient_weight" for class "MrSessionData"
weight: str = session.dcm_patient_weight  # E: Incompatible types in assignment # P: Type "float | None" is not assignable to declared type "str"

scan = MrScanData(id="1", frames=1.5)  # E: Argument "frames" to "MrScanData" has incompatible type "float" # P: Argument of type "float" cannot be assigned to parameter "frames"
project = ProjectData(id="P1", aliases=["P_one"])  # E: List item 0 has incompatible type "str" # P: cannot be assigned to parameter "aliases" # P: "Literal['P_one']" is not assignable to "ProjectDataAlias"

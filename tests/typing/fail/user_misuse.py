"""Mistakes in a user's script that mypy and pyright must both report, where marked."""

from __future__ import annotations

import xnat_sdk
from xnat_sdk.models import MrScanData, MrSessionData

session = xnat_sdk.connect("http://localhost")
subject = session.projects["P"].subjects["S"]
mr = subject.experiments[MrSessionData]["E"]
subject.experiments["E"].scans  # E: "SubjectAssessorData" has no attribute "scans" # P: Cannot access attribute "scans" for class "SubjectAssessorData"
mr.scans[MrScanData]["1"].parameters.trr  # E: "MrScanDataParameters" has no attribute "trr" # P: Cannot access attribute "trr"
mr.tracer  # E: "MrSessionData" has no attribute "tracer" # P: Cannot access attribute "tracer"
subject.experiments["E", 3]  # E: Invalid index type "tuple[str, int]" # P: No overloads for "__getitem__"
subject.experiments[int]  # E: Value of type variable "U" of "__getitem__" of "Listing" cannot be "int" # P: No overloads for "__getitem__"
subject.demographics.gender = "blue"  # E: Incompatible types in assignment # P: Cannot assign to attribute "gender" for class "DemographicData"
mr.id = None  # E: Incompatible types in assignment # P: Cannot assign to attribute "id"
label: str = subject.label  # E: Incompatible types in assignment (expression has type "str | None", variable has type "str") # P: "str | None" is not assignable to declared type "str"
mr.subject.scans  # E: "SubjectData" has no attribute "scans" # P: Cannot access attribute "scans" for class "SubjectData"
rows = subject.experiments.tabulate(["ID"])
rows[0].label + 1  # E: Unsupported operand types for + # P: Operator "+" not supported
subject.experiments.tabulate("ID", "label")  # E: Argument 2 to "tabulate" of "Listing" has incompatible type "str" # P: cannot be assigned to parameter "filter"
fields: dict[str, str] = mr.scans[MrScanData]["1"].fields  # E: Incompatible types in assignment # P: "CustomVariables" is not assignable to declared type "dict[str, str]"

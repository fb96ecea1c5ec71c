"""Runtime: misuse the type checkers must reject."""

from __future__ import annotations

import xnat_sdk
from xnat_sdk.models import MrScanData, MrSessionData, ProjectData, SubjectData

session = xnat_sdk.connect("http://localhost", user="a", password="b")
project = session.projects["P"]
subject: SubjectData = session.projects["P"]  # E: Incompatible types in assignment # P: "ProjectData" is not assignable to declared type "SubjectData"
session.projects[1.5]  # E: No overload variant of "__getitem__" of "Listing" matches argument type "float" # P: No overloads for "__getitem__"
project.subject  # E: "ProjectData" has no attribute "subject" # P: Cannot access attribute "subject" for class "ProjectData"
experiment = project.subjects["S"].experiments["E"]
experiment.scans  # E: "SubjectAssessorData" has no attribute "scans" # P: Cannot access attribute "scans" for class "SubjectAssessorData"
mr: MrSessionData = experiment  # E: Incompatible types in assignment # P: "SubjectAssessorData" is not assignable to declared type "MrSessionData"
session.experiments.of_type(MrSessionData)["E"].scans["1"].nonsense  # E: "ImageScanData" has no attribute "nonsense" # P: Cannot access attribute "nonsense" for class "ImageScanData"
scan: MrScanData = session.experiments.of_type(MrSessionData)["E"].scans["1"]  # E: Incompatible types in assignment # P: "ImageScanData" is not assignable to declared type "MrScanData"
session.get(42)  # E: Argument 1 to "get" of "XNATSession" has incompatible type "int" # P: cannot be assigned to parameter "path" of type "str" in function "get"
session.get_json("/data/projects", query=["x"])  # E: No overload variant of "get_json" of "XNATSession" matches argument types "str", "list[str]" # P: cannot be assigned to parameter "query" of type "QueryParams | None" in function "get_json"
project.subjects.fields  # E: "Listing[SubjectData]" has no attribute "fields" # P: Cannot access attribute "fields" for class "Listing[SubjectData]"
subject.fields["visit"] = None  # E: Incompatible types in assignment # P: cannot be assigned to parameter "value" of type "VariableValue" in function "__setitem__"
subject.experiments.create(MrScanData)  # E: No overload variant of "create" of "Listing" matches argument type # P: No overloads for "create"
ProjectData.create(session, 12)  # E: Argument 2 to "create" of "ProjectBase" has incompatible type "int" # P: cannot be assigned to parameter "id" of type "str" in function "create"
xnat_sdk.connect(verify="yes please", timeout="slow")  # E: Argument "timeout" to "connect" has incompatible type "str" # P: Argument of type "Literal['slow']" cannot be assigned to parameter "timeout"
subject.share(42)  # E: Argument 1 to "share" of "_Shareable" has incompatible type "int" # P: cannot be assigned to parameter "project" of type "str | ProjectBase" in function "share"
bound = session.subjects["S"]
bound.label = 5  # E: Incompatible types in assignment # P: Cannot assign to attribute "label" for class "SubjectData"
listing_scan = session.experiments.of_type(MrSessionData)["E"].scans["1"]
listing_scan.frames = "many"  # E: Incompatible types in assignment # P: Cannot assign to attribute "frames" for class "ImageScanData"
for item in session.projects:
    item.label  # E: "ProjectData" has no attribute "label" # P: Cannot access attribute "label" for class "ProjectData"
session.projects.of_type(42)  # E: Argument 1 to "of_type" of "Listing" has incompatible type "int" # P: Argument of type "Literal[42]" cannot be assigned to parameter "cls"

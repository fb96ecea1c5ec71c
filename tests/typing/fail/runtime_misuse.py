"""Runtime: misuse the type checker must reject."""

from __future__ import annotations

import xnat_sdk
from xnat_sdk.models import MrScanData, MrSessionData, ProjectData, SubjectData

session = xnat_sdk.connect("http://localhost", user="a", password="b")
project = session.projects["P"]
subject: SubjectData = session.projects["P"]  # E: Incompatible types in assignment
session.projects[0]  # E: No overload variant of "__getitem__" of "Listing" matches argument type "int"
project.subject  # E: "ProjectData" has no attribute "subject"
experiment = project.subjects["S"].experiments["E"]
experiment.scans  # E: "SubjectAssessorData" has no attribute "scans"
mr: MrSessionData = experiment  # E: Incompatible types in assignment
session.experiments.of_type(MrSessionData)["E"].scans["1"].nonsense  # E: "ImageScanData" has no attribute "nonsense"
scan: MrScanData = session.experiments.of_type(MrSessionData)["E"].scans["1"]  # E: Incompatible types in assignment
session.get(42)  # E: Argument 1 to "get" of "XNATSession" has incompatible type "int"
session.get_json("/data/projects", query=["x"])  # E: Argument "query" to "get_json" of "XNATSession" has incompatible type
project.subjects.fields  # E: "Listing[SubjectData]" has no attribute "fields"
subject.fields["visit"] = 3  # E: Incompatible types in assignment
subject.experiments.create(MrScanData)  # E: No overload variant of "create" of "Listing" matches argument type
ProjectData.create(session, 12)  # E: Argument 2 to "create" of "ProjectBase" has incompatible type "int"
xnat_sdk.connect(verify="yes please", timeout="slow")  # E: Argument "timeout" to "connect" has incompatible type "str"
subject.share(42)  # E: Argument 1 to "share" of "_Shareable" has incompatible type "int"
bound = session.subjects["S"]
bound.label = 5  # E: Incompatible types in assignment
listing_scan = session.experiments.of_type(MrSessionData)["E"].scans["1"]
listing_scan.frames = "many"  # E: Incompatible types in assignment
for item in session.projects:
    item.label  # E: "ProjectData" has no attribute "label"
session.projects.of_type(42)  # E: Argument 1 to "of_type" of "Listing" has incompatible type "int"

"""xnatpy-style code with mistakes the type checkers must reject."""

from __future__ import annotations

import xnat_sdk

session = xnat_sdk.connect("http://localhost", user="a", password="b")
subject = session.projects["P"].subjects["S"]
session.classes.MrSessionData(parent=subject, labell="E1")  # E: Unexpected keyword argument "labell" # P: No parameter named "labell"
session.classes.MrSesionData  # E: "ModelClasses" has no attribute "MrSesionData" # P: Cannot access attribute "MrSesionData" for class "ModelClasses"
session.classes.MrScanData(parent=subject, id="1", frames="many")  # E: Argument "frames" to "MrScanData" has incompatible type "str" # P: cannot be assigned to parameter "frames"
session.map(print, level="experiment", args=3)  # E: No overload variant of "map" of "Walks" matches argument types # P: cannot be assigned to parameter "args"
session.projects["P"].set_access("user")  # E: Missing positional argument "level" in call to "set_access" # P: Argument missing for parameter "level"
for scan in session.mapping_iter("scan"):
    scan.subjects  # E: "ImageScanData" has no attribute "subjects" # P: Cannot access attribute "subjects" for class "ImageScanData"
for resource in session.projects["P"].mapping_iter("scan_resource", max_workers=4):
    resource.series_description  # E: "AbstractResource" has no attribute "series_description" # P: Cannot access attribute "series_description"
session.mapping_iter("scan", max_workers="8")  # E: No overload variant of "mapping_iter" of "Walks" matches argument types "str", "str" # P: No overloads for "mapping_iter" match
session.map_over(len, ["S1", "S2"])  # E: List item 0 has incompatible type "str"; expected "XNATObject | RemoteFile" # P: cannot be assigned to parameter "objects"
count: int = session.classes.MrSessionData.query().all()  # E: Incompatible types in assignment (expression has type "list[MrSessionData]", variable has type "int") # P: is not assignable to declared type "int"
mr = session.classes.MrSessionData(parent=subject, label="E1")
mr.date = "2006-04-18"  # E: Incompatible types in assignment (expression has type "str", variable has type "date | None") # P: Cannot assign to attribute "date" for class "MrSessionData"
mr.age = "84.9"  # E: Incompatible types in assignment (expression has type "str", variable has type "float | None") # P: Cannot assign to attribute "age" for class "MrSessionData"
subject.experiments.filter(xsiType=["xnat:mrSessionData", "xnat:ctSessionData"])  # E: Argument "xsiType" to "filter" of "Listing" has incompatible type "list[str]"; expected "str" # P: cannot be assigned to parameter "xsiType"

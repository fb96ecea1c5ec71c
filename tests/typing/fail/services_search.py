"""Typed search builder and service helpers: mistakes mypy and pyright must catch."""

from __future__ import annotations

import datetime

import xnat_sdk
from xnat_sdk.models import MrSessionData, SubjectData
from xnat_sdk.search import col


def searches(session: xnat_sdk.XNATSession) -> None:
    query = session.query(MrSessionData)
    query.where(lambda s: col(s.labell) == "E1")  # E: "MrSessionData" has no attribute "labell" # P: Cannot access attribute "labell" for class "MrSessionData"
    query.where(lambda s: col(s.label) == 3)  # E: Incompatible return value type (got "bool", expected "Criterion") # P: "(s: MrSessionData) -> bool" cannot be assigned to parameter "conditions"
    query.where(lambda s: col(s.date) > "2020-01-01")  # E: Unsupported operand types for > ("Column[date]" and "str") # P: Operator ">" not supported for types "Column[date]" and "Literal['2020-01-01']"
    query.where(lambda s: col(s.dcm_patient_weight) < "high")  # E: Unsupported operand types for < ("Column[float]" and "str") # P: Operator "<" not supported for types "Column[float]" and "Literal['high']"
    query.where(lambda s: s.label == "E1")  # E: Incompatible return value type (got "bool", expected "Criterion") # P: "(s: MrSessionData) -> bool" cannot be assigned to parameter "conditions"
    query.where(lambda s: col(s.label).like(5))  # E: Argument 1 to "like" of "Column" has incompatible type "int" # P: cannot be assigned to parameter "pattern" of type "str" in function "like"
    query.columns(lambda s: s.label)  # E: Incompatible return value type (got "str | None" # P: "(s: MrSessionData) -> (str | None)" cannot be assigned to parameter "selectors"
    wrong: list[SubjectData] = query.objects()  # E: Incompatible types in assignment # P: "list[MrSessionData]" is not assignable to declared type "list[SubjectData]"
    session.query(MrSessionData).where(lambda s: col(s.gender) == "male")  # E: "MrSessionData" has no attribute "gender" # P: Cannot access attribute "gender" for class "MrSessionData"
    session.query("xnat:mrSessionData")  # E: Argument 1 to "query" of "XNATSession" has incompatible type "str" # P: Argument of type "Literal['xnat:mrSessionData']" cannot be assigned to parameter "cls"
    when: datetime.date = session.prearchive.sessions()[0].scan_date  # E: Incompatible types in assignment # P: "date | None" is not assignable to declared type "date"
    session.services.import_(42)  # E: Argument 1 to "import_" of "Services" has incompatible type "int" # P: cannot be assigned to parameter "path" of type "ImportSource | None" in function "import_"
    session.users["admin"].password  # E: "User" has no attribute "password" # P: Cannot access attribute "password" for class "User"
    session.services.issue_token().alias = "x"  # E: Property "alias" defined in "TokenResult" is read-only # P: Cannot assign to attribute "alias" for class "TokenResult" # P: Attribute "alias" is read-only
    session.prearchive.sessions()[0].move(3)  # E: Argument 1 to "move" of "PrearchiveSession" has incompatible type "int" # P: cannot be assigned to parameter "new_project" of type "str" in function "move"
    session.prearchive.sessions()[0].archive().labell  # E: Item "ImageSessionData" of "ImageSessionData | GenericExperiment" has no attribute "labell" # P: Cannot access attribute "labell" for class "ImageSessionData"
    dates: list[str | None] = query.values(lambda s: col(s.date))  # E: Argument 1 to "col" has incompatible type "date | None" # P: "list[date | None]" is not assignable to declared type "list[str | None]"
    print(wrong, when, dates)



def parts(session: xnat_sdk.XNATSession) -> None:
    """A part (``s.demographics``) or a list (``s.sharing``) is no column; a part's fields
    are checked as the class's own are."""
    subjects = session.query(SubjectData)
    subjects.where(lambda s: col(s.demographics).is_null())  # E: Argument 1 to "col" has incompatible type "DemographicData" # P: Argument of type "DemographicData" cannot be assigned to parameter "value"
    subjects.columns(lambda s: col(s.demographics))  # E: Argument 1 to "col" has incompatible type "DemographicData" # P: Argument of type "DemographicData" cannot be assigned to parameter "value"
    session.query(MrSessionData).where(lambda s: col(s.sharing).is_null())  # E: Argument 1 to "col" has incompatible type "list[ExperimentDataShare]" # P: Argument of type "list[ExperimentDataShare]" cannot be assigned
    subjects.where(lambda s: col(s.demographics.yob) > "1980")  # E: Unsupported operand types for > ("Column[int]" and "str") # P: Operator ">" not supported for types "Column[int]"
    subjects.where(lambda s: col(s.demographics.gender) == 3)  # E: Incompatible return value type (got "bool", expected "Criterion") # P: cannot be assigned to parameter "conditions"
    subjects.where(lambda s: col(s.demographics.gendre) == "male")  # E: "DemographicData" has no attribute "gendre" # P: Cannot access attribute "gendre" for class "DemographicData"

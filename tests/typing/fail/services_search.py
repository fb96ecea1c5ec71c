"""Typed search builder and service helpers: mistakes mypy must catch."""

from __future__ import annotations

import datetime

import xnat_sdk
from xnat_sdk.models import MrSessionData, SubjectData
from xnat_sdk.search import col


def searches(session: xnat_sdk.XNATSession) -> None:
    query = session.search(MrSessionData)
    query.where(lambda s: col(s.labell) == "E1")  # E: "MrSessionData" has no attribute "labell"
    query.where(lambda s: col(s.label) == 3)  # E: Incompatible return value type (got "bool", expected "Criterion")
    query.where(lambda s: col(s.date) > "2020-01-01")  # E: Unsupported operand types for > ("Column[date]" and "str")
    query.where(lambda s: col(s.dcm_patient_weight) < "high")  # E: Unsupported operand types for < ("Column[float]" and "str")
    query.where(lambda s: s.label == "E1")  # E: Incompatible return value type (got "bool", expected "Criterion")
    query.where(lambda s: col(s.label).like(5))  # E: Argument 1 to "like" of "Column" has incompatible type "int"
    query.columns(lambda s: s.label)  # E: Incompatible return value type (got "str | None"
    wrong: list[SubjectData] = query.objects()  # E: Incompatible types in assignment
    session.search(MrSessionData).where(lambda s: col(s.gender) == "male")  # E: "MrSessionData" has no attribute "gender"
    session.search("xnat:mrSessionData")  # E: Argument 1 to "search" of "XNATSession" has incompatible type "str"
    when: datetime.date = session.prearchive.sessions()[0].scan_date  # E: Incompatible types in assignment
    session.services.import_(42)  # E: Argument 1 to "import_" of "Services" has incompatible type "int"
    session.users["admin"].password  # E: "User" has no attribute "password"
    session.services.issue_token().alias = "x"  # E: Property "alias" defined in "TokenResult" is read-only
    session.prearchive.sessions()[0].move(3)  # E: Argument 1 to "move" of "PrearchiveSession" has incompatible type "int"
    dates: list[str | None] = query.values(lambda s: col(s.date))  # E: Argument 1 to "col" has incompatible type "date | None"
    print(wrong, when, dates)

"""Typed search builder and service helpers: uses that must type-check."""

from __future__ import annotations

import datetime

import xnat_sdk
from xnat_sdk.generic import GenericExperiment
from xnat_sdk.listings import KeyedList, Listing
from xnat_sdk.models import ImageScanData, ImageSessionData, MrScanData, MrSessionData, SubjectData
from xnat_sdk.prearchive import PrearchiveScan, PrearchiveSession
from xnat_sdk.search import Column, Criterion, Query, SearchTable, col
from xnat_sdk.services import DicomDumpRow, TokenResult
from xnat_sdk.tables import Row, RowValue
from xnat_sdk.users import User


def searches(session: xnat_sdk.XNATSession) -> None:
    query: Query[MrSessionData] = session.query(MrSessionData)
    query = query.where(
        lambda s: (col(s.label) == "E1") & (col(s.project) == "P1"),
        lambda s: col(s.date) >= datetime.date(2020, 1, 1),
        lambda s: col(s.dcm_patient_weight) > 1.5,
        lambda s: col(s.label).like("E%") | col(s.label).one_of(["A", "B"]),
        lambda s: col(s.note) == None,  # noqa: E711  (IS NULL)
    )
    query = query.columns(lambda s: [col(s.label), col(s.date)], lambda s: col(s.project))
    table: SearchTable = query.all()
    labels: list[RowValue] = table.column("label")
    first: Row = table[0]
    label: RowValue = first.label
    sessions: list[MrSessionData] = query.objects()
    dates: list[datetime.date | None] = query.values(lambda s: col(s.date))
    print(dates)
    strength: str | None = sessions[0].field_strength
    scans: list[MrScanData] = (
        session.query(MrScanData).where(lambda s: col(s.type) == "T1").objects()
    )
    subjects: list[SubjectData] = session.query(SubjectData).objects()
    number: int = session.query(SubjectData).where(lambda s: col(s.label) != "x").count()
    criterion: Criterion = col(query_label(session)) == "x"
    column: Column[str] = col(query_label(session))
    print(labels, first, label, strength, scans, subjects, number, criterion, column)


def query_label(session: xnat_sdk.XNATSession) -> str | None:
    """Only here to give ``col`` a ``str | None`` argument."""
    return None


def services(session: xnat_sdk.XNATSession) -> None:
    made: PrearchiveSession | ImageSessionData | GenericExperiment
    made = session.services.import_(b"zip", project="P1")
    if not isinstance(made, PrearchiveSession):  # archived at once: an image session
        made_label: str | None = made.label
        made_scans: Listing[ImageScanData] = made.scans
        print(made_label, made_scans)
    if isinstance(made, PrearchiveSession):
        scans: KeyedList[PrearchiveScan] = made.scans
        first: PrearchiveScan = scans["1"]  # by ID, as xnatpy's listing
        ids: list[str] = scans.keys()
        print(first, ids, [s.series_description for s in scans.values()])
        when: datetime.date | None = made.scan_date
        at: datetime.datetime | None = made.uploaded
        moved: PrearchiveSession = made.move("P2")
        archived: ImageSessionData | GenericExperiment
        archived = moved.archive(subject="S", experiment="E", overwrite="append")
        label: str | None = archived.label  # no cast, no isinstance: an image session
        archived_scans: Listing[ImageScanData] = archived.scans
        for scan in archived.scans.values():
            print(label, scan.id, scan.type, archived_scans)
        print(scans, when, at, archived)
    rows: list[DicomDumpRow] = session.services.dicom_dump("/archive/projects/P/experiments/E")
    tag: str = rows[0]["tag1"]  # a mapping too, as xnatpy's dict rows
    as_dict: dict[str, str] = dict(rows[0])
    print(tag, as_dict, rows[0].value)
    token: TokenResult = session.services.issue_token()
    alias: str = token.alias
    session.services.invalidate_token(token)
    user: User = session.users["admin"]
    email: str = user.email
    kinds: list[str] = session.inspect.datatypes("xnat:*")
    fields: list[str] = session.inspect.datafields(MrSessionData, "*LABEL*")
    pending: list[PrearchiveSession] = session.prearchive.sessions(project="P1")
    print(rows, alias, email, kinds, fields, pending)

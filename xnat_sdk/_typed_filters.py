"""Listing filters on date and number fields, as XNAT applies them (xnat-web
``QueryOrganizerResource.processDateQuery`` / ``processNumericQuery``).

XNAT cuts a date filter's alternative at its first ``-`` into a range and reads each end
with ``DateUtils.parseDate``: ``MM/DD/YYYY`` and ``MM/DD/YYYY-MM/DD/YYYY`` work, while an ISO
date (``2020-01-05``) becomes the range ``2020``..``01-05``, a query PostgreSQL refuses. The
SDK therefore sends ISO dates (``2020-01-05``, a range ``2020-01-01..2020-12-31`` or
``2020-01-01-2020-12-31``) as ``MM/DD/YYYY`` forms, and matches the rows it gets back with the
same meaning: a date or date range, a number or an ``a-b`` number range, alternatives
between commas. Other fields keep their text matching (:func:`xnat_sdk.listings.cell_matches`).
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["filter_kind", "sent_value", "typed_matches"]

_ISO = r"\d{4}-\d{1,2}-\d{1,2}"
_US = r"\d{1,2}/\d{1,2}/\d{4}"
_ISO_RANGE = re.compile(rf"\s*({_ISO})\s*(?:\.\.|-)\s*({_ISO})\s*\Z")
_US_RANGE = re.compile(rf"\s*({_US})\s*-\s*({_US})\s*\Z")
_PRED = re.compile(r"\[[^\]]*\]")


def filter_kind(session: XNATSession, path: str | None) -> str:
    """``"date"`` or ``"number"`` for a filter on the field at XML path ``path``
    (``xnat:experimentData/date``) by the session's models; ``""`` otherwise."""
    from xnat_sdk._objects.registry import model_class
    from xnat_sdk.fields import class_fields

    if not path or "/" not in path:
        return ""
    root, _, rest = _PRED.sub("", path).partition("/")
    klass = model_class(root, session)
    spec = class_fields(klass).lookup_path(rest) if klass is not None else None
    if spec is None:
        return ""
    if spec.scalar in ("date", "datetime"):
        return "date"
    return "number" if spec.scalar in ("int", "float") else ""


def _us(iso: str) -> str:
    year, month, day = (int(p) for p in iso.split("-"))
    return f"{month:02d}/{day:02d}/{year:04d}"


def sent_value(kind: str, value: str) -> str:
    """The filter value XNAT reads as meant: ISO dates and ranges of a date filter in the
    ``MM/DD/YYYY`` forms ``DateUtils`` parses; anything else as given."""
    if kind != "date":
        return value
    out = []
    for alternative in value.split(","):
        ranged = _ISO_RANGE.match(alternative)
        if ranged is not None:
            alternative = f"{_us(ranged.group(1))}-{_us(ranged.group(2))}"
        elif re.fullmatch(rf"\s*{_ISO}\s*", alternative):
            alternative = _us(alternative.strip())
        out.append(alternative)
    return ",".join(out)


def _date(text: str) -> datetime.date | None:
    text = text.strip()
    try:
        if re.fullmatch(_US, text):
            month, day, year = (int(p) for p in text.split("/"))
            return datetime.date(year, month, day)
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def typed_matches(kind: str, cell: str, pattern: str) -> bool:
    """Whether a row's ``cell`` passes a filter ``pattern`` on a ``kind`` field (see the
    module docstring); an empty cell passes none."""
    value = _date(cell) if kind == "date" else _number(cell)
    if value is None:
        return False
    low: datetime.date | float | None
    high: datetime.date | float | None
    for alternative in sent_value(kind, pattern).split(","):
        if kind == "date":
            ranged = _US_RANGE.match(alternative)
            low, high = (
                (_date(ranged.group(1)), _date(ranged.group(2)))
                if ranged is not None
                else (_date(alternative),) * 2
            )
        else:
            head, dash, tail = alternative.partition("-")
            low, high = (_number(head), _number(tail)) if dash else (_number(alternative),) * 2
        if low is not None and high is not None and low <= value <= high:  # type: ignore[operator]
            return True
    return False

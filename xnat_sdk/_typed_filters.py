"""Listing filters on date and number fields, as XNAT applies them (xnat-web
``QueryOrganizerResource.processDateQuery`` / ``processNumericQuery``).

XNAT cuts a date filter's alternative at its first ``-`` into a range and reads each end
with ``DateUtils.parseDate``: ``MM/DD/YYYY`` and ``MM/DD/YYYY-MM/DD/YYYY`` work, while an ISO
date (``2020-01-05``) becomes the range ``2020``..``01-05``, a query PostgreSQL refuses. The
SDK therefore sends ISO dates (``2020-01-05``, a range ``2020-01-01..2020-12-31`` or
``2020-01-01-2020-12-31``) as ``MM/DD/YYYY`` forms, and matches the rows it gets back with the
same meaning: a date or date range, a number or an ``a-b`` (or ``a..b``) number range,
alternatives between commas. A value of another form (a wildcard, a year alone, an open
range, a negative number: XNAT cuts at the ``-``) would fail XNAT's query (500, or an empty
answer) or match nothing there: :func:`check_value` refuses it before anything is sent.
``insert_date`` and ``last_modified`` (XFT's ``meta`` fields, in no schema) are dates too.
Other fields keep their text matching (:func:`xnat_sdk.listings.cell_matches`).
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING

from xnat_sdk.errors import XNATValidationError

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["check_value", "filter_kind", "sent_value", "typed_matches"]

_ISO = r"\d{4}-\d{1,2}-\d{1,2}"
_US = r"\d{1,2}/\d{1,2}/\d{4}"
_ISO_RANGE = re.compile(rf"\s*({_ISO})\s*(?:\.\.|-)\s*({_ISO})\s*\Z")
_US_RANGE = re.compile(rf"\s*({_US})\s*-\s*({_US})\s*\Z")
_PRED = re.compile(r"\[[^\]]*\]")
_TYPED_PART = re.compile(r"\[@xsi:type=([^\]]+)\]")
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_NUMBER_RANGE = re.compile(rf"\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*\Z")
#: XFT's ``meta`` fields of every data type: timestamps, in no schema
_META_DATES = ("meta/insert_date", "meta/last_modified")


def filter_kind(session: XNATSession, path: str | None) -> str:
    """``"date"`` or ``"number"`` for a filter on the field at XML path ``path``
    (``xnat:experimentData/date``) by the session's models; ``""`` otherwise."""
    from xnat_sdk._objects.registry import model_class
    from xnat_sdk.fields import class_fields

    if not path or "/" not in path:
        return ""
    root, _, rest = _PRED.sub("", path).partition("/")
    if rest.lower() in _META_DATES:
        return "date"
    typed = list(_TYPED_PART.finditer(path))
    if typed:  # a part named by its own type (demographics[@xsi:type=xnat:demographicData])
        root, rest = typed[-1].group(1), _PRED.sub("", path[typed[-1].end() :]).lstrip("/")
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


def _real_date(text: str) -> bool:
    try:
        if re.fullmatch(_US, text):
            month, day, year = (int(p) for p in text.split("/"))
        else:
            year, month, day = (int(p) for p in text.split("-"))
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _alternative_ok(kind: str, alternative: str) -> bool:
    """Whether one alternative of a ``kind`` filter is a form XNAT reads as meant."""
    text = alternative.strip()
    if kind == "date":
        ranged = _ISO_RANGE.match(text) or _US_RANGE.match(text)
        ends = ranged.groups() if ranged is not None else (text,)
        return all(re.fullmatch(f"{_ISO}|{_US}", e) and _real_date(e) for e in ends)
    bounds = [p.strip() for p in text.split("..")] if ".." in text else text.split("-")
    return 1 <= len(bounds) <= 2 and all(re.fullmatch(_NUMBER, b) for b in bounds)


def check_value(kind: str, key: str, value: str) -> None:
    """Refuse (:class:`XNATValidationError`) a filter ``value`` on a ``kind`` field that
    XNAT could not read as meant (see the module docstring); an empty value (empty cells)
    passes."""
    if not kind or not value.strip():
        return
    bad = [a for a in value.split(",") if not _alternative_ok(kind, a)]
    if not bad:
        return
    forms = (
        "a date 2024-01-05 (or 01/05/2024) or a range 2024-01-01..2024-12-31 (or "
        "01/01/2024-12/31/2024), alternatives between commas; no wildcards or open ranges "
        "(give both ends)"
        if kind == "date"
        else "a number 1970 or a range 1970-1990 (or 1970..1990), alternatives between "
        "commas; no wildcards or negative numbers (XNAT reads a '-' as a range)"
    )
    raise XNATValidationError(
        key, f"a filter on a {kind} field takes {forms}; got {bad[0].strip()!r}"
    )


def sent_value(kind: str, value: str) -> str:
    """The filter value XNAT reads as meant: ISO dates and ranges of a date filter in the
    ``MM/DD/YYYY`` forms ``DateUtils`` parses, a number range ``a..b`` as ``a-b``; anything
    else as given."""
    if kind == "number":
        return ",".join(
            f"{r.group(1)}-{r.group(2)}" if (r := _NUMBER_RANGE.match(a)) is not None else a
            for a in value.split(",")
        )
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

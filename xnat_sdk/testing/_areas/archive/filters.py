"""Typed listing filters: what XNAT's ``QueryOrganizerResource.processQueryCriteria`` does
with a filter on a date or a number field (xnat-web ``restlet/resources/
QueryOrganizerResource.java``), and where the SQL it builds fails on PostgreSQL.

* The filter's value is split at commas into alternatives (ORed).
* A date field (``java.util.Date``: ``xs:date``, ``xs:dateTime``): an alternative holding a
  ``-`` is a range, cut at its FIRST ``-`` (``processDateQuery``), each end parsed by
  ``org.nrg.xft.utils.DateUtils.parseDate`` (``yyyy-MM-dd``, ``EEE MMM dd HH:mm:ss z yyyy``,
  ``MM/dd/yyyy``, ``MM.dd.yyyy``, ``yyyyMMdd``; lenient ``SimpleDateFormat``s that read a
  prefix and roll a month 13 over) and compared ``>=``/``<=``; a value it cannot parse goes
  to the SQL as typed, which PostgreSQL refuses as a date (the query fails). So
  ``date=01/05/2020`` and ``date=01/01/2020-12/31/2020`` work, and an ISO date
  ``date=2020-01-05`` is the range ``'2020'``..``'01-05'``: a failed query, not a match.
* A number field (``xs:int``, ``xs:double`` ...): ``a-b`` is ``>= a AND <= b`` (cut at the
  first ``-``: a negative bound cannot be written, an empty end is SQL ``NULL`` and matches
  nothing); a value that is no number is unquoted SQL (``col = abc``), which fails.
* A boolean field (``xs:boolean``, an INTEGER column of 0/1: xdat ``PGSQLMapping``):
  ``processBooleanQuery`` compares each alternative with ``=``, its value made by
  ``DBAction.ValueParser``: ``true`` or ``1`` (any case) is 1, any other value 0 (``false``,
  ``0``, ``no``), ``null`` (any case) the SQL ``NULL`` that matches nothing. A stored value
  went through the same parser (``true``/``1`` -> 1, else 0).
* A missing value (SQL ``NULL``) matches no comparison.
"""

from __future__ import annotations

import datetime
import re

__all__ = ["QueryFailed", "matches_typed", "parse_java_date"]


class QueryFailed(Exception):
    """The SQL XNAT would build for a filter fails on PostgreSQL."""


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*\Z")
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def _lenient(year: int, month: int, day: int) -> datetime.date | None:
    """A lenient ``SimpleDateFormat``'s date: month 13 is January of the next year, day 0
    the last of the month before."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    try:
        return datetime.date(year, month, 1) + datetime.timedelta(days=day - 1)
    except (ValueError, OverflowError):
        return None


_PATTERNS = (
    # (regex over a prefix of the text, order of year/month/day groups)
    (re.compile(r"(\d+)-(\d+)-(\d+)"), "ymd"),  # yyyy-MM-dd
    (re.compile(r"(\d+)/(\d+)/(\d+)"), "mdy"),  # MM/dd/yyyy
    (re.compile(r"(\d+)\.(\d+)\.(\d+)"), "mdy"),  # MM.dd.yyyy
    (re.compile(r"(\d{4})(\d{2})(\d+)"), "ymd"),  # yyyyMMdd
)
_TO_STRING = re.compile(
    r"[A-Za-z]{3} ([A-Za-z]{3}) (\d+) \d+:\d+:\d+ \S+ (\d+)"
)  # EEE MMM dd HH:mm:ss z yyyy


def parse_java_date(text: str) -> datetime.date | None:
    """``DateUtils.parseDate(text)``, or None where it throws (quotes are dropped first)."""
    text = text.replace("'", "")
    for pattern, order in _PATTERNS:
        found = pattern.match(text)
        if found is not None:
            parts = dict(zip(order, (int(g) for g in found.groups()), strict=True))
            return _lenient(parts["y"], parts["m"], parts["d"])
    found = _TO_STRING.match(text)
    if found is not None and found.group(1).lower() in _MONTHS:
        month = _MONTHS.index(found.group(1).lower()) + 1
        return _lenient(int(found.group(3)), month, int(found.group(2)))
    return None


def _bound(text: str, kind: str) -> float | datetime.date | None:
    """One end of a comparison as PostgreSQL reads it (None: SQL NULL); QueryFailed when
    it refuses the value."""
    if kind == "date":
        parsed = parse_java_date(text)
        if parsed is None:
            raise QueryFailed(f"invalid input syntax for type date: {text!r}")
        return parsed
    if text == "":
        return None
    if _NUMBER.match(text) is None:
        raise QueryFailed(f"{text!r} is no number")
    return float(text)


def _cell(value: str, kind: str) -> float | datetime.date | None:
    """A stored value as the database column holds it (None: empty, NULL)."""
    if not value.strip():
        return None
    if kind == "date":
        return parse_java_date(value[:10])
    try:
        return float(value)
    except ValueError:
        return None


def _as_bit(text: str) -> int | None:
    """A boolean column's value of ``text`` (``DBAction.ValueParser``; None: SQL NULL)."""
    if text.lower() == "null":
        return None
    return 1 if text.lower() in ("true", "1") else 0


def matches_typed(value: str, wanted: str, kind: str) -> bool:
    """Whether a row whose field holds ``value`` passes the filter ``wanted`` on a field of
    ``kind`` (``"date"``, ``"number"`` or ``"boolean"``); QueryFailed where XNAT's query
    fails."""
    if kind == "boolean":
        bit = _as_bit(value) if value.strip() else None
        return bit is not None and any(_as_bit(w) == bit for w in wanted.split(","))
    found = False
    cell = _cell(value, kind)
    for alternative in wanted.split(","):
        if "-" in alternative:
            low_text, _, high_text = alternative.partition("-")
            low, high = _bound(low_text, kind), _bound(high_text, kind)
            if cell is not None and low is not None and high is not None:
                found = found or low <= cell <= high  # type: ignore[operator]
        else:
            exact = _bound(alternative, kind)
            found = found or (cell is not None and exact is not None and cell == exact)
    return found

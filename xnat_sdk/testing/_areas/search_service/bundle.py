"""Parsing and evaluating XNAT's ``xdat:bundle`` search documents (``POST /data/search``).

Covers the common case clients send (xnatpy's ``Query.to_xml``, pyxnat's ``select().where()``):
one root element type, a list of search fields, and a ``search_where`` tree of AND/OR sets of
simple comparisons (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``LIKE``, ``IS NULL``,
``IS NOT NULL``). Evaluation is done in Python against rows the server builds from its store:
the caller supplies a function resolving a schema field (``xnat:mrSessionData/label`` or a
display field ``xnat:mrSessionData.LABEL``) to the row's value.
"""

from __future__ import annotations

import datetime as _dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CriteriaSet",
    "Criterion",
    "Resolved",
    "SearchBundle",
    "SearchBundleError",
    "SearchField",
    "SearchQueryFailed",
    "compare",
    "holds",
    "parse_bundle",
]

XDAT_NS = "http://nrg.wustl.edu/security"
_OPS = {"=", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "NOT LIKE", "IS NULL", "IS NOT NULL"}


class SearchBundleError(ValueError):
    """The body is not a usable ``xdat:bundle`` (XNAT answers 422)."""


class SearchQueryFailed(Exception):
    """The SQL XNAT builds for a criterion fails on PostgreSQL (XNAT answers 500): a value
    that is no number for a number field goes into the SQL unquoted (``col = abc``)."""


#: how a criterion's field compares: "" guessed from the values (numbers, dates, text),
#: else by the field's type ("string", "number", "boolean", "date")
FieldKind = Literal["", "string", "number", "boolean", "date"]


@dataclass(frozen=True)
class Resolved:
    """A criterion's field in one row: its value (a list: the values of a repeated child, any
    of which may hold), how it compares, and whether it is a display field (XNAT's
    ``DisplayCriteria``) rather than an XML path (``ElementCriteria``)."""

    value: str | list[str] | None
    kind: FieldKind = ""
    display: bool = False


@dataclass(frozen=True)
class SearchField:
    """A requested column: element type, field ID (display field or XPath), order, header."""

    element_name: str
    field_id: str
    sequence: int = 0
    type: str = "string"
    header: str = ""


@dataclass(frozen=True)
class Criterion:
    """One comparison: ``schema_field`` ``comparison`` ``value``."""

    schema_field: str
    comparison: str
    value: str


@dataclass(frozen=True)
class CriteriaSet:
    """AND/OR of criteria and nested sets."""

    method: Literal["AND", "OR"] = "AND"
    children: tuple[Criterion | CriteriaSet, ...] = ()

    def evaluate(self, resolve: Callable[[str], str | list[str] | Resolved | None]) -> bool:
        """True when the set holds for the row behind ``resolve`` (an empty set holds). A
        field of a repeated child (a list: ``sharing/share/project``) holds when one of its
        values does, as the SQL join XNAT makes of it (none: as an empty value)."""
        if not self.children:
            return True
        results = (
            holds(resolve(c.schema_field), c) if isinstance(c, Criterion) else c.evaluate(resolve)
            for c in self.children
        )
        return all(results) if self.method == "AND" else any(results)

    def schema_fields(self) -> list[str]:
        """Every schema field the criteria mention."""
        out: list[str] = []
        for c in self.children:
            out.extend([c.schema_field] if isinstance(c, Criterion) else c.schema_fields())
        return out


@dataclass(frozen=True)
class SearchBundle:
    """A parsed search: root element, fields (in sequence order) and criteria."""

    root_element: str
    fields: tuple[SearchField, ...] = ()
    where: CriteriaSet = field(default_factory=CriteriaSet)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(elem: ET.Element, name: str) -> str:
    for child in elem:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _method(elem: ET.Element) -> Literal["AND", "OR"]:
    method = (elem.get("method") or "AND").strip().upper()
    if method not in ("AND", "OR"):
        raise SearchBundleError(f"unknown criteria method {method!r} (AND or OR)")
    return "OR" if method == "OR" else "AND"


def _criteria_set(elem: ET.Element) -> CriteriaSet:
    children: list[Criterion | CriteriaSet] = []
    for child in elem:
        name = _local(child.tag)
        if name == "criteria":
            schema_field = _child_text(child, "schema_field")
            op = re.sub(r"\s+", " ", _child_text(child, "comparison_type").upper()).strip()
            if not schema_field:
                raise SearchBundleError("a criteria element has no schema_field")
            if op not in _OPS:
                raise SearchBundleError(f"unsupported comparison_type {op!r}")
            children.append(Criterion(schema_field, op, _child_text(child, "value")))
        elif name == "child_set":
            children.append(_criteria_set(child))
    return CriteriaSet(_method(elem), tuple(children))


def parse_bundle(body: bytes | str) -> SearchBundle:
    """Parse an ``xdat:bundle`` (or ``xdat:stored_search``) document.

    Raises :class:`SearchBundleError` for invalid XML, another root element, or a bundle
    without ``root_element_name``.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SearchBundleError(f"invalid search XML: {exc}") from exc
    if _local(root.tag) not in ("bundle", "stored_search") or not root.tag.startswith(
        "{" + XDAT_NS + "}"
    ):
        raise SearchBundleError(f"the document is not an xdat:stored_search ({root.tag})")
    root_element = _child_text(root, "root_element_name")
    if not root_element:
        raise SearchBundleError("the search has no root_element_name")
    fields: list[SearchField] = []
    wheres: list[CriteriaSet] = []
    for child in root:
        name = _local(child.tag)
        if name == "search_field":
            seq_text = _child_text(child, "sequence")
            try:
                sequence = int(seq_text) if seq_text else len(fields)
            except ValueError as exc:
                raise SearchBundleError(f"search_field sequence {seq_text!r} is no int") from exc
            fields.append(
                SearchField(
                    element_name=_child_text(child, "element_name") or root_element,
                    field_id=_child_text(child, "field_ID"),
                    sequence=sequence,
                    type=_child_text(child, "type") or "string",
                    header=_child_text(child, "header"),
                )
            )
        elif name == "search_where":
            wheres.append(_criteria_set(child))
    fields.sort(key=lambda f: f.sequence)
    where = wheres[0] if len(wheres) == 1 else CriteriaSet("AND", tuple(wheres))
    return SearchBundle(root_element, tuple(f for f in fields if f.field_id), where)


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_ZONE = re.compile(r"(?<=\d:\d\d)(?:\.\d*)?(?:Z|[+-]\d\d(?::?\d\d)?)?$")
"""A time's fraction of a second and zone (``Z``, ``+00:00``, ``-0500``, ``+02``)."""


def _as_date(text: str) -> _dt.date | None:
    """The day of a date as PostgreSQL reads a ``date`` literal: ISO (a time, its fraction
    and zone after it ignored: Python's ``isoformat`` of an aware datetime), ``Y/M/D``,
    ``M/D/Y`` (``DateStyle`` MDY) or ``YYYYMMDD``."""
    plain = _ZONE.sub("", text.strip())
    for fmt in (
        "%Y-%m-%d",
        "%m/%d/%Y",
        "%Y/%m/%d",
        "%Y%m%d",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ):
        try:
            return _dt.datetime.strptime(plain, fmt).date()
        except ValueError:
            continue
    return None


def _like(value: str, pattern: str) -> bool:
    if "%" not in pattern and "_" not in pattern and "*" not in pattern:
        pattern = f"%{pattern}%"
    regex = "".join(".*" if c in "%*" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def holds(actual: str | list[str] | Resolved | None, criterion: Criterion) -> bool:
    """Whether ``criterion`` holds for its field's value ``actual`` (a list: one of them)."""
    found = actual if isinstance(actual, Resolved) else Resolved(actual)
    values = found.value if isinstance(found.value, list) else [found.value]
    if not found.kind:
        return any(compare(v, criterion.comparison, criterion.value) for v in values or [None])
    op, expected = criterion.comparison, criterion.value
    return any(
        compare_typed(v, op, expected, found.kind, display=found.display) for v in values or [None]
    )


def compare(actual: str | None, op: str, expected: str) -> bool:
    """Evaluate one comparison; numbers and dates compare by value, text case-sensitively.

    ``LIKE`` is case-insensitive with ``%``/``*`` and ``_`` wildcards (a pattern without a
    wildcard matches as a substring, as XNAT wraps it in ``%``).
    """
    op = op.upper()
    if op == "IS NULL":
        return actual is None or actual == ""
    if op == "IS NOT NULL":
        return actual is not None and actual != ""
    if actual is None:
        return False
    if op == "LIKE":
        return _like(actual, expected)
    if op == "NOT LIKE":
        return not _like(actual, expected)
    a: object = actual
    b: object = expected
    na, nb = _as_number(actual), _as_number(expected)
    if na is not None and nb is not None:
        a, b = na, nb
    else:
        da, db = _as_date(actual), _as_date(expected)
        if da is not None and db is not None:
            a, b = da, db
    if op == "=":
        return a == b
    if op in ("!=", "<>"):
        return a != b
    try:
        if op == "<":
            return bool(a < b)  # type: ignore[operator]
        if op == "<=":
            return bool(a <= b)  # type: ignore[operator]
        if op == ">":
            return bool(a > b)  # type: ignore[operator]
        if op == ">=":
            return bool(a >= b)  # type: ignore[operator]
    except TypeError:
        return False
    raise SearchBundleError(f"unsupported comparison_type {op!r}")


def _ordered(a: object, op: str, b: object) -> bool:
    """``a op b`` for one of ``=``, ``!=``/``<>``, ``<``, ``<=``, ``>``, ``>=``."""
    if op == "=":
        return a == b
    if op in ("!=", "<>"):
        return a != b
    order = {"<": (-1,), "<=": (-1, 0), ">": (1,), ">=": (1, 0)}.get(op)
    if order is None:
        raise SearchBundleError(f"unsupported comparison_type {op!r}")
    less, more = a < b, a > b  # type: ignore[operator]
    return (-1 if less else 1 if more else 0) in order


def _typed_value(text: str, kind: FieldKind) -> object:
    """A criterion's value as the SQL XNAT builds compares it (``DBAction.ValueParser``)."""
    if kind == "boolean":  # "true" or "1" (any case) is 1, anything else 0
        return 1 if text.strip().lower() in ("true", "1") else 0
    if kind == "number":  # written unquoted: what is no number fails the query
        number = _as_number(text.strip())
        if number is None:
            raise SearchQueryFailed(f"{text!r} is no number")
        return number
    if kind == "date":
        day = _as_date(text.strip())
        if day is None:
            raise SearchQueryFailed(f"invalid input syntax for type date: {text!r}")
        return day
    return text


def _cell(actual: str, kind: FieldKind) -> object | None:
    """A stored value as its column holds it (booleans are INTEGER 0/1 columns)."""
    if kind == "boolean":
        return 1 if actual.strip().lower() in ("true", "1") else 0
    if kind == "number":
        return _as_number(actual)
    if kind == "date":
        return _as_date(actual)
    return actual


def _like_as_given(value: str, pattern: str) -> bool:
    """``LOWER(col) LIKE LOWER('pattern')``: ``%`` and ``_`` the only wildcards, no wrapping."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def compare_typed(
    actual: str | None, op: str, expected: str, kind: FieldKind, *, display: bool = False
) -> bool:
    """One comparison as the SQL XNAT's search builds for a field of a known type
    (xdat ``SearchCriteria.getSQLClause`` for an XML path, ``DisplayCriteria.handleValues``
    for a display field; values by ``DBAction.ValueParser``):

    * a boolean field is an INTEGER column of 0/1; a value ``true`` or ``1`` (any case) is 1,
      any other 0 (``false``, ``0``, ``no``, ``yes``);
    * a number field (``xs:int``, ``xs:long``, ``xs:float`` ...) compares numbers, the value
      unquoted: one that is no number fails the query (:class:`SearchQueryFailed`);
    * a text field compares text (``"10" < "9"``), case kept;
    * ``LIKE`` of an XML path is ``LOWER(col) LIKE LOWER('%value%')`` (``*`` as ``%``, the
      value's own leading and trailing ``%`` dropped: always a match anywhere); of a display
      field ``LOWER(col) LIKE LOWER('value')``, the pattern as given;
    * a display field's ``!=`` also holds for a missing value (``OR col IS NULL``), and its
      ``= ''`` and ``= *`` are ``IS NULL`` and ``IS NOT NULL``.
    """
    op = op.upper()
    if actual is not None and not actual.strip() and kind != "string":
        actual = None
    if op in ("IS NULL", "IS NOT NULL") or (display and op == "=" and not expected.strip()):
        return compare(actual, op if op.startswith("IS") else "IS NULL", expected)
    if expected.strip() == "*" and (display or kind == "number") and op not in ("LIKE", "NOT LIKE"):
        return compare(actual, "IS NOT NULL", expected)
    if not expected.strip() and op == "=" and kind in ("string", "number"):
        # a text field's "col IS NULL OR col = ''"; a number's "col = NULL" (no row)
        return kind == "string" and not actual
    if actual is None:
        return display and op in ("!=", "<>")
    if op in ("LIKE", "NOT LIKE"):
        pattern = expected if display else "%" + expected.replace("*", "%").strip("'%") + "%"
        return _like_as_given(actual, pattern) == (op == "LIKE")
    cell = _cell(actual, kind)
    wanted = _typed_value(expected, kind)
    return cell is not None and _ordered(cell, op, wanted)

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
    "SearchBundle",
    "SearchBundleError",
    "SearchField",
    "compare",
    "parse_bundle",
]

XDAT_NS = "http://nrg.wustl.edu/security"
_OPS = {"=", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "NOT LIKE", "IS NULL", "IS NOT NULL"}


class SearchBundleError(ValueError):
    """The body is not a usable ``xdat:bundle`` (XNAT answers 422)."""


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

    def evaluate(self, resolve: Callable[[str], str | list[str] | None]) -> bool:
        """True when the set holds for the row behind ``resolve`` (an empty set holds). A
        field of a repeated child (a list: ``sharing/share/project``) holds when one of its
        values does, as the SQL join XNAT makes of it (none: as an empty value)."""
        if not self.children:
            return True
        results = (
            _holds(resolve(c.schema_field), c) if isinstance(c, Criterion) else c.evaluate(resolve)
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


def _as_date(text: str) -> _dt.date | None:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return _dt.datetime.strptime(text.split(".")[0], fmt).date()
        except ValueError:
            continue
    return None


def _like(value: str, pattern: str) -> bool:
    if "%" not in pattern and "_" not in pattern and "*" not in pattern:
        pattern = f"%{pattern}%"
    regex = "".join(".*" if c in "%*" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def _holds(actual: str | list[str] | None, criterion: Criterion) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    return any(compare(v, criterion.comparison, criterion.value) for v in values or [None])


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

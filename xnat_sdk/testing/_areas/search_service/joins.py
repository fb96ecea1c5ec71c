"""The typing and the repeated children of a search's criteria (``POST /data/search``).

XNAT's ``DisplaySearch.getSQLQuery`` answers criteria from a subquery of the root's keys
(``whereqo``): every field a criterion names is joined into it, a repeated child
(``scans/scan``, ``fields/field``, ``sharing/share``) as one row per item, the criteria are
its ``WHERE`` and ``SELECT DISTINCT`` keeps each root once. So a criterion on an item's field
holds when one item's does, and the criteria of one ``AND`` on the same child must hold for
the same item. Each value compares as its column's type (see
:func:`~xnat_sdk.testing._areas.search_service.bundle.compare_typed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xnat_sdk.testing._areas.archive.xsd import NUMERIC_FLOAT, NUMERIC_INT, FieldDef
from xnat_sdk.testing._areas.search_service.bundle import FieldKind

__all__ = ["JOINED", "Through", "display_kind", "field_kind", "steps", "through"]

#: the repeated children whose items a search joins here: path -> the kinds that have it
JOINED: dict[str, tuple[str, ...]] = {
    "scans/scan": ("experiment",),
    "fields/field": ("project", "subject", "experiment"),
    "sharing/share": ("subject", "experiment", "scan"),
}

_STEP = re.compile(r"^([^\[\]]+)(?:\[@xsi:type=([^\]]+)\])?$")


def steps(field: str) -> list[tuple[str, str]] | None:
    """``(name, xsi type filter)`` of each step of ``field`` ("" without a filter); None when
    a step has another predicate (``field[name=weight]``)."""
    found = []
    for step in re.split(r"/(?![^\[]*\])", field):
        match = _STEP.match(step)
        if match is None:
            return None
        found.append((match.group(1), match.group(2) or ""))
    return found


@dataclass(frozen=True)
class Through:
    """A field of the items of a repeated child: ``scans/scan[@xsi:type=X]/type`` ->
    ``Through("scans/scan", "X", "type")``."""

    prefix: str
    xsi: str
    rest: str


def through(field: str) -> Through | None:
    """The repeated child of :data:`JOINED` that ``field`` reads an item's field of."""
    found = steps(field)
    if found is None or len(found) < 3:
        return None
    prefix = f"{found[0][0]}/{found[1][0]}".lower()
    if prefix not in JOINED or found[0][1]:
        return None
    return Through(prefix, found[1][1], "/".join(name for name, _ in found[2:]))


def field_kind(field: FieldDef | None) -> FieldKind:
    """How a schema field compares, by its XSD type (its column's SQL type:
    ``PGSQLMapping``: ``xs:boolean`` is an INTEGER 0/1, ``xs:long`` a BIGINT)."""
    if field is None:
        return ""
    if field.xstype == "xs:boolean":
        return "boolean"
    if field.xstype in NUMERIC_INT or field.xstype in NUMERIC_FLOAT:
        return "number"
    if field.xstype in ("xs:date", "xs:dateTime"):
        return "date"
    if field.xstype in ("xs:string", "xs:anyURI", "xs:token", "xs:normalizedString"):
        return "string"
    return ""


def display_kind(data_type: str) -> FieldKind:
    """How a display field compares, by its ``data-type`` (``integer``, ``date`` ...)."""
    low = data_type.lower()
    if low in ("integer", "int", "long", "float", "double", "decimal"):
        return "number"
    if low in ("date", "datetime", "timestamp"):
        return "date"
    if low == "boolean":
        return "boolean"
    return "string" if low == "string" else ""

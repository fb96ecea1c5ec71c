"""Checking what the seed functions are given against the server's schemas: data types and
field keys a PUT could store, else :class:`XNATSeedError` naming what is allowed (imported
when a seed call first checks: it loads the server's request machinery)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from xnat_sdk.testing._areas.archive.changes import canonical_paths
from xnat_sdk.testing._areas.archive.tables import SHORTCUTS
from xnat_sdk.testing._areas.archive.xsd import SchemaInfo
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing.errors import XNATSeedError

__all__ = ["checked_fields", "checked_type", "concrete_types"]

#: a project's archive settings, kept with its data (``/data/projects/{P}/prearchive_code``)
PROJECT_SETTINGS = ("prearchive_code", "quarantine_code", "current_arc")
#: fields the project row holds as columns
PROJECT_COLUMNS = ("name", "secondary_ID", "description")


def _listed(names: list[str], wanted: str, shown: int = 12) -> str:
    """``names`` for a message: the closest to ``wanted`` first, at most ``shown`` of them."""
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
    rest = [n for n in names if n not in close]
    head = close + rest[: max(0, shown - len(close))]
    more = f" ... ({len(names)} in all)" if len(names) > len(head) else ""
    return ", ".join(head) + more


def concrete_types(schema: SchemaInfo, base: str) -> list[str]:
    """The non-abstract data types that are ``base`` or derive from it, sorted."""
    return sorted(
        name for name, t in schema.types.items() if not t.abstract and schema.is_a(name, base)
    )


def checked_type(schema: SchemaInfo, xsi_type: str, base: str) -> str:
    """The declared spelling of ``xsi_type``, a type deriving from ``base``; else
    :class:`XNATSeedError` listing the types allowed."""
    canonical = schema.canonical(xsi_type)
    if canonical is not None and schema.is_a(canonical, base):
        return canonical
    allowed = concrete_types(schema, base)
    why = "is not a data type the server knows" if canonical is None else f"is not a {base}"
    raise XNATSeedError(
        "xsi_type",
        xsi_type,
        f"xsi_type {xsi_type!r} {why}; use one of: {_listed(allowed, xsi_type)}",
        allowed,
    )


def _field_names(schema: SchemaInfo, kind: str, xsi: str) -> list[str]:
    """The keys a ``fields`` mapping of ``kind`` may hold (paths and shortcuts)."""
    names = [f.path for f in schema.fields(xsi)]
    names += [k for k, p in SHORTCUTS[kind].items() if p is not None]
    if kind == "subject":
        names += [f"demographics/{f.path}" for f in schema.fields("xnat:demographicData")]
    if kind == "project":
        names += [*PROJECT_COLUMNS, *PROJECT_SETTINGS]
    return sorted(set(names), key=str.lower)


def _path_of(schema: SchemaInfo, kind: str, xsi: str, key: str) -> str | None:
    """The stored path of field ``key`` of ``xsi`` (a shortcut is its path), or None."""
    if kind == "project" and key in (*PROJECT_COLUMNS, *PROJECT_SETTINGS):
        return key
    key = SHORTCUTS[kind].get(key) or key
    f = schema.field(xsi, key)
    if f is not None:
        return f.path
    head, _, rest = key.partition("/")
    if kind == "subject" and head == "demographics":
        demo = schema.field("xnat:demographicData", rest)
        return f"demographics/{demo.path}" if demo is not None else None
    if "/" in key and schema.has_step(xsi, head):
        # inside an element of a named type (``PI/firstname``, ``investigator/lastname``):
        # kept as given, as a PUT keeps it
        return key
    if "[" in key:  # an item of a child list (``scans/scan[0]/...``, ``parameters/addParam``)
        lists = [c.lower() for c in schema.children(xsi)] + ["parameters/addparam"]
        if key.split("[", 1)[0].lower() in lists:
            return key
    return None


def checked_fields(
    schema: SchemaInfo, kind: str, xsi: str, fields: Mapping[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """(data fields by their stored paths, custom variables) of a seed call's ``fields``:
    an unknown key, a custom variable where the type has none, or a value XNAT's validator
    refuses is an :class:`XNATSeedError`."""
    data: dict[str, str] = {}
    custom: dict[str, str] = {}
    for key, value in (fields or {}).items():
        if key.startswith("fields/"):
            if kind == "scan":
                raise XNATSeedError(
                    "fields", key, f"{xsi} has no custom variables (fields/...): {key!r}"
                )
            custom[key[len("fields/") :]] = value
            continue
        path = _path_of(schema, kind, xsi, key)
        if path is None:
            names = _field_names(schema, kind, xsi)
            raise XNATSeedError(
                "fields",
                key,
                f"{xsi} has no field {key!r}; known fields: {_listed(names, key)}; "
                "a key 'fields/<name>' sets a custom variable",
                names,
            )
        data[path] = value
    try:
        checked = canonical_paths(schema, xsi, dict(data))
    except HttpError as err:
        raise XNATSeedError("fields", dict(fields or {}), str(err.message).strip()) from err
    return {k: v for k, v in checked.items() if v is not None}, custom

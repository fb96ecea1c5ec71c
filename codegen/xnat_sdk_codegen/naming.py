"""XSD names -> Python names. The one place that decides naming.

The rules follow xnatpy's public convention so that scripts port:

* classes: split the qualified name on ``:``, ``_``, ``-`` and other non-word characters, drop a
  leading ``xnat`` part, upper-case the first letter of every part (``xnat:mrSessionData`` ->
  ``MrSessionData``, ``xnat:subjectData_field`` -> ``SubjectDataField``, ``prov:process`` ->
  ``ProvProcess``);
* anonymous nested types: the owner's class name plus each path segment with its first letter
  upper-cased (``MrScanData`` + ``parameters/voxelRes`` -> ``MrScanDataParametersVoxelRes``);
* fields: every run of capitals becomes ``_`` plus its lower-case form, non-word characters become
  ``_``, repeated and leading underscores are dropped (``fieldStrength`` -> ``field_strength``,
  ``ID`` -> ``id``, ``secondary_ID`` -> ``secondary_id``, ``UID`` -> ``uid``); Python keywords get
  a trailing ``_``;
* collisions are resolved deterministically by appending ``_2``, ``_3``, ... in schema order.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable

_SPLIT = re.compile(r"[\-_\W:]+")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")
_CAPS = re.compile(r"[A-Z]+")
_MULTI_UNDERSCORE = re.compile(r"__+")

RESERVED_FIELD_NAMES = frozenset({"self", "cls", "attrs", "datetime", "typing"})
"""Names a field must not take, next to the Python keywords."""


def _upper_first(part: str) -> str:
    return part[:1].upper() + part[1:]


def class_name(qualified: str) -> str:
    """Class name for a qualified XSD type name such as ``xnat:mrSessionData``."""
    parts = [p for p in _SPLIT.split(qualified) if p]
    if len(parts) > 1 and parts[0].lower() == "xnat":
        parts = parts[1:]
    name = "".join(_upper_first(p) for p in parts)
    if not name:
        raise ValueError(f"cannot derive a class name from {qualified!r}")
    if name[0].isdigit():
        name = "T" + name
    return name


def nested_class_name(owner_class: str, path: str) -> str:
    """Class name of an anonymous type at *path* (``a/b``) inside *owner_class*."""
    segments = [p for s in path.split("/") for p in _SPLIT.split(s) if p]
    return owner_class + "".join(_upper_first(s) for s in segments)


def field_name(xsd_name: str) -> str:
    """snake_case Python attribute name for an XSD attribute or element name."""
    name = _NON_WORD.sub("_", xsd_name)
    name = _CAPS.sub(lambda m: "_" + m.group(0).lower(), name)
    name = _MULTI_UNDERSCORE.sub("_", name).strip("_")
    if not name:
        name = "value"
    if name[0].isdigit():
        name = "f_" + name
    if keyword.iskeyword(name) or name in RESERVED_FIELD_NAMES:
        name += "_"
    return name


def module_name(prefix: str, xsd_name: str) -> str:
    """Module (file stem) holding a named type and its anonymous nested types."""
    stem = field_name(xsd_name).rstrip("_")
    mod = f"{field_name(prefix).rstrip('_')}_{stem}" if prefix else stem
    return mod


def unique(name: str, taken: Iterable[str]) -> str:
    """*name*, or *name* with the first free ``_2``, ``_3``, ... suffix when taken."""
    used = set(taken)
    if name not in used:
        return name
    base = name.rstrip("_")
    n = 2
    while f"{base}_{n}" in used:
        n += 1
    return f"{base}_{n}"


def snake_module(name: str) -> str:
    """A snake_case module-friendly form of any identifier."""
    return field_name(name).rstrip("_")

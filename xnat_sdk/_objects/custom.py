"""Custom variables (``fields/field``) of an object, as a mutable mapping that writes."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, MutableMapping
from typing import TypeAlias

from xnat_sdk._objects.core import XNATObject, child_items, own_path
from xnat_sdk._values import put_values
from xnat_sdk.errors import XNATKeyError, XNATValidationError, listed_keys
from xnat_sdk.fields import _VARIABLE, encode_value

__all__ = ["CustomVariables", "VariableValue"]

VariableValue: TypeAlias = str | int | float | bool | datetime.date | datetime.time
"""What a custom variable can be set to; it is stored, and read back, as its XNAT text
(``datetime.date(2020, 1, 2)`` as ``'2020-01-02'``, ``True`` as ``'true'``, ``3`` as ``'3'``)."""


class CustomVariables(MutableMapping[str, str]):
    """The custom variables of an object; setting one writes it (one PUT), deleting one
    clears it.

    Projects, subjects and experiments keep them as ``fields/field`` (XNAT lowercases the
    names); scans as their ``parameters/addParam`` list (``xnat:addField``: a ``name`` and a
    text value), which is what xnatpy's ``scan.fields`` shows too.
    """

    def __init__(
        self, owner: XNATObject, child: str = "fields/field", value_key: str = "field"
    ) -> None:
        self._owner = owner
        self._child = child
        self._value_key = value_key
        self._lower = child == "fields/field"

    def _current(self) -> dict[str, str]:
        item = self._owner._xnat_document()
        result: dict[str, str] = {}
        for entry in child_items(item, self._child) or ():
            fields = entry.get("data_fields") or {}
            name = fields.get("name")
            if name is not None:
                value = fields.get(self._value_key)
                result[str(name)] = "" if value is None else str(value)
        return result

    def _root(self, key: str) -> str:
        name = key.lower() if self._lower else key
        return f"{self._owner.xsi_type}/{self._child}[name={name}]"

    def _listed(self, key: str) -> str | None:
        """``key``'s value from the listing row the owner came from, while its document is not
        read: a ``columns=`` entry ``<type>/fields/field[name=<key>]/field`` of the owner's
        own type or one it derives from (``load_tree(subject_columns=...)``). None: not
        listed; ``""``: listed empty, as XNAT lists a variable the object does not have."""
        owner = self._owner
        if not self._lower or owner._xnat_item is not None:
            return None
        row = owner._xnat_cache.get("row")
        session = owner._xnat_session
        if not row or session is None or owner._xnat_generation != session.cache_generation:
            return None
        wanted = f"fields/field[name={key.lower()}]/field"
        for column, value in row.items():
            if "/" in column:
                path = own_path(type(owner), column)
                if path is not None and path.lower() == wanted:
                    return "" if value is None else str(value)
        return None

    def __getitem__(self, key: str) -> str:
        listed = self._listed(key) if isinstance(key, str) else None
        if listed == "":
            raise XNATKeyError(
                key,
                f"no custom variable {key!r} on {self._owner.uri} (the listing it came "
                "from shows it empty)",
            )
        if listed is not None:
            return listed
        current = self._current()
        try:
            return current[key]
        except KeyError:
            lowered = key.lower()
            if lowered in current:
                return current[lowered]
            known = listed_keys(sorted(current))
            raise XNATKeyError(
                key, f"no custom variable {key!r} on {self._owner.uri} (known: {known})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def _write(self, key: str, query: dict[str, str]) -> None:
        owner = self._owner
        session = owner._xnat_bound_session()
        put_values(session, owner.uri, {"xsiType": owner.xsi_type, **query})
        session._written(owner, listings=False)  # listings show no custom variable unasked

    def __setitem__(self, key: str, value: VariableValue) -> None:
        """Write one variable; a value that is not text is written as its XNAT text (see
        :data:`VariableValue`), as xnatpy writes it, and reads back as that text."""
        if not isinstance(key, str) or not re.match(_VARIABLE, key):
            raise XNATValidationError(
                f"fields[{key!r}]", "a custom variable name is letters, digits and '_'"
            )
        if not isinstance(value, (str, int, float, datetime.date, datetime.time)):
            raise XNATValidationError(
                f"fields[{key!r}]",
                "value must be text, a number, a bool, a date, a date and time or a time, "
                f"got {type(value).__name__}",
            )
        self._write(key, {f"{self._root(key)}/{self._value_key}": encode_value(value)})

    def __delitem__(self, key: str) -> None:
        self[key]  # raises a clear error when absent
        root = self._root(key)
        self._write(key, {f"{root}/{self._value_key}": "NULL", f"{root}/name": "NULL"})

    def __repr__(self) -> str:
        return f"<CustomVariables {self._current()!r}>"

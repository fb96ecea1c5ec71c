"""``session.inspect``: which data types the server knows and which search fields they have.

``datatypes(pattern)`` lists element names (``xnat:mrSessionData``) from
``/data/search/elements``; ``datafields(datatype)`` lists search-field IDs of one type from
``/data/search/elements/{type}``, as ``type/FIELD_ID`` unless ``prepend_type=False``.
Patterns are shell-style (``fnmatch``): ``xnat:*SessionData``.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING

from xnat_sdk._answers import fetch
from xnat_sdk.errors import XNATValidationError

if TYPE_CHECKING:
    from xnat_sdk.bases import XNATObject
    from xnat_sdk.session import XNATSession

__all__ = ["Inspect"]


def _check_pattern(pattern: object, what: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise XNATValidationError(what, f"must be a non-empty pattern string, got {pattern!r}")
    return pattern


class Inspect:
    """Introspection of the server's data types (``session.inspect``)."""

    def __init__(self, session: XNATSession) -> None:
        self._session = session

    @property
    def xnat_session(self) -> XNATSession:
        """The session used."""
        return self._session

    def datatypes(self, pattern: str = "*", fields_pattern: str | None = None) -> list[str]:
        """Data-type names matching ``pattern``; with ``fields_pattern``, their matching
        search fields (``type/FIELD_ID``) instead."""
        _check_pattern(pattern, "pattern")
        rows = fetch(self._session, "/data/search/elements").rows()
        names = [str(row["ELEMENT_NAME"]) for row in rows if row.get("ELEMENT_NAME")]
        names = [name for name in names if fnmatch.fnmatchcase(name, pattern)]
        if fields_pattern is None:
            return names
        _check_pattern(fields_pattern, "fields_pattern")
        return [field for name in names for field in self.datafields(name, fields_pattern)]

    def datafields(
        self,
        datatype: str | XNATObject | type[XNATObject],
        pattern: str = "*",
        prepend_type: bool = True,
    ) -> list[str]:
        """Search-field IDs of ``datatype`` (a type name, a model class or an object)."""
        _check_pattern(pattern, "pattern")
        if isinstance(datatype, str):
            name = datatype
        elif isinstance(datatype, type):
            name = datatype.__xsi_type__
        else:
            name = datatype.xsi_type
        if not name or ":" not in name:
            raise XNATValidationError(
                "datatype", f"expected a type like xnat:mrSessionData, got {name!r}"
            )
        rows = fetch(self._session, f"/data/search/elements/{name}").rows()
        found = []
        for row in rows:
            field = str(row.get("FIELD_ID") or "")
            if not field or "=" in field or "SHARINGSHAREPROJECT" in field:
                continue
            if fnmatch.fnmatchcase(field, pattern):
                found.append(f"{name}/{field}" if prepend_type else field)
        return found

    def __repr__(self) -> str:
        return f"<Inspect of {self._session.server}>"

"""Decoding and shape checks of the server's JSON answers: the one place they are read.

:func:`decode_json` turns a body into a value (refusing non-JSON and absurd nesting).
:func:`fetch` (``GET ?format=json``) and :func:`answer_of` (a response already received) give
an :class:`Answer`: the decoded document plus the request it answered, whose methods vouch
for what callers index: ``rows()`` / ``result_set()`` (a ``ResultSet`` listing),
``items()`` / ``current_item()`` (an object's ``?format=json`` document), ``json_object()``
(a plain JSON object), ``int_field()`` and ``total_records()`` (whole numbers such as
``Size`` and ``totalRecords``). Whatever is wrong raises
:class:`~xnat_sdk.errors.XNATResponseError` naming the method, the URL and what was wrong,
never a bare KeyError, TypeError, ValueError or RecursionError.

Imports only the standard library, :mod:`xnat_sdk.errors` and :mod:`xnat_sdk._urls` (no
requests at import time).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from xnat_sdk._record import FrozenRecord
from xnat_sdk._urls import redact_url
from xnat_sdk.errors import XNATResponseError

if TYPE_CHECKING:
    import requests

    from xnat_sdk.session import QueryParams, Timeout, XNATSession

__all__ = [
    "MAX_CHILD_DEPTH",
    "MAX_DEPTH",
    "Answer",
    "answer_of",
    "decode_json",
    "fetch",
    "whole_number",
]

MAX_DEPTH = 256
"""Deepest nesting of arrays and objects a JSON answer may have (XNAT's stay under 30)."""
MAX_CHILD_DEPTH = 32
"""Deepest nesting of ``children`` items an object document may have."""
_MAX_DIGITS = 18
_SCALARS = frozenset({str, int, float, bool, type(None)})
_STRINGS = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
# bytes.translate: keep only brackets, as +1 (opening) and -1 (closing) signed bytes
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_SIGNS = bytes.maketrans(_BRACKETS, b"\x01\xff\x01\xff")


# -- decoding ------------------------------------------------------------------------------


def decode_json(
    body: str | bytes,
    method: str,
    url: str,
    status: int = 200,
    response: requests.Response | None = None,
) -> Any:
    """The JSON value of a body; raises :class:`XNATResponseError` when the body is not JSON
    or nests deeper than :data:`MAX_DEPTH`."""
    if _too_deep(body):
        raise XNATResponseError(
            method, url, status, f"the JSON nests deeper than {MAX_DEPTH} levels", response
        )
    try:
        return json.loads(body)
    except RecursionError:
        raise XNATResponseError(
            method, url, status, "the JSON nests too deeply to decode", response
        ) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise XNATResponseError(
            method, url, status, f"the body is not JSON ({exc}): {_snippet(body)}", response
        ) from exc


def _depth(data: bytes) -> int:
    signs = memoryview(data.translate(_SIGNS, _NOT_BRACKETS)).cast("b")
    return max(accumulate(signs), default=0)


def _too_deep(body: str | bytes) -> bool:
    if isinstance(body, str):
        if body.count("[") + body.count("{") <= MAX_DEPTH:
            return False
        data = body.encode("utf-8", "replace")
    else:
        if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
            return False
        data = body
    if _depth(data) <= MAX_DEPTH:
        return False
    # brackets inside strings may have counted: confirm with the strings taken out
    return _depth(re.sub(_STRINGS, b'""', data, flags=re.DOTALL)) > MAX_DEPTH


def _snippet(body: str | bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", "replace") if isinstance(body, bytes) else body[:limit]
    return repr(text) + ("..." if len(body) > limit else "")


# -- answers -------------------------------------------------------------------------------


class Answer(FrozenRecord):
    """A decoded JSON answer and the request it answered (named in every error)."""

    __slots__ = ("document", "method", "response", "status", "url")
    _compared = ("document", "method", "url", "status")  # not the response, as before

    document: Any
    method: str
    url: str
    """The request's URL, credentials redacted."""
    status: int
    response: requests.Response | None

    def __init__(
        self,
        document: Any,
        method: str,
        url: str,
        status: int = 200,
        response: requests.Response | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "document", document)
        setter(self, "method", method)
        setter(self, "url", url)
        setter(self, "status", status)
        setter(self, "response", response)

    def error(self, message: str) -> XNATResponseError:
        """An :class:`XNATResponseError` about this answer."""
        return XNATResponseError(self.method, self.url, self.status, message, self.response)

    def rows(self, numbers: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The checked ``ResultSet.Result`` rows (see :func:`result_rows`)."""
        return _rows(self, _result_set(self), tuple(numbers))

    def result_set(self) -> dict[str, Any]:
        """The checked ``ResultSet`` (see :func:`result_set`)."""
        found = _result_set(self)
        _rows(self, found, ())
        return found

    def total_records(self) -> int | None:
        """``ResultSet.totalRecords`` (see :func:`total_records`)."""
        return _total(self, _result_set(self))

    def items(self) -> list[dict[str, Any]]:
        """The checked items of an object document (see :func:`object_items`)."""
        return _items(self)

    def current_item(self) -> dict[str, Any]:
        """The first non-history item of an object document (see :func:`current_item`)."""
        return _current(self, _items(self))

    def json_object(self, strings: Iterable[str] = ()) -> dict[str, Any]:
        """The document as a checked JSON object (see :func:`json_object`)."""
        return _object(self, tuple(strings))

    def int_field(self, row: Mapping[str, Any], key: str, where: str = "a row") -> int | None:
        """A whole-number cell of a row of this answer (see :func:`int_field`)."""
        return _int(self, row, key, where)


def answer_of(response: requests.Response) -> Answer:
    """The decoded JSON answer of a response already received (any status)."""
    method = str(response.request.method or "GET")
    url = redact_url(response.url)
    # without a charset requests would guess one from the whole body: let json detect UTF-*
    body = response.content if response.encoding is None else response.text
    document = decode_json(body, method, url, response.status_code, response)
    return Answer(document, method, url, response.status_code, response)


def fetch(
    session: XNATSession,
    path: str,
    query: QueryParams | None = None,
    *,
    accepted_status: Iterable[int] | None = None,
    timeout: Timeout = None,
) -> Answer:
    """``GET path?format=json`` through ``session`` (status checked) and decode the body."""
    response = session.get(
        path,
        format="json",
        query=query,
        accepted_status=tuple(accepted_status) if accepted_status is not None else None,
        timeout=timeout,
    )
    return answer_of(response)


def whole_number(value: object) -> int | None:
    """``value`` as a whole number >= 0 (an int, an integral float, or a string of at most 18
    ASCII digits), else None; never raises."""
    if type(value) is int:
        return value if value >= 0 else None
    if type(value) is float:
        return int(value) if value.is_integer() and 0 <= value < 10**_MAX_DIGITS else None
    if isinstance(value, str):
        text = value.strip()
        if 0 < len(text) <= _MAX_DIGITS and text.isascii() and text.isdigit():
            return int(text)
    return None


# -- implementation ------------------------------------------------------------------------


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a dict"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key(key: object) -> str:
    return _show(key, 40)


def _result_set(answer: Answer) -> dict[str, Any]:
    document = answer.document
    if not isinstance(document, dict):
        raise answer.error(f"the answer is {_kind(document)}, expected a ResultSet listing")
    found = document.get("ResultSet")
    if found is None:
        raise answer.error("the answer has no ResultSet, expected a listing")
    if not isinstance(found, dict):
        raise answer.error(f"ResultSet is {_kind(found)}, expected a dict")
    return found


def _rows(answer: Answer, found: dict[str, Any], numbers: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = found.get("Result")
    if rows is None:
        raise answer.error("ResultSet has no Result, expected a list of rows")
    if not isinstance(rows, list):
        raise answer.error(f"ResultSet.Result is {_kind(rows)}, expected a list of rows")
    scalars = _SCALARS
    for index, row in enumerate(rows):
        if type(row) is not dict or not scalars.issuperset(map(type, row.values())):
            _check_flat(answer, row, f"ResultSet.Result[{index}]")
        for key in numbers:
            value = row.get(key)
            if value is not None and value != "" and whole_number(value) is None:
                _int(answer, row, key, f"ResultSet.Result[{index}]")
    columns = found.get("Columns")
    if columns is not None:
        if not isinstance(columns, list):
            raise answer.error(f"ResultSet.Columns is {_kind(columns)}, expected a list")
        for index, column in enumerate(columns):
            _check_flat(answer, column, f"ResultSet.Columns[{index}]")
    return rows


def _check_flat(answer: Answer, row: object, where: str) -> None:
    if not isinstance(row, dict):
        raise answer.error(f"{where} is {_kind(row)} ({_show(row)}), expected a row (a dict)")
    for key, value in row.items():
        if type(value) not in _SCALARS:
            raise answer.error(
                f"{where}[{_key(key)}] is {_kind(value)}, expected a string or number"
            )


def _int(answer: Answer, row: Mapping[str, Any], key: str, where: str) -> int | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    number = whole_number(value)
    if number is None:
        raise answer.error(
            f"{where}[{_key(key)}] is {_show(value)}, expected a whole number "
            f"(0 to {_MAX_DIGITS} digits)"
        )
    return number


def _total(answer: Answer, found: dict[str, Any]) -> int | None:
    value = found.get("totalRecords")
    if value is None or value == "":
        return None
    number = whole_number(value)
    if number is None:
        raise answer.error(f"ResultSet.totalRecords is {_show(value)}, expected a count")
    return number


def _items(answer: Answer) -> list[dict[str, Any]]:
    document = answer.document
    if not isinstance(document, dict):
        raise answer.error(f"the object document is {_kind(document)}, expected a dict with items")
    items = document.get("items")
    if items is None:
        raise answer.error("the object document has no items")
    if not isinstance(items, list):
        raise answer.error(f"items is {_kind(items)}, expected a list of items")
    # iterative: a hostile document must not be able to exhaust the stack
    pending: list[tuple[str, list[Any], int]] = [("items", items, 1)]
    while pending:
        where, group, depth = pending.pop()
        if depth > MAX_CHILD_DEPTH:
            raise answer.error(f"children nest deeper than {MAX_CHILD_DEPTH} levels")
        for index, item in enumerate(group):
            here = f"{where}[{index}]"
            if not isinstance(item, dict):
                raise answer.error(f"{here} is {_kind(item)}, expected an item (a dict)")
            data = item.get("data_fields")
            if data is not None:
                if not isinstance(data, dict):
                    raise answer.error(f"{here}.data_fields is {_kind(data)}, expected a dict")
                _check_flat(answer, data, f"{here}.data_fields")
            _check_meta(answer, item.get("meta"), f"{here}.meta")
            children = item.get("children")
            if children is None:
                continue
            if not isinstance(children, list):
                raise answer.error(f"{here}.children is {_kind(children)}, expected a list")
            for number, child in enumerate(children):
                at = f"{here}.children[{number}]"
                if not isinstance(child, dict):
                    raise answer.error(f"{at} is {_kind(child)}, expected a dict")
                name = child.get("field")
                if not isinstance(name, str):
                    raise answer.error(f"{at}.field is {_kind(name)}, expected a string")
                inner = child.get("items")
                if inner is None:
                    continue
                if not isinstance(inner, list):
                    raise answer.error(f"{at}.items is {_kind(inner)}, expected a list")
                pending.append((f"{at}.items", inner, depth + 1))
    return items


def _check_meta(answer: Answer, meta: object, where: str) -> None:
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise answer.error(f"{where} is {_kind(meta)}, expected a dict")
    xsi = meta.get("xsi:type")
    if xsi is not None and not isinstance(xsi, str):
        raise answer.error(f"{where}['xsi:type'] is {_kind(xsi)}, expected a string")
    history = meta.get("isHistory")
    if history is not None and not isinstance(history, bool):
        raise answer.error(f"{where}.isHistory is {_show(history)}, expected true or false")


def _current(answer: Answer, items: list[dict[str, Any]]) -> dict[str, Any]:
    if not items:
        raise answer.error("the object document has no items")
    for item in items:
        if not (item.get("meta") or {}).get("isHistory", False):
            return item
    return items[0]


def _object(answer: Answer, strings: tuple[str, ...]) -> dict[str, Any]:
    document = answer.document
    if not isinstance(document, dict):
        raise answer.error(f"the answer is {_kind(document)}, expected a JSON object")
    for key in strings:
        value = document.get(key)
        if value is None:
            raise answer.error(f"the answer has no {key!r}")
        if not isinstance(value, str):
            raise answer.error(f"{key!r} is {_kind(value)}, expected a string")
    return document

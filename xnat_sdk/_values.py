"""Writing field values to XNAT: in the query string while it is short, else in a form body.

XNAT's REST writes (``PUT`` of a project, subject, experiment, scan or assessor) read values
named by XPath (``xnat:subjectData/fields/field[name=notes]/field``) from the query string,
as xnatpy sends them, and also from an ``application/x-www-form-urlencoded`` body
(``SecureResource.loadItem``: the body's values, then the query string's, which win for a
name in both). Tomcat answers 400 "Request header is too large" to a request line and
headers past 8 KB (``maxHttpHeaderSize``), and proxies cut long request lines too (nginx:
8 KB), so a long value (a project description may hold 10,000 characters, a custom variable
more) cannot go in the query string. Past :data:`MAX_TARGET` characters of request target
the values go in the body. Shortcut names (``label``, ``description``), ``xsiType`` and the
other parameters stay in the query string, where XNAT alone reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xnat_sdk._urls import encode_query

if TYPE_CHECKING:
    import requests

    from xnat_sdk.session import Timeout, XNATSession

__all__ = ["MAX_TARGET", "put_values", "target_length"]

#: The longest request target (path and query string, in characters) sent as it is: half of
#: Tomcat's 8 KB for the request line and every header, the rest left to the headers.
MAX_TARGET = 4096


def target_length(uri: str, query: Mapping[str, Any]) -> int:
    """The length of the request target ``uri?query`` as the SDK sends it (see
    :func:`~xnat_sdk._urls.encode_query`), to compare with :data:`MAX_TARGET`."""
    return len(uri) + 1 + len(encode_query(query))


def _is_xpath(name: str) -> bool:
    head, slash, _ = name.partition("/")
    return bool(slash) and ":" in head


def put_values(
    session: XNATSession,
    uri: str,
    query: Mapping[str, str],
    timeout: Timeout = None,
    format: str | None = None,
) -> requests.Response:
    """``PUT uri`` with ``query``: as a query string, or with its XPath values in a form
    body when the request target would pass :data:`MAX_TARGET` characters."""
    if target_length(uri, query) <= MAX_TARGET:
        return session.put(uri, query=query, timeout=timeout, format=format)
    body = {name: value for name, value in query.items() if _is_xpath(name)}
    rest = {name: value for name, value in query.items() if name not in body}
    return session.put(uri, query=rest, data=body, timeout=timeout, format=format)

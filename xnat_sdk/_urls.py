"""URLs fit for messages and logs (user info, secret-looking query values, the secret of
an alias-token path and a ``;jsessionid=`` path parameter hidden), and the parts of REST
paths: an object's ID as a path segment (:func:`quote_segment`), the scan a file listing's
``URI`` belongs to (:func:`scan_of_file_uri`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

__all__ = [
    "encode_query",
    "is_loopback_host",
    "plain_http_off_machine",
    "quote_segment",
    "redact_exchange",
    "redact_header",
    "redact_headers",
    "redact_headers_in_place",
    "redact_text",
    "redact_url",
    "scan_of_file_uri",
    "without_session_id",
]


def quote_segment(ident: str) -> str:
    """An object's ID or label as one REST path segment: ``/``, ``?``, ``#``, ``%``, ``+``,
    ``;`` (Tomcat cuts a ``;name=value`` path parameter out of the path before XNAT sees
    it), spaces and non-ASCII percent-encoded (XNAT URL-decodes a scan ID, ``+`` as a
    space), the rest as it is (``1.2``, ``a,b``, ``T1:x``)."""
    return quote(ident, safe="!$&'()*,=:@~-._")


_FILE_OF_SCAN = r"/scans/([^/]*)/resources/[^/]+/files/"
"""(compiled on first use, by re's cache: not at import, for the cold start)"""


def scan_of_file_uri(uri: str) -> str | None:
    """The ID of the scan whose file a file listing's ``URI`` names (XNAT writes it as it
    is, not percent-encoded), or None for a file of another level."""
    found = re.search(_FILE_OF_SCAN, uri)
    return found.group(1) if found else None


_SECRET_KEYS = ("pass", "secret", "token", "jsession", "alias", "auth")
_TOKENS = "/services/tokens/"
_TOKEN_PATH = r"(/services/tokens/(?:in)?validate/[^/?#]+/)[^/?#]+"
"""XNAT's token paths end in ``{alias}/{secret}`` (``AliasTokenRestlet``); compiled on
first use, by re's cache (not at import: cold start)."""


def encode_query(params: Mapping[str, Any]) -> str:
    """``params`` as the query string the SDK sends: XPath names and values readable (``/``,
    ``:``, ``,`` and ``*`` left as they are, as xnatpy sends them), lists repeated."""
    return urlencode(params, safe="/:,*", doseq=True)


#: query values longer than this (decoded characters) are shortened in messages
LONG_VALUE = 200


def redact_url(url: str) -> str:
    """``url`` with user info, secret-looking query values and a token path's secret
    replaced by ``***``, and
    query values longer than :data:`LONG_VALUE` characters shortened (``abc...[12000
    characters]``): a message names the request, it does not repeat a long value."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        secret = any(_secret_key(key) for key, _ in pairs)
        if secret or any(len(value) > LONG_VALUE for _, value in pairs):
            query = "&".join(f"{_quoted(k)}={_shown(k, v)}" for k, v in pairs)
    path = redact_text(parts.path)
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


_SESSION_PARAM = r"(?i)(;jsessionid=)[^/?#;\s\"']+"
"""A session ID as a path parameter (``/data/x;jsessionid=...``: Tomcat's URL rewriting,
in a redirect's ``Location``)."""


def without_session_id(url: str) -> str:
    """``url`` without any ``;jsessionid=`` path parameter (Tomcat's URL rewriting puts the
    session there, in a redirect's ``Location``): a redirect is followed without it, the
    cookie carries the session, and a session id in a URL reaches access logs and proxies."""
    if ";" not in url or "jsessionid=" not in url.lower():
        return url
    parts = urlsplit(url)
    path = re.sub(r"(?i);jsessionid=[^/;]*", "", parts.path)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` (a message that may quote a request's path) with any token path's secret
    and any ``;jsessionid=`` path parameter replaced by ``***``."""
    if _TOKENS in text:
        text = re.sub(_TOKEN_PATH, r"\1***", text)
    if ";" in text and "jsessionid=" in text.lower():
        text = re.sub(_SESSION_PARAM, r"\1***", text)
    return text


_COOKIE_VALUE = r'(^|,)(\s*[^=;,\s]+=)(?:"[^"]*"|[^;,]*)'
"""A cookie's ``name=value`` at the start of a ``Set-Cookie`` header or after the comma that
joins two of them (a value may be quoted, commas inside; attributes follow a ``;``; the
comma of an ``Expires`` date is followed by a day number and a space, never by
``name=``)."""

_SENT_COOKIE = r"(^|;)(\s*[^=;\s]+=)[^;]*"
"""A cookie's ``name=value`` in a request's ``Cookie`` header (pairs joined by ``;``)."""

_SET_COOKIES = frozenset({"set-cookie", "set-cookie2"})
_HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization"})


def redact_header(name: str, value: str) -> str:
    """``value`` of the header ``name`` fit to print: every cookie's value (``Set-Cookie:
    JSESSIONID=***; Path=/``, ``Cookie: JSESSIONID=***; b=***``: names and attributes
    kept) and the whole of ``Authorization`` replaced by ``***``; other headers as they
    are."""
    lowered = name.lower()
    if lowered in _HIDDEN_HEADERS:
        return "***"
    if lowered in _SET_COOKIES:
        return re.sub(_COOKIE_VALUE, r"\1\2***", value)
    if lowered == "cookie":
        return re.sub(_SENT_COOKIE, r"\1\2***", value)
    return value


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` fit to print (each value by :func:`redact_header`)."""
    return {name: redact_header(name, value) for name, value in headers.items()}


def _secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _HIDDEN_HEADERS or lowered in _SET_COOKIES or lowered == "cookie"


def redact_headers_in_place(headers: Any) -> None:
    """Apply :func:`redact_header` inside ``headers``: a requests ``CaseInsensitiveDict``,
    a urllib3 ``HTTPHeaderDict`` or an ``http.client`` message (each value of a header
    sent more than once); None is left alone."""
    if headers is None:
        return
    names = {name.lower(): name for name in list(headers.keys()) if _secret_header(name)}
    for name in names.values():
        many = getattr(headers, "getlist", None) or getattr(headers, "get_all", None)
        values = list(many(name) or ()) if many is not None else [headers[name]]
        del headers[name]
        add = getattr(headers, "add", None)  # HTTPHeaderDict keeps every value by add
        for value in values:
            if add is not None:
                add(name, redact_header(name, value))
            else:  # a message's item assignment appends; a dict's keeps one value
                headers[name] = redact_header(name, value)


def redact_exchange(response: Any) -> None:
    """Hide, inside a requests ``response`` an error keeps (it may be printed, logged or
    inspected), the secrets of the answers and of the requests that led to it (each of
    ``response.history`` too): the cookies a ``Set-Cookie`` header set (the server
    session), in the parsed headers, urllib3's and ``http.client``'s copies and the
    answer's cookie jar, and a request's ``Cookie`` and ``Authorization`` headers. The
    session's own cookie jar took its cookies before: it keeps working."""
    for answer in (*getattr(response, "history", ()), response):
        redact_headers_in_place(getattr(answer, "headers", None))
        raw = getattr(answer, "raw", None)
        redact_headers_in_place(getattr(raw, "headers", None))
        redact_headers_in_place(getattr(getattr(raw, "_original_response", None), "msg", None))
        jar = getattr(answer, "cookies", None)
        if jar is not None and hasattr(jar, "clear"):
            jar.clear()
        request: Any = getattr(answer, "request", None)
        redact_headers_in_place(getattr(request, "headers", None))
        if getattr(request, "_cookies", None) is not None:
            request._cookies = None  # the jar's copy the request was sent with


def is_loopback_host(host: str) -> bool:
    """True for a name of this machine that never leaves it: ``localhost``, an address of
    ``127.0.0.0/8`` or ``::1`` (an IPv4-mapped ``::ffff:127.x.y.z`` too)."""
    import ipaddress

    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def plain_http_off_machine(url: str) -> bool:
    """True when a request to ``url`` travels in clear text over a network: a plain
    ``http://`` URL whose host is not a loopback name (:func:`is_loopback_host`)."""
    parts = urlsplit(url)
    return parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname or "")


def _quoted(text: str) -> str:
    return quote_plus(text, safe="/:,*[]")


def _shown(key: str, value: str) -> str:
    if _secret_key(key):
        return "***"
    if len(value) > LONG_VALUE:
        return f"{_quoted(value[:40])}...[{len(value)} characters]"
    return _quoted(value)


def _secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_KEYS)

"""Rendering answers: XNAT's ResultSet tables and Restlet's HTML status pages.

Tables (:func:`render_table`, what ``ctx.table(...)`` calls): XNAT's ResultSet in json
(default), xml, csv or html; every cell is stringified (``None`` -> ``""``), ``totalRecords``
and other meta values are strings.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["render_table", "restlet_status_page"]


_DEFAULT_REASONS = {
    400: "The request could not be understood by the server due to malformed syntax",
    401: "The request requires user authentication",
    403: "The server understood the request, but is refusing to fulfill it",
    404: "The server has not found anything matching the request URI",
    405: "The method specified in the request is not allowed for the resource identified by "
    "the request URI",
    409: "The request could not be completed due to a conflict with the current state of the "
    "resource",
    417: "The expectation given in an Expect request-header field could not be met by this server",
    422: "The server understands the content type of the request entity and the syntax of the "
    "request entity is correct but was unable to process the contained instructions",
    500: "The server encountered an unexpected condition which prevented it from fulfilling "
    "the request",
    503: "The server is currently unable to handle the request due to a temporary overloading "
    "or maintenance of the server",
}


def restlet_status_page(status: int, message: str | None = None) -> str:
    """The HTML status page Restlet 1.1 renders for ``/data`` errors (message in ``<h3>``)."""
    text = message or _DEFAULT_REASONS.get(status, "Error")
    return (
        "<html>\n<head>\n   <title>Status page</title>\n</head>\n"
        '<body style="font-family: sans-serif;">\n'
        f"<h3>{html.escape(text, quote=False)}</h3>"
        "<p>You can get technical details "
        '<a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html">here</a>.<br>\n'
        'Please continue your visit at our <a href="/">home page</a>.\n</p>\n</body>\n</html>\n'
    )


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def render_table(
    fmt: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    meta: Mapping[str, Any],
    column_props: Sequence[Mapping[str, str]] | None = None,
) -> tuple[str, str]:
    """A ResultSet as ``(body, mimetype)`` for ``fmt`` in json/xml/csv/html (else json)."""
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([_cell(r.get(c)).replace("\n", " ") for c in columns])
        return out.getvalue(), "text/csv"
    if fmt == "xml":
        attrs = "".join(
            f' {k}="{html.escape(_cell(v))}"' for k, v in meta.items() if isinstance(k, str)
        )
        parts = [f"<ResultSet{attrs}><results><columns>"]
        parts.extend(f"<column>{_xml_cell(c)}</column>" for c in columns)
        parts.append("</columns>\n<rows>")
        for r in rows:
            parts.append("<row>")
            parts.extend(f"<cell>{_xml_cell(_cell(r.get(c)))}</cell>" for c in columns)
            parts.append("</row>\n")
        parts.append("</rows></results></ResultSet>")
        return "".join(parts), "text/xml"
    if fmt == "html":
        parts = ["<html><body><table><tr>"]
        parts.extend(f"<th>{html.escape(c)}</th>" for c in columns)
        parts.append("</tr>")
        for r in rows:
            parts.append("<tr>")
            parts.extend(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in columns)
            parts.append("</tr>")
        parts.append("</table></body></html>")
        return "".join(parts), "text/html"
    result = [{c: v if type(v := r.get(c)) is str else _cell(v) for c in columns} for r in rows]
    head = ""
    if column_props is not None:
        head = '"Columns":' + json.dumps(list(column_props), separators=(",", ":")) + ","
    body = '{"ResultSet":{' + head + '"Result":' + json.dumps(result, separators=(",", ":"))
    if meta:
        body += ", " + ",".join(f"{json.dumps(k)}: {json.dumps(_cell(v))}" for k, v in meta.items())
    body += "}}"
    return body, "application/json"


def _xml_cell(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

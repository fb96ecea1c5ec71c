"""Data-type introspection of the local XNAT server (what xnatpy's ``inspect`` reads).

* ``GET /data/search/elements``: ``ELEMENT_NAME, SINGULAR, PLURAL, SECURED, COUNT`` for the
  standard element types plus every type the archive holds (with record counts); filters
  ``secured``, ``used``, ``readable``; META ``title: Data-Types``.
* ``GET /data/search/elements/{type}[,{type2}]``: the search (display) fields of each type,
  ``FIELD_ID, HEADER, SUMMARY, TYPE, REQUIRES_VALUE, DESC, ELEMENT_NAME, SRC``; XML unless
  ``format=json``; unknown type -> 400.

Counts are the site's totals for every user, as XNAT's (``getTotalCounts``); with
``readable`` they are the records the user can read (``getReadableCounts``: the projects it
may read, and what is shared into them). Anonymous requests get 401 on a site with XNAT's
``requireLogin`` on (the default) and run as the guest when it is off.

The field catalog and the record builders are :mod:`.display_fields` and :mod:`.records`.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.inspect_service.display_fields import (
    fields_of,
    is_generic,
    kind_of,
    names_of,
)
from xnat_sdk.testing._areas.inspect_service.records import element_counts
from xnat_sdk.testing._areas.permissions.access import readable_projects
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError, Router

__all__ = ["register"]


def _elements(ctx: RequestContext) -> Response:
    # the site's totals, or with ``readable`` those the user can read (SearchElementListResource)
    readable = readable_projects(ctx.store, ctx.user) if ctx.q("readable") is not None else None
    counts = element_counts(ctx.store, readable)
    rows = []
    for element, count in counts.items():
        kind = kind_of(element)
        secured = kind in ("project", "subject", "experiment")
        if ctx.q("secured") is not None and not secured:
            continue
        if ctx.q("used") is not None and count == 0:
            continue
        singular, plural = names_of(element)
        rows.append(
            {
                "ELEMENT_NAME": element,
                "SINGULAR": singular,
                "PLURAL": plural,
                "SECURED": "true" if secured else "false",
                "COUNT": str(count),
            }
        )
    rows.sort(key=lambda r: r["ELEMENT_NAME"])
    cols = ["ELEMENT_NAME", "SINGULAR", "PLURAL", "SECURED", "COUNT"]
    return ctx.table(cols, rows, meta={"title": "Data-Types"})


_FIELD_COLUMNS = [
    "FIELD_ID",
    "HEADER",
    "SUMMARY",
    "TYPE",
    "REQUIRES_VALUE",
    "DESC",
    "ELEMENT_NAME",
    "SRC",
]


def _element_fields(ctx: RequestContext) -> Response:
    wanted = [e for e in ctx.params["elements"].split(",") if e]
    known = element_counts(ctx.store)
    rows = []
    for element in wanted:
        kind = kind_of(element)
        if kind is None or (element not in known and not is_generic(element)):
            raise HttpError(400, f"Unknown data type: {element}")
        for f in fields_of(kind):
            rows.append(
                {
                    "FIELD_ID": f.id,
                    "HEADER": f.header,
                    "SUMMARY": f.desc,
                    "TYPE": f.type,
                    "REQUIRES_VALUE": "false",
                    "DESC": f.desc,
                    "ELEMENT_NAME": element,
                    "SRC": "0",
                }
            )
    cols = [
        "FIELD_ID",
        "HEADER",
        "SUMMARY",
        "TYPE",
        "REQUIRES_VALUE",
        "DESC",
        "ELEMENT_NAME",
        "SRC",
    ]
    meta = {"title": "Search Fields", "element_name": ",".join(wanted)}
    return ctx.table(cols, rows, meta=meta, default_format="xml")


def register(router: Router) -> None:
    """Register the element-introspection routes."""
    # guests reach these only on a site with requireLogin off (see authentication)
    router.add("GET", "/data/search/elements", _elements, auth="optional")
    router.add("GET", "/data/search/elements/{elements}", _element_fields, auth="optional")

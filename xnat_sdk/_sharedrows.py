"""A project's experiments listing whose rows show shared sessions under their primary
label and project, given the share's values again.

XNAT (xnat-web ``ProjSubExptList.represent``) lists an experiment shared into project P
among P's experiments, and puts the share's label (when the share has one), P and the
subject's label in P into its row only when it finds the query root's key column by its
XML path (``{root}/ID``) once ``formatHeaders`` has named the columns. For the root
``xnat:imageSessionData`` (``xsiType=xnat:imageSessionData``, or without ``xsiType=`` a
column or filter of that type and no more specific one: ``modality``, ``scanner``,
``session_type``, ``UID``, ``session_ID`` ...; ``QueryOrganizerResource.getRootElementName``)
that column is named ``session_ID`` instead, the shortcut of its path
(``XMLPathShortcuts``), so the share's values are left out: the row shows the session's
own label and primary project. XNAT always adds ``project`` to such a listing (the root is
not a secured type), so those rows are told by a ``project`` other than P.
:func:`with_share_values` then asks P's listing once more with the default root
(``columns=ID,label,project,subject_label``, which XNAT answers with the share's values)
and puts those into the rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from xnat_sdk._answers import fetch

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["with_share_values"]

_PROJECT_EXPERIMENTS = re.compile(
    r"/data/(?:archive/)?projects/(?P<project>[^/]+)/(?:subjects/[^/]+/)?experiments/?$"
)

#: the columns that hold a share's values in a sharing project's listing
_SHARE_COLUMNS = ("label", "project", "subject_label")


def with_share_values(
    session: XNATSession,
    uri: str,
    rows: Sequence[dict[str, Any]],
    asked: Sequence[str] | None = None,
) -> Sequence[dict[str, Any]]:
    """``rows`` of the listing ``uri``, those of a project's experiments listing that show
    an experiment shared into the project under its primary project given the share's
    ``label``, ``project`` and ``subject_label`` (in place; one request more, only when
    such rows hold a label, or ``project`` is one of the ``asked`` columns: XNAT adds it
    unasked, and a listing of scan columns needs neither)."""
    found = _PROJECT_EXPERIMENTS.search(urlsplit(uri).path)
    if found is None:
        return rows
    project = unquote(found["project"])
    wanted = {"label", "subject_label"}
    if asked is None or "project" in asked:
        wanted.add("project")
    stale = [row for row in rows if str(row.get("project") or project) != project]
    if not any(wanted.intersection(row) for row in stale):
        return rows
    query = {"columns": "ID,label,project,subject_label"}
    listed = {str(row.get("ID") or ""): row for row in fetch(session, uri, query).rows()}
    listed.pop("", None)
    for row in stale:
        share = listed.get(str(row.get("ID") or row.get("session_ID") or ""))
        if share is None or str(share.get("project") or "") == str(row.get("project")):
            continue  # not in the listing, or the same project there: nothing to give
        for key in _SHARE_COLUMNS:
            if key in row and key in share:
                row[key] = share[key]
    return rows

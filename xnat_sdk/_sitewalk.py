"""A walk from the session (``session.map``, ``session.mapping_iter``, ``session.search``)
visits each shared subject and experiment once, as xnatpy's does.

XNAT lists an object shared into other projects in each of them (``ProjSubExptList``,
``ProjectSubjectList``: owned or ``sharing/share/project``), so a walk through every project
met a shared session once per project. :class:`SiteOnce` picks one of them: the object's
primary project when the walk goes through it (the user reads it, and the project filter
keeps it: a protected project that XNAT lists to a user it refuses the data of is not read,
which the walk's own listing of it tells), else the first project, in the walk's order,
through which it is seen (a member of a sharing project only gets it there). The walk
keys it by the path it went through (``_objects.core.reached_uri``), so the keys stay those
of a walk of that project alone.

What is known without a request per object: a subject's primary project is the ``project``
of the project's subjects listing (XNAT keeps the owner's there); an experiment's is not
sure in a project's experiments listing (``ProjSubExptList.represent`` puts the share's label
and the sharing project in the row, except where the query's root is
``xnat:imageSessionData``: see :mod:`xnat_sdk._sharedrows`), so it comes from ONE site listing,
``/data/experiments?columns=ID,project`` (``ExperimentListResource``: every experiment the
user reads, once, under its primary project), read the first time the walk meets an
experiment. A walk through one project sees each object once anyway and asks nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["SiteOnce"]

_THROUGH = re.compile(
    r"^/data/(?:archive/)?projects/(?P<project>[^/]+)/(?:subjects/[^/]+/)?"
    r"(?P<kind>subjects|experiments)/(?P<id>[^/]+)/?$"
)


def _through(obj: Any, kind: str) -> tuple[str, str] | None:
    """(the project, the object's ID) of the path the walk reached ``obj`` through; None
    for another path (the object is then not told apart)."""
    found = _THROUGH.match(str(getattr(obj, "_xnat_uri", "") or ""))
    if found is None or found["kind"] != f"{kind}s":
        return None
    return unquote(found["project"]), unquote(found["id"])


class SiteOnce:
    """Which sightings of the shared objects at ``kind`` (``"subject"`` or ``"experiment"``)
    a walk from ``session`` through ``projects`` (their IDs, the walk's) visits."""

    def __init__(
        self,
        session: XNATSession,
        kind: str,
        projects: Iterable[str],
        relisted: Callable[[Callable[[], Any]], Any],
        readable: Callable[[str], bool] = lambda project: True,
    ) -> None:
        self.session = session
        self.kind = kind
        self.projects = set(projects)
        self._relisted = relisted  # a listing asked again after a 5xx, as the walk's are
        self._readable = readable  # whether the user reads that project's data (memoized)
        self._read: dict[str, bool] = {}
        self._primaries: dict[str, str] | None = None
        self._seen: set[str] = set()

    def visits(self, obj: Any, kind: str) -> bool:
        """Whether the walk visits ``obj`` (at ``kind``) where it reached it: always for
        another level, an object seen through its primary project, or one whose primary
        project the walk does not go through and which it has not visited yet."""
        if kind != self.kind:
            return True
        found = _through(obj, kind)
        if found is None:
            return True
        project, ident = found
        primary = self._primary(obj, ident)
        if primary == project:
            return True
        if primary in self.projects and self._reads(primary):
            return False  # visited through its primary project
        return ident not in self._seen

    def _reads(self, project: str) -> bool:
        """Whether the user reads ``project``'s data: a protected project is listed to every
        user, and its data refused (403) to those not in it, so an object it shares into
        another project is visited there."""
        if project not in self._read:
            self._read[project] = self._readable(project)
        return self._read[project]

    def visited(self, obj: Any, kind: str) -> None:
        """Note that the walk visits ``obj`` (it passed the filters): a later sighting
        through another project is left out."""
        found = _through(obj, kind) if kind == self.kind else None
        if found is not None:
            self._seen.add(found[1])

    def _primary(self, obj: Any, ident: str) -> str | None:
        if self.kind == "subject":
            row = (getattr(obj, "_xnat_cache", None) or {}).get("row") or {}
            return str(row.get("project") or "") or None
        if self._primaries is None:
            self._primaries = self._relisted(self._site_experiments)
        return self._primaries.get(ident)

    def _site_experiments(self) -> dict[str, str]:
        from xnat_sdk._answers import fetch

        rows = fetch(self.session, "/data/experiments", {"columns": "ID,project"}).rows()
        return {str(row.get("ID", "")): str(row.get("project") or "") for row in rows}

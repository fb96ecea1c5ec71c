"""Addresses of archive objects on the command line, and how they are resolved.

Two forms name the same things:

* the short form ``P``, ``P/S``, ``P/S/E``, ``P/S/E/SCAN`` and ``P/S/E/SCAN/RESOURCE``:
  project, subject, experiment, scan and resource, each by ID or label (a project also by
  its secondary ID, a scan by its ID, a resource by its label or ID); one more part after
  a resource is a file path inside it (``P/S/E/1/DICOM/a/1.dcm``);
* a REST path as XNAT prints it: ``/data/projects/P``, ``/data/projects/P/subjects/S``,
  ``.../experiments/E``, ``.../scans/1``, ``.../resources/DICOM``, ``.../files/a/1.dcm``
  (``/data/archive/...`` too), or ``/data/experiments/E[/scans/...]`` for an experiment by
  accession ID; a resource directly below a project, subject or experiment is named with
  ``/resources/R``; a trailing ``/files`` after a resource names the resource (its files).

In the short form a part below a project, subject or experiment is its child (a subject,
an experiment, a scan by ID, else type) when it has one of that name, else a resource of the
parent itself (``P/DOCS``, ``P/S/NOTES``, ``P/S/E/NOTES``, and a file below it
``P/S/E/NOTES/a/b.txt``): a child wins.

Each part is looked up in its parent's listing (one request per level): IDs first, then
labels. A part that matches nothing fails with the names the server has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from xnat_sdk.errors import XNATKeyError, XNATValueError

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["ADDRESS_HELP", "Address", "parse_address", "resolve"]

ADDRESS_HELP = (
    "ADDRESS is P, P/S, P/S/E, P/S/E/SCAN or P/S/E/SCAN/RESOURCE (project, subject, "
    "experiment, scan, resource; each by ID or label, looked up level by level), or a REST "
    "path such as /data/projects/P/subjects/S/experiments/E/scans/1/resources/DICOM or "
    "/data/experiments/E (a path may end in the listing ls shows there: /data/projects, "
    "/data/projects/P/subjects, .../experiments/E/scans, .../scans/1/resources; a trailing "
    "/files after a resource names the resource). "
    "P/RESOURCE, P/S/RESOURCE and P/S/E/RESOURCE name a resource of the project, subject or "
    "experiment itself when it has no subject, experiment or scan (ID or type) of that name "
    "(a child wins: a scan wins over an experiment's resource)."
)

LEVELS = ("project", "subject", "experiment", "scan", "resource", "file")
_REST_KEYS = {
    "projects": "project",
    "subjects": "subject",
    "experiments": "experiment",
    "scans": "scan",
    "resources": "resource",
    "files": "file",
}


_CHILD = {
    "site": "project",
    "project": "subject",
    "subject": "experiment",
    "experiment": "scan",
    "scan": "resource",
}
"""The children ``ls`` lists at each level: a REST path ending in their collection names
the parent (``/data/projects``: the site; ``.../experiments/E/scans``: the experiment)."""


@dataclass
class Address:
    """The parts of an address, by level (``file`` is a path inside the resource)."""

    text: str
    parts: dict[str, str] = field(default_factory=dict)
    short: bool = False
    """Written in the short form (its fourth part may name an experiment's resource)."""

    @property
    def level(self) -> str:
        """The deepest level named (``site`` for none)."""
        named = [level for level in LEVELS if level in self.parts]
        return named[-1] if named else "site"


def parse_address(text: str | None) -> Address:
    """Split ``text`` (short form or REST path) into its parts; bad forms raise
    :class:`XNATValueError` naming the address."""
    if not text or text.strip("/") == "":
        return Address(text or "")
    if "://" in text:  # a URL copied from a browser: the server is --server, not here
        path = urlsplit(text).path or "/data/projects"
        raise XNATValueError(
            f"address {text!r}: give the path on the server ({path}) or the short form "
            "P/S/E, not a URL (the server is --server or $XNAT_HOST)"
        )
    if text.startswith("/"):
        return _parse_rest(text)
    text = text.rstrip("/")  # ``P/S/`` (a shell's completion) is ``P/S``
    pieces = text.split("/")
    if any(not p for p in pieces):
        raise XNATValueError(f"address {text!r}: empty part")
    address = Address(text, short=True)
    for level, piece in zip(LEVELS[:5], pieces, strict=False):
        address.parts[level] = piece
    if len(pieces) > 5:
        address.parts["file"] = "/".join(pieces[5:])
    return address


def _parse_rest(text: str) -> Address:
    path = re.sub(r"^/data(/archive)?(?=/|$)", "", text.split("?", 1)[0]).strip("/")
    pieces = path.split("/") if path else []
    address = Address(text)
    index = 0
    while index < len(pieces):
        key = pieces[index]
        level = _REST_KEYS.get(key)
        if level == "file" and index + 1 == len(pieces) and "resource" in address.parts:
            break  # ``.../resources/R/files``: the resource's files, named by the resource
        if index + 1 == len(pieces) and level == _CHILD.get(address.level):
            break  # ``/data/projects/P/subjects``: P's subjects, named by P (as ``ls P``)
        if level is None or index + 1 >= len(pieces) or level in address.parts:
            raise XNATValueError(f"address {text!r}: not a path of the archive at {key!r}")
        if level == "file":
            address.parts[level] = "/".join(pieces[index + 1 :])
            break
        address.parts[level] = pieces[index + 1]
        index += 2
    if "subject" in address.parts and "project" not in address.parts:
        raise XNATValueError(f"address {text!r}: a subject is named within its project")
    if "scan" in address.parts and "experiment" not in address.parts:
        raise XNATValueError(f"address {text!r}: a scan is named within its experiment")
    return address


def _pick(listing: Any, key: str, what: str, where: str, reader: str = "") -> Any:
    """``listing[key]``, else an error listing the keys there are (``reader``: whose view
    of the listing that is, for projects: XNAT lists only those the user may read)."""
    try:
        return listing[key]
    except XNATKeyError:
        names = sorted(set(listing.keys()) | set(listing.key_map))
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        there = f"{what}s {reader} may read" if reader else "there are"
        raise XNATValueError(f"no {what} {key!r} in {where} ({there}: {shown or 'none'})") from None


_CHILDREN = {"subject": "subjects", "experiment": "experiments", "scan": "scans"}


def _names(listing: Any) -> list[str]:
    return sorted(set(listing.keys()) | set(listing.key_map)) if listing is not None else []


def _child_or_resource(parent: Any, address: Address, level: str, where: str) -> Any:
    """The child at ``level`` (subject, experiment or scan) a short-form part names, else
    ``parent``'s own resource of that name: ``address`` is re-levelled (the parts after it
    become the file path); a child wins."""
    parts = address.parts
    name = parts[level]
    children = getattr(parent, _CHILDREN[level], None)
    if children is not None and name in children:
        return children[name]
    if name in parent.resources:
        after = LEVELS[LEVELS.index(level) + 1 :]
        rest = [parts.pop(later) for later in after if later in parts]
        del parts[level]
        parts["resource"] = name
        if rest:
            parts["file"] = "/".join(rest)
        return parent.resources[name]
    kind = "scans" if level == "scan" else f"{level}s"
    raise XNATValueError(
        f"no {level} or resource {name!r} in {where} ({kind}: "
        f"{', '.join(_names(children)) or 'none'}; resources: "
        f"{', '.join(_names(parent.resources)) or 'none'})"
    )


def resolve(
    session: XNATSession, address: Address, *, files: bool = True, resources: bool = True
) -> Any:
    """The object ``address`` names (the session itself for the site): a project,
    subject, experiment, scan, resource or remote file, looked up level by level.

    A short address with a part that is no child of its parent (subject, experiment, scan)
    but one of the parent's resources is re-levelled in place (``address.level`` then says
    ``resource`` or ``file``) unless ``resources`` is false. With ``files`` false the lookup
    stops at the resource (the file part stays in ``address``)."""
    parts = address.parts
    obj: Any = session
    where = session.server
    if "project" in parts:
        project = parts["project"]
        if project in session.projects:
            obj = session.projects[project]
        else:  # XNAT hides a project the user may not read: say whose view that is
            obj = _pick(session.projects, project, "project", where, session.logged_in_user)
        where = f"project {parts['project']}"
    for level in ("subject", "experiment", "scan"):
        if level not in parts:
            continue
        if address.short and resources:
            obj = _child_or_resource(obj, address, level, where)
            if level not in parts:  # re-levelled: ``obj`` is the parent's own resource
                where = f"resource {parts['resource']}"
                break
        elif level == "experiment" and obj is session:  # /data/experiments/E
            obj = _pick(session.experiments, parts[level], level, where)
        else:
            obj = _pick(getattr(obj, _CHILDREN[level]), parts[level], level, where)
        where = f"{level} {parts[level]}"
    else:
        if "resource" in parts:
            if obj is session:
                raise XNATValueError(f"address {address.text!r}: a resource belongs to an object")
            obj = _pick(obj.resources, parts["resource"], "resource", where)
            where = f"resource {parts['resource']}"
    if "file" in parts and files:
        obj = _pick(obj.files, parts["file"], "file", where)
    return obj

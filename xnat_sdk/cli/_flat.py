"""``download --flat``: the files of any address straight into one folder.

Each file lands at ``TARGET_DIR/{its path inside its resource}`` (the server's
``{session}/scans/{scan}/resources/{label}/files/`` folders dropped). The files come from
the server's listings (size and MD5 per file), so before anything is written two files
that would land on the same path are refused; then they are fetched file by file,
verified, skipping those already there (as ``download`` of a project does).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xnat_sdk.archives import safe_join
from xnat_sdk.bulk import (
    DownloadReport,
    FileToGet,
    Verify,
    _raise_failures,
    get_files,
    plan_session,
)
from xnat_sdk.errors import XNATCaseCollisionError, XNATValueError
from xnat_sdk.transfers._paths import case_key

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["download_flat"]

_IN_RESOURCE = re.compile(r"/resources/[^/]+/files/(?P<path>.+)$")


def _path_in_resource(uri: str) -> str:
    match = _IN_RESOURCE.search(uri)
    if match is None:
        raise XNATValueError(f"--flat: {uri!r} is not a file of a resource")
    return match["path"]


def _listed(session: XNATSession, uri: str) -> list[FileToGet]:
    """The files of the listing ``uri`` (a scan's or resource's ``.../files``)."""
    rows: Iterable[Mapping[str, Any]] = session.get_json(uri)["ResultSet"]["Result"]
    found: list[FileToGet] = []
    for row in rows:
        size = str(row.get("Size") or "")
        digest = str(row.get("digest") or "") or None
        found.append(
            FileToGet(str(row["URI"]), Path(), int(size) if size.isdigit() else None, digest)
        )
    return found


def _sources(obj: Any, level: str, scan_type: str | None, resources: list[Any]) -> list[FileToGet]:
    """The files below ``obj`` that ``download`` would fetch (targets still to be set)."""
    if resources:  # an experiment's or scan's scans' resources (--resource)
        session = obj._xnat_bound_session()
        return [item for res in resources for item in _listed(session, f"{res.uri}/files")]
    if level in ("project", "subject"):
        sessions = [experiment for experiment, _ in obj._bulk_sessions(Path())]
    elif level == "experiment":
        sessions = [obj]
    elif level == "resource":  # its own listing
        return _listed(obj._xnat_bound_session(), f"{obj.uri}/files")
    else:  # a scan: the rows of its own files (XNAT's {scan}/files has those of its type too)
        found = _listed(obj._xnat_bound_session(), f"{obj._files_base()}/files")
        return [item for item in found if obj._owns_file(item.uri)]
    return [item for e in sessions for item in plan_session(e, Path(), scan_type or "ALL")]


def flat_plan(found: list[FileToGet], target: Path) -> list[FileToGet]:
    """``found`` with each target ``target/{path in its resource}``; two files that would
    land on the same path, or on paths that differ only in case (one file on macOS and
    Windows: :class:`XNATCaseCollisionError`, on every system), raise naming both before
    anything is written."""
    plan: list[FileToGet] = []
    seen: dict[str, tuple[str, str]] = {}  # case key -> (path in the resource, uri)
    for item in found:
        rel = _path_in_resource(item.uri)
        key = case_key(rel)
        other = seen.get(key)
        if other is not None and other[1] != item.uri:
            if other[0] != rel:
                error = XNATCaseCollisionError(
                    str(safe_join(target, rel)),
                    str(safe_join(target, other[0])),
                    item.uri,
                    other[1],
                )
                error.remedy = "download without --flat, or narrow it with --scan-type/--resource"
                raise error
            raise XNATValueError(
                f"--flat: two files would land at {rel} in {target} ({other[1]} and "
                f"{item.uri}); nothing was written: download without --flat, or narrow it "
                "with --scan-type/--resource"
            )
        if other is None:
            seen[key] = (rel, item.uri)
            plan.append(FileToGet(item.uri, safe_join(target, rel), item.size, item.digest))
    return plan


def download_flat(
    obj: Any,
    level: str,
    target: Path,
    *,
    scan_type: str | None,
    resources: list[Any],
    workers: int,
    verbose: bool,
    verify: Verify = "quick",
    fsync: bool = False,
    overwrite: bool = True,
) -> DownloadReport:
    """Download the files below ``obj`` (at ``level``; only ``resources`` when given)
    straight into ``target`` (see the module)."""
    plan = flat_plan(_sources(obj, level, scan_type, resources), target)
    session = obj._xnat_bound_session()
    label = str(getattr(obj, "label", "") or obj.uri.rstrip("/").rsplit("/", 1)[-1])
    report = get_files(
        session,
        plan,
        workers=workers,
        verbose=verbose,
        label=label,
        verify=verify,
        fsync=fsync,
        overwrite=overwrite,
    )
    _raise_failures(report)
    return report

"""What a server tells about itself: version, build, uptime, scan types and scanners."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from xnat_sdk._answers import answer_of, fetch
from xnat_sdk.errors import XNATResponseError

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["build_info", "scan_types", "scanners", "server_version", "uptime", "version_numbers"]


def server_version(session: XNATSession) -> str:
    """The XNAT version: ``/xapi/siteConfig/buildInfo``'s (1.7+), else ``/data/version``."""
    response = session.get("/xapi/siteConfig/buildInfo", accepted_status=(200, 404))
    if response.status_code == 200:
        try:
            info = answer_of(response).document
        except XNATResponseError:
            info = None
        if isinstance(info, dict) and isinstance(info.get("version"), str):
            return str(info["version"])
    return session.get("/data/version").text.strip()


def version_numbers(text: str) -> tuple[int, ...]:
    """The numbers of a version string (``"1.8.10-SNAPSHOT"`` -> ``(1, 8, 10)``)."""
    return tuple(int(part) for part in re.findall(r"\d+", text))


def build_info(session: XNATSession) -> dict[str, Any]:
    """``/xapi/siteConfig/buildInfo`` (version, build number, commit ...)."""
    return fetch(session, "/xapi/siteConfig/buildInfo").json_object()


def uptime(session: XNATSession) -> dict[str, str]:
    """``/xapi/siteConfig/uptime`` (days, hours, minutes, seconds)."""
    info = fetch(session, "/xapi/siteConfig/uptime").json_object()
    return {str(k): str(v) for k, v in info.items()}


def scan_types(session: XNATSession) -> list[dict[str, str]]:
    """Rows of ``/data/archive/scan_types``."""
    rows = fetch(session, "/data/archive/scan_types").rows()
    return [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in rows]


def scanners(session: XNATSession) -> list[str]:
    """Scanner names known to the archive (``/data/archive/scanners``)."""
    return [str(row.get("scanner", "")) for row in fetch(session, "/data/archive/scanners").rows()]


def access_levels(session: XNATSession) -> dict[str, str]:
    """``{project ID: role}`` of the logged-in user (``GET /xapi/access/projects``)."""
    data = session.get_json("/xapi/access/projects")
    if not isinstance(data, list):
        return {}
    return {
        str(row["ID"]): str(row["role"])
        for row in data
        if isinstance(row, dict) and "ID" in row and "role" in row
    }
